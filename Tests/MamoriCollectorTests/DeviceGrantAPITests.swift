import Foundation
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// One-off device grants through the collector, on SQLite and PostgreSQL: pushed once, verified
/// before any terminal sees them, served only to their host, revoked, and tracked from the
/// terminal's own journal (applied, each use, expiry); the devices a host reported, for
/// `mamorictl profile allow-device`.
@Suite(.serialized) struct DeviceGrantAPITests {
    static let engines = TestEngines.all

    static func grant(_ harness: CollectorHarness, host: String, id: String = "grt-" + String(UInt64.random(in: 0...UInt64.max), radix: 16),
                      serial: String = "4C530001", issued: Timestamp = CollectorClock.now(), seconds: Int64 = 4 * 3600) throws -> (DeviceGrant, [UInt8]) {
        let body = DeviceGrant(id: id, host: host, vendor: "0781", product: "5583", serial: serial, mode: .readWrite, issued: issued,
                               expires: issued.adding(seconds: seconds), reason: "議会資料の持ち出し", reference: "R8-情シ-0142")
        let signed = try SignedDeviceGrant.sign(body, key: harness.signingKey, certificate: harness.certificate, now: issued).get()
        return (body, signed.bytes)
    }

    static func push(_ harness: CollectorHarness, _ bytes: [UInt8], token: String? = nil) async throws -> ClientResponse {
        try await harness.client.admin("POST", "/v1/admin/grants", token: token ?? harness.adminToken, body: bytes)
    }

