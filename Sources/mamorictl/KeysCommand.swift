import ArgumentParser

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and rotate the profile root and signing keys.",
        discussion: """
            The root key certifies profile-signing keys and should be kept offline. Files in --dir:
            NAME.key (private, mode 0600), NAME.pub (64 hex digits), NAME.cert (a signing key's
            certificate), root-rotations.json (root hand-overs, oldest first).
            """,
        subcommands: [KeysInit.self, KeysNewSigningKey.self, KeysRotateRoot.self]
    )
}
