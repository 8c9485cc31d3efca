import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct FleetHost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "One host: its checks with status, evidence and since; recent events and alerts (auditors and admins).")

    @OptionGroup var collector: CollectorOptions

    @Argument(help: "The host's name or id.")
    var name: String

    @Option(help: "table, json or csv (csv: the checks).")
    var format: FleetFormat = .table

    func run() async throws {
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminGet("/v1/admin/fleet/host", query: [("name", name)], token: token)
        }
        let host = reply["host"] ?? .null
        let checks = reply["checks"]?.arrayValue ?? []
        let table = FleetTable(headers: ["CHECK", "STATUS", "SINCE", "EVIDENCE"], rows: checks.map { check in
            [check["id"]?.stringValue ?? "?", check["status"]?.stringValue ?? "?", FleetPrint.shortTime(check["since"]?.stringValue),
             check["evidence"]?.stringValue ?? ""]
        }, stateColumns: [1])
        let problem = !["compliant", "out-of-scope"].contains(host["state"]?.stringValue ?? "")
        if format == .table {
            print(TerminalText.safe("\(host["hostname"]?.stringValue ?? name) (\(host["id"]?.stringValue ?? "?"))  org \(host["org"]?.stringValue ?? "?")  "
                  + "state \(host["state"]?.stringValue ?? "?")  last seen \(FleetPrint.shortTime(host["last_seen_at"]?.stringValue))"))
            print("")
        }
        if format == .table {
            print(table.render(.table), terminator: "")
            printEventsAndAlerts(reply)
            if problem { throw FleetExit.notCompliant }
            return
        }
        try FleetPrint.emit(format, json: reply, table: table, problem: problem)
    }

    func printEventsAndAlerts(_ reply: JSONValue) {
        if let events = reply["events"]?.arrayValue, !events.isEmpty {
            print("\nRecent events")
            print(FleetTable(headers: ["SEQ", "TIME", "KIND", "DETAIL"], rows: events.map { event in
                [String(event["seq"]?.intValue ?? 0), FleetPrint.shortTime(event["time"]?.stringValue), event["kind"]?.stringValue ?? "?",
                 event["detail"]?.stringValue ?? ""]
            }).render(.table, width: 160), terminator: "")
        }
        if let alerts = reply["alerts"]?.arrayValue, !alerts.isEmpty {
            print("\nAlerts")
            print(FleetAlerts.table(alerts).render(.table), terminator: "")
        }
        if let grants = reply["grants"]?.arrayValue, !grants.isEmpty {
            print("\nDevice grants")
            print(FleetGrants.table(grants).render(.table, width: 160), terminator: "")
        }
    }
}
