import Yams

// MARK: Posture (policy 6(6) monitoring, 7 self-inspection)

extension ProfileBuilder {
    mutating func posture(_ node: Node) -> PostureRules? {
        guard let fields = reader.mapping(node, "posture", allowed: ["interval", "builtin", "checks"]) else { return nil }
        let defaults = PostureRules.default
        let interval = fields["interval"].map { reader.duration($0, "posture.interval", in: 60...86_400) } ?? defaults.interval
        let known = PostureRules.builtinIds
        let builtin = fields["builtin"].map {
            reader.stringList($0, "posture.builtin") { id in
                known.contains(id) ? nil : "`\(id)` is not a built-in check" + ProfileNodeReader.suggestion(id, known)
                    + "; built-in checks: \(known.joined(separator: ", "))"
            }
        } ?? defaults.builtin
        let checks = fields["checks"].map { checkList($0) } ?? []
        guard let interval, let builtin, let checks else { return nil }
        return PostureRules(interval: interval, builtin: builtin, checks: checks)
    }

    mutating func checkList(_ node: Node) -> [DeclarativeCheck]? {
        guard let items = reader.list(node, "posture.checks") else { return nil }
        var checks: [DeclarativeCheck] = []
        var ok = true
        for (index, item) in items.enumerated() {
            let path = "posture.checks[\(index)]"
            guard let check = declarativeCheck(item, path) else { ok = false; continue }
            if checks.contains(where: { $0.id == check.id }) {
                reader.error(at: item, path + ".id", "check id `\(check.id)` is used twice")
                ok = false
                continue
            }
            checks.append(check)
        }
        return ok ? checks : nil
    }

    mutating func declarativeCheck(_ node: Node, _ path: String) -> DeclarativeCheck? {
        guard let fields = reader.mapping(node, path, allowed: ["id", "title", "clause"] + DeclarativeCheck.ruleKeys,
                                          required: ["id", "title"]) else { return nil }
        let id = fields["id"].flatMap { checkId($0, path + ".id") }
        let title = fields["title"].flatMap { reader.string($0, path + ".title") }
        let clause = fields["clause"].map { reader.string($0, path + ".clause") }
        let kinds = DeclarativeCheck.ruleKeys.filter { fields[$0] != nil }
        guard kinds.count == 1, let kind = kinds.first, let ruleNode = fields[kind] else {
            let problem = kinds.isEmpty ? "a check needs one rule" : "a check has exactly one rule, found \(kinds.joined(separator: ", "))"
            reader.error(at: node, path, problem + "; rules: \(DeclarativeCheck.ruleKeys.joined(separator: ", "))")
            return nil
        }
        let rule = self.rule(kind, ruleNode, path + "." + kind)
        // An absent clause is allowed (nil); an invalid one has already been reported.
        guard let id, let title, let clause = clause ?? .some(nil), let rule else { return nil }
        return DeclarativeCheck(id: id, title: title, clause: clause, rule: rule)
    }

    mutating func checkId(_ node: Node, _ path: String) -> String? {
        guard let id = reader.string(node, path) else { return nil }
        guard Self.isIdentifier(id) else {
            reader.error(at: node, path, "`\(id)` is not a valid check id: \(Self.identifierRule)")
            return nil
        }
        guard !PostureRules.builtinIds.contains(id) else {
            reader.error(at: node, path, "`\(id)` is a built-in check id; list it under posture.builtin instead")
            return nil
        }
        return id
    }

    mutating func rule(_ kind: String, _ node: Node, _ path: String) -> DeclarativeCheck.Rule? {
        switch kind {
        case "file_exists":
            return absolutePath(node, path).map { .fileExists(path: $0) }
        case "file_mode": return fileModeRule(node, path)
        case "file_owner": return fileOwnerRule(node, path)
        case "file_content": return fileContentRule(node, path)
        case "sysctl":
            guard let fields = reader.mapping(node, path, allowed: ["key", "value"], required: ["key", "value"]),
                  let key = fields["key"].flatMap({ sysctlKey($0, path + ".key") }),
                  let value = fields["value"].flatMap({ reader.string($0, path + ".value") }) else { return nil }
            return .sysctl(key: key, value: value)
        default:
            guard let fields = reader.mapping(node, path, allowed: ["name", "state"], required: ["name", "state"]),
                  let name = fields["name"].flatMap({ packageName($0, path + ".name") }),
                  let state = fields["state"].flatMap({ packageState($0, path + ".state") }) else { return nil }
            return .package(name: name, installed: state)
        }
    }

