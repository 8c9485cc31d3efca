import Foundation
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// Compliance state from posture records over real HTTPS on both engines: transitions and
/// `since` over a scripted sequence, history at points in time, malformed records, stale,
/// tampered (until acknowledged, with who and why), out of scope.
@Suite(.serialized) struct FleetComplianceTests {
    static let engines = TestEngines.all

    @Test(arguments: engines) func transitionsSinceAndHistory(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            let base = CollectorClock.now().adding(seconds: -10 * 86400)
            var (identity, journal) = try await harness.enrolHost(org: "mayor", name: "pc-1", start: base.adding(seconds: -60))
            let t0 = base, t1 = base.adding(seconds: 3600), t2 = base.adding(seconds: 7200), t3 = base.adding(seconds: 10800)
            typealias H = CollectorHarness
            try await harness.ship(PostureReport(complete: true, profileVersion: 1, checks: [
                H.check("a", .pass), H.check("b", .fail, "wlan0 is up"), H.check("c", .pass)]), time: t0, identity: identity, journal: &journal)
            var host = try await harness.getJSON("/v1/admin/fleet/host?name=pc-1")
            #expect(host["host"]?["state"]?.stringValue == "non-compliant")
            #expect(host.check("b")?["status"]?.stringValue == "fail")
            #expect(host.check("b")?["since"]?.stringValue == t0.description)
            #expect(host.check("b")?["evidence"]?.stringValue == "wlan0 is up")

            // A delta: only b, now passing. a and c keep their rows and their since.
            try await harness.ship(PostureReport(complete: false, profileVersion: 1, checks: [H.check("b", .pass, "no wireless")]),
                                   time: t1, identity: identity, journal: &journal)
            host = try await harness.getJSON("/v1/admin/fleet/host?name=pc-1")
            #expect(host["host"]?["state"]?.stringValue == "compliant")
            #expect(host.check("b")?["since"]?.stringValue == t1.description)
            #expect(host.check("a")?["since"]?.stringValue == t0.description)
            #expect(host.check("c") != nil)

            // A complete report without c removes it; a's evidence changes but not its status: since stays.
            try await harness.ship(PostureReport(complete: true, profileVersion: 2, checks: [H.check("a", .pass, "new evidence"), H.check("b", .pass)]),
                                   time: t2, identity: identity, journal: &journal)
            host = try await harness.getJSON("/v1/admin/fleet/host?name=pc-1")
            #expect(host.check("c") == nil)
            #expect(host.check("a")?["since"]?.stringValue == t0.description)
            #expect(host.check("a")?["evidence"]?.stringValue == "new evidence")
            #expect(host["host"]?["checks"]?.intValue == 2)

            try await harness.ship(PostureReport(complete: false, profileVersion: 2, checks: [H.check("a", .error, "cannot read")]),
                                   time: t3, identity: identity, journal: &journal)
            let failing = try await harness.getJSON("/v1/admin/fleet/hosts?failing=a")
            #expect(failing.hostnames() == ["pc-1"])
            #expect(failing["hosts"]?.arrayValue?.first?["failing_since"]?.stringValue == t3.description)
            #expect(try await harness.getJSON("/v1/admin/fleet/hosts?failing=b").hostnames().isEmpty)

            // History: status at points in time.
            func at(_ time: Timestamp) async throws -> JSONValue {
                try await harness.getJSON("/v1/admin/fleet/history?name=pc-1&at=\(time.description)")
            }
            let before = try await at(t0.adding(seconds: -1))
            #expect(before["checks"]?.arrayValue?.isEmpty == true)
            #expect(before["compliant"]?.boolValue == false)
            let h0 = try await at(t0.adding(seconds: 60))
            #expect(h0["compliant"]?.boolValue == false)
            #expect(h0.check("b")?["status"]?.stringValue == "fail")
            let h1 = try await at(t1.adding(seconds: 60))
            #expect(h1["compliant"]?.boolValue == true)
            #expect(h1["checks"]?.arrayValue?.count == 3)
            let h2 = try await at(t2.adding(seconds: 60))
            #expect(h2["checks"]?.arrayValue?.count == 2)
            #expect(h2.check("c") == nil)
            let h3 = try await at(t3.adding(seconds: 60))
            #expect(h3["compliant"]?.boolValue == false)
            #expect(h3.check("a")?["since"]?.stringValue == t3.description)
            // History rows only on changes: 3 at t0, b at t1, c removed at t2, a at t3.
            let rows = try await harness.database.query("SELECT COUNT(*) AS n FROM posture_history", [])
            #expect(rows.first?["n"].int == 6)
        }
    }

    @Test(arguments: engines) func malformedPostureIsEvidenceAndTheBatchIsKept(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (identity, journal) = try await harness.enrolHost(org: "mayor", name: "pc-bad")
            let lines = journal.record(kind: "posture.report", payload: ["complete": .bool(true), "checks": .array([
                .object(["id": .string("a"), "title": .string("A"), "status": .string("maybe"), "evidence": .string("?")])])])
            guard case .stored(let receipt) = try await harness.client.shipJournal(identity: identity, lines: lines) else {
                Issue.record("a batch with a malformed posture record was refused")
                return
            }
            #expect(receipt.stored >= 1)
            let alerts = try await harness.alerts(host: identity.hostId)
            #expect(alerts.count == 1)
            #expect(alerts.first?.kind == "posture-malformed")
            #expect(alerts.first?.detail.contains("status") == true)
            #expect(alerts.first?.evidenceId != nil)
            let host = try await harness.getJSON("/v1/admin/fleet/host?name=pc-bad")
            #expect(host["checks"]?.arrayValue?.isEmpty == true)
            #expect(host["host"]?["state"]?.stringValue == "unreported")
            #expect(try await harness.host(identity.hostId).records == Int64(receipt.head.seq + 1))
        }
    }

    @Test(arguments: engines) func staleTamperedAndOutOfScope(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            typealias H = CollectorHarness
            try await harness.reportingHost(org: "education", name: "ok-1", checks: [H.check("a", .pass)])
            let stale = try await harness.reportingHost(org: "education", name: "stale-1", checks: [H.check("a", .pass)])
            var (victim, journal) = try await harness.enrolHost(org: "education", name: "tampered-1")
            try await harness.ship(PostureReport(complete: true, profileVersion: 1, checks: [H.check("a", .pass)]), identity: victim, journal: &journal)
            let school = try await harness.reportingHost(org: "education", name: "school-1", checks: [H.check("a", .fail)])
            // Not heard from for two days (the default limit is one hour).
            try await harness.database.query("UPDATE hosts SET last_seen_at = ? WHERE id = ?",
                                              [.text(CollectorClock.now().adding(seconds: -2 * 86400).description), .text(stale.hostId)])
            // A forked batch: a journal that is not the host's.
            var other = SyntheticJournal(host: "tampered-1", seed: 9, start: CollectorClock.now())
            guard case .refused = try await harness.client.shipJournal(identity: victim, lines: other.nextBatch(3)) else {
                Issue.record("a forged batch was stored")
                return
            }
            // Out of scope (policy 4(2)), with who and why.
            let scoped = try await harness.post("/v1/admin/fleet/scope", .object(["name": .string("school-1"), "out_of_scope": .bool(true),
                                                                                 "reason": .string("school-education asset (4(2))")]))
            #expect(scoped.status == 200)
            #expect(try await harness.post("/v1/admin/fleet/scope", .object(["name": .string("school-1"), "out_of_scope": .bool(true),
                                                                               "reason": .string(" ")])).status == 400)
            let summary = try await harness.getJSON("/v1/admin/fleet/summary")
            let row = try #require(summary.organisationRow("education"))
            #expect(row["hosts"]?.intValue == 4)
            #expect(row["compliant"]?.intValue == 1)
            #expect(row["stale"]?.intValue == 1)
            #expect(row["tampered"]?.intValue == 1)
            #expect(row["out-of-scope"]?.intValue == 1)
            #expect(row["non-compliant"]?.intValue == 0)
            #expect(try await harness.getJSON("/v1/admin/fleet/hosts?state=stale").hostnames() == ["stale-1"])
            #expect(try await harness.getJSON("/v1/admin/fleet/hosts?state=tampered").hostnames() == ["tampered-1"])
            #expect(try await harness.getJSON("/v1/admin/fleet/hosts?state=out-of-scope").hostnames() == ["school-1"])
            let changes = try await harness.database.query("SELECT host_id, changed_by, reason FROM scope_changes", [])
            #expect(changes.count == 1)
            #expect(changes.first?["host_id"].text == school.hostId)
            #expect(changes.first?["reason"].text == "school-education asset (4(2))")
            #expect(changes.first?["changed_by"].text?.contains("test") == true)

            // Tampered until acknowledged; a reason is required; acknowledged once.
            let alert = try #require(try await harness.alerts(host: victim.hostId).first)
            #expect(try await harness.post("/v1/admin/alerts/ack", .object(["id": .string(alert.id)])).status == 400)
            let ack = try await harness.post("/v1/admin/alerts/ack", .object(["id": .string(alert.id), "reason": .string("disk swapped; re-imaged")]))
            #expect(ack.status == 200)
            #expect(try await harness.post("/v1/admin/alerts/ack", .object(["id": .string(alert.id), "reason": .string("again")])).status == 409)
            let acknowledged = try #require(try await harness.alerts(host: victim.hostId).first)
            #expect(acknowledged.acknowledgementReason == "disk swapped; re-imaged")
            #expect(acknowledged.acknowledgedBy?.contains("test") == true)
            #expect(acknowledged.acknowledgedAt != nil)
            #expect(try await harness.getJSON("/v1/admin/fleet/hosts?state=tampered").hostnames().isEmpty)
            let listed = try await harness.getJSON("/v1/admin/alerts")
            #expect(listed["alerts"]?.arrayValue?.first?["ack_reason"]?.stringValue == "disk swapped; re-imaged")

            // Back in scope: its failing check counts again.
            #expect(try await harness.post("/v1/admin/fleet/scope", .object(["name": .string("school-1"), "out_of_scope": .bool(false),
                                                                               "reason": .string("moved to the zone")])).status == 200)
            let after = try #require(try await harness.getJSON("/v1/admin/fleet/summary").organisationRow("education"))
            #expect(after["non-compliant"]?.intValue == 1)
            #expect(after["compliant"]?.intValue == 2)
        }
    }
}
