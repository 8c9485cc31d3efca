import Crypto
import Foundation
public import MamoriCore

/// Seals secrets at rest (each host's K0 and current epoch key) with AES-256-GCM under the
/// collector's master key, which lives in DATA/keys/master.key (0600) and never in the database.
/// A copied database alone therefore does not let anyone forge a host's records.
public struct SecretBox: Sendable {
    let key: SymmetricKey

    public init(keyBytes: [UInt8]) {
        precondition(keyBytes.count == 32, "the master key is 32 bytes")
        key = SymmetricKey(data: keyBytes)
    }

    /// "v1:" + hex(nonce ‖ ciphertext ‖ tag). `context` (e.g. "k0:host-id") is authenticated, so
    /// a sealed value moved to another row or column does not open.
    public func seal(_ plaintext: [UInt8], context: String) throws -> String {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8))
        guard let combined = box.combined else { throw CollectorError.internalError("AES-GCM gave no combined form") }
        return "v1:" + Hex.encode(combined)
    }

    public func open(_ sealed: String, context: String) throws -> [UInt8] {
        guard sealed.hasPrefix("v1:"), let bytes = Hex.decode(sealed.dropFirst(3)) else {
            throw CollectorError.internalError("a sealed secret is not in the v1 form")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: bytes)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
        } catch {
            throw CollectorError.internalError("a sealed secret does not open under this collector's master key")
        }
    }
}

/// Random secrets and identifiers.
public enum Random {
    /// `bytes` random bytes as lower-case hex.
    public static func hex(_ bytes: Int) -> String {
        Hex.encode(SymmetricKey(size: SymmetricKeySize(bitCount: bytes * 8)).withUnsafeBytes { Array($0) })
    }

    /// A bearer or enrolment token: a readable prefix and 32 random bytes.
    public static func token(prefix: String) -> String { prefix + "_" + hex(32) }

    public static func identifier(prefix: String) -> String { prefix + "-" + hex(8) }
}

/// Tokens are stored as SHA-256 hex, so a copy of the database holds no usable token.
public func tokenHash(_ token: String) -> String { Hex.encode(SHA256.hash(data: Array(token.utf8))) }

public enum CollectorClock {
    public static func now() -> Timestamp {
        Timestamp(microsecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()))
    }
}

/// The collector's errors, each mapped to an HTTP status with a reason the caller can act on.
public enum CollectorError: Error, Sendable, Equatable, CustomStringConvertible {
    case badRequest(String)
    case unauthorized(String)
    case forbidden(String)
    case notFound(String)
    case conflict(String)
    case tooLarge(String)
    case tooManyRequests(String)
    case unprocessable(String)
    case internalError(String)

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .conflict: 409
        case .tooLarge: 413
        case .unprocessable: 422
        case .tooManyRequests: 429
        case .internalError: 500
        }
    }

    public var code: String {
        switch self {
        case .badRequest: "bad-request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not-found"
        case .conflict: "conflict"
        case .tooLarge: "too-large"
        case .unprocessable: "unprocessable"
        case .tooManyRequests: "too-many-requests"
        case .internalError: "internal"
        }
    }

    public var reason: String {
        switch self {
        case .badRequest(let r), .unauthorized(let r), .forbidden(let r), .notFound(let r), .conflict(let r),
             .tooLarge(let r), .tooManyRequests(let r), .unprocessable(let r), .internalError(let r): r
        }
    }

    public var description: String { "\(status) \(code): \(reason)" }
}
