import ArgumentParser

struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Generate, verify and show tamper-evident journals.",
        subcommands: [JournalGenerate.self, JournalVerify.self, JournalShow.self]
    )
}
