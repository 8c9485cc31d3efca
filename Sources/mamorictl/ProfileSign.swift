import ArgumentParser
import MamoriCore

struct ProfileSign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Lint a profile and sign it into an envelope carrying the signing key's certificate.",
        discussion: """
            The certificate defaults to the key's file with .cert for .key; root-rotations.json next to
            the key is embedded when present, so terminals pinned on an older root can follow it.
            """
    )

    @Argument(help: "The profile YAML file.")
    var file: String

    @OptionGroup var signing: SigningKeyOptions

    @Option(help: "Where to write the signed envelope.")
    var out: String

    @OptionGroup var clock: ClockOptions

    func run() throws {
        let source = try ProfileSource.read(file)
        let (signingKey, certificate, chain) = try signing.load()
        switch ProfileSigner.sign(source: source, key: signingKey, certificate: certificate, rootRotations: chain, now: clock.time) {
        case .failure(.invalidProfile(let error)):
            for diagnostic in error.diagnostics { Output.standardError("\(file):\(diagnostic)\n") }
            Output.error("\(file): not signed: the profile has \(error.diagnostics.count) error(s)")
            throw ExitStatus.failed
        case .failure(let error):
            throw InputError("not signed: \(error)")
        case .success(let envelope):
            try KeysFiles.write(out, envelope.bytes, secret: false)
            print("signed \(file) -> \(out)")
            print("  sha256       \(envelope.profileSHA256)")
            print("  signing key  \(certificate.signingKey.keyId), certificate valid until \(certificate.expires)")
        }
    }
}

/// The key that signs profiles and grants: its private key, its certificate from the root, and
/// the root rotations a terminal pinned on an older root needs.
struct SigningKeyOptions: ParsableArguments {
    @Option(help: "The signing key's private key file (D/signing.key).")
    var key: String

    @Option(help: "The signing key's certificate (default: KEY with .cert instead of .key).")
    var cert: String?

    @Option(help: "Root rotations to embed (default: root-rotations.json beside the key, if any).")
    var rotations: String?

    func load() throws -> (key: ProfilePrivateKey, certificate: SigningKeyCertificate, rotations: [RootRotation]) {
        let signingKey = try KeysFiles.privateKey(key, role: .signing)
        let certificate = try KeysFiles.certificate(cert ?? Self.sibling(of: key, named: nil))
        let rotationsPath = rotations ?? Self.sibling(of: key, named: "root-rotations.json")
        let chain = (rotations != nil || KeysNaming.exists(rotationsPath)) ? try KeysFiles.rotations(rotationsPath) : []
        return (signingKey, certificate, chain)
    }

    /// D/x.key -> D/x.cert, or another file in the key's directory.
    static func sibling(of keyPath: String, named name: String?) -> String {
        let directory = keyPath.lastIndex(of: "/").map { String(keyPath[...$0]) } ?? ""
        if let name { return directory + name }
        return keyPath.hasSuffix(".key") ? String(keyPath.dropLast(4)) + ".cert" : keyPath + ".cert"
    }
}
