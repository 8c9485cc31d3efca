import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct TokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a token; prints it once (the collector keeps only its hash).")

    @OptionGroup var collector: CollectorOptions

    @Option(help: "admin, auditor or viewer.")
    var role: String

    @Option(help: "Organisation the token covers (repeatable; identifier or Japanese name). None: ward-wide (区議会 only as counts).")
    var org: [String] = []

    @Option(help: "Who holds the token, for the record.")
    var label: String

    @Option(help: "table (the token alone) or json.")
    var format: FleetFormat = .table

    func validate() throws {
        guard ["admin", "auditor", "viewer"].contains(role) else { throw ValidationError("--role must be admin, auditor or viewer") }
        for name in org where Organisation(identifierOrName: name) == nil {
            throw ValidationError("unknown organisation \(name) (one of \(Organisation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard !label.isEmpty else { throw ValidationError("--label must not be empty") }
    }

    func run() async throws {
        var body: [String: JSONValue] = ["role": .string(role), "label": .string(label)]
        if !org.isEmpty { body["orgs"] = .array(org.compactMap { Organisation(identifierOrName: $0).map { .string($0.rawValue) } }) }
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminPost("/v1/admin/tokens", body, token: token, expect: 201)
        }
        switch format {
        case .json: print(reply.canonicalString)
        case .table, .csv: print(reply["token"]?.stringValue ?? "")
        }
    }
}
