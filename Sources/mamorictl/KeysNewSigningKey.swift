import ArgumentParser
import MamoriCore

struct KeysNewSigningKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new-signing-key",
        abstract: "Create a new profile-signing key certified by the root (signing-key rotation)."
    )

    @Option(help: "Directory for the new key files.")
    var dir: String

    @Option(help: "The root's private key file.")
    var rootKey: String

    @Option(help: "Base name of the new files (default: the first free signing-N).")
    var name: String?

    @OptionGroup var validity: CertificateValidity
    @OptionGroup var clock: ClockOptions

    func run() throws {
        let root = try KeysFiles.privateKey(rootKey, role: .root)
        try KeysFiles.ensureDirectory(dir)
        let baseName = name ?? KeysNaming.firstFree(prefix: "signing", in: dir)
        try KeysFiles.refuseOverwrite(["key", "pub", "cert"].map { "\(dir)/\(baseName).\($0)" })
        let now = clock.time
        let signing = ProfilePrivateKey.generate(role: .signing)
        let certificate = try SigningKeyCertificate.issue(for: signing.publicKey, by: root, issued: now,
                                                          expires: now.adding(seconds: Int64(validity.validDays) * 86_400))
        try KeysFiles.writeKeyPair(dir: dir, name: baseName, key: signing, certificate: certificate)
        print("signing key   \(signing.publicKey.keyId)  \(dir)/\(baseName).key")
        print("certificate   \(dir)/\(baseName).cert, certified by root \(root.publicKey.keyId), valid until \(certificate.expires)")
    }
}

enum KeysNaming {
    static func firstFree(prefix: String, in dir: String) -> String {
        var index = 2
        while KeysNaming.exists("\(dir)/\(prefix)-\(index).key") { index += 1 }
        return "\(prefix)-\(index)"
    }

    static func exists(_ path: String) -> Bool { (try? KeysFiles.read(path, what: "key")) != nil }
}
