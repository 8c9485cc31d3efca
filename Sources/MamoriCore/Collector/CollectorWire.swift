public import Crypto

/// The agent ↔ collector protocol's pure parts: request signatures, receipts, and strict reading
/// of JSON bodies. The HTTP layers on both sides (MamoriCollector, MamoriClient) use these, so the
/// two can never disagree about what was signed.
public enum CollectorWire {
    public static let hostHeader = "mamori-host"
    public static let requestHeader = "mamori-request"
    public static let signatureHeader = "mamori-signature"
    /// How far an agent's request time may be from the collector's clock.
    public static let requestWindowMicroseconds: Int64 = 300 * 1_000_000

    static let requestDomain = Array("mamori-request-v1\n".utf8)
    static let receiptFormat = "mamori-receipt-v1"

    /// What an agent signs for each request: domain ‖ method ‖ path ‖ host ‖ request number ‖
    /// SHA-256 of the body, each but the digest followed by a newline. The request number is the
    /// agent's clock in microseconds, strictly increasing per host: the collector refuses any
    /// number not above the last it accepted (replay) or outside the time window.
    public static func requestMessage(method: String, path: String, host: String, request: Int64, body: some Sequence<UInt8>) -> [UInt8] {
        var message = requestDomain
        for part in [method, path, host, String(request)] {
            message.append(contentsOf: part.utf8)
            message.append(0x0A)
        }
        message.append(contentsOf: SHA256.hash(data: Array(body)))
        return message
    }

    public static func signRequest(method: String, path: String, host: String, request: Int64, body: [UInt8],
                                   key: Curve25519.Signing.PrivateKey) throws -> String {
        Hex.encode(try key.signature(for: requestMessage(method: method, path: path, host: host, request: request, body: body)))
    }
}

/// What the collector signs when it has stored a host's records up to `head`: the agent may
/// prune its journal up to there — but only after `MFAStore.syncAll()` (MamoriAgent) has
/// succeeded. A login syncs its `auth.*` record, not its user's state file, so until then the
/// journal may be the only durable copy of a failure count or a used code (#8's shipper must call
/// it before it deletes any segment).
public struct IngestReceipt: Sendable, Equatable {
    public var host: String
    public var head: JournalHead
    public var stored: Int64
    public var duplicate: Bool
    public var receivedAt: Timestamp
    public var signature: [UInt8]

    public init(host: String, head: JournalHead, stored: Int64, duplicate: Bool, receivedAt: Timestamp, signature: [UInt8] = []) {
        self.host = host
        self.head = head
        self.stored = stored
        self.duplicate = duplicate
        self.receivedAt = receivedAt
        self.signature = signature
    }

    var unsignedJSON: JSONValue {
        .object([
            "format": .string(CollectorWire.receiptFormat),
            "host": .string(host),
            "head_seq": .int(Int64(head.seq)),
            "head_hash": .string(head.hash.hex),
            "stored": .int(stored),
            "duplicate": .bool(duplicate),
            "received_at": .string(receivedAt.description),
        ])
    }

    public var json: JSONValue {
        guard case .object(var members) = unsignedJSON else { return unsignedJSON }
        members["sig"] = .string(Hex.encode(signature))
        return .object(members)
    }

    public mutating func sign(with key: Curve25519.Signing.PrivateKey) throws {
        signature = Array(try key.signature(for: unsignedJSON.canonicalBytes))
    }

    public func isValid(under key: Curve25519.Signing.PublicKey) -> Bool {
        key.isValidSignature(signature, for: unsignedJSON.canonicalBytes)
    }

    public init(json: JSONValue) throws(WireError) {
        let reader = try StrictObject(json, allowed: ["format", "host", "head_seq", "head_hash", "stored", "duplicate", "received_at", "sig"])
        guard try reader.string("format") == CollectorWire.receiptFormat else { throw WireError("not a \(CollectorWire.receiptFormat)") }
        let seq = try reader.int("head_seq")
        guard seq >= 0, let hash = Digest32(hex: try reader.string("head_hash")) else { throw WireError("`head_seq`/`head_hash` are not a head") }
        guard let time = Timestamp(parsing: try reader.string("received_at")) else { throw WireError("`received_at` is not a timestamp") }
        guard let signature = Hex.decode(try reader.string("sig")), signature.count == 64 else { throw WireError("`sig` is not 64 bytes of hex") }
        self.init(host: try reader.string("host"), head: JournalHead(seq: UInt64(seq), hash: hash), stored: try reader.int("stored"),
                  duplicate: try reader.bool("duplicate"), receivedAt: time, signature: signature)
    }
}

/// A request body the collector or client refuses, with a reason a person can act on.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A JSON object read strictly: unknown members are errors, each member has one type.
public struct StrictObject: Sendable {
    public let members: [String: JSONValue]

    public init(_ value: JSONValue, allowed: Set<String>) throws(WireError) {
        guard case .object(let members) = value else { throw WireError("the body must be a JSON object") }
        if let unknown = Set(members.keys).subtracting(allowed).sorted().first {
            throw WireError("unknown field `\(unknown)`")
        }
        self.members = members
    }

    public init(parsing bytes: [UInt8], allowed: Set<String>) throws(WireError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw WireError("the body is not valid JSON: \(error.description)")
        }
        try self.init(value, allowed: allowed)
    }

    public func has(_ key: String) -> Bool { members[key] != nil && members[key] != .null }

    public func string(_ key: String) throws(WireError) -> String {
        guard let value = members[key] else { throw WireError("missing field `\(key)`") }
        guard let text = value.stringValue else { throw WireError("field `\(key)` must be a string") }
        return text
    }

    public func optionalString(_ key: String) throws(WireError) -> String? {
        guard has(key) else { return nil }
        return try string(key)
    }

    public func int(_ key: String) throws(WireError) -> Int64 {
        guard let value = members[key] else { throw WireError("missing field `\(key)`") }
        guard let number = value.intValue else { throw WireError("field `\(key)` must be an integer") }
        return number
    }

    public func optionalInt(_ key: String) throws(WireError) -> Int64? {
        guard has(key) else { return nil }
        return try int(key)
    }

    public func bool(_ key: String) throws(WireError) -> Bool {
        guard let value = members[key] else { throw WireError("missing field `\(key)`") }
        guard let flag = value.boolValue else { throw WireError("field `\(key)` must be true or false") }
        return flag
    }

    public func hexBytes(_ key: String, count: Int) throws(WireError) -> [UInt8] {
        guard let bytes = Hex.decode(try string(key)), bytes.count == count else {
            throw WireError("field `\(key)` must be \(count) bytes of hex")
        }
        return bytes
    }
}
