import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct TokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Tokens within your organisations (never their secrets).")

    @OptionGroup var collector: CollectorOptions

    @Option(help: "table, json or csv.")
    var format: FleetFormat = .table

    func run() async throws {
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminGet("/v1/admin/tokens", token: token)
        }
        let tokens = reply["tokens"]?.arrayValue ?? []
        let table = FleetTable(headers: ["ID", "ROLE", "ORGS", "LABEL", "CREATED", "REVOKED"], rows: tokens.map { token in
            let orgs = token["orgs"]?.arrayValue.map { $0.compactMap(\.stringValue).joined(separator: ",") } ?? "*"
            return [token["id"]?.stringValue ?? "?", token["role"]?.stringValue ?? "?", orgs, token["label"]?.stringValue ?? "",
                    String((token["created_at"]?.stringValue ?? "").prefix(10)),
                    token["revoked_at"]?.stringValue.map { String($0.prefix(10)) } ?? "-"]
        })
        try FleetPrint.emit(format, json: reply, table: table, problem: false)
    }
}
