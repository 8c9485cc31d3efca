import Foundation

/// A `postgres://user:password@host:port/database?sslmode=…` URL (also `postgresql://`), parsed
/// the way libpq reads it, for the subset the collector accepts. `host=/dir` in the query selects a
/// unix socket in that directory. The password never appears in `redacted` or in any error.
struct PostgresURL: Sendable, Equatable {
    enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file: `<directory>/.s.PGSQL.<port>`.
        case unixSocket(path: String)
    }

    enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    var endpoint: Endpoint
    var username: String
    var password: String?
    var database: String
    var sslMode: SSLMode

    static let acceptedForms =
        "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-full] "
        + "or postgres://USER@/DATABASE?host=/SOCKET/DIRECTORY (postgresql:// is accepted too)"

    static func isPostgres(_ url: String) -> Bool {
        url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")
    }

    init(_ url: String) throws {
        guard let schemeEnd = url.firstRange(of: "://"), Self.isPostgres(url) else {
            throw Self.invalid("it does not start with postgres:// or postgresql://")
        }
        var rest = Substring(url[schemeEnd.upperBound...])
        let query = Self.cut(&rest, at: "?")
        let pathPart = Self.cut(&rest, at: "/")
        let (user, password, hostPort) = try Self.splitAuthority(rest)
        guard let user, !user.isEmpty else { throw Self.invalid("it names no user") }
        username = user
        self.password = password
        database = try pathPart.map { try Self.decode($0) }.flatMap { $0.isEmpty ? nil : $0 } ?? user
        let options = try Self.queryOptions(query)
        sslMode = try Self.sslMode(options["sslmode"])
        endpoint = try Self.endpoint(hostPort: hostPort, socketDirectory: options["host"])
    }

    /// The URL with the password replaced, for logs and errors.
    var redacted: String {
        let where_: String
        switch endpoint {
        case .tcp(let host, let port): where_ = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path): where_ = "(socket \(path))"
        }
        return "postgres://\(username)\(password == nil ? "" : ":***")@\(where_)/\(database)"
    }

    private static func invalid(_ reason: String) -> SQLDatabaseError {
        SQLDatabaseError(
            "invalid PostgreSQL URL: \(reason); expected \(acceptedForms)", code: .invalidConfiguration)
    }

    /// Removes and returns what follows the first `separator` (nil if there is none).
    private static func cut(_ text: inout Substring, at separator: Character) -> Substring? {
        guard let index = text.firstIndex(of: separator) else { return nil }
        let after = text[text.index(after: index)...]
        text = text[..<index]
        return after
    }

    private static func splitAuthority(_ authority: Substring) throws -> (String?, String?, Substring) {
        guard let at = authority.lastIndex(of: "@") else { return (nil, nil, authority) }
        var userInfo = authority[..<at]
        let password = cut(&userInfo, at: ":")
        return (try decode(userInfo), try password.map { try decode($0) }, authority[authority.index(after: at)...])
    }

    private static func queryOptions(_ query: Substring?) throws -> [String: String] {
        var options: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            var key = pair
            let value = try cut(&key, at: "=").map { try decode($0) } ?? ""
            let name = try decode(key)
            guard ["sslmode", "host"].contains(name) else {
                // The name is not echoed: an unescaped `?` in a password would put the password here.
                throw invalid("an unsupported query parameter (supported: sslmode, host)")
            }
            options[name] = value
        }
        return options
    }

    private static func sslMode(_ value: String?) throws -> SSLMode {
        guard let value else { return .prefer }
        guard let mode = SSLMode(rawValue: value) else {
            throw invalid("sslmode is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return mode
    }

    private static func endpoint(hostPort: Substring, socketDirectory: String?) throws -> Endpoint {
        var host = hostPort
        var portText: Substring?
        if host.hasPrefix("[") {  // [IPv6]:port
            guard let close = host.firstIndex(of: "]") else { throw invalid("an unclosed [ in the host") }
            let after = host[host.index(after: close)...]
            portText = after.hasPrefix(":") ? after.dropFirst() : nil
            host = host[host.index(after: host.startIndex)..<close]
        } else {
            portText = cut(&host, at: ":")
        }
        let port = try portText.map(parsePort) ?? 5432
        if let socketDirectory {
            guard socketDirectory.hasPrefix("/") else { throw invalid("host=\(socketDirectory) is not an absolute directory") }
            return .unixSocket(path: "\(socketDirectory)/.s.PGSQL.\(port)")
        }
        guard !host.isEmpty else { throw invalid("it names no host") }
        return .tcp(host: try decode(host), port: port)
    }

    private static func parsePort(_ text: Substring) throws -> Int {
        guard let port = Int(text), (1...65_535).contains(port) else { throw invalid("port \(text) is not 1…65535") }
        return port
    }

    /// Percent-decoding (a password may hold `@`, `:` or `/` written as %40, %3A, %2F).
    private static func decode(_ text: Substring) throws -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw invalid("a malformed %-escape")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw invalid("%-escapes that are not UTF-8") }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
