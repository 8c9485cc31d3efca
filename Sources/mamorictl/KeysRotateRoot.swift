import ArgumentParser
import MamoriCore

struct KeysRotateRoot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-root",
        abstract: "Hand over from the current root to a new root, signed by both.",
        discussion: """
            Creates NAME.key and NAME.pub, and appends a rotation statement signed by the old and the
            new root to root-rotations.json in --dir. `profile sign` embeds that file, so terminals
            pinned on the old root follow the hand-over. Then certify a signing key under the new
            root: `mamorictl keys new-signing-key --dir D --root-key D/NAME.key`.
            """
    )

    @Option(help: "Directory holding the keys and root-rotations.json.")
    var dir: String

    @Option(help: "The current (old) root's private key file.")
    var rootKey: String

    @Option(help: "Base name of the new root's files (default: the first free root-N).")
    var name: String?

    @OptionGroup var clock: ClockOptions

    func run() throws {
        let oldRoot = try KeysFiles.privateKey(rootKey, role: .root)
        try KeysFiles.ensureDirectory(dir)
        let chainPath = "\(dir)/root-rotations.json"
        var chain: [RootRotation] = []
        if KeysNaming.exists(chainPath) { chain = try KeysFiles.rotations(chainPath) }
        if let last = chain.last, last.newRoot != oldRoot.publicKey {
            throw InputError("\(rootKey) is not the newest root in \(chainPath) (that is \(last.newRoot.keyId))")
        }
        let baseName = name ?? KeysNaming.firstFree(prefix: "root", in: dir)
        try KeysFiles.refuseOverwrite(["key", "pub"].map { "\(dir)/\(baseName).\($0)" })
        let newRoot = ProfilePrivateKey.generate(role: .root)
        chain.append(try RootRotation.make(from: oldRoot, to: newRoot, issued: clock.time))
        try KeysFiles.writeKeyPair(dir: dir, name: baseName, key: newRoot, certificate: nil)
        try KeysFiles.write(chainPath, RootRotation.chainFileBytes(chain), secret: false)
        print("new root      \(newRoot.publicKey.keyId)  \(dir)/\(baseName).key (move it offline)")
        print("rotation      \(oldRoot.publicKey.keyId) -> \(newRoot.publicKey.keyId) appended to \(chainPath)")
        print("next: mamorictl keys new-signing-key --dir \(dir) --root-key \(dir)/\(baseName).key")
    }
}
