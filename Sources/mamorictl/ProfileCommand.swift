import ArgumentParser

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Lint, sign and verify profiles.",
        subcommands: []
    )
}
