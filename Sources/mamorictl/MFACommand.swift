import ArgumentParser
import MamoriAgent

struct MFACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa",
        abstract: "Enrol users for the second factor and manage their state.",
        discussion: """
            Records live in /var/lib/mamori/mfa (DIR/var/lib/mamori/mfa with --root), one root-only file
            per user, shared with the agent's verifier; every change is made under the user's lock.
            """,
        subcommands: [MFAEnroll.self, MFAImportPSKC.self, MFAList.self, MFAReset.self, MFAUnlock.self]
    )
}

/// --root, shared by every mfa subcommand.
struct MFARootOption: ParsableArguments {
    @Option(help: "Put every path under this directory (tests and demos).")
    var root: String?

    var store: MFAStore { MFAStore(directory: (root ?? "") + "/var/lib/mamori/mfa") }
}
