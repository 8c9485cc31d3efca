// Temporary until the database layer lands (collector-db); removed at merge.
public struct SQLMigration: Sendable {
    public var version: Int
    public var name: String
    public var statements: [String]
    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}
