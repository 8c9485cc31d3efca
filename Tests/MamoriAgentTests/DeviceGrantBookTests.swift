import Foundation
import Testing
import MamoriAgent
import MamoriCore

/// The agent's grant book: what the collector serves is applied, withdrawn or refused; expiry
/// needs no collector; a grant that ended is never taken again, across restarts.
@Suite("Agent: device grant book")
struct DeviceGrantBookTests {
    let root = ProfilePrivateKey.generate(role: .root)
    let signing = ProfilePrivateKey.generate(role: .signing)
    let now = Timestamp(parsing: "2026-12-03T09:00:00Z")!
    let layout: AgentLayout

    init() throws {
        layout = AgentLayout(root: NSTemporaryDirectory() + "mamori-grants-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: layout.keyDirectory, withIntermediateDirectories: true)
        try (root.publicKey.hex + "\n").write(toFile: layout.profileRootPath, atomically: true, encoding: .utf8)
    }

    func envelope(id: String, host: String = "hst-mine", serial: String = "4C530001", seconds: Int64 = 3600,
                  issued: Timestamp? = nil) throws -> [UInt8] {
        let start = issued ?? now
        let certificate = try SigningKeyCertificate.issue(for: signing.publicKey, by: root, issued: Timestamp(parsing: "2026-01-01")!,
                                                          expires: Timestamp(parsing: "2028-01-01")!)
        let grant = DeviceGrant(id: id, host: host, vendor: "0781", product: "5583", serial: serial, mode: .readWrite, issued: start,
                                expires: start.adding(seconds: seconds), reason: "持ち出し", reference: "R8-0001")
        return try SignedDeviceGrant.sign(grant, key: signing, certificate: certificate, now: start).get().bytes
    }

    func book(at time: Timestamp? = nil) -> DeviceGrantBook { DeviceGrantBook(layout: layout, hostId: "hst-mine", now: time ?? now) }

    func kinds(_ events: [DeviceGrantBook.Event]) -> [String] { events.map(\.kind) }

    @Test func aServedGrantIsAppliedOnceAndPersists() throws {
        let grants = book()
        let first = try grants.reconcile(served: [try envelope(id: "grt-1")], now: now)
        #expect(kinds(first.events) == [DeviceGrantJournalKind.applied])
        #expect(first.changed)
        #expect(first.events[0].payload["ref"] == .string("R8-0001"))
        #expect(first.events[0].payload["usb_serial"] == .string("4C530001"))
        #expect(grants.grants(at: now).map(\.id) == ["grt-1"])
        // Served again: nothing new. A restarted agent reads it back.
        let again = try grants.reconcile(served: [try FileSystem.readFile(grants.grantsPath)], now: now)
        #expect(again.events.isEmpty && !again.changed)
        #expect(book().grants(at: now).map(\.id) == ["grt-1"])
        // The udev helper's reading of the same file agrees, and refuses it for another host.
        #expect(DeviceGrantBook.activeGrants(grantsPath: grants.grantsPath, rootPath: layout.profileRootPath, hostId: "hst-mine",
                                             now: now, requireTrustedFile: false).map(\.id) == ["grt-1"])
        #expect(DeviceGrantBook.activeGrants(grantsPath: grants.grantsPath, rootPath: layout.profileRootPath, hostId: "hst-other",
                                             now: now, requireTrustedFile: false).isEmpty)
    }

    @Test func refusalsAreJournalledOncePerEnvelope() throws {
        let grants = book()
        let other = try envelope(id: "grt-x", host: "hst-other")
        let expired = try envelope(id: "grt-old", issued: now.adding(seconds: -7200))
        var forged = try envelope(id: "grt-f")
        forged[forged.count / 2] ^= 0x01
        let first = try grants.reconcile(served: [other, expired, forged], now: now)
        #expect(kinds(first.events) == Array(repeating: DeviceGrantJournalKind.rejected, count: 3))
        let codes = first.events.map { $0.payload["code"]?.stringValue ?? "" }
        #expect(codes[0] == "other-host" && codes[1] == "grant-expired")
        #expect(["bad-signature", "malformed", "invalid-grant", "signing-key-not-certified"].contains(codes[2]), "\(codes[2])")
        #expect(first.events[0].payload["grant"] == .string("grt-x"), "a decodable refused grant is described")
        #expect(first.events[0].payload["reason"]?.stringValue?.contains("hst-other") == true, "reason says why it was refused")
        #expect(first.events[0].payload["grant_reason"] == .string("持ち出し"))
        #expect(grants.grants(at: now).isEmpty)
        #expect(try grants.reconcile(served: [other, expired, forged], now: now).events.isEmpty, "every poll would flood the journal")
    }

    @Test func aGrantTheCollectorStopsServingIsRevokedAndNeverTakenAgain() throws {
        let grants = book()
        let bytes = try envelope(id: "grt-r")
        _ = try grants.reconcile(served: [bytes], now: now)
        let withdrawn = try grants.reconcile(served: [], now: now.adding(seconds: 60))
        #expect(kinds(withdrawn.events) == [DeviceGrantJournalKind.revoked])
        #expect(withdrawn.changed)
        #expect(grants.grants(at: now.adding(seconds: 60)).isEmpty)
        // Served again (a replay, or a collector restored from an old backup): refused, also after a restart.
        let replay = try grants.reconcile(served: [bytes], now: now.adding(seconds: 120))
        #expect(kinds(replay.events) == [DeviceGrantJournalKind.rejected])
        #expect(replay.events[0].payload["code"] == .string("replayed"))
        let restarted = book(at: now.adding(seconds: 180))
        let again = try restarted.reconcile(served: [bytes], now: now.adding(seconds: 180))
        #expect(again.events.first?.payload["code"] == .string("replayed"))
        #expect(restarted.grants(at: now.adding(seconds: 180)).isEmpty)
    }

    @Test func expiryNeedsNoCollectorAndSurvivesARestart() throws {
        let grants = book()
        let bytes = try envelope(id: "grt-e", seconds: 60)
        _ = try grants.reconcile(served: [bytes], now: now)
        #expect(grants.nextExpiry == now.adding(seconds: 60))
        #expect(try grants.expireDue(now: now.adding(seconds: 59)).events.isEmpty)
        let ended = try grants.expireDue(now: now.adding(seconds: 60))
        #expect(kinds(ended.events) == [DeviceGrantJournalKind.expired])
        #expect(ended.changed)
        #expect(grants.nextExpiry == nil)
        // Still served by a collector whose clock lags: refused as a replay, not applied again.
        let lagging = try grants.reconcile(served: [bytes], now: now.adding(seconds: 30))
        #expect(lagging.events.first?.payload["code"] == .string("replayed"))

        // An agent that was down when a grant ran out ends it at start, and says so.
        let second = try envelope(id: "grt-down", seconds: 120)
        _ = try grants.reconcile(served: [second], now: now.adding(seconds: 61))
        let restarted = book(at: now.adding(seconds: 600))
        #expect(restarted.grants(at: now.adding(seconds: 600)).isEmpty)
        let atStart = try restarted.expireDue(now: now.adding(seconds: 600))
        #expect(kinds(atStart.events) == [DeviceGrantJournalKind.expired])
        #expect(atStart.events[0].payload["grant"] == .string("grt-down"))
    }

    @Test func anEditedGrantsFileCountsForNothing() throws {
        let grants = book()
        _ = try grants.reconcile(served: [try envelope(id: "grt-t")], now: now)
        var text = try String(contentsOfFile: grants.grantsPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "4C530001", with: "4C539999")
        try text.write(toFile: grants.grantsPath, atomically: true, encoding: .utf8)
        #expect(DeviceGrantBook.activeGrants(grantsPath: grants.grantsPath, rootPath: layout.profileRootPath, hostId: "hst-mine",
                                             now: now, requireTrustedFile: false).isEmpty)
        let restarted = book()
        #expect(restarted.grants(at: now).isEmpty)
        let events = try restarted.expireDue(now: now).events
        #expect(kinds(events) == [DeviceGrantJournalKind.rejected])
        #expect(events[0].payload["source"] == .string("grants file"))
    }

    @Test func anUnenrolledAgentTakesNoGrant() throws {
        let unenrolled = DeviceGrantBook(layout: layout, hostId: nil, now: now)
        let outcome = try unenrolled.reconcile(served: [try envelope(id: "grt-u")], now: now)
        #expect(outcome.events.isEmpty && !outcome.changed)
        #expect(unenrolled.grants(at: now).isEmpty)
    }
}
