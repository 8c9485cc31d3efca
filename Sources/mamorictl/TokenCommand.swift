import Foundation
import MamoriClient
import ArgumentParser

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Administrators' bearer tokens: role (admin, auditor, viewer) × organisations (admins only).",
        discussion: """
            A token can only be created within its creator's own organisations; a ward-wide admin cannot create a 区議会
            token (policy 9): use `mamori-collector admin-token --org assembly` on the collector for the first one.
            Exit status: 0 done; 2 bad arguments, an unreachable collector, or a refusal.
            """,
        subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self]
    )
}
