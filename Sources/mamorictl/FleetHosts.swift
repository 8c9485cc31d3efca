import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct FleetHosts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts",
        abstract: "Hosts with their compliance state, optionally filtered.")

    @OptionGroup var collector: CollectorOptions

    @Option(help: "Only this organisation (identifier or Japanese name).")
    var org: String?

    @Option(help: "Only hosts where this check fails or is in error (shows since when).")
    var failing: String?

    @Flag(help: "Only stale hosts (not heard from within the collector's limit).")
    var stale = false

    @Flag(help: "Only hosts with an unacknowledged tamper alert.")
    var tampered = false

    @Option(help: "table, json or csv.")
    var format: FleetFormat = .table

    func validate() throws {
        guard !(stale && tampered) else { throw ValidationError("--stale and --tampered are exclusive (each host has one state)") }
        if let org, Organisation(identifierOrName: org) == nil {
            throw ValidationError("unknown organisation \(org) (one of \(Organisation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let failing, !PostureCatalogue.isCheckId(failing) { throw ValidationError("--failing must be a check id, e.g. network.no-wireless") }
    }

    func run() async throws {
        let state = stale ? "stale" : (tampered ? "tampered" : nil)
        let body = try await collector.withFleetClient { client, token in
            try await client.adminGetBody("/v1/admin/fleet/hosts", query: [
                ("org", org.flatMap(Organisation.init(identifierOrName:))?.rawValue), ("failing", failing), ("state", state),
            ], token: token)
        }
        if format == .json {
            // The collector's canonical JSON as received: no parse and re-encode of a reply that
            // can list every host of the ward (the exit status comes from a scan of its states).
            guard let states = FleetReplyScan.states(in: body) else {
                Output.error("the collector's reply is not complete JSON")
                throw ExitStatus.badInput
            }
            FleetPrint.write(body)
            if FleetReplyScan.hasProblem(states) { throw FleetExit.notCompliant }
            return
        }
        // With --failing the last column is since when that check fails (instead of last seen), so times stay whole in 80 columns.
        let headers = ["HOST", "ORG", "STATE", "FAIL", failing == nil ? "LAST SEEN" : "FAILING SINCE"]
        let fields = ["hostname", "org", "state", "failing", "checks", failing == nil ? "last_seen_at" : "failing_since"]
        // One pass over the bytes for the usual flat reply; a full parse for anything else.
        let hosts: [[String?]]
        if let flat = FleetReplyScan.flatObjects(in: body, array: "hosts", fields: fields) {
            hosts = flat
        } else {
            let reply: JSONValue
            do {
                reply = try JSONValue.parse(body)
            } catch {
                Output.error("the collector's reply is not JSON: \(error)")
                throw ExitStatus.badInput
            }
            hosts = (reply["hosts"]?.arrayValue ?? []).map { host in
                fields.map { field in
                    switch host[field] {
                    case .string(let text)?: text
                    case .int(let number)?: String(number)
                    default: nil
                    }
                }
            }
        }
        let table = FleetTable(headers: headers, rows: hosts.map { host in
            [host[0] ?? "?", host[1] ?? "?", host[2] ?? "?", "\(host[3] ?? "0")/\(host[4] ?? "0")", FleetPrint.shortTime(host[5])]
        }, stateColumns: [2])
        let problem = hosts.contains { FleetReplyScan.isProblem($0[2] ?? "") }
        print(table.render(format), terminator: "")
        if problem { throw FleetExit.notCompliant }
    }
}
