import Crypto
import Foundation
import FoundationXML
import _CryptoExtras

/// The password protection of a PSKC file (RFC 6030 section 6.2): a key derived from the password
/// with PBKDF2 (`EncryptionKey/DerivedKey`), secrets encrypted with AES-CBC under it (the IV
/// prepended to the ciphertext), and a MAC key, itself encrypted under the derived key, that
/// authenticates each encrypted secret (`ValueMAC`, HMAC over IV and ciphertext). Every secret's
/// MAC is checked before it is decrypted; a wrong password and a tampered file fail the same way.
struct PSKCPasswordProtection {
    static let pbkdf2URI = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"
    static let hmacSHA1URI = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
    static let hmacSHA256URI = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
    static let aesCBCKeyBytes = [
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc": 16,
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc": 24,
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc": 32,
    ]
    /// Enough for any real export, small enough that a hostile file cannot stall the import.
    static let iterationRange = 1...10_000_000

    enum MACAlgorithm {
        case sha1, sha256
    }

    let encryptionKey: SymmetricKey
    let macKey: SymmetricKey
    let macAlgorithm: MACAlgorithm

    /// Reads `EncryptionKey` and `MACMethod` from the container and derives the keys from
    /// `password`. Anything but PBKDF2 with HMAC-SHA1 as its PRF is refused.
    init(container: XMLElement, password: [UInt8]) throws {
        guard let derived = Self.descendant(container, "EncryptionKey", "DerivedKey") else {
            throw InputError("only password-protected PSKC files (PBKDF2 DerivedKey) are supported, not pre-shared keys")
        }
        guard let method = Self.descendant(derived, "KeyDerivationMethod"),
              Self.attribute(method, "Algorithm") == Self.pbkdf2URI,
              let parameters = Self.descendant(method, "PBKDF2-params") else {
            throw InputError("the password protection is not PBKDF2 (RFC 6030 section 6.2)")
        }
        let salt = try Self.base64(Self.descendant(parameters, "Salt", "Specified"), "the PBKDF2 salt")
        guard let iterations = Self.integer(Self.descendant(parameters, "IterationCount")),
              Self.iterationRange.contains(iterations) else {
            throw InputError("the PBKDF2 iteration count is missing or not in \(Self.iterationRange)")
        }
        guard let keyLength = Self.integer(Self.descendant(parameters, "KeyLength")), [16, 24, 32].contains(keyLength) else {
            throw InputError("the PBKDF2 key length must be 16, 24 or 32 bytes")
        }
        if let prf = Self.descendant(parameters, "PRF"), let algorithm = Self.attribute(prf, "Algorithm"),
           algorithm != Self.hmacSHA1URI {
            throw InputError("PBKDF2 with \(algorithm) is not supported (HMAC-SHA1 only)")
        }
        encryptionKey = try KDF.Insecure.PBKDF2.deriveKey(from: password, salt: salt, using: .insecureSHA1,
                                                          outputByteCount: keyLength, unsafeUncheckedRounds: iterations)
        (macAlgorithm, macKey) = try Self.macKey(container, encryptionKey: encryptionKey)
    }

    static func macKey(_ container: XMLElement, encryptionKey: SymmetricKey) throws -> (MACAlgorithm, SymmetricKey) {
        guard let method = descendant(container, "MACMethod") else {
            throw InputError("the file has no MACMethod: encrypted secrets without a MAC are refused")
        }
        let algorithm: MACAlgorithm
        switch attribute(method, "Algorithm") {
        case hmacSHA1URI: algorithm = .sha1
        case hmacSHA256URI: algorithm = .sha256
        default: throw InputError("the MAC method is not HMAC-SHA1 or HMAC-SHA256")
        }
        guard let encrypted = descendant(method, "MACKey") else { throw InputError("the MACMethod has no MACKey") }
        let bytes = try decrypt(encrypted, key: encryptionKey, what: "the MAC key")
        return (algorithm, SymmetricKey(data: bytes))
    }

    /// The plaintext of an `EncryptedValue` whose `ValueMAC` (in `secret`) is right.
    func decryptSecret(_ secret: XMLElement, name: String) throws -> [UInt8] {
        guard let encrypted = Self.descendant(secret, "EncryptedValue") else { throw InputError("\(name): no EncryptedValue") }
        let cipherValue = try Self.base64(Self.descendant(encrypted, "CipherData", "CipherValue"), "\(name): the CipherValue")
        let mac = try Self.base64(Self.descendant(secret, "ValueMAC"), "\(name): the ValueMAC")
        guard isValid(mac: mac, over: cipherValue) else {
            throw InputError("\(name): the MAC does not match: wrong password, or the file was altered")
        }
        return try Self.decrypt(encrypted, key: encryptionKey, what: name)
    }

    func isValid(mac: [UInt8], over data: [UInt8]) -> Bool {
        switch macAlgorithm {
        case .sha1: HMAC<Insecure.SHA1>.isValidAuthenticationCode(mac, authenticating: data, using: macKey)
        case .sha256: HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: data, using: macKey)
        }
    }

    /// AES-CBC with PKCS#7 padding; the first block of the CipherValue is the IV (XML Encryption).
    static func decrypt(_ encrypted: XMLElement, key: SymmetricKey, what: String) throws -> [UInt8] {
        guard let method = descendant(encrypted, "EncryptionMethod"), let uri = attribute(method, "Algorithm"),
              let keyBytes = aesCBCKeyBytes[uri] else {
            throw InputError("\(what): the encryption method is not AES-CBC")
        }
        guard keyBytes == key.bitCount / 8 else { throw InputError("\(what): \(uri) does not match the derived key's length") }
        let bytes = try base64(descendant(encrypted, "CipherData", "CipherValue"), "\(what): the CipherValue")
        guard bytes.count >= 32, bytes.count % 16 == 0 else { throw InputError("\(what): the CipherValue is not IV plus whole AES blocks") }
        do {
            let iv = try AES._CBC.IV(ivBytes: bytes.prefix(16))
            return Array(try AES._CBC.decrypt(bytes.dropFirst(16), using: key, iv: iv))
        } catch {
            throw InputError("\(what): cannot be decrypted: wrong password, or the file was altered")
        }
    }

    /// The first element on the path of local names, in any namespace: RFC 6030's containers mix
    /// PSKC, XML Encryption 1.1 and PKCS #5 names, some of them unqualified.
    static func descendant(_ element: XMLElement?, _ path: String...) -> XMLElement? {
        var current = element
        for name in path {
            current = current?.children?.lazy.compactMap { $0 as? XMLElement }.first { $0.localName == name }
        }
        return current
    }

    static func attribute(_ element: XMLElement, _ name: String) -> String? {
        PSKCDocument.attribute(element, name)
    }

    static func integer(_ element: XMLElement?) -> Int? {
        element?.stringValue.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func base64(_ element: XMLElement?, _ what: String) throws -> [UInt8] {
        let text = element?.stringValue?.filter { !$0.isWhitespace } ?? ""
        guard !text.isEmpty, let data = Data(base64Encoded: text) else { throw InputError("\(what) is missing or not base64") }
        return Array(data)
    }
}
