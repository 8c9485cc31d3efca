import Foundation
import MamoriAgent
import MamoriAuthWire
import MamoriCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The agent as a whole, end to end on one machine: a collector on SQLite over real HTTPS, several
/// enrolled agents in their own `--root` directories (one under umockdev with a USB stick), real
/// PAM logins through pam_wrapper, an outage, repeated SIGKILLs, and profile distribution.
@Suite("Agent fleet end to end", .serialized)
struct AgentFleetTests {
    static func profile(version: Int, organisation: String = "mayor", extra: String = "") -> String {
        """
        schema: 1
        name: fleet-test
        version: \(version)
        expires: 2099-01-01
        scope:
          organisation: \(organisation)
          host_groups: [terminals]
        media:
          mode: enforce
        mfa:
          services: [mamori-test]
        \(extra)
        """
    }

    /// Every record the agent wrote is at the collector exactly once, and nothing was refused.
    static func expectDelivered(_ agent: FleetAgent, _ collector: FleetCollector, within seconds: Double = 20,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let delivered = try FleetAgent.eventually(seconds) {
            guard let host = try collector.host(agent.hostId) else { return false }
            return host.nextSeq == Int64(try agent.journalRecords())
        }
        let host = try #require(try collector.host(agent.hostId), sourceLocation: sourceLocation)
        let local = try agent.journalRecords()
        #expect(delivered, "collector has \(host.nextSeq) of \(local) records for \(agent.name)\n\(agent.log)", sourceLocation: sourceLocation)
        #expect(host.records == host.nextSeq, "records stored more than once", sourceLocation: sourceLocation)
        let alerts = try collector.alerts()
        #expect(!host.tampered, "the collector saw tampering: \(alerts)", sourceLocation: sourceLocation)
    }

