public import Crypto
public import Foundation
public import MamoriCore
import SwiftASN1
import X509

/// The collector's data directory:
///
///     DATA/collector.sqlite3        the database (SQLite, the default)
///     DATA/tls/ca.pem, ca.key       the CA agents pin at enrolment (ca.key 0600)
///     DATA/tls/server.pem, .key     the HTTPS certificate the CA issued (server.key 0600)
///     DATA/keys/master.key          32 bytes that seal each host's K0 and epoch key at rest (0600)
///     DATA/keys/receipt.key, .pub   Ed25519 key that signs ingest receipts
///     DATA/keys/profile-root.pub    the profile root key envelopes must chain to (optional)
public struct CollectorData: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var caCertificatePath: String { directory + "/tls/ca.pem" }
    public var caKeyPath: String { directory + "/tls/ca.key" }
    public var serverCertificatePath: String { directory + "/tls/server.pem" }
    public var serverKeyPath: String { directory + "/tls/server.key" }
    public var masterKeyPath: String { directory + "/keys/master.key" }
    public var receiptKeyPath: String { directory + "/keys/receipt.key" }
    public var receiptPublicKeyPath: String { directory + "/keys/receipt.pub" }
    public var profileRootPath: String { directory + "/keys/profile-root.pub" }

    /// Creates the directory's keys and certificates. Refuses to overwrite an existing collector.
    public func create(serverNames: [String], profileRoot: ProfilePublicKey?, now: Date = Date()) throws {
        let manager = FileManager.default
        guard !manager.fileExists(atPath: masterKeyPath) else {
            throw CollectorError.conflict("\(directory) already holds a collector (keys/master.key exists); refusing to overwrite it")
        }
        for sub in ["", "/tls", "/keys"] {
            try manager.createDirectory(atPath: directory + sub, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let material = try TLSMaterial.make(serverNames: serverNames, now: now)
        try Self.write(material.caCertificatePEM, to: caCertificatePath, mode: 0o644)
        try Self.write(material.caKeyPEM, to: caKeyPath, mode: 0o600)
        try Self.write(material.serverCertificatePEM, to: serverCertificatePath, mode: 0o644)
        try Self.write(material.serverKeyPEM, to: serverKeyPath, mode: 0o600)
        try Self.write(Hex.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }) + "\n", to: masterKeyPath, mode: 0o600)
        let receipt = Curve25519.Signing.PrivateKey()
        try Self.write(Hex.encode(receipt.rawRepresentation) + "\n", to: receiptKeyPath, mode: 0o600)
        try Self.write(Hex.encode(receipt.publicKey.rawRepresentation) + "\n", to: receiptPublicKeyPath, mode: 0o644)
        if let profileRoot {
            try Self.write(profileRoot.hex + "\n", to: profileRootPath, mode: 0o644)
        }
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw CollectorError.internalError("cannot write \(path)")
        }
    }

    /// A key file: must be owned by us and not readable by group or others.
    func readSecret(_ path: String) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw CollectorError.internalError("\(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func secretBox() throws -> SecretBox {
        guard let bytes = Hex.decode(try readSecret(masterKeyPath)), bytes.count == 32 else {
            throw CollectorError.internalError("\(masterKeyPath) is not 32 bytes of hex")
        }
        return SecretBox(keyBytes: bytes)
    }

    public func receiptKey() throws -> Curve25519.Signing.PrivateKey {
        guard let bytes = Hex.decode(try readSecret(receiptKeyPath)), bytes.count == 32 else {
            throw CollectorError.internalError("\(receiptKeyPath) is not 32 bytes of hex")
        }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
    }

    public func profileRoot() throws -> ProfilePublicKey? {
        guard FileManager.default.fileExists(atPath: profileRootPath) else { return nil }
        let text = try String(contentsOfFile: profileRootPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = ProfilePublicKey(hex: text) else {
            throw CollectorError.internalError("\(profileRootPath) is not a profile root public key")
        }
        return key
    }
}

/// A CA and a server certificate it issued, in PEM.
public struct TLSMaterial: Sendable {
    public var caCertificatePEM: String
    public var caKeyPEM: String
    public var serverCertificatePEM: String
    public var serverKeyPEM: String

    public static func make(serverNames: [String], now: Date) throws -> TLSMaterial {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("Mamori")
            CommonName("Mamori collector CA")
        }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(20 * 365 * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let serverName = try DistinguishedName {
            OrganizationName("Mamori")
            CommonName(serverNames.first ?? "localhost")
        }
        let names: [GeneralName] = serverNames.map { name in
            if let address = ipv4Bytes(name) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))) }
            return .dnsName(name)
        }
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(5 * 365 * 86400),
            issuer: caName, subject: serverName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))
        return TLSMaterial(caCertificatePEM: try ca.serializeAsPEM().pemString + "\n", caKeyPEM: caKey.pemRepresentation + "\n",
                           serverCertificatePEM: try server.serializeAsPEM().pemString + "\n",
                           serverKeyPEM: serverKey.pemRepresentation + "\n")
    }

    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }
}
