import Foundation
import Testing

/// Runs a system tool (nm, ldd, pamtester); a missing tool is a test failure, never a skip.
enum Tool {
    static func find(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        for directory in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
            return directory + "/" + name
        }
        Issue.record("tool `\(name)` is missing: run `make deps` (scripts/install-deps.sh)", sourceLocation: sourceLocation)
        throw CocoaError(.fileNoSuchFile)
    }

    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:], stdin: String = "",
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try find(name, sourceLocation: sourceLocation))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outPipe = Pipe()
        let errPipe = Pipe()
        let inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        inPipe.fileHandleForWriting.write(Data(stdin.utf8))
        try inPipe.fileHandleForWriting.close()
        let errorData = LockedData()
        let reader = Thread { errorData.set(errPipe.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1000) }
        return CLIResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errorData.get(), as: UTF8.self))
    }
}

/// The module `make pam` built: $MAMORI_PAM_MODULE, or build/pam_mamori.so in the package.
enum PamModule {
    static func path(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        var path = ProcessInfo.processInfo.environment["MAMORI_PAM_MODULE"] ?? ""
        if path.isEmpty {
            let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            path = packageRoot.appendingPathComponent("build/pam_mamori.so").path
        }
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(path) not found: run `make pam` first", sourceLocation: sourceLocation)
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }
}
