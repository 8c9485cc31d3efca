import Foundation
import FoundationXML
import MamoriCore

/// One OATH key from a PSKC file (RFC 6030), as far as enrolment needs it.
struct PSKCKey {
    var serial: String
    var userId: String?
    var credential: OTPCredential
    var counter: UInt64
}

/// Reads PSKC key containers, plain or password-protected (RFC 6030 section 6.2). Strict: an unknown
/// algorithm, a non-decimal response format, a missing secret, or an encrypted secret whose MAC does
/// not match rejects the whole file, naming the key.
enum PSKCDocument {
    static let namespace = "urn:ietf:params:xml:ns:keyprov:pskc"

    /// `password` is asked for (called at most once) only when the file is password-protected.
    static func keys(from data: Data, password: () throws -> [UInt8]) throws -> [PSKCKey] {
        let document: XMLDocument
        do {
            document = try XMLDocument(data: data)
        } catch {
            throw InputError("not an XML document")
        }
        guard let root = document.rootElement(), root.localName == "KeyContainer", root.uri == namespace else {
            throw InputError("not a PSKC KeyContainer (RFC 6030)")
        }
        let packages = root.elements(forLocalName: "KeyPackage", uri: namespace)
        guard !packages.isEmpty else { throw InputError("the PSKC file holds no KeyPackage") }
        var protection: PSKCPasswordProtection?
        if !root.elements(forLocalName: "EncryptionKey", uri: namespace).isEmpty {
            protection = try PSKCPasswordProtection(container: root, password: try password())
        }
        return try packages.enumerated().map { index, package in try key(package, index: index, protection: protection) }
    }

    static func child(_ element: XMLElement?, _ path: String...) -> XMLElement? {
        var current = element
        for name in path { current = current?.elements(forLocalName: name, uri: namespace).first }
        return current
    }

    /// An attribute's value. (FoundationXML on Linux does not find attributes of namespaced
    /// elements with attribute(forName:), so the list is searched.)
    static func attribute(_ element: XMLElement?, _ name: String) -> String? {
        element?.attributes?.first { $0.name == name || $0.localName == name }?.stringValue
    }

    static func key(_ package: XMLElement, index: Int, protection: PSKCPasswordProtection?) throws -> PSKCKey {
        let serial = child(package, "DeviceInfo", "SerialNo")?.stringValue ?? ""
        let name = serial.isEmpty ? "KeyPackage \(index + 1)" : "key with serial \(serial)"
        guard let key = child(package, "Key"), let algorithmURI = attribute(key, "Algorithm") else {
            throw InputError("\(name): no Key with an Algorithm")
        }
        let factor: OTPFactor
        switch algorithmURI {
        case namespace + ":hotp", namespace + "#hotp": factor = .hotp
        case namespace + ":totp", namespace + "#totp": factor = .totp
        default: throw InputError("\(name): algorithm \(algorithmURI) is not HOTP or TOTP")
        }
        let parameters = try self.parameters(key, name: name)
        let secret = try self.secret(key, name: name, protection: protection)
        guard let credential = OTPCredential(factor: factor, secret: secret, parameters: parameters) else {
            throw InputError("\(name): the secret must be \(OneTimePassword.secretByteRange.lowerBound)–\(OneTimePassword.secretByteRange.upperBound) bytes")
        }
        let counterText = child(key, "Data", "Counter", "PlainValue")?.stringValue ?? "0"
        guard let counter = UInt64(counterText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw InputError("\(name): the counter `\(counterText)` is not a number")
        }
        return PSKCKey(serial: serial, userId: child(key, "UserId")?.stringValue, credential: credential, counter: counter)
    }

    static func parameters(_ key: XMLElement, name: String) throws -> OTPParameters {
        let format = child(key, "AlgorithmParameters", "ResponseFormat")
        let digits = attribute(format, "Length").flatMap { Int($0) } ?? 6
        let encoding = attribute(format, "Encoding") ?? "DECIMAL"
        guard encoding == "DECIMAL" else { throw InputError("\(name): response encoding \(encoding) is not DECIMAL") }
        let stepText = child(key, "Data", "TimeInterval", "PlainValue")?.stringValue ?? "30"
        let suite = child(key, "AlgorithmParameters", "Suite")?.stringValue?.uppercased() ?? "HMAC-SHA1"
        let algorithm: OTPHashAlgorithm
        switch suite.replacingOccurrences(of: "HMAC-", with: "") {
        case "SHA1": algorithm = .sha1
        case "SHA256": algorithm = .sha256
        case "SHA512": algorithm = .sha512
        default: throw InputError("\(name): suite \(suite) is not HMAC-SHA1/256/512")
        }
        guard let step = Int64(stepText.trimmingCharacters(in: .whitespacesAndNewlines)),
              let parameters = OTPParameters(algorithm: algorithm, digits: digits, timeStep: step) else {
            throw InputError("\(name): \(digits) digits or a \(stepText)-second step is out of range (6–8 digits, 1–3600 s)")
        }
        return parameters
    }

    static func secret(_ key: XMLElement, name: String, protection: PSKCPasswordProtection?) throws -> [UInt8] {
        let secret = child(key, "Data", "Secret")
        if let secret, child(secret, "EncryptedValue") != nil {
            guard let protection else { throw InputError("\(name): the secret is encrypted but the file has no EncryptionKey") }
            return try protection.decryptSecret(secret, name: name)
        }
        guard let text = child(secret, "PlainValue")?.stringValue,
              let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw InputError("\(name): no base64 PlainValue secret")
        }
        return Array(bytes)
    }
}