    @Test func enrolledTerminalsShipDevicesLoginsPostureAndFollowProfiles() throws {
        let collector = try FleetCollector()
        #expect(try collector.pushProfile(Self.profile(version: 1)).status == 0)
        let clerk = try FleetAgent(name: "clerk-01", collector: collector, org: "mayor", group: "terminals")
        let second = try FleetAgent(name: "clerk-02", collector: collector, org: "mayor", group: "terminals")
        let teacher = try FleetAgent(name: "school-01", collector: collector, org: "education", group: nil)
        // Enrolment pinned the collector's CA and its profile root.
        #expect(FileManager.default.fileExists(atPath: clerk.root.path + "/var/lib/mamori/keys/collector-ca.pem"))
        let pinned = try String(contentsOfFile: clerk.root.path + "/var/lib/mamori/keys/profile-root.pub", encoding: .utf8)
        #expect(pinned == (try String(contentsOfFile: collector.keys.path + "/root.pub", encoding: .utf8)))
        // A second enrolment of the same root is refused and changes nothing.
        let again = try CLI.run("mamori-agent", ["enroll", "--root", clerk.root.path, "--server", collector.url,
                                                 "--token", try collector.enrollToken(org: "mayor", group: nil), "--ca", collector.ca])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already enrolled"))

        let users = MFAStore(directory: clerk.root.path + "/var/lib/mamori/mfa")
        try users.prepare()
        try users.write(MFAUserRecord(
            user: "tanaka", credential: try #require(OTPCredential(factor: .totp, secret: AuthAgentTests.secret, parameters: .standard))))
        try clerk.start(services: ["media", "auth", "posture", "shipper", "profile"],
                        launcher: [MediaUmockdevTests.umockdevRun, "-d", MediaUmockdevTests.fixtures + "/usb-stick.umockdev", "--"],
                        enforceMediaOnHost: true)
        try second.start()
        try teacher.start()
        for agent in [clerk, second] {
            #expect(FleetAgent.eventually(15) { (try? agent.journalText())?.contains("\"kind\":\"profile.applied\"") ?? false },
                     "\(agent.name) never applied the profile\n\(agent.log)")
        }
        // A real login through libpam and pam_mamori, answered by the clerk's agent.
        let stack = try PamStackTests.Stack(in: clerk.root.path, options: "socket=\(clerk.root.path)/run/mamori/pam.sock")
        let login = try stack.authenticate("tanaka", code: AuthAgentTests.currentCode())
        #expect(login.status == 0, "\(login.stderr)\n\(clerk.log)")
        #expect(FleetAgent.eventually(10) { (try? clerk.journalText())?.contains("\"kind\":\"posture.report\"") ?? false })

        // A posture change on clerk-02 reaches the collector: `mamorictl fleet host` shows the check
        // failing with its evidence.
        #expect(FleetAgent.eventually(20) {
            (try? Self.fleetCheck(collector, host: "clerk-02", check: "network.no-wireless"))??["status"] == .string("pass")
        }, "clerk-02's posture never reached the collector\n\(second.log)")
        try FleetAgent.interface("wlan0", wireless: true, under: second.root.path)
        #expect(FleetAgent.eventually(20) {
            (try? Self.fleetCheck(collector, host: "clerk-02", check: "network.no-wireless"))??["status"] == .string("fail")
        }, "the wireless interface never showed up in mamorictl fleet\n\(second.log)")
        let evidence = try Self.fleetCheck(collector, host: "clerk-02", check: "network.no-wireless")?["evidence"]?.stringValue ?? ""
        #expect(evidence.contains("wlan0"), "\(evidence)")
        let hosts = try CLI.run("mamorictl", ["fleet", "hosts", "--org", "mayor", "--format", "json", "--token-file", collector.tokenFile],
                                environment: collector.environment)
        #expect(hosts.status == 3, "a failing check must give exit 3: \(hosts.stderr)")
        #expect(hosts.stdout.contains("clerk-01") && hosts.stdout.contains("clerk-02"), "\(hosts.stdout)")

        // Version 2 reaches the mayor's terminals; education's terminal has no profile for it.
        #expect(try collector.pushProfile(Self.profile(version: 2)).status == 0)
        #expect(FleetAgent.eventually(15) { (try? clerk.journalText())?.contains("\"version\":2") ?? false })
        for agent in [clerk, second, teacher] {
            #expect(agent.stop() == 0, "\(agent.name) did not stop cleanly\n\(agent.log)")
        }
        let clerkJournal = try clerk.journalText()
        #expect(clerkJournal.contains("\"kind\":\"media.decision\""), "no device decision shipped")
        #expect(clerkJournal.contains("\"kind\":\"auth.success\""))
        #expect(!(try teacher.journalText()).contains("profile.applied"))
        let installed = try String(contentsOfFile: clerk.root.path + "/var/lib/mamori/profile/current.yaml", encoding: .utf8)
        #expect(installed.contains("version: 2"))
        // Restarted briefly, each ships what its shutdown wrote; the collector holds every record once.
        for agent in [clerk, second, teacher] {
            try agent.start(services: ["shipper"])
            try Self.expectDelivered(agent, collector)
            agent.stop()
        }
        let alerts = try collector.alerts()
        #expect(alerts.isEmpty, "\(alerts)")
        let status = try CLI.run("mamori-agent", ["status", "--root", clerk.root.path, "--format", "json"])
        #expect(status.stdout.contains("\"host_id\":\"\(clerk.hostId)\""), "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("\"version\":2"))
        #expect(status.stdout.contains("\"last_shipment\":{"))
    }

    /// One check of one host as `mamorictl fleet host NAME --format json` reports it.
    static func fleetCheck(_ collector: FleetCollector, host: String, check: String) throws -> JSONValue? {
        let result = try CLI.run("mamorictl", ["fleet", "host", host, "--format", "json", "--token-file", collector.tokenFile],
                                 environment: collector.environment)
        guard result.status == 0 || result.status == 3 else { return nil }
        let reply = try JSONValue.parse(Array(result.stdout.utf8))
        return reply["checks"]?.arrayValue?.first { $0["id"]?.stringValue == check }
    }

    @Test func anOutageIsSpooledAndDeliveredExactlyOnce() throws {
        let collector = try FleetCollector()
        let agent = try FleetAgent(name: "outage-01", collector: collector, org: "mayor", group: "terminals")
        // Small batches: the backlog goes out in many shipments, each resuming where the last ended.
        // A small spool limit, so the outage passes it.
        try (FleetAgent.fastConfiguration + "batch_records: 3\nspool_limit: 16K\n").write(toFile: agent.root.path + "/etc/mamori/agent.yaml", atomically: true, encoding: .utf8)
        try agent.start(services: ["shipper"])
        try Self.expectDelivered(agent, collector)
        collector.stop()
        // Each SIGHUP is a reload, journalled while the collector is away.
        for _ in 0..<90 {
            agent.signal(SIGHUP)
            usleep(30_000)
        }
        #expect(FleetAgent.eventually(10) { agent.log.contains("delivery failed") }, "\(agent.log)")
        #expect(try agent.journalText().components(separatedBy: "\"agent.reloaded\"").count - 1 >= 80)
        // Past the limit: journalled once, nothing deleted.
        #expect(FleetAgent.eventually(10) { (try? agent.journalText())?.contains("\"kind\":\"shipper.spool_limit\"") ?? false },
                "\(agent.log)")
        let spooled = try agent.journalRecords()
        try collector.start()
        try Self.expectDelivered(agent, collector, within: 30)
        #expect(try collector.host(agent.hostId)!.nextSeq >= Int64(spooled))
        #expect(FleetAgent.eventually(10) { (try? agent.journalText())?.contains("\"kind\":\"shipper.spool_recovered\"") ?? false })
        #expect(try agent.journalText().components(separatedBy: "\"kind\":\"shipper.spool_limit\"").count - 1 == 1)
        #expect(agent.stop() == 0)
        try agent.start(services: ["shipper"])
        try Self.expectDelivered(agent, collector)
        agent.stop()
    }

    /// Asks the agent's PAM socket once; true when it answered (the answer is only given after
    /// the outcome's journal record is synced).
    static func askOnce(_ socketPath: String, user: String) -> Bool {
        guard let socket = try? connectUnixSocket(path: socketPath), (try? socket.setTimeout(milliseconds: 3000)) != nil,
              let frame = try? AuthRequest(user: user, service: "login", tty: "tty1", code: "000000").encoded(),
              (try? socket.writeAll(frame)) != nil,
              let header = try? socket.readExactly(4), let length = try? AuthFrame.bodyLength(header: header),
              let body = try? socket.readExactly(length), let response = try? AuthResponse(body: body) else { return false }
        return response.status != .unavailable
    }

    @Test func repeatedSIGKILLsLoseNothingAndTheChainVerifiesAtTheCollector() throws {
        let collector = try FleetCollector()
        let agent = try FleetAgent(name: "crash-01", collector: collector, org: "mayor", group: "terminals")
        let users = MFAStore(directory: agent.root.path + "/var/lib/mamori/mfa")
        try users.prepare()
        try users.write(MFAUserRecord(
            user: "tanaka", credential: try #require(OTPCredential(factor: .totp, secret: AuthAgentTests.secret, parameters: .standard))))
        var generator = SplitMix64(seed: 0x5EED)
        var acknowledged = 0
        let socket = agent.root.path + "/run/mamori/pam.sock"
        for _ in 0..<6 {
            try agent.start(services: ["auth", "shipper"])
            let events = 5 + Int(generator.next() % 15)
            for _ in 0..<events {
                agent.signal(SIGHUP)
                if Self.askOnce(socket, user: "tanaka") { acknowledged += 1 }
                usleep(useconds_t(10_000 + generator.next() % 30_000))
            }
            agent.killHard()
        }
        try agent.start(services: ["auth", "shipper"])
        try Self.expectDelivered(agent, collector, within: 30)
        #expect(agent.stop() == 0)
        try agent.start(services: ["shipper"])
        try Self.expectDelivered(agent, collector)
        agent.stop()
        #expect(try collector.alerts().isEmpty)
        // Every answered login attempt left its record, and the collector holds them all (it holds
        // exactly the local journal, checked above).
        let journal = try agent.journalText()
        let outcomes = ["failure", "lockout", "denied", "replay", "success", "not_enrolled"]
        let authRecords = outcomes.map { journal.components(separatedBy: "\"kind\":\"auth.\($0)\"").count - 1 }.reduce(0, +)
        #expect(acknowledged > 20, "too few answered attempts to mean anything: \(acknowledged)")
        #expect(authRecords >= acknowledged, "\(acknowledged) attempts were answered but only \(authRecords) auth records survive")
    }
}
