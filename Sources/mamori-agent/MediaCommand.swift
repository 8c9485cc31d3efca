import ArgumentParser

/// `mamori-agent media ...`: what an administrator runs on a terminal.
struct MediaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Removable-media guard (policy 6(3)①).",
        subcommands: [MediaScan.self, MediaWatch.self, MediaGeneratePolicy.self]
    )
}

/// Where the media commands read their policy.
struct MediaProfileOptions: ParsableArguments {
    @Option(help: "The profile (YAML). Default: the agent's verified copy. Unreadable or invalid: the fail-closed defaults apply.")
    var profile: String?
}

enum MediaOutputFormat: String, CaseIterable, ExpressibleByArgument {
    case table
    case json
}
