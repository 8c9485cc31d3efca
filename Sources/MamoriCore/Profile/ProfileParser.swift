import Yams

/// Turns profile YAML into a validated `Profile`, or every problem found, each with its position.
/// docs/profile-reference.md documents each field and its default.
public enum ProfileParser {
    /// Profiles are small; anything larger is refused before parsing.
    public static let maximumSourceBytes = 1 << 20

    public static func parse(_ source: String) -> Result<Profile, ProfileValidationError> {
        guard source.utf8.count <= maximumSourceBytes else {
            return .failure(ProfileValidationError(diagnostics: [
                ProfileDiagnostic(line: 1, column: 1, path: "", message: "the profile is larger than \(maximumSourceBytes) bytes"),
            ]))
        }
        let root: Node
        switch compose(source) {
        case .success(let node): root = node
        case .failure(let error): return .failure(error)
        }
        var builder = ProfileBuilder()
        let profile = builder.profile(root)
        let diagnostics = builder.reader.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        guard diagnostics.isEmpty, let profile else {
            return .failure(ProfileValidationError(diagnostics: diagnostics.isEmpty
                ? [ProfileDiagnostic(line: 1, column: 1, path: "", message: "the profile is not valid")] : diagnostics))
        }
        return .success(profile)
    }

    /// Every problem in `source`; empty when the profile is valid.
    public static func lint(_ source: String) -> [ProfileDiagnostic] {
        switch parse(source) {
        case .success: return []
        case .failure(let error): return error.diagnostics
        }
    }

    static func compose(_ source: String) -> Result<Node, ProfileValidationError> {
        let diagnostic: ProfileDiagnostic
        do {
            if let node = try Yams.compose(yaml: source) { return .success(node) }
            diagnostic = ProfileDiagnostic(line: 1, column: 1, path: "", message: "the profile is empty")
        } catch let error as YamlError {
            diagnostic = self.diagnostic(for: error)
        } catch {
            diagnostic = ProfileDiagnostic(line: 1, column: 1, path: "", message: "not readable YAML")
        }
        return .failure(ProfileValidationError(diagnostics: [diagnostic]))
    }

    static func diagnostic(for error: YamlError) -> ProfileDiagnostic {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ProfileDiagnostic(line: mark.line, column: mark.column, path: "", message: "YAML syntax: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ProfileDiagnostic(line: context.mark.line, column: context.mark.column, path: "",
                                     message: "key written more than once in one mapping: \(duplicates.joined(separator: ", "))")
        case .reader(let problem, _, _, _):
            return ProfileDiagnostic(line: 1, column: 1, path: "", message: "YAML input: \(problem)")
        default:
            return ProfileDiagnostic(line: 1, column: 1, path: "", message: "not readable YAML")
        }
    }
}

/// Builds each section; every reader call records its own problems, so a section carries on after
/// an error and the caller sees them all. A section returns nil when anything in it was wrong.
struct ProfileBuilder {
    var reader = ProfileNodeReader()

    static let topKeys = ["schema", "name", "description", "version", "expires", "scope", "media", "mfa", "posture", "network", "reporting"]

    mutating func profile(_ root: Node) -> Profile? {
        guard let top = reader.mapping(root, "", allowed: Self.topKeys, required: ["name", "version", "expires", "scope"]) else { return nil }
        let schema = top["schema"].map { reader.integer($0, "schema", in: 1...1) } ?? 1
        let name = top["name"].flatMap { readName($0) }
        let description = top["description"].flatMap { reader.string($0, "description") }
        let version = top["version"].flatMap { reader.integer($0, "version", in: 1...Int64(Int32.max)) }
        let expires = top["expires"].flatMap { reader.timestamp($0, "expires") }
        let scope = top["scope"].flatMap { self.scope($0) }
        let media = top["media"].map { self.media($0) } ?? MediaRules.default
        let mfa = top["mfa"].map { self.mfa($0) } ?? MFARules.default
        let posture = top["posture"].map { self.posture($0) } ?? PostureRules.default
        let network = top["network"].map { self.network($0) } ?? NetworkRules.default
        let reporting = top["reporting"].map { self.reporting($0) } ?? ReportingRules.default
        guard let schema, let name, let version, let expires, let scope,
              let media, let mfa, let posture, let network, let reporting else { return nil }
        return Profile(schema: Int(schema), name: name, description: description, version: version, expires: expires,
                       scope: scope, media: media, mfa: mfa, posture: posture, network: network, reporting: reporting)
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return text.count <= 64 && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
        }
    }

    static let identifierRule = "use lower-case letters, digits, `-`, `_` and `.` (at most 64), starting with a letter or digit"

    mutating func readName(_ node: Node) -> String? {
        guard let name = reader.string(node, "name") else { return nil }
        guard Self.isIdentifier(name) else {
            reader.error(at: node, "name", "`\(name)` is not a valid profile name: \(Self.identifierRule)")
            return nil
        }
        return name
    }

    // MARK: Scope (policy 4(1), 4(2))

    mutating func scope(_ node: Node) -> ProfileScope? {
        guard let fields = reader.mapping(node, "scope", allowed: ["organisation", "host_groups", "out_of_scope_host_groups"],
                                          required: ["organisation"]) else { return nil }
        let organisation = fields["organisation"].flatMap { organisationValue($0) }
        let check: (String) -> String? = { Self.isIdentifier($0) ? nil : "`\($0)` is not a valid host group name: \(Self.identifierRule)" }
        let groups = fields["host_groups"].map { reader.stringList($0, "scope.host_groups", check: check) } ?? []
        let excluded = fields["out_of_scope_host_groups"].map { reader.stringList($0, "scope.out_of_scope_host_groups", check: check) } ?? []
        guard let organisation, let groups, let excluded else { return nil }
        if let node = fields["out_of_scope_host_groups"], !excluded.isEmpty, organisation != .boardOfEducation {
            reader.error(at: node, "scope.out_of_scope_host_groups",
                         "only 教育委員会 (education) may mark host groups out of scope: policy 4(2) excludes only the board of education's school-education assets")
            return nil
        }
        if let overlap = groups.first(where: excluded.contains), let node = fields["out_of_scope_host_groups"] {
            reader.error(at: node, "scope.out_of_scope_host_groups", "host group `\(overlap)` cannot be both in scope and out of scope")
            return nil
        }
        return ProfileScope(organisation: organisation, hostGroups: groups, outOfScopeHostGroups: excluded)
    }

    mutating func organisationValue(_ node: Node) -> Organisation? {
        guard let text = reader.string(node, "scope.organisation") else { return nil }
        if let organisation = Organisation(identifierOrName: text) { return organisation }
        let names = Organisation.allCases.map { "\($0.rawValue) (\($0.japaneseName))" }
        reader.error(at: node, "scope.organisation", "`\(text)` is not an organisation of policy 4(1); use one of: \(names.joined(separator: ", "))"
            + ProfileNodeReader.suggestion(text, Organisation.allCases.map(\.rawValue)))
        return nil
    }

    // MARK: Reporting

    mutating func reporting(_ node: Node) -> ReportingRules? {
        guard let fields = reader.mapping(node, "reporting", allowed: ["interval"]) else { return nil }
        let interval = fields["interval"].map { reader.duration($0, "reporting.interval", in: 60...86_400) } ?? ReportingRules.default.interval
        guard let interval else { return nil }
        return ReportingRules(interval: interval)
    }
}
