/// The `?` placeholders of a statement, found outside string literals, quoted identifiers and
/// comments, so a `'?'` in the text stays a question mark.
struct SQLPlaceholders {
    /// The statement with its placeholders numbered `$1…$n` (PostgreSQL's spelling).
    private(set) var numberedSQL = ""
    private(set) var count = 0

    init(_ sql: String) {
        var scanner = Scanner(characters: Array(sql.unicodeScalars))
        var output = String.UnicodeScalarView()
        while let scalar = scanner.next() {
            switch scalar {
            case "?":
                count += 1
                output.append(contentsOf: "$\(count)".unicodeScalars)
            case "'", "\"":
                output.append(scalar)
                output.append(contentsOf: scanner.quoted(until: scalar))
            case "-" where scanner.peek() == "-":
                output.append(scalar)
                output.append(contentsOf: scanner.lineComment())
            case "/" where scanner.peek() == "*":
                output.append(scalar)
                output.append(contentsOf: scanner.blockComment())
            default:
                output.append(scalar)
            }
        }
        numberedSQL = String(output)
    }

    private struct Scanner {
        var characters: [Unicode.Scalar]
        var index = 0

        mutating func next() -> Unicode.Scalar? {
            guard index < characters.count else { return nil }
            defer { index += 1 }
            return characters[index]
        }

        func peek() -> Unicode.Scalar? {
            index < characters.count ? characters[index] : nil
        }

        /// Up to and including the closing quote; a doubled quote is an escaped one.
        mutating func quoted(until quote: Unicode.Scalar) -> [Unicode.Scalar] {
            var taken: [Unicode.Scalar] = []
            while let scalar = next() {
                taken.append(scalar)
                if scalar == quote {
                    guard peek() == quote else { return taken }
                    taken.append(next()!)
                }
            }
            return taken
        }

        mutating func lineComment() -> [Unicode.Scalar] {
            var taken: [Unicode.Scalar] = []
            while let scalar = next() {
                taken.append(scalar)
                if scalar == "\n" { break }
            }
            return taken
        }

        mutating func blockComment() -> [Unicode.Scalar] {
            var taken: [Unicode.Scalar] = []
            while let scalar = next() {
                taken.append(scalar)
                if scalar == "/", taken.count > 2, taken[taken.count - 2] == "*" { break }
            }
            return taken
        }
    }
}

extension SQLPlaceholders {
    /// Throws unless the statement has exactly one placeholder per bind (SQLite would otherwise
    /// bind the missing ones to NULL without a word).
    static func check(_ sql: String, binds: Int) throws -> SQLPlaceholders {
        let placeholders = SQLPlaceholders(sql)
        guard placeholders.count == binds else {
            throw SQLDatabaseError(
                "the statement has \(placeholders.count) placeholder(s) but \(binds) bind value(s) were given",
                statement: sql, code: .bindCountMismatch)
        }
        return placeholders
    }
}
