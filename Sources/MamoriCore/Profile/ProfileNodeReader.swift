import Yams

/// Reads a Yams node tree and records every problem with its position instead of stopping at the
/// first: an administrator fixes a profile in one pass. Values are read from the scalar text, not
/// from YAML's implicit typing, so `0781` stays a vendor id and `yes` is never a boolean.
struct ProfileNodeReader {
    private(set) var diagnostics: [ProfileDiagnostic] = []

    mutating func error(at node: Node?, _ path: String, _ message: String) {
        let mark = node?.mark
        diagnostics.append(ProfileDiagnostic(line: mark?.line ?? 1, column: mark?.column ?? 1, path: path, message: message))
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The members of a mapping whose keys are all in `allowed`; any other key is an error (a
    /// typo must not silently drop a rule). Reports each missing `required` key at the mapping.
    mutating func mapping(_ node: Node, _ path: String, allowed: [String], required: [String] = []) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            error(at: node, path, "expected a mapping (`key: value` lines), found \(Self.describe(node))")
            return nil
        }
        var members: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                error(at: keyNode, path, "a key must be plain text")
                continue
            }
            let key = scalar.string
            if allowed.contains(key) {
                members[key] = value
            } else {
                error(at: keyNode, Self.join(path, key), Self.unknownKeyMessage(key, allowed: allowed))
            }
        }
        for key in required where members[key] == nil {
            error(at: node, Self.join(path, key), "required key `\(key)` is missing")
        }
        return members
    }

    mutating func list(_ node: Node, _ path: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            error(at: node, path, "expected a list (`- item` lines or `[a, b]`), found \(Self.describe(node))")
            return nil
        }
        return Array(sequence)
    }

    /// Non-empty text.
    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            error(at: node, path, "expected text, found \(Self.describe(node))")
            return nil
        }
        if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
            error(at: node, path, "expected text, found nothing")
            return nil
        }
        let text = scalar.string
        guard !text.allSatisfy(\.isWhitespace) else {
            error(at: node, path, "expected text, found only white space")
            return nil
        }
        return text
    }

    mutating func integer(_ node: Node, _ path: String, in range: ClosedRange<Int64>) -> Int64? {
        guard let text = string(node, path) else { return nil }
        guard let value = Int64(text) else {
            error(at: node, path, "expected a whole number, found `\(text)`")
            return nil
        }
        guard range.contains(value) else {
            error(at: node, path, "\(value) is out of range: must be \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard let text = string(node, path) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            error(at: node, path, "expected true or false, found `\(text)`")
            return nil
        }
    }

    mutating func choice<Choice: CaseIterable & RawRepresentable>(_ node: Node, _ path: String, _ type: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = Choice(rawValue: text) { return value }
        let names = Choice.allCases.map(\.rawValue)
        error(at: node, path, "`\(text)` is not one of: \(names.joined(separator: ", "))" + Self.suggestion(text, names))
        return nil
    }

    /// A time span: whole seconds, or a number with `s`, `m`, `h` or `d` (`15m`, `12h`).
    mutating func duration(_ node: Node, _ path: String, in range: ClosedRange<Int64>) -> Int64? {
        guard let text = string(node, path) else { return nil }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(text)
        var unit: Int64 = 1
        if let last = text.last, let multiplier = units[last] {
            digits = text.dropLast()
            unit = multiplier
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int64(digits),
              count <= Int64.max / unit else {
            error(at: node, path, "expected a duration such as 900, 30s, 15m, 12h or 7d, found `\(text)`")
            return nil
        }
        let seconds = count * unit
        guard range.contains(seconds) else {
            error(at: node, path, "\(text) is out of range: must be \(range.lowerBound)s...\(range.upperBound)s")
            return nil
        }
        return seconds
    }

    /// `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ`.
    mutating func timestamp(_ node: Node, _ path: String) -> Timestamp? {
        guard let text = string(node, path) else { return nil }
        guard let value = Timestamp(parsing: text) else {
            error(at: node, path, "expected a UTC date `YYYY-MM-DD` or time `YYYY-MM-DDTHH:MM:SSZ`, found `\(text)`")
            return nil
        }
        return value
    }

    /// A list of distinct texts, each passing `check` (which returns a problem or nil).
    mutating func stringList(_ node: Node, _ path: String, check: (String) -> String? = { _ in nil }) -> [String]? {
        guard let items = list(node, path) else { return nil }
        var out: [String] = []
        var ok = true
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let text = string(item, itemPath) else { ok = false; continue }
            if let problem = check(text) {
                error(at: item, itemPath, problem)
                ok = false
            } else if out.contains(text) {
                error(at: item, itemPath, "`\(text)` is listed twice")
                ok = false
            } else {
                out.append(text)
            }
        }
        return ok ? out : nil
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): return scalar.string.isEmpty ? "nothing" : "the text `\(scalar.string)`"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    static func unknownKeyMessage(_ key: String, allowed: [String]) -> String {
        "unknown key `\(key)`" + suggestion(key, allowed)
            + "; allowed here: \(allowed.joined(separator: ", "))"
    }

    /// ` (did you mean `x`?)` when one allowed name is within two edits of `text`.
    static func suggestion(_ text: String, _ names: [String]) -> String {
        let scored = names.map { ($0, editDistance(text, $0)) }.filter { $0.1 <= 2 }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return "" }
        return " (did you mean `\(best.0)`?)"
    }

    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs.unicodeScalars), b = Array(rhs.unicodeScalars)
        guard a.count < 64, b.count < 64 else { return Int.max }
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
