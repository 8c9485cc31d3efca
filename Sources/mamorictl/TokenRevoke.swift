import Foundation
import MamoriClient
import ArgumentParser
import MamoriCore

struct TokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token at once (recorded with who).")

    @OptionGroup var collector: CollectorOptions

    @Argument(help: "The token's id (from `token list`).")
    var id: String

    func run() async throws {
        _ = try await collector.withFleetClient { client, token in
            try await client.adminPost("/v1/admin/tokens/revoke", ["id": .string(id)], token: token)
        }
        print("revoked \(id)")
    }
}
