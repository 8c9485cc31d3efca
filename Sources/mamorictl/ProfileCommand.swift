import ArgumentParser

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Lint, sign, verify and push profiles; one-off device grants; allow-list entries from a host's devices.",
        discussion: "Exit status: 0 valid/accepted; 1 lint errors or rejected (with the reason); 2 bad arguments or unreadable input.",
        subcommands: [ProfileLint.self, ProfileSign.self, ProfileVerify.self, ProfilePush.self, ProfileGrantDevice.self,
                      ProfileRevokeGrant.self, ProfileAllowDevice.self]
    )
}
