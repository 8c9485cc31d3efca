/// The module's arguments from the PAM stack line. Unknown or malformed ones fail the login
/// closed (a typo must not silently disable a protection).
public struct ModuleOptions: Sendable, Equatable {
    public static let defaultSocketPath = "/run/mamori/pam.sock"
    public static let timeoutRange = 100...30_000

    public var socketPath = ModuleOptions.defaultSocketPath
    public var timeoutMilliseconds = 5_000

    public init() {}

    public enum Parsed: Sendable, Equatable {
        case options(ModuleOptions)
        case invalid(String)
    }

    public static func parse(_ arguments: [String]) -> Parsed {
        var options = ModuleOptions()
        for argument in arguments {
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts.first.map(String.init) ?? ""
            let value = parts.count == 2 ? String(parts[1]) : nil
            switch (key, value) {
            case ("socket", let path?):
                guard path.hasPrefix("/"), path.utf8.count < 108 else {
                    return .invalid("option `\(argument)`: the socket must be an absolute path shorter than 108 bytes")
                }
                options.socketPath = path
            case ("timeout", let text?):
                guard let value = Int(text), timeoutRange.contains(value) else {
                    return .invalid("option `\(argument)`: the timeout must be \(timeoutRange.lowerBound)–\(timeoutRange.upperBound) ms")
                }
                options.timeoutMilliseconds = value
            default:
                return .invalid("unknown option `\(argument)`")
            }
        }
        return .options(options)
    }
}
