import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct FleetScope: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scope",
        abstract: "Mark a host out of the policy's scope (4(2): school-education assets) or back in (admins); who and why are recorded.")

    @OptionGroup var collector: CollectorOptions

    @Argument(help: "The host's name or id.")
    var name: String

    @Flag(name: .customLong("out"), help: "Out of scope: listed, left out of compliance figures.")
    var out = false

    @Flag(name: .customLong("in"), help: "Back in scope.")
    var back = false

    @Option(help: "Why (required; recorded).")
    var reason: String

    @Option(help: "table or json.")
    var format: FleetFormat = .table

    func validate() throws {
        guard out != back else { throw ValidationError("give exactly one of --out and --in") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must not be empty") }
    }

    func run() async throws {
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminPost("/v1/admin/fleet/scope", ["name": .string(name), "out_of_scope": .bool(out), "reason": .string(reason)],
                                       token: token)
        }
        switch format {
        case .json: print(reply.canonicalString)
        case .table, .csv: print(TerminalText.safe("\(reply["hostname"]?.stringValue ?? name): \(out ? "out of scope" : "in scope")"))
        }
    }
}
