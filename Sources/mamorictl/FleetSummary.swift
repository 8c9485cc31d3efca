import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct FleetSummary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Per organisation: hosts, compliant, non-compliant, stale, tampered, unreported, out of scope.")

    @OptionGroup var collector: CollectorOptions

    @Option(help: "table, json or csv.")
    var format: FleetFormat = .table

    static let states = ["compliant", "non-compliant", "stale", "tampered", "unreported", "out-of-scope"]

    func run() async throws {
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminGet("/v1/admin/fleet/summary", token: token)
        }
        let rows = reply["organisations"]?.arrayValue ?? []
        let table = FleetTable(
            headers: ["ORG", "HOSTS", "OK", "FAILING", "STALE", "TAMPERED", "NO-DATA", "OUT"],
            rows: rows.map { row in
                let org = row["org"]?.stringValue ?? "?"
                let name = Organisation(rawValue: org)?.japaneseName ?? org
                return [name, String(row["hosts"]?.intValue ?? 0)] + Self.states.map { String(row[$0]?.intValue ?? 0) }
            })
        let problem = rows.contains { row in ["non-compliant", "stale", "tampered", "unreported"].contains { (row[$0]?.intValue ?? 0) > 0 } }
        try FleetPrint.emit(format, json: reply, table: table, problem: problem)
    }
}
