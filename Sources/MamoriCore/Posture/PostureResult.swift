/// Posture checks and their journal records (policy 6(6) monitoring, 7 self-inspection).
///
/// The agent runs every check the profile lists and journals the results in two kinds of record:
///
/// - `posture.changed`: the checks whose status or evidence changed since the last run
///   (`"complete": false`); written as soon as a run notices the change;
/// - `posture.report`: every check the profile lists (`"complete": true`); written at each
///   reporting interval and after a profile change, so a check the profile no longer lists
///   disappears from the collector's view.
///
/// Both carry the same payload shape:
///
///     {"complete":true,"profile_version":7,"checks":[
///       {"id":"network.no-wireless","title":"…","clause":"6(3)①","status":"fail","evidence":"wlan0 is up"}, …]}
///
/// The record's own `time` is when the checks ran. The collector derives `since` (when a check's
/// status last changed) from the sequence of these records; the agent never claims it.
public enum PostureStatus: String, Sendable, CaseIterable, Hashable, Comparable {
    case pass
    case fail
    /// The check could not be evaluated (a file unreadable, a command missing): not a pass.
    case error
    /// The check does not apply to this terminal (no wireless hardware, a service without a PAM file).
    case notApplicable = "not-applicable"

    /// Pass and not-applicable count as compliant; fail and error do not.
    public var isCompliant: Bool { self == .pass || self == .notApplicable }

    /// Worst first: fail, error, pass, not-applicable.
    var severity: Int {
        switch self {
        case .fail: 0
        case .error: 1
        case .pass: 2
        case .notApplicable: 3
        }
    }

    public static func < (lhs: PostureStatus, rhs: PostureStatus) -> Bool { lhs.severity < rhs.severity }
}

/// One check's outcome on one run.
public struct PostureCheckResult: Sendable, Equatable, Hashable {
    /// Evidence longer than this is cut (with a marker), so one noisy check cannot bloat the journal.
    public static let maxEvidenceBytes = 1024
    public static let maxTitleBytes = 200

    public var id: String
    public var title: String
    /// The policy clause the check evidences, e.g. "6(3)①"; nil for a declarative check without one.
    public var clause: String?
    public var status: PostureStatus
    /// What was observed, in words an auditor can check by hand: "wlan0 is up", "/media/usb (sdb1) is mounted rw".
    public var evidence: String

    public init(id: String, title: String, clause: String?, status: PostureStatus, evidence: String) {
        self.id = id
        self.title = Self.cut(title, to: Self.maxTitleBytes)
        self.clause = clause
        self.status = status
        self.evidence = Self.cut(evidence, to: Self.maxEvidenceBytes)
    }

    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id),
            "title": .string(title),
            "status": .string(status.rawValue),
            "evidence": .string(evidence),
        ]
        if let clause { members["clause"] = .string(clause) }
        return .object(members)
    }

    /// Strict reading of one entry of a posture record.
    public init(json: JSONValue) throws(PostureRecordError) {
        guard let members = json.objectValue else { throw .malformed("a check is not a JSON object") }
        for key in members.keys where !["id", "title", "clause", "status", "evidence"].contains(key) {
            throw .malformed("a check has an unknown member `\(key)`")
        }
        guard let id = members["id"]?.stringValue, PostureCatalogue.isCheckId(id) else {
            throw .malformed("a check has no valid `id`")
        }
        guard let title = members["title"]?.stringValue, title.utf8.count <= Self.maxTitleBytes else {
            throw .malformed("check `\(id)` has no valid `title`")
        }
        guard let statusText = members["status"]?.stringValue, let status = PostureStatus(rawValue: statusText) else {
            throw .malformed("check `\(id)` has no valid `status` (pass, fail, error, not-applicable)")
        }
        guard let evidence = members["evidence"]?.stringValue, evidence.utf8.count <= Self.maxEvidenceBytes + 16 else {
            throw .malformed("check `\(id)` has no valid `evidence`")
        }
        var clause: String?
        if let value = members["clause"] {
            guard let text = value.stringValue, (1...32).contains(text.utf8.count) else {
                throw .malformed("check `\(id)` has an invalid `clause`")
            }
            clause = text
        }
        self.init(id: id, title: title, clause: clause, status: status, evidence: evidence)
    }

    static func cut(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var kept = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > limit - 3 { break }
            kept.append(character)
            used += size
        }
        return kept + "…"
    }
}

public enum PostureRecordError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed posture record: \(reason)"
        }
    }
}

