import Foundation
import Testing

/// Runs the built executables the way an operator would, and captures what they print.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    /// Where `swift build` put the executables: $MAMORI_BIN_DIR, or the package's .build/debug.
    static var binDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["MAMORI_BIN_DIR"], !dir.isEmpty { return dir }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug").path
    }

    /// Runs `tool` with `arguments`; a missing binary is a test failure, never a skip.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:],
                    stdin: Data? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let path = binDirectory + "/" + tool
        guard FileManager.default.isExecutableFile(atPath: path) else {
            Issue.record("executable \(path) not found: run `swift build` first (or set MAMORI_BIN_DIR)", sourceLocation: sourceLocation)
            throw CocoaError(.fileNoSuchFile)
        }
        return try runExecutable(path, arguments, environment: environment, stdin: stdin)
    }

    /// Runs the executable at an absolute `path` (a system tool such as umockdev-run).
    static func runExecutable(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                              stdin: Data? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outPipe = Pipe()
        let errPipe = Pipe()
        let inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try inPipe.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        let errorData = LockedData()
        let reader = Thread { errorData.set(errPipe.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1000) }
        return CLIResult(status: process.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errorData.get(), as: UTF8.self))
    }

    static func mamorictl(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        try run("mamorictl", arguments, sourceLocation: sourceLocation)
    }
}

/// A fresh temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init(_ prefix: String = "mamori-test") throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Bytes handed from a reader thread to the test; the lock makes the hand-over safe.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var done = false

    func set(_ value: Data) { lock.lock(); data = value; done = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return done }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}
