/// What the agent found at a path, for a declarative check.
public enum FileProbe: Sendable, Equatable {
    case found(FileFacts)
    case missing
    /// lstat or read failed for a reason other than "does not exist".
    case unreadable(String)
}

public struct FileFacts: Sendable, Equatable {
    /// Permission bits (including setuid, setgid, sticky).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var isRegular: Bool

    public init(mode: UInt32, uid: UInt32, gid: UInt32, isRegular: Bool) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.isRegular = isRegular
    }
}

/// The decisions of a profile's declarative checks, given what the agent read. No files here.
public enum DeclarativeCheckEvaluator {
    public static func fileExists(path: String, probe: FileProbe) -> PostureOutcome {
        switch probe {
        case .found: .meetsPolicy(evidence: "\(path) exists")
        case .missing: .failsToMeetPolicy(reason: "\(path) does not exist")
        case .unreadable(let reason): .cannotDecide(reason: "\(path): \(reason)")
        }
    }

    /// Permission bits must be a subset of `maximum`: 0o640 allows 0o600 and 0o640, not 0o644.
    public static func fileMode(path: String, maximum: UInt32, probe: FileProbe) -> PostureOutcome {
        switch probe {
        case .missing: return .failsToMeetPolicy(reason: "\(path) does not exist")
        case .unreadable(let reason): return .cannotDecide(reason: "\(path): \(reason)")
        case .found(let facts):
            let mode = facts.mode & 0o7777
            let extra = mode & ~maximum
            let text = "\(path) has mode \(octal(mode))"
            return extra == 0 ? .meetsPolicy(evidence: "\(text) (at most \(octal(maximum)))")
                : .failsToMeetPolicy(reason: "\(text); \(octal(extra)) exceeds \(octal(maximum))")
        }
    }

    /// `userId`/`groupId` are the profile's names resolved on this terminal (nil: the name is not
    /// in /etc/passwd or /etc/group, which is an error, not a pass).
    public static func fileOwner(path: String, user: String?, userId: UInt32?, group: String?, groupId: UInt32?,
                                 probe: FileProbe) -> PostureOutcome {
        switch probe {
        case .missing: return .failsToMeetPolicy(reason: "\(path) does not exist")
        case .unreadable(let reason): return .cannotDecide(reason: "\(path): \(reason)")
        case .found(let facts):
            var problems: [String] = []
            if let user {
                guard let userId else { return .cannotDecide(reason: "user `\(user)` is not in /etc/passwd") }
                if facts.uid != userId { problems.append("owner uid \(facts.uid), not \(user) (\(userId))") }
            }
            if let group {
                guard let groupId else { return .cannotDecide(reason: "group `\(group)` is not in /etc/group") }
                if facts.gid != groupId { problems.append("group gid \(facts.gid), not \(group) (\(groupId))") }
            }
            let owner = "uid \(facts.uid) gid \(facts.gid)"
            return problems.isEmpty ? .meetsPolicy(evidence: "\(path) is owned by \(owner)")
                : .failsToMeetPolicy(reason: "\(path): " + problems.joined(separator: ", "))
        }
    }

    /// `text` nil means the file does not exist; `mustMatch` false means the pattern must not occur.
    public static func fileContent(path: String, pattern: String, mustMatch: Bool, text: Result<String?, ReadFailure>) -> PostureOutcome {
        let regex: Regex<AnyRegexOutput>
        do { regex = try Regex(pattern) } catch {
            return .cannotDecide(reason: "`\(pattern)` is not a valid regular expression")
        }
        switch text {
        case .failure(let failure): return .cannotDecide(reason: "\(path): \(failure.reason)")
        case .success(nil): return .failsToMeetPolicy(reason: "\(path) does not exist")
        case .success(let content?):
            // The pattern runs over the whole file (`(?m)` makes ^ and $ match at line ends).
            let found = (try? regex.firstMatch(in: content)).flatMap { $0 }.map { match in
                content[..<match.range.lowerBound].reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
            }
            switch (found, mustMatch) {
            case (let line?, true): return .meetsPolicy(evidence: "\(path):\(line + 1) matches `\(pattern)`")
            case (nil, true): return .failsToMeetPolicy(reason: "\(path): nothing matches `\(pattern)`")
            case (let line?, false): return .failsToMeetPolicy(reason: "\(path):\(line + 1) matches `\(pattern)`, which must not occur")
            case (nil, false): return .meetsPolicy(evidence: "\(path): nothing matches `\(pattern)`")
            }
        }
    }

    /// Whitespace runs compare equal (/proc/sys separates fields with tabs, profiles with spaces).
    public static func sysctl(key: String, expected: String, actual: Result<String?, ReadFailure>) -> PostureOutcome {
        switch actual {
        case .failure(let failure): return .cannotDecide(reason: "\(key): \(failure.reason)")
        case .success(nil): return .failsToMeetPolicy(reason: "\(key) does not exist on this kernel")
        case .success(let value?):
            let have = normalise(value), want = normalise(expected)
            return have == want ? .meetsPolicy(evidence: "\(key) = \(have)") : .failsToMeetPolicy(reason: "\(key) = \(have), expected \(want)")
        }
    }

    /// `dpkgStatus` is /var/lib/dpkg/status.
    public static func package(name: String, installed: Bool, dpkgStatus: Result<String, ReadFailure>) -> PostureOutcome {
        let status: String
        switch dpkgStatus {
        case .failure(let failure): return .cannotDecide(reason: "dpkg status: \(failure.reason)")
        case .success(let text): status = text
        }
        let states = DpkgStatus.states(of: name, in: status)
        let present = states.contains { $0.hasSuffix(" installed") }
        let shown = states.isEmpty ? "not known to dpkg" : states.joined(separator: ", ")
        if present == installed {
            return .meetsPolicy(evidence: "\(name): \(shown)")
        }
        return .failsToMeetPolicy(reason: "\(name): \(shown); it must \(installed ? "be installed" : "not be installed")")
    }

    static func normalise(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }

    static func octal(_ value: UInt32) -> String {
        let digits = String(value, radix: 8)
        return "0" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    public struct ReadFailure: Error, Sendable, Equatable {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
    }
}

/// /var/lib/dpkg/status: RFC 822-style stanzas; `Status: want flag state`.
enum DpkgStatus {
    static func states(of package: String, in text: String) -> [String] {
        var states: [String] = []
        for stanza in text.split(separator: "\n\n", omittingEmptySubsequences: true) {
            var name: Substring?
            var status: Substring?
            for line in stanza.split(separator: "\n") {
                if line.hasPrefix("Package:") { name = line.dropFirst("Package:".count).drop { $0 == " " } }
                if line.hasPrefix("Status:") { status = line.dropFirst("Status:".count).drop { $0 == " " } }
            }
            if name == Substring(package), let status { states.append(String(status)) }
        }
        return states
    }
}
