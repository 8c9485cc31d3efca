public import Crypto
public import MamoriClient
public import MamoriCore

/// What enrolment leaves on the terminal besides the keys: who the collector says this host is.
/// Written once by `mamori-agent enroll` (root-only, synced); the host key and K0 live in the key
/// directory beside it.
public struct EnrolmentRecord: Sendable, Equatable {
    public var hostId: String
    public var organisation: String
    public var hostGroup: String?
    public var collectorURL: String
    /// The key the collector signs receipts with; a receipt under any other key is refused.
    public var receiptKey: [UInt8]
    public var enrolledAt: Timestamp

    public init(hostId: String, organisation: String, hostGroup: String?, collectorURL: String, receiptKey: [UInt8], enrolledAt: Timestamp) {
        self.hostId = hostId
        self.organisation = organisation
        self.hostGroup = hostGroup
        self.collectorURL = collectorURL
        self.receiptKey = receiptKey
        self.enrolledAt = enrolledAt
    }

    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "format": .int(1),
            "host_id": .string(hostId),
            "organisation": .string(organisation),
            "collector_url": .string(collectorURL),
            "receipt_key": .string(Hex.encode(receiptKey)),
            "enrolled_at": .string(enrolledAt.description),
        ]
        if let hostGroup { members["host_group"] = .string(hostGroup) }
        return .object(members)
    }

    public init(json: JSONValue) throws(AgentStateError) {
        guard let hostId = json["host_id"]?.stringValue, !hostId.isEmpty,
              let organisation = json["organisation"]?.stringValue,
              let url = json["collector_url"]?.stringValue,
              let key = json["receipt_key"]?.stringValue.flatMap({ Hex.decode($0) }), key.count == 32,
              let enrolledAt = json["enrolled_at"]?.stringValue.flatMap({ Timestamp(parsing: $0) }) else {
            throw AgentStateError("the enrolment record is incomplete or malformed")
        }
        self.init(hostId: hostId, organisation: organisation, hostGroup: json["host_group"]?.stringValue,
                  collectorURL: url, receiptKey: key, enrolledAt: enrolledAt)
    }

    public static func load(_ layout: AgentLayout) throws(AgentStateError) -> EnrolmentRecord {
        guard FileSystem.exists(layout.enrolmentPath) else {
            throw AgentStateError("this terminal is not enrolled (no \(layout.enrolmentPath)); run `mamori-agent enroll`")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(try FileSystem.readFile(layout.enrolmentPath))
        } catch {
            throw AgentStateError("\(layout.enrolmentPath): \(error)")
        }
        return try EnrolmentRecord(json: json)
    }

    public func save(_ layout: AgentLayout) throws {
        try FileSystem.writeFileAtomically(layout.enrolmentPath, json.canonicalBytes + [0x0A], mode: 0o600)
    }

    /// The identity signed requests use: this record plus the host key.
    public func identity(hostKey: Curve25519.Signing.PrivateKey) throws -> AgentIdentity {
        AgentIdentity(hostId: hostId, organisation: organisation, hostGroup: hostGroup, key: hostKey,
                      receiptKey: try Curve25519.Signing.PublicKey(rawRepresentation: receiptKey))
    }
}

public struct AgentStateError: Error, Sendable, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The newest receipt the collector signed for this host: everything up to `seq` is stored there.
/// The shipper resumes after it; written with a sync after each receipt.
public struct ShipperCursor: Sendable, Equatable {
    public var seq: UInt64
    public var hash: Digest32
    public var receivedAt: Timestamp

    public init(seq: UInt64, hash: Digest32, receivedAt: Timestamp) {
        self.seq = seq
        self.hash = hash
        self.receivedAt = receivedAt
    }

    public static func load(_ path: String) throws -> ShipperCursor? {
        guard FileSystem.exists(path) else { return nil }
        let json = try JSONValue.parse(try FileSystem.readFile(path))
        guard let seq = json["seq"]?.intValue, seq >= 0,
              let hash = json["hash"]?.stringValue.flatMap({ Digest32(hex: $0) }),
              let at = json["received_at"]?.stringValue.flatMap({ Timestamp(parsing: $0) }) else {
            throw AgentStateError("\(path): not a shipper receipt")
        }
        return ShipperCursor(seq: UInt64(seq), hash: hash, receivedAt: at)
    }

    public func save(_ path: String) throws {
        let json = JSONValue.object(["seq": .int(Int64(seq)), "hash": .string(hash.hex), "received_at": .string(receivedAt.description)])
        try FileSystem.makeDirectory(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]), mode: 0o700)
        try FileSystem.writeFileAtomically(path, json.canonicalBytes + [0x0A], mode: 0o600)
    }
}
