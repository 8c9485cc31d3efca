import ArgumentParser
import MamoriAgent
import MamoriCore

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

    @Option(help: "Signed one-off grants, one per line. Default: the agent's (/var/lib/mamori/profile/grants.jsonl).")
    var grants: String?

    @Option(help: "The pinned profile root that grants must verify under. Default: the agent's (/var/lib/mamori/keys/profile-root.pub).")
    var profileRoot: String?

    @Option(help: "This terminal's host id, which grants must name. Default: the enrolment's.")
    var hostId: String?

    /// The profile's media rules and, on top, the grants that verify now for this host.
    func load(now: Timestamp, requireTrustedFile: Bool) -> MediaPolicyLoad {
        let layout = AgentLayout(root: "")
        var load = MediaPolicyLoader.load(path: profile ?? MediaPolicyLoader.defaultProfilePath, now: now, requireTrustedFile: requireTrustedFile)
        let host = hostId ?? (try? EnrolmentRecord.load(layout))?.hostId
        load.policy.grants = DeviceGrantBook.activeGrants(grantsPath: grants ?? layout.grantsPath, rootPath: profileRoot ?? layout.profileRootPath,
                                                          hostId: host, now: now, requireTrustedFile: requireTrustedFile)
        return load
    }
}

enum MediaOutputFormat: String, CaseIterable, ExpressibleByArgument {
    case table
    case json
}
