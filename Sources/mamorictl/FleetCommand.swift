import Foundation
import MamoriClient
import ArgumentParser

struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Fleet compliance: summary, hosts, one host, alerts, history, scope, device grants.",
        discussion: """
            Connection: --server/--ca/--token-file, else MAMORI_SERVER/MAMORI_CA/MAMORI_TOKEN, else ~/.config/mamori/ctl.yaml.
            Exit status: 0 everything shown is compliant; 3 something shown is not (non-compliant, stale, tampered,
            unreported, an unacknowledged alert); 2 bad arguments, an unreachable collector, or a refusal.
            """,
        subcommands: [FleetSummary.self, FleetHosts.self, FleetHost.self, FleetAlerts.self, FleetHistory.self, FleetScope.self, FleetGrants.self]
    )
}