    static func served(_ harness: CollectorHarness, _ identity: AgentIdentity) async throws -> [String] {
        let reply = try await harness.client.signed("GET", "/v1/agent/grants", identity: identity).json(expect: 200)
        return (reply["grants"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    @Test(arguments: engines) func aGrantIsPushedOnceServedToItsHostAndRevoked(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            let (mine, _) = try await harness.enrolHost(name: "pc-grant")
            let (other, _) = try await harness.enrolHost(name: "pc-other")
            let (grant, bytes) = try Self.grant(harness, host: mine.hostId)

            let pushed = try await Self.push(harness, bytes)
            #expect(pushed.status == 201, "\(pushed.text)")
            #expect(try JSONValue.parse(pushed.body)["hostname"] == .string("pc-grant"))
            #expect(try await Self.served(harness, mine) == [String(decoding: bytes, as: UTF8.self)])
            #expect(try await Self.served(harness, other).isEmpty, "a grant is served to its own host only")

            // Pushed again: a replay, refused; nothing stored twice.
            let replay = try await Self.push(harness, bytes)
            #expect(replay.status == 409, "\(replay.text)")
            #expect(try await Self.served(harness, mine).count == 1)

            let listed = try await harness.client.adminGet("/v1/admin/grants", token: harness.adminToken)
            let row = try #require(listed["grants"]?.arrayValue?.first)
            #expect(row["state"] == .string("pending"))
            #expect(row["ref"] == .string("R8-情シ-0142"))
            #expect(row["uses"] == .int(0))

            let revoked = try await harness.client.adminPost("/v1/admin/grants/revoke", ["id": .string(grant.id), "reason": .string("申請取下げ")],
                                                             token: harness.adminToken)
            #expect(revoked["state"] == .string("revoked"))
            #expect(revoked["revoke_reason"] == .string("申請取下げ"))
            #expect(try await Self.served(harness, mine).isEmpty, "a revoked grant is no longer served")
            let again = try await harness.client.admin("POST", "/v1/admin/grants/revoke", token: harness.adminToken,
                                                       body: Array(#"{"id":"\#(grant.id)","reason":"again"}"#.utf8))
            #expect(again.status == 409)
            #expect(try await harness.client.adminGet("/v1/admin/grants", token: harness.adminToken)["grants"]?.arrayValue?.isEmpty == true,
                    "the default listing shows grants in force")
            let all = try await harness.client.adminGet("/v1/admin/grants", query: [("all", "true"), ("host", "pc-grant")], token: harness.adminToken)
            #expect(all["grants"]?.arrayValue?.first?["state"] == .string("revoked"))
        }
    }

    @Test(arguments: engines) func forgedExpiredAndForeignGrantsAreRefused(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            let (mine, _) = try await harness.enrolHost(name: "pc-refuse")
            let (assembly, _) = try await harness.enrolHost(org: "assembly", name: "pc-gikai")

            var (_, forged) = try Self.grant(harness, host: mine.hostId)
            let text = String(decoding: forged, as: UTF8.self).replacingOccurrences(of: "4C530001", with: "4C530002")
            forged = Array(text.utf8)
            let bad = try await Self.push(harness, forged)
            #expect(bad.status == 422)
            #expect(try JSONValue.parse(bad.body)["code"] == .string("bad-signature"))

            let (_, expired) = try Self.grant(harness, host: mine.hostId, issued: CollectorClock.now().adding(seconds: -7200), seconds: 3600)
            let late = try await Self.push(harness, expired)
            #expect(late.status == 422)
            #expect(try JSONValue.parse(late.body)["code"] == .string("grant-expired"))

            let (_, nowhere) = try Self.grant(harness, host: "hst-doesnotexist")
            #expect(try await Self.push(harness, nowhere).status == 404)

            // A token for 教育委員会 cannot grant on a 区長部局 terminal; a ward-wide token cannot
            // grant on a 区議会 terminal (policy 9): both answered as if the host did not exist.
            let education = try await harness.service.store.createAdminToken(role: .admin, organisations: [.boardOfEducation], label: "edu",
                                                                             now: CollectorClock.now())
            let (_, mayorGrant) = try Self.grant(harness, host: mine.hostId)
            #expect(try await Self.push(harness, mayorGrant, token: education.token).status == 404)
            let (_, assemblyGrant) = try Self.grant(harness, host: assembly.hostId)
            #expect(try await Self.push(harness, assemblyGrant).status == 404)
            let clerk = try await harness.service.store.createAdminToken(role: .admin, organisations: [.wardAssembly], label: "gikai",
                                                                         now: CollectorClock.now())
            #expect(try await Self.push(harness, assemblyGrant, token: clerk.token).status == 201)
            // A viewer may not push, and an auditor may list but not push.
            let auditor = try await harness.service.store.createAdminToken(role: .auditor, organisations: nil, label: "aud", now: CollectorClock.now())
            #expect(try await Self.push(harness, mayorGrant, token: auditor.token).status == 403)
            #expect(try await harness.client.admin("GET", "/v1/admin/grants", token: auditor.token).status == 200)
            #expect(try await Self.served(harness, mine).isEmpty)
        }
    }

    static func decision(_ journal: inout SyntheticJournal, rule: String, event: String = "add", devType: String = "disk",
                         serial: String = "4C530001", decision: String = "read-write") -> [UInt8] {
        journal.record(kind: "media.decision", payload: [
            "event": .string(event), "device": .string(devType == "disk" ? "/dev/sdb" : "/dev/sdb1"), "kernel_name": .string("sdb"),
            "syspath": .string("/sys/block/sdb"), "subsystem": .string("block"), "devtype": .string(devType), "decision": .string(decision),
            "rule": .string(rule), "default_applied": .bool(!rule.hasPrefix("grant:")), "mode": .string("enforce"), "reason": .string("test"),
            "applied": .array([]), "class": .string("usb-storage"), "usb_vendor": .string("0781"), "usb_product": .string("5583"),
            "usb_serial": .string(serial), "usb_vendor_name": .string("SanDisk"), "usb_model_name": .string("Ultra Fit"),
        ])
    }

    /// The terminal's journal says what became of the grant: applied, used twice (a partition's
    /// decision and a re-decision are not uses), expired. Another host's journal naming the same
    /// grant changes nothing. The devices it decided about are listed for allow-device.
    @Test(arguments: engines) func theTerminalsJournalTracksTheGrant(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (identity, journal) = try await harness.enrolHost(name: "pc-track")
            var (intruder, intruderJournal) = try await harness.enrolHost(name: "pc-intruder")
            let (grant, bytes) = try Self.grant(harness, host: identity.hostId)
            #expect(try await Self.push(harness, bytes).status == 201)

            // A hostile host claims the grant expired and was used: ignored (it is not its grant).
            var fake = intruderJournal.record(kind: "media.grant-expired", payload: ["grant": .string(grant.id)])
            fake += Self.decision(&intruderJournal, rule: "grant:\(grant.id)")
            guard case .stored = try await harness.client.shipJournal(identity: intruder, lines: fake) else {
                Issue.record("the intruder's batch was refused")
                return
            }
            _ = intruder

            var batch = journal.record(kind: "media.grant-applied", payload: ["grant": .string(grant.id), "ref": .string(grant.reference)])
            batch += Self.decision(&journal, rule: "grant:\(grant.id)")
            batch += Self.decision(&journal, rule: "grant:\(grant.id)", devType: "partition")
            batch += Self.decision(&journal, rule: "grant:\(grant.id)", event: "reconcile")
            batch += Self.decision(&journal, rule: "grant:\(grant.id)")
            batch += Self.decision(&journal, rule: "default:usb-storage", serial: "NOSUCH01", decision: "read-only")
            guard case .stored = try await harness.client.shipJournal(identity: identity, lines: batch) else {
                Issue.record("the batch was refused")
                return
            }
            var row = try #require(try await harness.service.store.grant(id: grant.id))
            #expect(row.state(now: CollectorClock.now()) == "active")
            #expect(row.uses == 2)
            #expect(row.appliedAt != nil && row.lastUsedAt != nil)
            #expect(row.endedAt == nil, "another host's journal changed this grant")

            let ended = journal.record(kind: "media.grant-expired", payload: ["grant": .string(grant.id)])
            guard case .stored = try await harness.client.shipJournal(identity: identity, lines: ended) else {
                Issue.record("the expiry batch was refused")
                return
            }
            row = try #require(try await harness.service.store.grant(id: grant.id))
            #expect(row.state(now: CollectorClock.now()) == "expired")
            #expect(row.endState == "expired")

            let devices = try await harness.client.adminGet("/v1/admin/fleet/devices", query: [("name", "pc-track")], token: harness.adminToken)
            let listed = devices["devices"]?.arrayValue ?? []
            #expect(listed.count == 2, "\(devices.canonicalString)")
            let stick = try #require(listed.first { $0["serial"] == .string("4C530001") })
            #expect(stick["vendor_name"] == .string("SanDisk"))
            #expect(stick["class"] == .string("usb-storage"))
            #expect(stick["last_rule"] == .string("grant:\(grant.id)"))

            let host = try await harness.client.adminGet("/v1/admin/fleet/host", query: [("name", "pc-track")], token: harness.adminToken)
            #expect(host["grants"]?.arrayValue?.first?["id"] == .string(grant.id))
            let report = try await harness.client.adminGet("/v1/admin/fleet/report", query: [("org", "mayor")], token: harness.adminToken)
            let reported = try #require(report["media_grants"]?.arrayValue?.first)
            #expect(reported["uses"] == .int(2))
            #expect(reported["state"] == .string("expired"))
        }
    }
}
