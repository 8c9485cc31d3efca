/// One problem in a profile's source, at a 1-based line and column (columns count Unicode scalars).
public struct ProfileDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    /// The key path, e.g. `media.allow[2].vendor`; empty for the document itself.
    public let path: String
    public let message: String

    public init(line: Int, column: Int, path: String, message: String) {
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    /// `LINE:COLUMN: PATH: MESSAGE`, the form editors and `mamorictl profile lint` show.
    public var description: String {
        path.isEmpty ? "\(line):\(column): \(message)" : "\(line):\(column): \(path): \(message)"
    }
}

/// A profile failed validation; `diagnostics` holds every problem found, in source order.
public struct ProfileValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let diagnostics: [ProfileDiagnostic]

    public init(diagnostics: [ProfileDiagnostic]) { self.diagnostics = diagnostics }

    public var description: String {
        "profile is not valid (\(diagnostics.count) error\(diagnostics.count == 1 ? "" : "s")):\n"
            + diagnostics.map { "  " + $0.description }.joined(separator: "\n")
    }
}