    mutating func absolutePath(_ node: Node, _ path: String) -> String? {
        guard let text = reader.string(node, path) else { return nil }
        guard text.hasPrefix("/"), !text.split(separator: "/").contains(".."), !text.contains("\0") else {
            reader.error(at: node, path, "expected an absolute path without `..`, found `\(text)`")
            return nil
        }
        return text
    }

    mutating func fileModeRule(_ node: Node, _ path: String) -> DeclarativeCheck.Rule? {
        guard let fields = reader.mapping(node, path, allowed: ["path", "max_mode"], required: ["path", "max_mode"]) else { return nil }
        let file = fields["path"].flatMap { absolutePath($0, path + ".path") }
        var mode: UInt32?
        if let modeNode = fields["max_mode"], let text = reader.string(modeNode, path + ".max_mode") {
            mode = text.count == 4 && text.hasPrefix("0") ? UInt32(text, radix: 8) : nil
            if mode == nil {
                reader.error(at: modeNode, path + ".max_mode", "expected four octal digits such as \"0644\" (quoted), found `\(text)`")
            }
        }
        guard let file, let mode else { return nil }
        return .fileMode(path: file, maximum: mode)
    }

    mutating func fileOwnerRule(_ node: Node, _ path: String) -> DeclarativeCheck.Rule? {
        guard let fields = reader.mapping(node, path, allowed: ["path", "user", "group"], required: ["path"]) else { return nil }
        let file = fields["path"].flatMap { absolutePath($0, path + ".path") }
        let user = fields["user"].map { accountName($0, path + ".user") }
        let group = fields["group"].map { accountName($0, path + ".group") }
        if user == nil, group == nil {
            reader.error(at: node, path, "name the expected `user`, `group`, or both")
            return nil
        }
        guard let file, let user = user ?? .some(nil), let group = group ?? .some(nil) else { return nil }
        return .fileOwner(path: file, user: user, group: group)
    }

    mutating func accountName(_ node: Node, _ path: String) -> String? {
        guard let text = reader.string(node, path) else { return nil }
        guard Self.isAccountName(text) else {
            reader.error(at: node, path, "`\(text)` is not a user or group name")
            return nil
        }
        return text
    }

    mutating func fileContentRule(_ node: Node, _ path: String) -> DeclarativeCheck.Rule? {
        guard let fields = reader.mapping(node, path, allowed: ["path", "regex", "expect"], required: ["path", "regex"]) else { return nil }
        let file = fields["path"].flatMap { absolutePath($0, path + ".path") }
        var regex: String?
        if let regexNode = fields["regex"], let text = reader.string(regexNode, path + ".regex") {
            do {
                _ = try Regex(text)
                regex = text
            } catch {
                reader.error(at: regexNode, path + ".regex", "not a valid regular expression: \(error)")
            }
        }
        let expect = fields["expect"].map { expectation($0, path + ".expect") } ?? true
        guard let file, let regex, let expect else { return nil }
        return .fileContent(path: file, regex: regex, mustMatch: expect)
    }

    mutating func expectation(_ node: Node, _ path: String) -> Bool? {
        guard let text = reader.string(node, path) else { return nil }
        switch text {
        case "match": return true
        case "no-match": return false
        default:
            reader.error(at: node, path, "expected `match` or `no-match`, found `\(text)`")
            return nil
        }
    }

    mutating func sysctlKey(_ node: Node, _ path: String) -> String? {
        guard let text = reader.string(node, path) else { return nil }
        let valid = !text.hasPrefix(".") && !text.contains("..") && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
        }
        guard valid else {
            reader.error(at: node, path, "`\(text)` is not a sysctl key such as net.ipv4.ip_forward")
            return nil
        }
        return text
    }

    mutating func packageName(_ node: Node, _ path: String) -> String? {
        guard let text = reader.string(node, path) else { return nil }
        let valid = text.count >= 2 && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0)
        }
        guard valid else {
            reader.error(at: node, path, "`\(text)` is not a Debian package name")
            return nil
        }
        return text
    }

    mutating func packageState(_ node: Node, _ path: String) -> Bool? {
        guard let text = reader.string(node, path) else { return nil }
        switch text {
        case "installed": return true
        case "absent": return false
        default:
            reader.error(at: node, path, "expected `installed` or `absent`, found `\(text)`")
            return nil
        }
    }
}
