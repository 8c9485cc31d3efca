import MamoriCore

/// `auth.pam-stack` and `auth.users-enrolled`.
enum AuthPostureChecks {
    static func pamStack(_ context: PostureContext) -> PostureOutcome {
        let files = PostureFiles(root: context.root)
        return PAMStackAnalyzer.evaluate(services: context.mfa.services) { name in
            let path = name.hasPrefix("/") ? name : "/etc/pam.d/" + name
            switch files.text(path) {
            case .success(let text?): return .text(text)
            case .success(nil): return .missing
            case .failure(let failure): return .unreadable(failure.reason)
            }
        }
    }

    /// Who must be enrolled: every account in `root`/etc/passwd with a UID from 1000 to 59999
    /// (Debian's UID_MIN..UID_MAX for people) and a login shell, except the profile's
    /// `exempt_accounts`. System accounts and accounts whose shell is nologin/false cannot log in
    /// through the listed services, so they are not listed.
    static func listedUsers(_ context: PostureContext) -> Result<[String], DeclarativeCheckEvaluator.ReadFailure> {
        PostureFiles(root: context.root).accounts("/etc/passwd").map { entries in
            entries.compactMap { fields -> String? in
                guard fields.count >= 7, let uid = UInt32(fields[2]), (1000...59999).contains(uid) else { return nil }
                let shell = fields[6].split(separator: "/").last.map(String.init) ?? ""
                guard !["nologin", "false"].contains(shell), !shell.isEmpty else { return nil }
                let name = String(fields[0])
                return context.mfa.exemptAccounts.contains(name) ? nil : name
            }
        }
    }

    static func usersEnrolled(_ context: PostureContext) -> PostureOutcome {
        let users: [String]
        switch listedUsers(context) {
        case .failure(let failure): return .cannotDecide(reason: "/etc/passwd: \(failure.reason)")
        case .success(let list): users = list
        }
        guard !users.isEmpty else { return .notApplicable(reason: "no login accounts with UID 1000–59999 outside exempt_accounts") }
        let store = MFAStore(directory: context.mfaDirectory, owner: context.mfaOwner)
        do { try store.checkDirectory() } catch { return .cannotDecide(reason: "\(error)") }
        var missing: [String] = []
        var unreadable: [String] = []
        for user in users {
            switch enrolment(user, store: store) {
            case .enrolled: continue
            case .missing: missing.append(user)
            case .unreadable(let reason): unreadable.append("\(user) (\(reason))")
            }
        }
        if !missing.isEmpty { return .failsToMeetPolicy(reason: "not enrolled: " + missing.joined(separator: ", ")) }
        if !unreadable.isEmpty { return .cannotDecide(reason: "state unreadable: " + unreadable.joined(separator: "; ")) }
        return .meetsPolicy(evidence: "\(users.count) listed user(s) enrolled: " + users.joined(separator: ", "))
    }

    enum Enrolment { case enrolled, missing, unreadable(String) }

    /// Existence first (so no lock file is created for someone never enrolled), then the locked
    /// read a login's in-place write cannot tear.
    static func enrolment(_ user: String, store: MFAStore) -> Enrolment {
        guard MFAUserName.isValid(user) else { return .unreadable("not a valid MFA user name") }
        guard FileSystem.exists(store.recordPath(user)) else { return .missing }
        do {
            return try store.readLocked(user) == nil ? .missing : .enrolled
        } catch {
            return .unreadable("\(error)")
        }
    }
}
