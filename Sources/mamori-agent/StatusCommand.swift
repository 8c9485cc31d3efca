import ArgumentParser
import MamoriAgent
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// The terminal's own view, answered locally (a headless terminal needs no collector for it):
/// enrolment, profile, journal head, last shipment, and every check with status and evidence.
/// Exit 0 when every check is compliant, 3 when one is not, 1 when the state cannot be read.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show this terminal's posture, profile, journal and last shipment.",
        discussion: "Exit status: 0 all checks pass, 3 a check fails or errs (or none has run), 1 the state cannot be read."
    )

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case table, json
    }

    @Option(help: "table or json.")
    var format: Format = .table

    @Option(help: "Put every path under this directory (tests and demos).")
    var root: String?

    func run() throws {
        let layout = AgentLayout(root: root ?? "")
        let now = SystemClock.now()
        let enrolment = try? EnrolmentRecord.load(layout)
        let profile = AgentConfigurationLoader.profile(layout, now: now)
        let cursor = try? ShipperCursor.load(layout.shipperCursorPath)
        let head = Self.journalHead(layout)
        let snapshot: PostureSnapshot?
        do {
            snapshot = try PostureSnapshot.load(layout.postureStatePath)
        } catch {
            AgentOutput.error("\(error)")
            throw ExitCode(1)
        }
        let checks = snapshot?.checks ?? []
        // The grants in force, as the media guard applies them (verified again here; a verified
        // grant's text holds no control or direction characters).
        let grants = DeviceGrantBook.activeGrants(grantsPath: layout.grantsPath, rootPath: layout.profileRootPath, hostId: enrolment?.hostId,
                                                  now: now, requireTrustedFile: layout.root.isEmpty)
        switch format {
        case .json:
            var members: [String: JSONValue] = [
                "enrolled": .bool(enrolment != nil),
                "host_id": enrolment.map { .string($0.hostId) } ?? .null,
                "organisation": enrolment.map { .string($0.organisation) } ?? .null,
                "profile": Self.profileJSON(profile),
                "journal_head_seq": head.map { .int(Int64($0)) } ?? .null,
                "last_shipment": cursor.map { .object(["seq": .int(Int64($0.seq)), "received_at": .string($0.receivedAt.description)]) } ?? .null,
                "checks": .array(checks.map(\.json)),
                "grants": .array(grants.map { grant in
                    .object(["id": .string(grant.id), "device": .string(grant.deviceLabel), "mode": .string(grant.mode.rawValue),
                             "expires": .string(grant.expires.description), "ref": .string(grant.reference)])
                }),
                "checked_at": snapshot.map { .string($0.time.description) } ?? .null,
            ]
            members["compliant"] = .bool(!checks.isEmpty && checks.allSatisfy(\.status.isCompliant))
            AgentOutput.line(JSONValue.object(members).canonicalString)
        case .table:
            let color = getenv("NO_COLOR") == nil && isatty(1) == 1
            AgentOutput.line("host:          " + (enrolment.map { "\($0.hostId) (\($0.organisation)\($0.hostGroup.map { ", " + $0 } ?? ""))" } ?? "not enrolled"))
            AgentOutput.line("profile:       " + Self.profileText(profile))
            AgentOutput.line("journal head:  " + (head.map { "record \($0)" } ?? "no journal"))
            AgentOutput.line("last shipment: " + (cursor.map { "through record \($0.seq) at \($0.receivedAt)" } ?? "never"))
            for grant in grants {
                AgentOutput.line("grant:         \(grant.id) \(grant.deviceLabel) \(grant.mode.rawValue) until \(grant.expires) (ref \(grant.reference))")
            }
            AgentOutput.line("checked:       " + (snapshot.map { $0.time.description } ?? "no posture run yet"))
            for check in checks {
                let status = check.status.rawValue.uppercased()
                let shown = color ? Self.colored(status, check.status) : status
                AgentOutput.line(shown + String(repeating: " ", count: max(1, 15 - status.count)) + check.id)
                AgentOutput.line("               " + check.evidence)
            }
        }
        if checks.isEmpty || !checks.allSatisfy(\.status.isCompliant) { throw ExitCode(3) }
    }

    static func journalHead(_ layout: AgentLayout) -> UInt64? {
        guard let directory = try? JournalDirectory(path: layout.journalDirectory), let last = directory.segments.last,
              let bytes = try? FileSystem.readFile(last.path) else { return nil }
        let lines = bytes.split(separator: 0x0A).count
        return lines == 0 ? (last.firstSeq == 0 ? nil : last.firstSeq - 1) : last.firstSeq + UInt64(lines) - 1
    }

    static func profileJSON(_ state: ProfileState) -> JSONValue {
        switch state {
        case .installed(let profile):
            .object(["name": .string(profile.name), "version": .int(profile.version), "expires": .string(profile.expires.description)])
        case .missing(let reason), .unusable(let reason):
            .object(["name": .null, "problem": .string(reason)])
        }
    }

    static func profileText(_ state: ProfileState) -> String {
        switch state {
        case .installed(let profile): "\(profile.name) version \(profile.version), expires \(profile.expires)"
        case .missing(let reason), .unusable(let reason): "none in force (\(reason))"
        }
    }

    static func colored(_ text: String, _ status: PostureStatus) -> String {
        let code = switch status {
        case .pass: "32"
        case .fail: "31"
        case .error: "33"
        case .notApplicable: "2"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
