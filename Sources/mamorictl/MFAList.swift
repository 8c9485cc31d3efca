import ArgumentParser
import MamoriAgent
import MamoriCore

struct MFAList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List enrolled users: token type, failures, lock, recovery codes left."
    )

    @OptionGroup var location: MFARootOption

    @Option(help: "Output format: text, or json (one object per user).")
    var format: OutputFormat = .text

    func run() throws {
        let store = location.store
        guard FileSystem.isDirectory(store.directory) else {
            if format == .text { print("no users enrolled") }
            return
        }
        for user in try store.users() {
            guard let record = try store.readLocked(user) else { continue }
            print(format == .json ? Self.json(record).canonicalString : Self.text(record))
        }
    }

    static func json(_ record: MFAUserRecord) -> JSONValue {
        var object: [String: JSONValue] = [
            "user": .string(record.user), "type": .string(record.credential.factor.rawValue),
            "algorithm": .string(record.credential.parameters.algorithm.rawValue),
            "digits": .int(Int64(record.credential.parameters.digits)),
            "failures": .int(Int64(record.state.consecutiveFailures)),
            "recovery_codes_left": .int(Int64(record.state.recoveryCodes.count)),
        ]
        if let until = record.state.lockedUntil { object["locked_until"] = .int(until) }
        object["lockouts"] = .int(Int64(record.state.consecutiveLockouts))
        object["needs_administrator_unlock"] = .bool(record.state.needsAdministratorUnlock)
        return .object(object)
    }

    static func text(_ record: MFAUserRecord) -> String {
        let lock = record.state.needsAdministratorUnlock ? " locked-until=administrator-unlock"
            // Past year 9999 a time is not printable (and would overflow microseconds).
            : record.state.lockedUntil.map { $0 <= 253_402_300_799 ? " locked-until=\(Timestamp(secondsSinceEpoch: $0))" : " locked-until=far-future" } ?? ""
        return "\(record.user) \(record.credential.factor.rawValue) \(record.credential.parameters.algorithm.rawValue) "
            + "failures=\(record.state.consecutiveFailures) lockouts=\(record.state.consecutiveLockouts) recovery-codes=\(record.state.recoveryCodes.count)\(lock)"
    }
}
