import Crypto
import Foundation
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// Requests the collector must refuse, each with a clear 4xx and a reason, plus profiles,
/// health and metrics.
@Suite(.serialized) struct CollectorRequestTests {
    static let engines = TestEngines.all

    @Test(arguments: engines) func replayedAndForgedRequestsAreRefusedAndRecorded(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (identity, journal) = try await harness.enrolHost()
            let batch = journal.nextBatch(20)
            let number = identity.nextRequestNumber()
            let first = try await harness.client.signed("POST", "/v1/agent/journal", identity: identity, body: batch, requestNumber: number)
            #expect(first.status == 200)
            // The identical signed request again: a replay, refused before any work, with an alert.
            let replay = try await harness.client.signed("POST", "/v1/agent/journal", identity: identity, body: batch, requestNumber: number)
            #expect(replay.status == 409)
            #expect(replay.reason.contains("replayed request"))
            // A request number far from the collector's clock.
            let stale = try await harness.client.signed("GET", "/v1/agent/head", identity: identity,
                                                        requestNumber: Int64(Date().timeIntervalSince1970 * 1_000_000) + 3_600_000_000)
            #expect(stale.status == 409)
            // Signed by another key.
            let impostor = AgentIdentity(hostId: identity.hostId, organisation: identity.organisation, hostGroup: nil,
                                         key: Curve25519.Signing.PrivateKey(), receiptKey: identity.receiptKey)
            let forged = try await harness.client.signed("POST", "/v1/agent/journal", identity: impostor, body: journal.nextBatch(5))
            #expect(forged.status == 401)
            // Unsigned.
            let unsigned = try await harness.client.send("GET", "/v1/agent/head")
            #expect(unsigned.status == 401)
            let kinds = try await harness.alerts(host: identity.hostId).map(\.kind).sorted()
            // One open alert per host and kind: the two replays are one alert counted twice.
            #expect(kinds == ["forgery", "replay"])
            #expect(try await harness.alerts(host: identity.hostId).first { $0.kind == "replay" }?.occurrences == 2)
            let listed = try await harness.client.admin("GET", "/v1/admin/alerts", token: harness.adminToken).json(expect: 200)
            #expect(listed["alerts"]?.arrayValue?.compactMap { $0["kind"]?.stringValue }.sorted() == kinds)
            #expect(listed["alerts"]?.arrayValue?.allSatisfy { $0["evidence"]?.stringValue != nil } == true)
            #expect(try await harness.host(identity.hostId).point.nextSeq == 20)
        }
    }

    @Test(arguments: engines) func malformedRequestsGetAClearReason(engine: SQLEngine) async throws {
        var limits = CollectorLimits()
        limits.maxBodyBytes = 64 << 10
        try await CollectorHarness.run(engine, limits: limits) { harness in
            let token = harness.adminToken
            let cases: [(String, Int, String)] = [
                ("not json", 400, "not valid JSON"),
                ("{\"org\":\"mayor\",\"colour\":\"red\"}", 400, "unknown field `colour`"),
                ("{\"org\":7}", 400, "field `org` must be a string"),
                ("{\"org\":\"parliament\"}", 400, "unknown organisation"),
                ("{\"org\":\"mayor\",\"expires_seconds\":\"soon\"}", 400, "must be an integer"),
                ("{\"org\":\"mayor\",\"expires_seconds\":10}", 400, "between 60"),
                ("[]", 400, "must be a JSON object"),
            ]
            for (body, status, reason) in cases {
                let response = try await harness.client.admin("POST", "/v1/admin/enroll-tokens", token: token, body: Array(body.utf8))
                #expect(response.status == status, "\(body)")
                #expect(response.reason.contains(reason), "\(body): \(response.reason)")
            }
            let noToken = try await harness.client.send("POST", "/v1/admin/enroll-tokens", body: Array("{\"org\":\"mayor\"}".utf8))
            #expect(noToken.status == 401)
            let badToken = try await harness.client.admin("GET", "/v1/admin/hosts", token: "mamori_admin_wrong")
            #expect(badToken.status == 401)
            let enrolMissing = try await harness.client.send("POST", "/v1/enrol", body: Array("{\"token\":\"x\",\"hostname\":\"a\"}".utf8))
            #expect(enrolMissing.status == 400)
            #expect(enrolMissing.reason.contains("missing field `public_key`"))

            var (identity, journal) = try await harness.enrolHost()
            let oversized = try await harness.client.signed("POST", "/v1/agent/journal", identity: identity, body: journal.nextBatch(400))
            #expect(oversized.status == 413)
            let noNewline = try await harness.client.signed("POST", "/v1/agent/journal", identity: identity, body: Array(journal.nextBatch(2).dropLast()))
            #expect(noNewline.status == 400)
            #expect(noNewline.reason.contains("newline"))
            #expect(try await harness.host(identity.hostId).point.nextSeq == 0)
            #expect(try await harness.alerts(host: identity.hostId).isEmpty)
        }
    }

    @Test(arguments: engines) func profilesAreVerifiedBeforeDistribution(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            let (identity, _) = try await harness.enrolHost(org: "mayor", group: "mynumber-terminals")
            let (otherGroup, _) = try await harness.enrolHost(org: "mayor", group: "school-admin")
            let none = try await harness.client.signed("GET", "/v1/agent/profile", identity: identity)
            #expect(none.status == 404)

            let envelope = try harness.signedProfile(version: 3)
            let accepted = try await harness.client.pushProfile(adminToken: harness.adminToken, envelope: envelope)
            #expect(accepted["version"]?.intValue == 3)
            #expect(accepted["org"]?.stringValue == "mayor")
            let fetched = try await harness.client.signed("GET", "/v1/agent/profile", identity: identity)
            #expect(fetched.status == 200)
            #expect(fetched.body.elementsEqual(envelope))
            // The shipped profile names its host group: a terminal of another group gets nothing.
            #expect(try await harness.client.signed("GET", "/v1/agent/profile", identity: otherGroup).status == 404)

            // Not newer, tampered, unsigned: each refused with its reason.
            let same = try await harness.client.admin("POST", "/v1/admin/profiles", token: harness.adminToken, body: envelope)
            #expect(same.status == 409)
            var tampered = envelope
            let index = try #require(envelope.firstIndex(of: UInt8(ascii: "5")))
            tampered[index] = UInt8(ascii: "6")
            let bad = try await harness.client.admin("POST", "/v1/admin/profiles", token: harness.adminToken, body: tampered)
            #expect(bad.status == 422)
            #expect((try? JSONValue.parse(bad.body))?["code"]?.stringValue != nil)
            let unsigned = try await harness.client.admin("POST", "/v1/admin/profiles", token: harness.adminToken,
                                                          body: Array("version: 9\n".utf8))
            #expect(unsigned.status == 422)
            // A viewer may list but not push.
            let viewer = try await harness.service.store.createAdminToken(role: .viewer, organisations: [.mayorsDepartments], label: "v",
                                                                          now: CollectorClock.now())
            let forbidden = try await harness.client.admin("POST", "/v1/admin/profiles", token: viewer.token, body: try harness.signedProfile(version: 4))
            #expect(forbidden.status == 403)
            let hosts = try await harness.client.admin("GET", "/v1/admin/hosts", token: viewer.token).json(expect: 200)
            #expect(hosts["hosts"]?.arrayValue?.count == 2)
            // An assembly-only auditor sees none of the mayor's hosts (policy 9).
            let assembly = try await harness.service.store.createAdminToken(role: .auditor, organisations: [.wardAssembly], label: "a",
                                                                            now: CollectorClock.now())
            let hidden = try await harness.client.admin("GET", "/v1/admin/hosts", token: assembly.token).json(expect: 200)
            #expect(hidden["hosts"]?.arrayValue?.isEmpty == true)
        }
    }

    /// One host over its request rate gets 429 and does no work; another host is unaffected.
    @Test func perHostRateLimit() async throws {
        var limits = CollectorLimits()
        limits.requestsPerSecondPerHost = 1
        limits.burstPerHost = 3
        try await CollectorHarness.run(.sqlite, limits: limits) { harness in
            let (busy, _) = try await harness.enrolHost()
            let (quiet, _) = try await harness.enrolHost()
            var statuses: [Int] = []
            for _ in 0..<6 { statuses.append(try await harness.client.signed("GET", "/v1/agent/head", identity: busy).status) }
            #expect(statuses.filter { $0 == 200 }.count <= 4)
            #expect(statuses.contains(429))
            #expect(try await harness.client.signed("GET", "/v1/agent/head", identity: quiet).status == 200)
            let metrics = try await harness.client.send("GET", "/metrics", headers: [("authorization", "Bearer " + CollectorHarness.metricsToken)])
            #expect(metrics.text.contains("mamori_rejected_requests_total{reason=\"rate-limit\"}"))
        }
    }

    @Test(arguments: engines) func healthAndMetrics(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (identity, journal) = try await harness.enrolHost()
            _ = try await harness.client.shipJournal(identity: identity, lines: journal.nextBatch(30))
            var broken = journal.lines(10)
            broken.removeFirst()
            _ = try await harness.client.shipJournal(identity: identity, lines: CollectorAPITests.joined(broken))
            let health = try await harness.client.send("GET", "/healthz").json(expect: 200)
            #expect(health == .object(["status": .string("ok")]), "/healthz says more than ok: \(health)")
            // /metrics answers only the scrape token.
            let anonymous = try await harness.client.send("GET", "/metrics")
            #expect(anonymous.status == 401)
            #expect(!anonymous.text.contains("mamori_"))
            let wrong = try await harness.client.send("GET", "/metrics", headers: [("authorization", "Bearer mamori-test-scrape-tokeN")])
            #expect(wrong.status == 401)
            let metrics = try await harness.client.send("GET", "/metrics", headers: [("authorization", "Bearer " + CollectorHarness.metricsToken)])
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("mamori_ingest_records_total 30"))
            #expect(metrics.text.contains("mamori_verification_failures_total{kind=\"deleted\"} 1"))
            #expect(metrics.text.contains("mamori_hosts{status=\"tampered\"} 1"))
            #expect(metrics.text.contains("mamori_request_duration_seconds_bucket{route=\"agent-journal\""))
        }
    }
}
