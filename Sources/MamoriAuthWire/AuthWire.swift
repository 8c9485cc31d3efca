/// The PAM module ↔ agent protocol on `/run/mamori/pam.sock`. Tiny and Foundation-free because
/// the module links it into every login process.
///
/// A message is a frame: 4-byte big-endian body length (at most `AuthWire.maxBodyLength`), then
/// the body. A body starts with the magic `MA`, the version (1) and a message type, then fields,
/// each a 2-byte big-endian length and that many UTF-8 bytes without NUL, in a fixed order with
/// per-field bounds. Nothing may follow the last field. Decoding never traps: any deviation is
/// an `AuthWireError`, and both sides treat an error as a refusal.
public enum AuthWire {
    public static let version: UInt8 = 1
    public static let magic: [UInt8] = [0x4D, 0x41]  // "MA"
    public static let maxBodyLength = 1024
    public static let headerLength = 4
}

public struct AuthWireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case frameTooLong, frameTruncated, badMagic, badVersion, badType, badField, trailingBytes, fieldTooLong
    }
    public let code: Code
    public let field: String?

    public init(_ code: Code, field: String? = nil) {
        self.code = code
        self.field = field
    }

    public var description: String {
        if let field { return "auth wire: \(code.rawValue) (\(field))" }
        return "auth wire: \(code.rawValue)"
    }
}

/// The module's question: may `user` log in to `service` with `code`?
public struct AuthRequest: Sendable, Equatable {
    public static let messageType: UInt8 = 0x01
    /// Field bounds in bytes: (name, maximum).
    static let limits: [(String, Int)] = [("user", 64), ("service", 64), ("tty", 128), ("rhost", 255), ("code", 64)]

    public var user: String
    public var service: String
    public var tty: String
    public var rhost: String
    public var code: String

    public init(user: String, service: String, tty: String = "", rhost: String = "", code: String) {
        self.user = user
        self.service = service
        self.tty = tty
        self.rhost = rhost
        self.code = code
    }

    var fields: [String] { [user, service, tty, rhost, code] }

    /// The whole frame (header and body), or an error if a field is over its bound or has a NUL.
    public func encoded() throws(AuthWireError) -> [UInt8] {
        try WireCodec.frame(type: Self.messageType, fields: fields, limits: Self.limits)
    }

    /// Decodes a body (without the 4-byte header).
    public init(body: [UInt8]) throws(AuthWireError) {
        let values = try WireCodec.fields(body: body, type: Self.messageType, limits: Self.limits)
        self.init(user: values[0], service: values[1], tty: values[2], rhost: values[3], code: values[4])
    }
}

/// The agent's answer. The status drives the PAM result; the message is for the user's screen
/// and never contains a secret.
public struct AuthResponse: Sendable, Equatable {
    public static let messageType: UInt8 = 0x02
    static let limits: [(String, Int)] = [("status", 32), ("message", 256)]

    public enum Status: String, Sendable, CaseIterable {
        case accepted
        case rejected
        case replayed
        case lockedOut = "locked-out"
        case notEnrolled = "not-enrolled"
        case exempt
        case denied
        case unavailable
    }

    public var status: Status
    public var message: String

    public init(status: Status, message: String = "") {
        self.status = status
        self.message = message
    }

    public func encoded() throws(AuthWireError) -> [UInt8] {
        try WireCodec.frame(type: Self.messageType, fields: [status.rawValue, message], limits: Self.limits)
    }

    public init(body: [UInt8]) throws(AuthWireError) {
        let values = try WireCodec.fields(body: body, type: Self.messageType, limits: Self.limits)
        guard let status = Status(rawValue: values[0]) else { throw AuthWireError(.badField, field: "status") }
        self.init(status: status, message: values[1])
    }
}

/// Reading the 4-byte header: how long the body will be, or why the frame is refused.
public enum AuthFrame {
    public static func bodyLength(header: [UInt8]) throws(AuthWireError) -> Int {
        guard header.count == AuthWire.headerLength else { throw AuthWireError(.frameTruncated) }
        var length = 0
        for byte in header { length = length << 8 | Int(byte) }
        guard length <= AuthWire.maxBodyLength else { throw AuthWireError(.frameTooLong) }
        return length
    }

    /// Splits one complete frame into its body; the frame must be exactly header + body.
    public static func body(ofFrame frame: [UInt8]) throws(AuthWireError) -> [UInt8] {
        guard frame.count >= AuthWire.headerLength else { throw AuthWireError(.frameTruncated) }
        let length = try bodyLength(header: Array(frame[0..<AuthWire.headerLength]))
        let body = frame[AuthWire.headerLength...]
        guard body.count >= length else { throw AuthWireError(.frameTruncated) }
        guard body.count == length else { throw AuthWireError(.trailingBytes) }
        return Array(body)
    }
}

enum WireCodec {
    static func frame(type: UInt8, fields: [String], limits: [(String, Int)]) throws(AuthWireError) -> [UInt8] {
        var body = AuthWire.magic + [AuthWire.version, type]
        for (index, field) in fields.enumerated() {
            let bytes = Array(field.utf8)
            let (name, limit) = limits[index]
            guard bytes.count <= limit else { throw AuthWireError(.fieldTooLong, field: name) }
            guard !bytes.contains(0) else { throw AuthWireError(.badField, field: name) }
            body.append(UInt8(truncatingIfNeeded: bytes.count >> 8))
            body.append(UInt8(truncatingIfNeeded: bytes.count))
            body.append(contentsOf: bytes)
        }
        guard body.count <= AuthWire.maxBodyLength else { throw AuthWireError(.frameTooLong) }
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body
    }

    static func fields(body: [UInt8], type: UInt8, limits: [(String, Int)]) throws(AuthWireError) -> [String] {
        guard body.count <= AuthWire.maxBodyLength else { throw AuthWireError(.frameTooLong) }
        guard body.count >= 4 else { throw AuthWireError(.frameTruncated) }
        guard body[0] == AuthWire.magic[0], body[1] == AuthWire.magic[1] else { throw AuthWireError(.badMagic) }
        guard body[2] == AuthWire.version else { throw AuthWireError(.badVersion) }
        guard body[3] == type else { throw AuthWireError(.badType) }
        var offset = 4
        var values: [String] = []
        for (name, limit) in limits {
            guard offset + 2 <= body.count else { throw AuthWireError(.frameTruncated, field: name) }
            let length = Int(body[offset]) << 8 | Int(body[offset + 1])
            offset += 2
            guard length <= limit else { throw AuthWireError(.fieldTooLong, field: name) }
            guard offset + length <= body.count else { throw AuthWireError(.frameTruncated, field: name) }
            let bytes = body[offset..<(offset + length)]
            offset += length
            guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
                throw AuthWireError(.badField, field: name)
            }
            values.append(text)
        }
        guard offset == body.count else { throw AuthWireError(.trailingBytes) }
        return values
    }
}
