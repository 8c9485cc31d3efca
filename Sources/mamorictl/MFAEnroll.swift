import ArgumentParser
import Crypto
import MamoriAgent
import MamoriCore

struct MFAEnroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Create a user's OATH secret and recovery codes; print the otpauth URI.",
        discussion: "The secret and the recovery codes are shown once, here, and stored only on this terminal (codes hashed)."
    )

    enum Format: String, CaseIterable, ExpressibleByArgument { case text, uri, json }

    @Argument(help: "The login name.")
    var user: String

    @OptionGroup var location: MFARootOption

    @Option(help: "Token type: totp or hotp.")
    var type: TokenType = .totp

    @Option(help: "HMAC algorithm: SHA1, SHA256 or SHA512.")
    var algorithm: TokenAlgorithm = .sha1

    @Option(help: "Digits per code (6-8).")
    var digits: Int = 6

    @Option(help: "Issuer shown by authenticator apps.")
    var issuer: String = "Mamori"

    @Option(help: "Recovery codes to create (0-20).")
    var recoveryCodes: Int = MFARules.default.recoveryCodeCount

    @Option(help: "Output: text, uri or json.")
    var format: Format = .text

    @Flag(help: "Replace an existing enrolment.")
    var force = false

    func validate() throws {
        guard MFAUserName.isValid(user) else { throw ValidationError("`\(user)` is not a valid user name") }
        guard OTPParameters.digitRange.contains(digits) else { throw ValidationError("--digits must be 6...8") }
        guard (0...20).contains(recoveryCodes) else { throw ValidationError("--recovery-codes must be 0...20") }
        guard !issuer.isEmpty, issuer.utf8.count <= 64, !issuer.contains(":") else {
            throw ValidationError("--issuer must be 1-64 bytes without `:`")
        }
    }

    func run() throws {
        guard let parameters = OTPParameters(algorithm: algorithm.hash, digits: digits),
              let credential = OTPCredential(factor: type.factor, secret: Self.randomBytes(Self.secretLength(algorithm.hash)),
                                             parameters: parameters)
        else { throw InputError("invalid token parameters") }
        let codes = try (0..<recoveryCodes).map { _ in
            guard let code = RecoveryCode.make(random: Self.randomBytes(RecoveryCode.symbolCount)) else { throw InputError("recovery code") }
            return code
        }
        let hashes = codes.compactMap { RecoveryCode.hashed($0, salt: Self.randomBytes(RecoveryCode.saltLength)) }
        let store = location.store
        try store.prepare()
        let created = try store.update(user) { existing -> (MFAUserRecord?, Bool) in
            if existing != nil && !force { return (nil, false) }
            return (MFAUserRecord(user: user, credential: credential, state: MFAUserState(recoveryCodes: hashes)), true)
        }
        guard created else { throw InputError("\(user) is already enrolled; use --force to replace the secret") }
        print(render(credential: credential, codes: codes))
    }

    func render(credential: OTPCredential, codes: [String]) -> String {
        let uri = OTPAuthURI.make(user: user, issuer: issuer, credential: credential)
        switch format {
        case .uri:
            return uri
        case .json:
            return JSONValue.object([
                "user": .string(user), "type": .string(type.rawValue), "uri": .string(uri),
                "secret": .string(Base32.encode(credential.secret)), "recovery_codes": .array(codes.map { .string($0) }),
            ]).canonicalString
        case .text:
            var lines = ["enrolled      \(user) (\(type.rawValue), \(algorithm.rawValue), \(digits) digits)", "otpauth URI   \(uri)",
                         "secret        \(Base32.encode(credential.secret))"]
            if let symbol = QRSymbol(uri) {
                lines.append("scan with an authenticator app:")
                lines += symbol.render()
            }
            if !codes.isEmpty {
                lines.append("recovery codes (each works once; shown only now):")
                lines += codes.map { "  " + $0 }
            }
            return lines.joined(separator: "\n")
        }
    }

    /// RFC 6238 §5.1: a key as long as the hash's output.
    static func secretLength(_ algorithm: OTPHashAlgorithm) -> Int {
        switch algorithm {
        case .sha1: return 20
        case .sha256: return 32
        case .sha512: return 64
        }
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Array($0) }
    }
}

/// The CLI's spellings of MamoriCore's token types and algorithms.
enum TokenType: String, CaseIterable, ExpressibleByArgument {
    case totp, hotp
    var factor: OTPFactor { self == .totp ? .totp : .hotp }
}

enum TokenAlgorithm: String, CaseIterable, ExpressibleByArgument {
    case sha1 = "SHA1", sha256 = "SHA256", sha512 = "SHA512"
    var hash: OTPHashAlgorithm {
        switch self {
        case .sha1: return .sha1
        case .sha256: return .sha256
        case .sha512: return .sha512
        }
    }
}
