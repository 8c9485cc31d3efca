import ArgumentParser
import MamoriCore

struct ProfileLint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check profiles against the schema; print every error with its line and column.",
        discussion: "Errors are printed as FILE:LINE:COLUMN: PATH: MESSAGE. Exit status: 0 clean; 1 errors; 2 unreadable file."
    )

    @Argument(help: "Profile YAML files.")
    var files: [String]

    @Option(help: "Output format: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: OutputFormat = .text

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one profile file") }
    }

    func run() throws {
        var results: [JSONValue] = []
        var failed = false
        for file in files {
            let source = try ProfileSource.read(file)
            let diagnostics = ProfileParser.lint(source)
            failed = failed || !diagnostics.isEmpty
            switch format {
            case .text:
                if diagnostics.isEmpty { print("\(file): ok") }
                for diagnostic in diagnostics { print("\(file):\(diagnostic)") }
            case .json:
                results.append(.object(["file": .string(file), "valid": .bool(diagnostics.isEmpty),
                                        "errors": .array(diagnostics.map(ProfileSource.json))]))
            }
        }
        if format == .json { print(JSONValue.array(results).canonicalString) }
        if failed { throw ExitStatus.failed }
    }
}

enum ProfileSource {
    static func read(_ path: String) throws -> String {
        let bytes = try KeysFiles.read(path, what: "profile")
        guard let text = String(validating: bytes, as: UTF8.self) else { throw InputError("\(path): not UTF-8 text") }
        return text
    }

    static func json(_ diagnostic: ProfileDiagnostic) -> JSONValue {
        .object(["line": .int(Int64(diagnostic.line)), "column": .int(Int64(diagnostic.column)),
                 "path": .string(diagnostic.path), "message": .string(diagnostic.message)])
    }
}
