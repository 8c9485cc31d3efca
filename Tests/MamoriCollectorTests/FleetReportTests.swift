import Foundation
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// The report figures for a scripted fleet, and the benchmark seeder writing exactly what ingest
/// writes, on both engines.
@Suite(.serialized) struct FleetReportTests {
    static let engines = TestEngines.all

    @Test(arguments: engines) func reportFiguresForAScriptedFleet(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            typealias H = CollectorHarness
            // Midnight UTC five days ago, plus an hour: day boundaries fall between the reports.
            let day: Int64 = 86_400_000_000
            let base = Timestamp(microsecondsSinceEpoch: (CollectorClock.now().microsecondsSinceEpoch / day - 5) * day + 3_600_000_000)
            let start = base.adding(seconds: -60)
            var (a, journalA) = try await harness.enrolHost(org: "mayor", name: "pc-a", start: start)
            var (b, journalB) = try await harness.enrolHost(org: "mayor", name: "pc-b", start: start)
            var (c, journalC) = try await harness.enrolHost(org: "mayor", name: "pc-c", start: start)
            let passing = [H.check("x", .pass), H.check("y", .notApplicable, clause: "6(6)")]
            try await harness.ship(PostureReport(complete: true, profileVersion: 1, checks: passing), time: base, identity: a, journal: &journalA)
            try await harness.ship(PostureReport(complete: true, profileVersion: 1, checks: passing), time: base, identity: b, journal: &journalB)
            try await harness.ship(PostureReport(complete: true, profileVersion: 1, checks: [H.check("x", .fail)]), time: base, identity: c, journal: &journalC)
            // pc-b starts failing x two days later.
            let failedAt = base.adding(seconds: 2 * 86400)
            try await harness.ship(PostureReport(complete: false, profileVersion: 1, checks: [H.check("x", .fail, "usb rw")]),
                                   time: failedAt, identity: b, journal: &journalB)
            #expect(try await harness.post("/v1/admin/fleet/scope", .object(["name": .string("pc-c"), "out_of_scope": .bool(true),
                                                                              "reason": .string("school")])).status == 200)
            let from = base.adding(seconds: -86400).description, to = base.adding(seconds: 4 * 86400).description
            let report = try await harness.getJSON("/v1/admin/fleet/report?org=mayor&from=\(from)&to=\(to)")
            let coverage = try #require(report["coverage"])
            #expect(coverage["hosts"]?.intValue == 3)
            #expect(coverage["in_scope"]?.intValue == 2)
            #expect(coverage["out-of-scope"]?.intValue == 1)
            #expect(coverage["compliant"]?.intValue == 1)
            #expect(coverage["non-compliant"]?.intValue == 1)
            let x = try #require(report.check("x"))
            #expect(x["hosts"]?.intValue == 2)
            #expect(x["pass"]?.intValue == 1)
            #expect(x["fail"]?.intValue == 1)
            #expect(x["clause"]?.stringValue == "6(3)①")
            #expect(report.check("y")?["not-applicable"]?.intValue == 2)
            let failing = report["failing"]?.arrayValue ?? []
            #expect(failing.count == 1)
            #expect(failing.first?["hostname"]?.stringValue == "pc-b")
            #expect(failing.first?["since"]?.stringValue == failedAt.description)
            #expect(failing.first?["evidence"]?.stringValue == "usb rw")
            // Day ends from the day before base to base + 4 days, then `to`: 2 compliant until pc-b fails.
            let timeline = (report["timeline"]?.arrayValue ?? []).map { ($0["reporting"]?.intValue ?? -1, $0["compliant"]?.intValue ?? -1) }
            #expect(timeline.count == 6)
            #expect(timeline.first! == (0, 0))
            #expect(timeline[1] == (2, 2))
            #expect(timeline[2] == (2, 2))
            #expect(timeline[3] == (2, 1))
            #expect(timeline.last! == (2, 1))
        }
    }

    @Test(arguments: engines) func benchSeederWritesWhatIngestWrites(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            let time = CollectorClock.now().adding(seconds: -3600)
            let checks = SimulatedPosture.checks(host: 7, count: 12, failRate: 0.3)
            #expect(checks.contains { $0.status == .fail } && checks.contains { $0.status == .pass })
            var (identity, journal) = try await harness.enrolHost(org: "audit", name: "ingested", start: time.adding(seconds: -60))
            try await harness.ship(PostureReport(complete: true, profileVersion: 1, checks: checks), time: time, identity: identity, journal: &journal)
            let seq = try #require(try await harness.database.query("SELECT MAX(seq) AS s FROM posture_current", []).first?["s"].int)
            try await FleetBenchSeeder.seed([FleetBenchSeeder.Host(id: "host-seeded", hostname: "seeded", organisation: .auditCommissioners,
                                                                   checks: checks)], into: harness.database, time: time, seq: seq)
            func rows(_ table: String, _ host: String) async throws -> [[String: SQLValue]] {
                try await harness.database.query("SELECT * FROM \(table) WHERE host_id = ? ORDER BY check_id", [.text(host)]).map {
                    $0.values.filter { $0.key != "host_id" }
                }
            }
            for table in ["posture_current", "posture_history"] {
                let ingested = try await rows(table, identity.hostId)
                #expect(ingested.count == 12)
                #expect(try await rows(table, "host-seeded") == ingested, "\(table)")
            }
            let rollup = try await harness.database.query(
                "SELECT id, posture_checks, posture_failing, posture_at FROM hosts WHERE id IN (?, ?) ORDER BY id",
                [.text("host-seeded"), .text(identity.hostId)]).map { $0.values.filter { $0.key != "id" } }
            #expect(rollup.count == 2)
            #expect(rollup.first == rollup.last)
            let summary = try await harness.getJSON("/v1/admin/fleet/summary")
            // The seeder marks its hosts last seen at `time`, an hour ago: stale at the default limit.
            #expect(summary.organisationRow("audit")?["non-compliant"]?.intValue == 1)
            #expect(summary.organisationRow("audit")?["stale"]?.intValue == 1)
        }
    }
}
