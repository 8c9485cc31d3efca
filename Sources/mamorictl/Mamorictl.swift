import ArgumentParser
import MamoriAgent
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

struct Mamorictl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mamorictl",
        abstract: "Administer Mamori: journals, keys, second-factor enrolment, profiles, enrolment tokens, fleet compliance, reports.",
        discussion: """
            Exit status: 0 success; 1 a verification or check failed (the output says which and where);
            2 bad arguments or unreadable input (usage errors included). `fleet`, `token` and `report`:
            0 everything shown is compliant, 3 something is not, 2 usage, connection or refusal.
            """,
        version: MamoriVersion.current,
        subcommands: [JournalCommand.self, KeysCommand.self, MFACommand.self, ProfileCommand.self, EnrollTokenCommand.self,
                      FleetCommand.self, TokenCommand.self, ReportCommand.self]
    )
}

/// Exit statuses shared by every subcommand.
enum ExitStatus {
    static let failed = ExitCode(1)
    static let badInput = ExitCode(2)
}

/// A usage or input problem: printed to stderr, exit status 2.
struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum Output {
    static func error(_ message: String) {
        standardError("mamorictl: " + message + "\n")
    }

    /// Diagnostics go to file descriptor 2 directly (the C `stderr` global is not concurrency-safe).
    static func standardError(_ text: String) {
        StandardStream.error(text)
    }
}

@main
enum MamorictlMain {
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try Mamorictl.parseAsRoot()
        } catch {
            let code = Mamorictl.exitCode(for: error)
            if code == .success {
                Mamorictl.exit(withError: error)
            }
            Output.standardError(Mamorictl.fullMessage(for: error) + "\n")
            exit(ExitStatus.badInput.rawValue)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch let error as InputError {
            Output.error(error.description)
            exit(ExitStatus.badInput.rawValue)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            // `--help` and `help SUBCOMMAND` parse into a command whose run() throws the request
            // for help: argument-parser prints it and exits 0, as for its other errors.
            if Mamorictl.exitCode(for: error) == .success { Mamorictl.exit(withError: error) }
            Output.error("\(error)")
            exit(ExitStatus.badInput.rawValue)
        }
        exit(0)
    }
}

enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json
}
