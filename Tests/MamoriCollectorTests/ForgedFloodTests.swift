import Crypto
import Foundation
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// Host ids are not secret. Before the fix, 30 forged 8 MiB POSTs for a known host id were
/// stored whole as evidence before any rate limit (about 250 MB in 3 s) and raised one alert
/// each. Now failed authentications are limited per claimed host and per source address before
/// anything is written, only a body's hash, size and first 4 KiB are kept, and one alert stays
/// open per host and kind with a count, while a genuine terminal's ingest goes on untouched.
@Suite(.serialized) struct ForgedFloodTests {
    static func databaseBytes(_ harness: CollectorHarness) async throws -> Int64 {
        switch harness.database.engine {
        case .sqlite:
            var total: Int64 = 0
            let enumerator = FileManager.default.enumerator(atPath: harness.directory)
            while let name = enumerator?.nextObject() as? String {
                let attributes = try? FileManager.default.attributesOfItem(atPath: harness.directory + "/" + name)
                if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? NSNumber)?.int64Value ?? 0 }
            }
            return total
        case .postgres:
            let rows = try await harness.database.query("SELECT pg_database_size(current_database()) AS size", [])
            return rows.first?["size"].int ?? -1
        }
    }

    @Test(arguments: TestEngines.all) func aForgedFloodStoresAlmostNothingAndRaisesOneAlertPerHost(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (genuine, journal) = try await harness.enrolHost(name: "genuine")
            _ = genuine.hostId
            let (victim, _) = try await harness.enrolHost(name: "victim")
            let before = try await Self.databaseBytes(harness)
            let huge = [UInt8](repeating: UInt8(ascii: "x"), count: (8 << 20) - 4096)
            let forgers = [genuine, victim].map {
                AgentIdentity(hostId: $0.hostId, organisation: $0.organisation, hostGroup: nil, key: Curve25519.Signing.PrivateKey(),
                              receiptKey: $0.receiptKey)
            }
            // The genuine terminal ships between the forgeries, on the same server.
            var genuineStatuses: [String] = []
            var forgedStatuses: [Int] = []
            let started = Date()
            for index in 0..<30 {
                let response = try await harness.client.signed("POST", "/v1/agent/journal", identity: forgers[index % 2], body: huge)
                forgedStatuses.append(response.status)
                if index < 20 {
                    switch try await harness.client.shipJournal(identity: genuine, lines: journal.nextBatch(25)) {
                    case .stored: genuineStatuses.append("stored")
                    case let other: genuineStatuses.append("\(other)")
                    }
                }
            }
            #expect(genuineStatuses.allSatisfy { $0 == "stored" }, "genuine batches: \(genuineStatuses)")
            #expect(try await harness.host(genuine.hostId).point.nextSeq == 500, "the genuine terminal lost records")
            // 401 until the limit, then 429.
            // 401 for the burst (5 per source address), then 429 but for the slow refill
            // (0.2 a second): the limit holds for the whole flood, whatever its duration.
            let elapsed = Date().timeIntervalSince(started)
            let limit = harness.service.limits
            #expect(forgedStatuses.prefix(Int(limit.failedAuthenticationBurst)).allSatisfy { $0 == 401 }, "\(forgedStatuses)")
            let passed = forgedStatuses.filter { $0 == 401 }.count
            #expect(Double(passed) <= limit.failedAuthenticationBurst + elapsed * limit.failedAuthenticationsPerSecond + 1,
                    "\(passed) forgeries got through in \(elapsed) s: \(forgedStatuses)")
            #expect(Set(forgedStatuses) == [401, 429])
            // One open alert per host, counting the forgeries it let through.
            for host in [genuine.hostId, victim.hostId] {
                let alerts = try await harness.alerts(host: host)
                #expect(alerts.count == 1, "\(host): \(alerts.map(\.kind))")
                #expect(alerts.first?.kind == "forgery")
                #expect((alerts.first?.occurrences ?? 0) >= 1)
            }
            let counted = try await harness.alerts(host: genuine.hostId).map(\.occurrences).reduce(0, +)
                + (try await harness.alerts(host: victim.hostId).map(\.occurrences).reduce(0, +))
            #expect(counted == Int64(forgedStatuses.filter { $0 == 401 }.count))
            // Evidence: hash, size and 4 KiB, never the 8 MiB.
            let evidence = try await harness.database.query("SELECT body, body_size, kept, body_sha256 FROM evidence", [])
            #expect(evidence.allSatisfy { ($0["body"].text?.utf8.count ?? 0) <= CollectorStore.evidencePrefixBytes })
            #expect(evidence.allSatisfy { $0["kept"].text == "prefix" && $0["body_size"].int == Int64(huge.count) })
            #expect(evidence.allSatisfy { $0["body_sha256"].text == Hex.encode(SHA256.hash(data: huge)) })
            let growth = try await Self.databaseBytes(harness) - before
            #expect(growth < 1 << 20, "the database grew by \(growth) bytes")
            // The alert shows the count to an administrator.
            let listed = try await harness.client.admin("GET", "/v1/admin/alerts", token: harness.adminToken).json(expect: 200)
            #expect(listed["alerts"]?.arrayValue?.allSatisfy { $0["occurrences"]?.intValue != nil } == true)
        }
    }

    /// Tampered batches of an authenticated host are kept whole, but the same batch again is
    /// stored once (deduplicated by hash) and counted on the one open alert.
    @Test(arguments: TestEngines.all) func repeatedTamperedBatchesAreKeptOnce(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (identity, journal) = try await harness.enrolHost()
            guard case .stored = try await harness.client.shipJournal(identity: identity, lines: journal.nextBatch(10)) else {
                Issue.record("first batch refused")
                return
            }
            var forged = journal.nextBatch(5)
            forged[forged.count / 2] ^= 0x01
            for _ in 0..<4 {
                _ = try await harness.client.shipJournal(identity: identity, lines: forged)
            }
            let alerts = try await harness.alerts(host: identity.hostId)
            #expect(alerts.count == 1)
            #expect(alerts.first?.occurrences == 4)
            let evidence = try await harness.database.query("SELECT kept, body_size FROM evidence WHERE host_id = ?", [.text(identity.hostId)])
            #expect(evidence.count == 1, "\(evidence.count) evidence rows for one repeated batch")
            #expect(evidence.first?["kept"].text == "whole")
        }
    }
}
