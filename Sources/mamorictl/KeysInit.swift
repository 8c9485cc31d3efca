import ArgumentParser
import MamoriCore

struct CertificateValidity: ParsableArguments {
    @Option(help: "Days the signing key's certificate is valid (1...1095).")
    var validDays: Int = 365

    func validate() throws {
        guard (1...1095).contains(validDays) else { throw ValidationError("--valid-days must be 1...1095") }
    }
}

struct KeysInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an offline root key and a profile-signing key certified by it.",
        discussion: "Writes root.key, root.pub, signing.key, signing.pub and signing.cert into --dir; refuses to overwrite."
    )

    @Option(help: "Directory for the key files (created with mode 0700).")
    var dir: String

    @OptionGroup var validity: CertificateValidity
    @OptionGroup var clock: ClockOptions

    func run() throws {
        let names = ["root.key", "root.pub", "signing.key", "signing.pub", "signing.cert"].map { "\(dir)/\($0)" }
        try KeysFiles.refuseOverwrite(names)
        try KeysFiles.ensureDirectory(dir)
        let now = clock.time
        let root = ProfilePrivateKey.generate(role: .root)
        let signing = ProfilePrivateKey.generate(role: .signing)
        let certificate = try SigningKeyCertificate.issue(for: signing.publicKey, by: root, issued: now,
                                                          expires: now.adding(seconds: Int64(validity.validDays) * 86_400))
        try KeysFiles.writeKeyPair(dir: dir, name: "root", key: root, certificate: nil)
        try KeysFiles.writeKeyPair(dir: dir, name: "signing", key: signing, certificate: certificate)
        print("root key      \(root.publicKey.keyId)  \(dir)/root.key (move it offline; pin \(dir)/root.pub on terminals)")
        print("signing key   \(signing.publicKey.keyId)  \(dir)/signing.key")
        print("certificate   \(dir)/signing.cert, valid until \(certificate.expires)")
    }
}
