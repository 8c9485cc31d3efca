import ArgumentParser
import Foundation
import MamoriClient
import MamoriCore

/// `mamorictl fleet grants`: the one-off device grants (持ち出し申請), what state each is in on
/// its terminal and how often it was used.
struct FleetGrants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants",
        abstract: "Device grants (auditors and admins): in force by default, --all for ended ones too.",
        discussion: """
            STATE: pending (pushed, not yet taken by the terminal), active, expired, revoked, rejected (the terminal
            refused it: see its media.grant-rejected record). USES: attaches the grant allowed, from the terminal's journal.
            """)

    @OptionGroup var collector: CollectorOptions

    @Option(help: "Only the grants of this host (id or hostname).")
    var host: String?

    @Flag(help: "Include expired and revoked grants.")
    var all = false

    @Option(help: "table, json or csv.")
    var format: FleetFormat = .table

    func run() async throws {
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminGet("/v1/admin/grants", query: [("host", host), ("all", all ? "true" : nil)], token: token)
        }
        let grants = reply["grants"]?.arrayValue ?? []
        // Wide: the device label and the reference are what an auditor reads; cutting them helps no one.
        switch format {
        case .json: print(reply.canonicalString)
        case .table: print(Self.table(grants).render(.table, width: 200), terminator: "")
        case .csv: print(Self.table(grants).render(.csv), terminator: "")
        }
    }

    static func table(_ grants: [JSONValue]) -> FleetTable {
        FleetTable(headers: ["ID", "HOST", "DEVICE", "MODE", "STATE", "UNTIL", "USES", "REF", "REASON"], rows: grants.map { grant in
            let device = "\(grant["vendor"]?.stringValue ?? "*"):\(grant["product"]?.stringValue ?? "*"):\(grant["serial"]?.stringValue ?? "?")"
            var state = grant["state"]?.stringValue ?? "?"
            if state == "rejected", let code = grant["rejected_code"]?.stringValue { state += " (\(code))" }
            return [grant["id"]?.stringValue ?? "?", grant["hostname"]?.stringValue ?? grant["host"]?.stringValue ?? "?", device,
                    grant["mode"]?.stringValue ?? "?", state, FleetPrint.shortTime(grant["expires"]?.stringValue),
                    String(grant["uses"]?.intValue ?? 0), grant["ref"]?.stringValue ?? "", grant["reason"]?.stringValue ?? ""]
        }, stateColumns: [4])
    }
}
