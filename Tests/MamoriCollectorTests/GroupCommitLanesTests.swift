import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// Journal writes committed in parallel lanes: a host always in the same lane, nothing lost or
/// doubled when many hosts ship at once, and PostgreSQL's hosts table set up for in-place updates.
@Suite(.serialized) struct GroupCommitLanesTests {
    @Test func aHostAlwaysGetsTheSameLaneAndHostsSpreadOverAll() {
        let ids = (0..<64).map { "host-\(String($0 * 7919, radix: 16))" }
        let lanes = ids.map { GroupCommitLanes.lane(for: $0, count: 4) }
        #expect(ids.map { GroupCommitLanes.lane(for: $0, count: 4) } == lanes)
        #expect(Set(lanes) == [0, 1, 2, 3])
        #expect(ids.allSatisfy { GroupCommitLanes.lane(for: $0, count: 1) == 0 })
        // Fixed by the hash, not by the process: FNV-1a of "a" is 0xaf63dc4c8601ec8c.
        #expect(GroupCommitLanes.lane(for: "a", count: 7) == Int(UInt64(0xaf63_dc4c_8601_ec8c) % 7))
        #expect(GroupCommitLanes.defaultCount(for: .sqlite) == 1)
        #expect(GroupCommitLanes.defaultCount(for: .postgres) > 1)
    }

    /// Twelve hosts ship four batches each, all hosts at once, through four lanes (on SQLite too,
    /// where the lanes queue for its one writer): every record stored once, every head exact.
    @Test(arguments: TestEngines.all) func manyHostsAtOnceThroughFourLanes(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine, commitLanes: 4) { harness in
            // Each host's four batches are sealed up front; the shipping is what runs at once.
            var hosts: [(identity: AgentIdentity, batches: [[UInt8]])] = []
            for _ in 0..<12 {
                var (identity, journal) = try await harness.enrolHost(org: "mayor", group: nil)
                hosts.append((identity, (0..<4).map { _ in journal.nextBatch(20) }))
            }
            #expect(Set(hosts.map { GroupCommitLanes.lane(for: $0.identity.hostId, count: 4) }).count > 1)
            let client = harness.client
            try await withThrowingTaskGroup(of: Int.self) { group in
                for (identity, batches) in hosts {
                    group.addTask {
                        var stored = 0
                        for batch in batches {
                            guard case .stored(let receipt) = try await client.shipJournal(identity: identity, lines: batch) else { return -1 }
                            stored += Int(receipt.stored)
                        }
                        return stored
                    }
                }
                for try await stored in group { #expect(stored == 80) }
            }
            for (identity, _) in hosts {
                let host = try await harness.host(identity.hostId)
                #expect(host.records == 80)
                #expect(host.point.nextSeq == 80)
                #expect(try await harness.alerts(host: identity.hostId).isEmpty)
            }
        }
    }

    @Test(.enabled(if: TestEngines.hasPostgres)) func postgresHostsLeaveRoomForInPlaceUpdates() async throws {
        try await withFreshDatabase(.postgres) { fresh in
            try await fresh.withOpen { db in
                _ = try await SQLMigrator(migrations: CollectorSchema.migrations).migrate(db, logger: testLogger)
                let rows = try await db.query(
                    "SELECT array_to_string(reloptions, ',') AS options FROM pg_class WHERE relname = 'hosts'", [])
                #expect(rows.first?["options"].text == "fillfactor=50")
            }
        }
    }
}
