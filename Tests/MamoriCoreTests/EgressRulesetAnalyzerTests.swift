import Foundation
import MamoriCore
import Testing

/// The egress check over rulesets nft itself produced (NftFixtures), and over nft run live.
@Suite struct EgressRulesetAnalyzerTests {
    static func destination(_ cidr: String, _ ports: [Int], _ transport: TransportProtocol) -> NetworkDestination {
        guard case .success(let network) = CIDR.parse(cidr) else { fatalError("bad fixture CIDR \(cidr)") }
        return NetworkDestination(cidr: network, ports: ports, transport: transport)
    }

    /// The zone: the collector and file servers (TCP 443, 8443), the time server, the IPv6 segment.
    static let zone = [
        destination("10.20.0.0/16", [443, 8443], .tcp),
        destination("10.30.1.0/24", [123], .udp),
        destination("fd00:20::/48", [443], .tcp),
    ]

    func evaluate(_ json: String, _ allowed: [NetworkDestination] = Self.zone) -> PostureOutcome {
        EgressRulesetAnalyzer.evaluate(rulesetJSON: json, allowed: allowed)
    }

    @Test func zoneOnlyRulesetPasses() {
        let outcome = evaluate(NftFixtures.allowed)
        #expect(outcome == .meetsPolicy(evidence: "inet mamori output: policy drop with 3 accept rule(s) within the allowed destinations"))
    }

    @Test func namedSetsJumpsAndAFinalRejectAreFollowed() {
        let wider = Self.zone + [Self.destination("10.30.1.0/24", [443], .tcp)]
        let outcome = evaluate(NftFixtures.namedSetJumpAndFinalDrop, wider)
        #expect(outcome.status == .pass, "\(outcome.evidence)")
        #expect(outcome.evidence.contains("ends in an unconditional drop"))
        // The set holds 10.30.1.5 and the chain it jumps to accepts tcp/443: the zone allows only udp/123 there.
        let failing = evaluate(NftFixtures.namedSetJumpAndFinalDrop)
        #expect(failing.status == .fail)
        #expect(failing.evidence.contains("zone_out handle 4: accepts 10.30.1.5 tcp/443, outside the allowed destinations"), "\(failing.evidence)")
    }

    @Test func anotherPermissiveOutputChainDoesNotUndoARestrictingOne() {
        let outcome = evaluate(NftFixtures.permissiveSecondChainIsHarmless)
        #expect(outcome.status == .pass, "\(outcome.evidence)")
    }

    @Test(arguments: [
        (NftFixtures.policyAccept, "IPv4 and IPv6 egress not limited: inet mamori output: policy accept and no unconditional drop"),
        (NftFixtures.acceptAny, "IPv4 and IPv6 egress not limited: inet mamori output: output handle 4: accepts without a destination address"),
        (NftFixtures.wrongCIDR, "IPv4 and IPv6 egress not limited: inet mamori output: output handle 4: accepts 10.99.0.0-10.99.255.255 tcp/443, outside the allowed destinations"),
        (NftFixtures.noOutputChain, "IPv4 and IPv6 egress not limited: no filter chain on the output hook"),
        (NftFixtures.ipv4Only, "IPv6 egress not limited: ip mamori4 output: policy drop with 1 accept rule(s) within the allowed destinations"),
    ])
    func rulesetsThatLetTrafficOutFail(json: String, evidence: String) {
        #expect(evaluate(json) == .failsToMeetPolicy(reason: evidence))
    }

    @Test func newConnectionsAndAnyPortAreNotExempt() {
        let outcome = evaluate(NftFixtures.newStateAndAnyPort)
        #expect(outcome.status == .fail)
        #expect(outcome.evidence.contains("handle 2: accepts without a destination address"))
        #expect(outcome.evidence.contains("handle 3: accepts any protocol to 10.20.0.0-10.20.255.255"))
    }

    @Test(arguments: ["", "not json", #"{"nftables": 3}"#, #"{"other": []}"#, #"{"nftables": [{"rule": {"family": "inet"}}]}"#])
    func garbageIsAnError(json: String) {
        #expect(evaluate(json).status == .error)
    }

    @Test func emptyAllowListAcceptsNothingButLoopback() {
        #expect(evaluate(NftFixtures.allowed, []).status == .fail)
    }

    /// nft itself, in a network namespace of its own: the fixtures' sources loaded and listed live
    /// must be judged exactly as the recorded JSON is. Needs root and nftables; it fails, never
    /// skips, when nft cannot run.
    @Test(arguments: [
        (NftFixtures.allowedSource, NftFixtures.allowed),
        (NftFixtures.wrongCIDRSource, NftFixtures.wrongCIDR),
        (NftFixtures.namedSetJumpAndFinalDropSource, NftFixtures.namedSetJumpAndFinalDrop),
        (NftFixtures.ipv4OnlySource, NftFixtures.ipv4Only),
    ])
    func liveNftAgreesWithTheRecordedFixtures(source: String, recorded: String) throws {
        let live = try Self.listLive(source)
        #expect(evaluate(live) == evaluate(recorded))
    }

    static func listLive(_ source: String) throws -> String {
        let file = NSTemporaryDirectory() + "mamori-nft-\(UUID().uuidString).nft"
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-n", "sh", "-c", "nft -f \"$0\" && nft -j list ruleset", file]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "unshare -n nft failed (needs root and the nftables package): \(problem)")
        return String(decoding: data, as: UTF8.self)
    }
}
