/// Decides, for each PAM service the profile lists, whether its `auth` stack requires
/// pam_mamori.so: no path through the stack — whatever the other modules return — ends in
/// PAM_SUCCESS unless pam_mamori.so ran and succeeded.
///
/// The stack is expanded as libpam expands it (`include`, Debian's `@include`, `substack` one
/// level deeper) and then executed symbolically with `_pam_dispatch_aux`'s rules: `ok`, `done`,
/// `bad`, `die`, `reset`, `ignore` and jumps, `done`/`die` ending only the current substack, jumps
/// never leaving it and counting a whole substack as one module, the final "success needs a
/// positive impression" check. Every module may return any code, except:
///
/// - pam_mamori.so never returns success (that is the question) nor PAM_IGNORE (it never does);
/// - pam_deny.so only fails, pam_permit.so only succeeds;
/// - pam_rootok.so cannot succeed in `su`, `su-l`, `sudo`, `sudo-i`, `runuser`, `runuser-l`: there
///   it asks whether the *caller* is already root, who needs no second factor to become anyone.
///   Everywhere else (login, sshd, gdm-password) the program itself runs as root, so
///   `sufficient pam_rootok.so` lets everyone in and is reported.
///
/// A `-auth` line is an ordinary line: the dash only silences libpam's log when the module is
/// missing; a missing module returns PAM_MODULE_UNKNOWN, which the model includes.
public enum PAMStackAnalyzer {
    public static let moduleName = "pam_mamori.so"

    /// What pam_mamori.so returns when it does not succeed (PAMResult.swift), plus what libpam
    /// substitutes when the module is missing or its line is broken.
    static let mamoriFailureCodes: [PAMReturnCode] = [
        .authErr, .maxtries, .authinfoUnavail, .serviceErr, .userUnknown, .convErr,
        .moduleUnknown, .permDenied, .systemErr, .bufErr,
    ]

    /// Services whose pam_rootok.so asks about the caller's real uid (see the type's comment).
    public static let callerUidServices: Set<String> = ["su", "su-l", "sudo", "sudo-i", "runuser", "runuser-l"]

    /// One service's verdict.
    public struct ServiceVerdict: Sendable, Equatable {
        public var service: String
        public var outcome: PostureOutcome
    }

    /// The check over every listed service: fail if any fails, else error if any could not be
    /// decided, else pass. A service without a file under /etc/pam.d is not applicable (the
    /// program is not installed); if none of them has one, the check fails: nothing shows that a
    /// login requires the second factor.
    public static func evaluate(services: [String], lookup: (String) -> PAMFileLookup) -> PostureOutcome {
        guard !services.isEmpty else { return .failsToMeetPolicy(reason: "the profile lists no PAM services") }
        let verdicts = services.map { analyse(service: $0, lookup: lookup) }
        let failing = verdicts.filter { $0.outcome.status == .fail }
        let errors = verdicts.filter { $0.outcome.status == .error }
        let present = verdicts.filter { $0.outcome.status != .notApplicable }
        let text = (failing + errors + verdicts.filter { $0.outcome.status == .pass } +
                    verdicts.filter { $0.outcome.status == .notApplicable }).map(\.outcome.evidence).joined(separator: "; ")
        if !failing.isEmpty { return .failsToMeetPolicy(reason: text) }
        if !errors.isEmpty { return .cannotDecide(reason: text) }
        if present.isEmpty { return .failsToMeetPolicy(reason: "none of the listed services has a PAM stack: " + text) }
        return .meetsPolicy(evidence: text)
    }

    public static func evaluate(services: [String], lookup: (String) -> String?) -> PostureOutcome {
        evaluate(services: services) { (name: String) -> PAMFileLookup in lookup(name).map { .text($0) } ?? .missing }
    }

    /// One service: `lookup` gets a name relative to /etc/pam.d (or an absolute path from an include).
    public static func analyse(service: String, lookup: (String) -> PAMFileLookup) -> ServiceVerdict {
        ServiceVerdict(service: service, outcome: withoutActuallyEscaping(lookup) { lookup in
            outcome(service: service, lookup: lookup)
        })
    }

    static func outcome(service: String, lookup: @escaping (String) -> PAMFileLookup) -> PostureOutcome {
        guard isServiceName(service) else { return .cannotDecide(reason: "`\(service)` is not a PAM service name") }
        if case .missing = lookup(service) {
            return .notApplicable(reason: "\(service): no /etc/pam.d/\(service) (not installed)")
        }
        var builder = PAMStackBuilder(lookup: lookup)
        do {
            try builder.expand(file: service, level: 0, chain: [])
            if builder.entries.isEmpty {
                // libpam falls back to the `other` service's auth stack.
                try builder.expand(file: "other", level: 0, chain: [])
            }
        } catch {
            switch error { case .cannotDecide(let reason): return .cannotDecide(reason: "\(service): \(reason)") }
        }
        return judge(service: service, entries: builder.entries)
    }

    static func judge(service: String, entries: [PAMStackEntry]) -> PostureOutcome {
        guard let firstMamori = entries.firstIndex(where: \.isMamori) else {
            return .failsToMeetPolicy(reason: "\(service): \(moduleName) not in the auth stack")
        }
        var explorer = PAMStackExplorer(entries: entries, rootokIsRootOnly: callerUidServices.contains(service))
        switch explorer.findBypass() {
        case .noBypass:
            let location = entries[firstMamori].location
            return .meetsPolicy(evidence: "\(service): \(moduleName) required (\(location) `\(entries[firstMamori].control)`), no path succeeds without it")
        case .tooComplex:
            return .cannotDecide(reason: "\(service): the auth stack has too many paths to analyse (\(entries.count) entries)")
        case .bypass(let path):
            return .failsToMeetPolicy(reason: "\(service): " + PAMBypassExplanation.explain(path, entries: entries))
        }
    }

    static func isServiceName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.contains("/") && name != "." && name != ".."
    }
}

/// Turns a path that logs in without pam_mamori.so into one sentence naming the culprit line.
enum PAMBypassExplanation {
    static func explain(_ path: [PAMStackExplorer.Step], entries: [PAMStackEntry]) -> String {
        let mamori = PAMStackAnalyzer.moduleName
        for step in path {
            let entry = entries[step.entry]
            let name = entry.moduleName ?? "a broken line"
            if entry.isMamori, step.action != .bad, step.action != .die {
                return "\(entry.location): \(mamori) is `\(entry.control)`: when it fails (\(step.code.token)) the stack still succeeds (action \(step.action))"
            }
            if let skipped = entries[step.skipped].first(where: \.isMamori) {
                switch step.action {
                case .jump:
                    return "\(entry.location): \(name) `\(entry.control)` jumps over \(mamori) (\(skipped.location)) when it returns \(step.code.token)"
                default:
                    let control = entry.control.lowercased() == "sufficient" ? "is `sufficient`" : "`\(entry.control)` ends the stack"
                    return "\(entry.location): \(name) \(control) before \(mamori) (\(skipped.location)) when it returns \(step.code.token)"
                }
            }
        }
        let trace = path.prefix(8).map { "\(entries[$0.entry].location) \(entries[$0.entry].moduleName ?? "?")→\($0.code.token)→\($0.action)" }
        return "a login can succeed without \(mamori) succeeding: " + trace.joined(separator: ", ")
    }
}
