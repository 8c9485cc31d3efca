import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct FleetHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "A host's checks as they stood at a time: was it compliant then, and since when (auditors and admins).")

    @OptionGroup var collector: CollectorOptions

    @Argument(help: "The host's name or id.")
    var name: String

    @Option(help: "The time: 2026-04-01 (midnight UTC) or 2026-04-01T09:00:00Z.")
    var at: String

    @Option(help: "table, json or csv.")
    var format: FleetFormat = .table

    func validate() throws {
        guard Timestamp(parsing: at) != nil else { throw ValidationError("--at must be a date (2026-04-01) or a UTC time (2026-04-01T09:00:00Z)") }
    }

    func run() async throws {
        let time = Timestamp(parsing: at)?.description
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminGet("/v1/admin/fleet/history", query: [("name", name), ("at", time)], token: token)
        }
        let checks = reply["checks"]?.arrayValue ?? []
        let table = FleetTable(headers: ["CHECK", "STATUS", "SINCE", "EVIDENCE"], rows: checks.map { check in
            [check["id"]?.stringValue ?? "?", check["status"]?.stringValue ?? "?", FleetPrint.shortTime(check["since"]?.stringValue),
             check["evidence"]?.stringValue ?? ""]
        }, stateColumns: [1])
        let compliant = reply["compliant"]?.boolValue ?? false
        if format == .table {
            print(TerminalText.safe("\(name) at \(time ?? at): \(compliant ? "compliant" : "NOT compliant")") + "\n")
        }
        try FleetPrint.emit(format, json: reply, table: table, problem: !compliant)
    }
}
