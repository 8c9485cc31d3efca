import Foundation
public import MamoriCore

/// Fleet and administration requests (docs/compliance.md).
extension CollectorClient {
    /// `path?name=value&…` with names and values percent-encoded; nil values are left out.
    public static func path(_ path: String, query: [(String, String?)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let items = query.compactMap { name, value in
            value.map { name + "=" + ($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0) }
        }
        return items.isEmpty ? path : path + "?" + items.joined(separator: "&")
    }

    /// A GET that must answer 200; the body as received (for `--format json`, printed without
    /// being parsed and encoded again).
    public func adminGetBody(_ path: String, query: [(String, String?)] = [], token: String) async throws -> [UInt8] {
        let response = try await admin("GET", Self.path(path, query: query), token: token)
        guard response.status == 200 else { throw CollectorClientError.status(response.status, response.reason) }
        return response.body
    }

    /// A GET that must answer 200 with JSON.
    public func adminGet(_ path: String, query: [(String, String?)] = [], token: String) async throws -> JSONValue {
        try await admin("GET", Self.path(path, query: query), token: token).json(expect: 200)
    }

    /// A POST of a JSON object that must answer `expect` with JSON.
    public func adminPost(_ path: String, _ body: [String: JSONValue], token: String, expect: Int = 200) async throws -> JSONValue {
        try await admin("POST", path, token: token, body: JSONValue.object(body).canonicalBytes).json(expect: expect)
    }
}
