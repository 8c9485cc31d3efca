/// Linux-PAM's module return codes, numbered and named as in `pam_tokens.h` (the names are the
/// keys of a bracketed control such as `[success=1 default=ignore]`).
public enum PAMReturnCode: Int, CaseIterable, Sendable, Hashable {
    case success = 0, openErr, symbolErr, serviceErr, systemErr, bufErr, permDenied, authErr
    case credInsufficient, authinfoUnavail, userUnknown, maxtries, newAuthtokReqd, acctExpired
    case sessionErr, credUnavail, credExpired, credErr, noModuleData, convErr, authtokErr
    case authtokRecoverErr, authtokLockBusy, authtokDisableAging, tryAgain, ignore, abort
    case authtokExpired, moduleUnknown, badItem, convAgain, incomplete

    /// `_PAM_RETURN_VALUES`: the size of a control's action table.
    static let count = 32

    /// The token `pam.conf` uses for this code.
    public var token: String { Self.tokens[rawValue] }

    static let tokens = [
        "success", "open_err", "symbol_err", "service_err", "system_err", "buf_err", "perm_denied", "auth_err",
        "cred_insufficient", "authinfo_unavail", "user_unknown", "maxtries", "new_authtok_reqd", "acct_expired",
        "session_err", "cred_unavail", "cred_expired", "cred_err", "no_module_data", "conv_err", "authtok_err",
        "authtok_recover_err", "authtok_lock_busy", "authtok_disable_aging", "try_again", "ignore", "abort",
        "authtok_expired", "module_unknown", "bad_item", "conv_again", "incomplete",
    ]
}

/// What libpam does with one module's return code (pam.conf(5) "actions").
public enum PAMAction: Sendable, Hashable, CustomStringConvertible {
    case ignore, ok, done, bad, die, reset
    /// Skip the next N modules of the same (sub)stack; a substack counts as one.
    case jump(Int)

    public var description: String {
        switch self {
        case .ignore: "ignore"
        case .ok: "ok"
        case .done: "done"
        case .bad: "bad"
        case .die: "die"
        case .reset: "reset"
        case .jump(let count): String(count)
        }
    }

    static let tokens: [(String, PAMAction)] = [("ignore", .ignore), ("ok", .ok), ("done", .done), ("bad", .bad), ("die", .die), ("reset", .reset)]
}

/// A line's control field turned into libpam's action table, as `pam_handlers.c` and
/// `_pam_parse_control` build it.
public enum PAMControl: Sendable, Equatable {
    case actions([PAMAction])
    case include
    case substack

    /// Simple control words are matched case-insensitively (libpam uses strcasecmp); anything else
    /// is read as the inside of a bracketed control. A control libpam cannot parse makes every
    /// return code `bad` (libpam logs "pam_parse" and does exactly that).
    public static func parse(_ word: String) -> PAMControl {
        switch word.lowercased() {
        case "required": return .actions(simple(success: .ok, ignore: .ignore, otherwise: .bad))
        case "requisite": return .actions(simple(success: .ok, ignore: .ignore, otherwise: .die))
        case "optional": return .actions(simple(success: .ok, ignore: nil, otherwise: .ignore))
        case "sufficient": return .actions(simple(success: .done, ignore: nil, otherwise: .ignore))
        case "include": return .include
        case "substack": return .substack
        default:
            var inner = Substring(word)
            if inner.hasPrefix("[") { inner = inner.dropFirst() }
            if inner.hasSuffix("]") { inner = inner.dropLast() }
            return .actions(bracketed(Array(inner.utf8)) ?? Array(repeating: .bad, count: PAMReturnCode.count))
        }
    }

    static func simple(success: PAMAction, ignore: PAMAction?, otherwise: PAMAction) -> [PAMAction] {
        var table = Array(repeating: otherwise, count: PAMReturnCode.count)
        table[PAMReturnCode.success.rawValue] = success
        table[PAMReturnCode.newAuthtokReqd.rawValue] = success
        if let ignore { table[PAMReturnCode.ignore.rawValue] = ignore }
        return table
    }

    /// `_pam_parse_control`: `key=action` pairs, keys matched by prefix in token order (as libpam
    /// does, case-sensitively), `default` filling what is still unset, then `bad` for the rest.
    /// Nil on a syntax error.
    static func bracketed(_ bytes: [UInt8]) -> [PAMAction]? {
        var table = [PAMAction?](repeating: nil, count: PAMReturnCode.count)
        var index = 0
        func skipSpace() { while index < bytes.count, isSpace(bytes[index]) { index += 1 } }
        func hasPrefix(_ token: String) -> Bool {
            let token = Array(token.utf8)
            return bytes.count - index >= token.count && Array(bytes[index..<index + token.count]) == token
        }
        while true {
            skipSpace()
            if index >= bytes.count { break }
            let keys = PAMReturnCode.tokens + ["default"]
            guard let key = keys.firstIndex(where: hasPrefix) else { return nil }
            index += keys[key].utf8.count
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { return nil }
            index += 1
            skipSpace()
            guard let action = readAction(bytes, &index) else { return nil }
            if key == PAMReturnCode.count {
                for slot in table.indices where table[slot] == nil { table[slot] = action }
            } else {
                table[key] = action
            }
        }
        return table.map { $0 ?? .bad }
    }

    static func readAction(_ bytes: [UInt8], _ index: inout Int) -> PAMAction? {
        for (token, action) in PAMAction.tokens {
            let token = Array(token.utf8)
            if bytes.count - index >= token.count, Array(bytes[index..<index + token.count]) == token {
                index += token.count
                return action
            }
        }
        var value = 0
        let start = index
        while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
            value = min(value * 10 + Int(bytes[index] - 0x30), 1_000_000)
            index += 1
        }
        guard index > start, value > 0 else { return nil }
        return .jump(value)
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
}

/// One logical line of a PAM configuration file: comments stripped, backslash-newline joined,
/// split into fields with a bracketed control kept as one field.
public struct PAMConfigLine: Sendable, Equatable {
    /// 1-based number of the line the logical line starts on.
    public var number: Int
    public var fields: [String]

    public init(number: Int, fields: [String]) {
        self.number = number
        self.fields = fields
    }

    /// Reads a file's text the way `_pam_line_assemble` does: `#` to end of line is a comment,
    /// a backslash before a newline joins the next line, blank lines vanish.
    public static func lines(of text: String) -> [PAMConfigLine] {
        var result: [PAMConfigLine] = []
        var pending = ""
        var start = 0
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if pending.isEmpty { start = offset + 1 }
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            pending += line
            let fields = tokenize(pending)
            if !fields.isEmpty { result.append(PAMConfigLine(number: start, fields: fields)) }
            pending = ""
        }
        if !pending.isEmpty {
            let fields = tokenize(pending)
            if !fields.isEmpty { result.append(PAMConfigLine(number: start, fields: fields)) }
        }
        return result
    }

    /// Whitespace-separated fields; `[` opens a field that runs to the matching `]` (spaces
    /// included), as libpam reads bracketed controls and arguments.
    static func tokenize(_ text: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var inBracket = false
        for character in text {
            if inBracket {
                current.append(character)
                if character == "]" { inBracket = false }
            } else if character == " " || character == "\t" {
                if !current.isEmpty { fields.append(current); current = "" }
            } else {
                if character == "[" && current.isEmpty { inBracket = true }
                current.append(character)
            }
        }
        if !current.isEmpty { fields.append(current) }
        return fields
    }
}
