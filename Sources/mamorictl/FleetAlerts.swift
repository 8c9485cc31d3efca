import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct FleetAlerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Alerts (auditors and admins); --ack ID --reason TEXT acknowledges one (admins), recording who and why.")

    @OptionGroup var collector: CollectorOptions

    @Option(help: "Only alerts raised at or after this time (2026-04-01 or 2026-04-01T09:00:00Z).")
    var since: String?

    @Option(help: "Acknowledge the alert with this id.")
    var ack: String?

    @Option(help: "Why the alert is acknowledged (required with --ack; recorded).")
    var reason: String?

    @Option(help: "table, json or csv.")
    var format: FleetFormat = .table

    func validate() throws {
        if let since, Timestamp(parsing: since) == nil { throw ValidationError("--since must be a date (2026-04-01) or a UTC time (2026-04-01T09:00:00Z)") }
        if ack != nil, (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--ack needs --reason TEXT") }
        if ack == nil, reason != nil { throw ValidationError("--reason goes with --ack ID") }
    }

    func run() async throws {
        if let ack, let reason {
            let reply = try await collector.withFleetClient { client, token in
                try await client.adminPost("/v1/admin/alerts/ack", ["id": .string(ack), "reason": .string(reason)], token: token)
            }
            switch format {
            case .json: print(reply.canonicalString)
            case .table, .csv: print(Self.table([reply]).render(format), terminator: "")
            }
            return
        }
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminGet("/v1/admin/alerts", query: [("since", since.flatMap { Timestamp(parsing: $0) }?.description)], token: token)
        }
        let alerts = reply["alerts"]?.arrayValue ?? []
        let open = alerts.contains { $0["acknowledged_at"] == nil }
        try FleetPrint.emit(format, json: reply, table: Self.table(alerts), problem: open)
    }

    static func table(_ alerts: [JSONValue]) -> FleetTable {
        FleetTable(headers: ["ID", "TIME", "KIND", "HOST", "COUNT", "LAST", "ACK"], rows: alerts.map { alert in
            let ack = alert["acknowledged_at"] == nil ? "open"
                : "\(alert["acknowledged_by"]?.stringValue ?? "?"): \(alert["ack_reason"]?.stringValue ?? "")"
            return [alert["id"]?.stringValue ?? "?", FleetPrint.shortTime(alert["created_at"]?.stringValue),
                    "\(alert["kind"]?.stringValue ?? "?")/\(alert["failure"]?.stringValue ?? "?")", alert["host"]?.stringValue ?? "-",
                    String(alert["occurrences"]?.intValue ?? 1), alert["last_at"]?.stringValue.map { FleetPrint.shortTime($0) } ?? "-", ack]
        })
    }
}
