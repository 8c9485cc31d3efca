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
        try CLI.runExecutable(try find(name, sourceLocation: sourceLocation), arguments, environment: environment,
                              stdin: Data(stdin.utf8))
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