/// The payload of a `posture.changed` or `posture.report` record.
public struct PostureReport: Sendable, Equatable {
    public static let changedKind = "posture.changed"
    public static let reportKind = "posture.report"
    public static let kinds: Set<String> = [changedKind, reportKind]
    /// More checks than this in one record is malformed (10 built-in plus a profile's own).
    public static let maxChecks = 256

    /// True for `posture.report`: the list is every check the profile lists.
    public var complete: Bool
    public var profileVersion: Int64?
    public var checks: [PostureCheckResult]

    public init(complete: Bool, profileVersion: Int64?, checks: [PostureCheckResult]) {
        self.complete = complete
        self.profileVersion = profileVersion
        self.checks = checks
    }

    public var kind: String { complete ? Self.reportKind : Self.changedKind }

    public var payload: [String: JSONValue] {
        var members: [String: JSONValue] = [
            "complete": .bool(complete),
            "checks": .array(checks.map(\.json)),
        ]
        if let profileVersion { members["profile_version"] = .int(profileVersion) }
        return members
    }

    /// Reads a record's payload strictly; `kind` must be one of the two posture kinds and agree
    /// with `complete`. Duplicate check ids are malformed.
    public init(kind: String, payload: [String: JSONValue]) throws(PostureRecordError) {
        guard Self.kinds.contains(kind) else { throw .malformed("`\(kind)` is not a posture record") }
        guard let complete = payload["complete"]?.boolValue else { throw .malformed("no boolean `complete`") }
        guard complete == (kind == Self.reportKind) else {
            throw .malformed("`complete` is \(complete) in a \(kind) record")
        }
        guard let entries = payload["checks"]?.arrayValue else { throw .malformed("no `checks` array") }
        guard entries.count <= Self.maxChecks else { throw .malformed("more than \(Self.maxChecks) checks") }
        var profileVersion: Int64?
        if let value = payload["profile_version"] {
            guard let version = value.intValue, version >= 0 else { throw .malformed("`profile_version` is not a non-negative integer") }
            profileVersion = version
        }
        var checks: [PostureCheckResult] = []
        var seen: Set<String> = []
        for entry in entries {
            let check = try PostureCheckResult(json: entry)
            guard seen.insert(check.id).inserted else { throw .malformed("check `\(check.id)` appears twice") }
            checks.append(check)
        }
        self.init(complete: complete, profileVersion: profileVersion, checks: checks)
    }
}

/// The built-in checks: id, English and Japanese titles, and the clause each evidences.
public enum PostureCatalogue {
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var title: String
        public var titleJapanese: String
        public var clause: String
    }

    public static let builtin: [Entry] = [
        Entry(id: "media.rules-enforcing", title: "Removable-media rules installed and enforcing",
              titleJapanese: "外部記録媒体の制御規則が有効", clause: "6(3)①"),
        Entry(id: "media.no-writable-removable-mounts", title: "No removable medium mounted writable",
              titleJapanese: "外部記録媒体が書込可能でマウントされていない", clause: "6(3)①"),
        Entry(id: "auth.pam-stack", title: "Login services require the second factor",
              titleJapanese: "ログインに二要素認証が必須", clause: "6(3)①"),
        Entry(id: "auth.users-enrolled", title: "Listed users have a second factor enrolled",
              titleJapanese: "対象利用者の二要素登録済み", clause: "6(3)①"),
        Entry(id: "network.no-wireless", title: "No wireless interface up",
              titleJapanese: "無線LANインターフェースが無効", clause: "6(3)①"),
        Entry(id: "network.egress-zone-only", title: "Outbound traffic limited to the zone",
              titleJapanese: "通信先が系内に限定", clause: "6(3)①"),
        Entry(id: "system.clock-synced", title: "Clock synchronised",
              titleJapanese: "時刻同期", clause: "6(6)"),
        Entry(id: "agent.files-unmodified", title: "Agent files match their packaged hashes",
              titleJapanese: "エージェントのファイルが改変されていない", clause: "6(6)"),
        Entry(id: "profile.current", title: "Profile installed, current and unexpired",
              titleJapanese: "プロファイルが最新かつ有効期限内", clause: "7"),
        Entry(id: "journal.healthy", title: "Journal healthy and shipping",
              titleJapanese: "監査ジャーナルが正常", clause: "6(6)"),
    ]

    public static func entry(_ id: String) -> Entry? { builtin.first { $0.id == id } }

    /// Check ids follow the profile's identifier rule: 1 to 64 characters of a-z, 0-9, `.`, `-`,
    /// `_`, starting with a letter or digit.
    public static func isCheckId(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count), let first = bytes.first,
              (0x61...0x7A).contains(first) || (0x30...0x39).contains(first) else { return false }
        return bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x2D || $0 == 0x5F }
    }
}
