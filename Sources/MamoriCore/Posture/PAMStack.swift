/// The contents of one file under /etc/pam.d as the caller found it.
public enum PAMFileLookup: Sendable, Equatable {
    case text(String)
    case missing
    /// It exists but could not be read (permissions, I/O error, not UTF-8): the reason.
    case unreadable(String)
}

/// One entry of a service's `auth` stack after `include`, `@include` and `substack` are expanded,
/// in the order and at the substack level libpam gives it.
public struct PAMStackEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case module(path: String)
        /// The `substack` line itself: libpam skips it, its file's modules follow one level deeper.
        case substackHeader(target: String)
        /// A line libpam installs as "must fail" (bad type, missing control or module, an
        /// include that could not be read at run time): it returns PAM_PERM_DENIED.
        case mustFail(reason: String)
    }

    public var kind: Kind
    public var level: Int
    public var actions: [PAMAction]
    /// `common-auth:17`
    public var location: String
    /// The control field as written, for evidence.
    public var control: String
    /// True for a `-auth` line (only suppresses the log message when the module is missing).
    public var silent: Bool

    public var moduleName: String? {
        guard case .module(let path) = kind else { return nil }
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    public var isMamori: Bool { moduleName == PAMStackAnalyzer.moduleName }
}

/// Expands a service's auth stack. Errors are the analyzer's "cannot decide" cases.
struct PAMStackBuilder {
    enum Failure: Error, Sendable {
        case cannotDecide(String)
    }

    /// libpam's PAM_SUBSTACK_MAX_LEVEL: deeper includes fail at run time.
    static let maxIncludeDepth = 16

    let lookup: (String) -> PAMFileLookup
    var entries: [PAMStackEntry] = []

    init(lookup: @escaping (String) -> PAMFileLookup) { self.lookup = lookup }

    mutating func expand(file name: String, level: Int, chain: [String]) throws(Failure) {
        if chain.contains(name) {
            throw .cannotDecide("include cycle: " + (chain + [name]).joined(separator: " → "))
        }
        if chain.count >= Self.maxIncludeDepth {
            throw .cannotDecide("includes nested deeper than \(Self.maxIncludeDepth): " + (chain + [name]).joined(separator: " → "))
        }
        let text: String
        switch lookup(name) {
        case .text(let content): text = content
        case .missing:
            let from = chain.last.map { " (included from \($0))" } ?? ""
            throw .cannotDecide("\(name) is missing\(from)")
        case .unreadable(let reason): throw .cannotDecide("\(name) is unreadable: \(reason)")
        }
        let display = Self.displayName(name)
        for line in PAMConfigLine.lines(of: text) {
            try add(line, file: display, level: level, chain: chain + [name])
        }
    }

    static func displayName(_ name: String) -> String {
        name.hasPrefix("/etc/pam.d/") ? String(name.dropFirst("/etc/pam.d/".count)) : name
    }

    mutating func add(_ line: PAMConfigLine, file: String, level: Int, chain: [String]) throws(Failure) {
        let location = "\(file):\(line.number)"
        var fields = line.fields
        let typeField = fields.removeFirst()
        if typeField == "@include" {
            // Debian's libpam: every type of the named file, here its auth lines.
            guard let target = fields.first else { throw .cannotDecide("\(location): `@include` without a file name") }
            try expand(file: target, level: level, chain: chain)
            return
        }
        let silent = typeField.hasPrefix("-")
        let type = (silent ? String(typeField.dropFirst()) : typeField).lowercased()
        guard ["auth", "account", "session", "password"].contains(type) else {
            // libpam installs a line of unknown type into the stack being read (here auth) as
            // must-fail, with the actions of its control.
            appendMustFail(fields, reason: "unknown type `\(typeField)`", location: location, level: level, silent: silent)
            return
        }
        guard type == "auth" else { return }
        guard let controlField = fields.first else {
            entries.append(PAMStackEntry(kind: .mustFail(reason: "no control"), level: level,
                                         actions: Array(repeating: .bad, count: PAMReturnCode.count),
                                         location: location, control: "", silent: silent))
            return
        }
        switch PAMControl.parse(controlField) {
        case .include:
            guard fields.count > 1 else { throw .cannotDecide("\(location): `include` without a file name") }
            try expand(file: fields[1], level: level, chain: chain)
        case .substack:
            guard fields.count > 1 else { throw .cannotDecide("\(location): `substack` without a file name") }
            entries.append(PAMStackEntry(kind: .substackHeader(target: fields[1]), level: level, actions: [],
                                         location: location, control: controlField, silent: silent))
            try expand(file: fields[1], level: level + 1, chain: chain)
        case .actions(let actions):
            let kind: PAMStackEntry.Kind = fields.count > 1 ? .module(path: fields[1]) : .mustFail(reason: "no module path")
            entries.append(PAMStackEntry(kind: kind, level: level, actions: actions, location: location,
                                         control: controlField, silent: silent))
        }
    }

    mutating func appendMustFail(_ fields: [String], reason: String, location: String, level: Int, silent: Bool) {
        var actions = Array(repeating: PAMAction.bad, count: PAMReturnCode.count)
        var control = ""
        if let controlField = fields.first, case .actions(let parsed) = PAMControl.parse(controlField) {
            actions = parsed
            control = controlField
        }
        entries.append(PAMStackEntry(kind: .mustFail(reason: reason), level: level, actions: actions,
                                     location: location, control: control, silent: silent))
    }
}
