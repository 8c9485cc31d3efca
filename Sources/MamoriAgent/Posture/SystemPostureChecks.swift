import Crypto
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// `system.clock-synced`, `agent.files-unmodified`, `profile.current`, `journal.healthy`.
enum SystemPostureChecks {
    static func clockSynced(_ context: PostureContext) -> PostureOutcome {
        switch context.sources.clock() {
        case .failure(let error):
            return .cannotDecide(reason: "adjtimex: \(error)")
        case .success(let state) where state.synchronised:
            return .meetsPolicy(evidence: "kernel clock synchronised (max error \(state.maxErrorMicroseconds) µs, estimated \(state.estimatedErrorMicroseconds) µs)")
        case .success(let state):
            return .failsToMeetPolicy(reason: "kernel clock not synchronised (STA_UNSYNC; max error \(state.maxErrorMicroseconds) µs)")
        }
    }

    /// The package's sha256sum-format list of its files.
    static let manifestPath = "/usr/lib/mamori/files.sha256"

    /// Every file the manifest lists must hash as listed. No manifest (or an empty one) is an
    /// error, never a pass; a listed file that is missing or differs is a failure naming it.
    static func filesUnmodified(_ context: PostureContext) -> PostureOutcome {
        let files = PostureFiles(root: context.root)
        let entries: [(hash: String, path: String)]
        switch files.text(manifestPath) {
        case .failure(let failure): return .cannotDecide(reason: "\(manifestPath): \(failure.reason)")
        case .success(nil): return .cannotDecide(reason: "\(manifestPath) is missing: nothing to compare the agent's files with")
        case .success(let text?):
            guard let parsed = parseManifest(text), !parsed.isEmpty else {
                return .cannotDecide(reason: "\(manifestPath) is empty or not in sha256sum format")
            }
            entries = parsed
        }
        var changed: [String] = []
        var unreadable: [String] = []
        for entry in entries {
            switch sha256(files.path(entry.path)) {
            case .success(let digest) where digest == entry.hash: continue
            case .success: changed.append("\(entry.path) differs")
            case .failure(let error) where error.errno == .noEntry: changed.append("\(entry.path) is missing")
            case .failure(let error): unreadable.append("\(entry.path): \(error.errno)")
            }
        }
        if !changed.isEmpty { return .failsToMeetPolicy(reason: changed.joined(separator: "; ")) }
        if !unreadable.isEmpty { return .cannotDecide(reason: unreadable.joined(separator: "; ")) }
        return .meetsPolicy(evidence: "\(entries.count) file(s) match \(manifestPath)")
    }

    /// `HASH  /path` or `HASH */path` (binary mode) lines; nil if any line is malformed.
    static func parseManifest(_ text: String) -> [(hash: String, path: String)]? {
        var entries: [(hash: String, path: String)] = []
        for line in text.split(separator: "\n") where !line.allSatisfy({ $0 == " " }) {
            let hash = line.prefix(64)
            let rest = line.dropFirst(64)
            guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit && $0.isASCII }),
                  rest.hasPrefix("  ") || rest.hasPrefix(" *") else { return nil }
            let path = String(rest.dropFirst(2))
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { return nil }
            entries.append((hash.lowercased(), path))
        }
        return entries
    }

    static func sha256(_ path: String) -> Result<String, SystemError> {
        do {
            let handle = try FileHandleFD(path: path, flags: O_RDONLY | O_NOFOLLOW)
            var hasher = SHA256()
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let got = try chunk.withUnsafeMutableBytes { raw in
                    try Syscall.call("read", path: path) { read(handle.fd, raw.baseAddress!, raw.count) }
                }
                if got == 0 { break }
                hasher.update(data: chunk[0..<got])
            }
            return .success(hasher.finalize().map { String($0, radix: 16).leftPadded }.joined())
        } catch let error as SystemError {
            return .failure(error)
        } catch {
            return .failure(SystemError(operation: "read", path: path, errno: Errno(rawValue: EIO)))
        }
    }

    static func profileCurrent(_ context: PostureContext) -> PostureOutcome {
        switch context.profileStatus {
        case .missing(let reason): return .failsToMeetPolicy(reason: "no profile installed: \(reason)")
        case .invalid(let reason): return .failsToMeetPolicy(reason: "installed profile rejected: \(reason)")
        case .expired(let name, let version, let expires):
            return .failsToMeetPolicy(reason: "profile \(name) version \(version), expires \(expires): expired")
        case .verified:
            guard let profile = context.profile else { return .cannotDecide(reason: "profile reported verified but not given to the check") }
            let text = "profile \(profile.name) version \(profile.version), expires \(profile.expires)"
            return context.now < profile.expires ? .meetsPolicy(evidence: text) : .failsToMeetPolicy(reason: text + ": expired")
        }
    }

    /// Fails when the last append failed, the spool is full, or nothing has been acknowledged by
    /// the collector for more than three reporting intervals (since the last shipment, or since
    /// the agent started when nothing was shipped yet).
    static func journalHealthy(_ context: PostureContext) -> PostureOutcome {
        let health = context.journalHealth
        var problems: [String] = []
        if !health.lastAppendSucceeded { problems.append("last append failed: \(health.lastAppendError ?? "no reason given")") }
        if health.spoolLimitReached { problems.append("spool limit reached with \(health.unreceiptedRecords) record(s) not receipted") }
        let limit = 3 * context.reportingInterval
        let since = health.lastShipment ?? health.agentStarted
        let age = (context.now.microsecondsSinceEpoch - since.microsecondsSinceEpoch) / 1_000_000
        let shipped = health.lastShipment.map { "last shipment \($0)" } ?? "nothing shipped since start \(health.agentStarted)"
        if age > limit { problems.append("\(shipped), more than 3 reporting intervals (\(limit) s) ago") }
        if !problems.isEmpty { return .failsToMeetPolicy(reason: problems.joined(separator: "; ")) }
        return .meetsPolicy(evidence: "appends ok, \(shipped), \(health.unreceiptedRecords) record(s) awaiting receipt")
    }
}

extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}
