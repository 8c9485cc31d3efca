import Foundation
public import MamoriCore

/// Aggregates what a caller of the PAM socket did that deserves a record but not one record per
/// request: connections refused by the caps, requests that missed the deadline or were
/// malformed, and refusals of non-root callers that change no state (asking about another user,
/// an invalid or unenrolled name, a locked-out account). One `auth.abuse` record per uid per
/// interval carries the counts and the first and last time, so a flood costs the journal a few
/// hundred bytes a minute instead of a synced record per request. Pure: time is passed in.
public struct AuthAbuseTally: Sendable {
    public static let journalKind = "auth.abuse"

    struct Window: Sendable {
        var first: Timestamp
        var last: Timestamp
        var counts: [String: Int] = [:]
        /// The first claimed service and user names, for the administrator's eye (sanitised).
        var samples: [String] = []
    }

    public let intervalSeconds: Int64
    /// Windows beyond this many uids are folded into one (uid -1), so the tally stays bounded.
    public let maxTrackedUids: Int
    private(set) var windows: [Int64: Window] = [:]

    public init(intervalSeconds: Int64 = 60, maxTrackedUids: Int = 1024) {
        self.intervalSeconds = intervalSeconds
        self.maxTrackedUids = maxTrackedUids
    }

    public static let overflowUid: Int64 = -1

    /// Counts one event of `reason` from `uid`. `sample` (already sanitised) is kept for the
    /// first few events of a window.
    public mutating func note(uid: UInt32, reason: String, sample: String? = nil, at now: Timestamp) {
        var key = Int64(uid)
        if windows[key] == nil && windows.count >= maxTrackedUids { key = Self.overflowUid }
        var window = windows[key] ?? Window(first: now, last: now)
        window.last = max(window.last, now)
        window.counts[reason, default: 0] += 1
        if let sample, window.samples.count < 4, !window.samples.contains(sample) { window.samples.append(sample) }
        windows[key] = window
    }

    /// The records of windows that are at least `intervalSeconds` old (or of all, with `all`),
    /// removed from the tally.
    public mutating func takeRecords(now: Timestamp, all: Bool = false, userName: (UInt32) -> String? = { _ in nil })
        -> [(kind: String, payload: [String: JSONValue])] {
        var records: [(kind: String, payload: [String: JSONValue])] = []
        for (uid, window) in windows.sorted(by: { $0.key < $1.key }) where all || window.first.adding(seconds: intervalSeconds) <= now {
            windows[uid] = nil
            var payload: [String: JSONValue] = [
                "uid": .int(uid),
                "count": .int(Int64(window.counts.values.reduce(0, +))),
                "counts": .object(window.counts.mapValues { .int(Int64($0)) }),
                "first": .string(window.first.description),
                "last": .string(window.last.description),
                "interval_seconds": .int(intervalSeconds),
            ]
            if uid >= 0, let name = userName(UInt32(uid)) { payload["uid_name"] = .string(AuthClaim.sanitised(name, limit: 64)) }
            if !window.samples.isEmpty { payload["samples"] = .array(window.samples.map { .string($0) }) }
            records.append((Self.journalKind, payload))
        }
        return records
    }

    public var isEmpty: Bool { windows.isEmpty }
}

/// What a caller wrote into its request (service, tty, rhost, a user name that failed
/// validation) is its claim, not a fact: recorded length-capped, printable ASCII only, every
/// other byte replaced by `?`, beside `claimed_by_uid`, the kernel's word for who claimed it.
public enum AuthClaim {
    public static func sanitised(_ text: String, limit: Int) -> String {
        let kept = PrintableText.ascii(text, limit: limit)
        return kept.cut ? kept.text + "…" : kept.text
    }
}

/// The tally behind a lock, shared by the socket server's accept loop, its connection threads
/// and the verifier.
/// @unchecked Sendable: `tally` is only touched while `lock` is held.
public final class AuthAbuseLedger: @unchecked Sendable {
    private let lock = NSLock()
    private var tally: AuthAbuseTally

    public init(intervalSeconds: Int64 = 60) { tally = AuthAbuseTally(intervalSeconds: intervalSeconds) }

    public func note(uid: UInt32, reason: String, sample: String? = nil, at now: Timestamp) {
        lock.withLock { tally.note(uid: uid, reason: reason, sample: sample, at: now) }
    }

    public func takeRecords(now: Timestamp, all: Bool = false, userName: (UInt32) -> String? = { _ in nil })
        -> [(kind: String, payload: [String: JSONValue])] {
        lock.withLock { tally.takeRecords(now: now, all: all, userName: userName) }
    }

    public var isEmpty: Bool { lock.withLock { tally.isEmpty } }
}
