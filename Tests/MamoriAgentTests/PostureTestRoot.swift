import Foundation
import MamoriAgent
import MamoriCore

/// A throwaway system tree for posture checks: files, directories and symlinks under a temp root.
final class PostureTestRoot {
    let path = NSTemporaryDirectory() + "mamori-posture-\(UUID().uuidString)"
    let now = Timestamp(parsing: "2026-06-01T09:00:00Z")!

    init() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws {
        let full = path + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
    }

    func directory(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path + relative, withIntermediateDirectories: true)
    }

    func link(_ relative: String, to destination: String) throws {
        let full = path + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: destination)
    }

    func remove(_ relative: String) throws { try FileManager.default.removeItem(atPath: path + relative) }

    static let healthyJournal = JournalHealth(lastAppendSucceeded: true, unreceiptedRecords: 3,
                                              lastShipment: Timestamp(parsing: "2026-06-01T08:50:00Z")!, spoolLimitReached: false,
                                              agentStarted: Timestamp(parsing: "2026-06-01T08:00:00Z")!)

    func context(profile: Profile? = nil, status: ProfileStatus = .verified, journal: JournalHealth = healthyJournal,
                 guardRunning: Bool = true, clock: ClockState = ClockState(synchronised: true, maxErrorMicroseconds: 1200, estimatedErrorMicroseconds: 40),
                 nft: Result<String, PostureSourceError> = .failure(PostureSourceError("no nft in this test"))) -> PostureContext {
        PostureContext(root: path, profile: profile, profileStatus: status, now: now, mfaDirectory: path + "/var/lib/mamori/mfa",
                       mfaOwner: UInt32(geteuid()), journalHealth: journal, mediaGuardRunning: guardRunning,
                       sources: PostureSources(clock: { .success(clock) }, nftRuleset: { nft }))
    }

    static func profile(_ extra: String = "", media: String = "enforce") -> Profile {
        let source = """
            name: posture-fixture
            version: 12
            expires: 2027-01-01
            scope:
              organisation: mayor
            media:
              mode: \(media)
            mfa:
              services: [login, sshd, sudo]
              exempt_accounts: [breakglass]
            network:
              wireless_allowed: false
              allowed_destinations:
                - cidr: 10.20.0.0/16
                  ports: [443]

            """ + extra
        switch ProfileParser.parse(source) {
        case .success(let profile): return profile
        case .failure(let error): fatalError("fixture profile: \(error)")
        }
    }
}
