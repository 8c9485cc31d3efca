import ArgumentParser
import MamoriAgent
import MamoriCore

struct MFAReset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Remove a user's enrolment (secret, state and recovery codes); they must enrol again.",
        discussion: "Exit status 1 when the user was not enrolled."
    )

    @Argument(help: "The login name.")
    var user: String

    @OptionGroup var location: MFARootOption

    func validate() throws {
        guard MFAUserName.isValid(user) else { throw ValidationError("`\(user)` is not a valid user name") }
    }

    func run() throws {
        guard try location.store.remove(user) else {
            Output.error("\(user) is not enrolled")
            throw ExitStatus.failed
        }
        print("reset \(user): enrolment removed")
    }
}

struct MFAUnlock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Clear a user's failure count and lockout.",
        discussion: "Exit status 1 when the user is not enrolled."
    )

    @Argument(help: "The login name.")
    var user: String

    @OptionGroup var location: MFARootOption

    func validate() throws {
        guard MFAUserName.isValid(user) else { throw ValidationError("`\(user)` is not a valid user name") }
    }

    func run() throws {
        let previous = try location.store.update(user) { record -> (MFAUserRecord?, MFAUserState?) in
            guard var record else { return (nil, nil) }
            let before = record.state
            record.state.consecutiveFailures = 0
            record.state.lockedUntil = nil
            record.state.consecutiveLockouts = 0
            return (record, before)
        }
        guard let previous else {
            Output.error("\(user) is not enrolled")
            throw ExitStatus.failed
        }
        let lock = previous.needsAdministratorUnlock ? ", was locked until an administrator unlocks it"
            : previous.lockedUntil == nil ? "" : ", was locked"
        print("unlocked \(user) (had \(previous.consecutiveFailures) failures, \(previous.consecutiveLockouts) consecutive lockouts\(lock))")
    }
}
