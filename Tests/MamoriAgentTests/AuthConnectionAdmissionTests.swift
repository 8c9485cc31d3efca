import MamoriAgent
import MamoriCore
import Testing

/// The PAM socket's admission caps and the abuse tally, as pure state.
@Suite struct AuthConnectionAdmissionTests {
    @Test func aNonRootUidGetsOnlyItsShareAndRootKeepsItsSlots() {
        var admission = AuthConnectionAdmission(limits: AuthConnectionLimits(rootConnections: 3, nonRootConnections: 5, perUidConnections: 2))
        #expect(admission.admit(uid: 1000) == nil)
        #expect(admission.admit(uid: 1000) == nil)
        #expect(admission.admit(uid: 1000) == .perUidCap)
        #expect(admission.admit(uid: 1001) == nil)
        #expect(admission.admit(uid: 1001) == nil)
        #expect(admission.admit(uid: 1002) == nil)
        #expect(admission.admit(uid: 1003) == .nonRootCap)
        // The non-root pool is full; root's slots are untouched.
        for _ in 0..<3 { #expect(admission.admit(uid: 0) == nil) }
        #expect(admission.admit(uid: 0) == .rootCap)
        admission.release(uid: 1000)
        #expect(admission.held(by: 1000) == 1)
        #expect(admission.admit(uid: 1003) == nil)
        admission.release(uid: 0)
        #expect(admission.admit(uid: 0) == nil)
        #expect(admission.total == 8)
    }

    @Test func releasingMoreThanWasAdmittedNeverGoesNegative() {
        var admission = AuthConnectionAdmission(limits: .standard)
        admission.release(uid: 0)
        admission.release(uid: 42)
        #expect(admission.total == 0)
        #expect(admission.admit(uid: 42) == nil)
        #expect(admission.held(by: 42) == 1)
    }

    @Test func oneRecordPerUidPerIntervalWithCountsAndTimes() {
        var tally = AuthAbuseTally(intervalSeconds: 60)
        let start = Timestamp(secondsSinceEpoch: 1_800_000_000)
        for second in 0..<30 { tally.note(uid: 1000, reason: "connection.per-uid-cap", at: start.adding(seconds: Int64(second))) }
        tally.note(uid: 1000, reason: "request.deadline", sample: "sshd root", at: start.adding(seconds: 31))
        tally.note(uid: 2000, reason: "auth.denied", at: start.adding(seconds: 50))
        #expect(tally.takeRecords(now: start.adding(seconds: 59)).isEmpty)
        let due = tally.takeRecords(now: start.adding(seconds: 60))
        #expect(due.count == 1)
        #expect(due.first?.payload["uid"] == .int(1000))
        #expect(due.first?.payload["count"] == .int(31))
        #expect(due.first?.payload["counts"] == .object(["connection.per-uid-cap": .int(30), "request.deadline": .int(1)]))
        #expect(due.first?.payload["first"] == .string(start.description))
        #expect(due.first?.payload["last"] == .string(start.adding(seconds: 31).description))
        #expect(due.first?.payload["samples"] == .array([.string("sshd root")]))
        let rest = tally.takeRecords(now: start.adding(seconds: 61), all: true)
        #expect(rest.map { $0.payload["uid"] } == [.int(2000)])
        #expect(tally.isEmpty)
    }

    @Test func manyUidsFoldIntoOneWindow() {
        var tally = AuthAbuseTally(intervalSeconds: 60, maxTrackedUids: 3)
        let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
        for uid in UInt32(1000)..<1010 { tally.note(uid: uid, reason: "auth.denied", at: now) }
        let records = tally.takeRecords(now: now, all: true)
        #expect(records.count == 4)
        #expect(records.first?.payload["uid"] == .int(AuthAbuseTally.overflowUid))
        #expect(records.first?.payload["count"] == .int(7))
    }

    @Test(arguments: [
        ("login", 32, "login"), ("\u{1B}]0;title\u{07}", 32, "?]0;title?"), ("tty1\r\n", 32, "tty1??"),
        ("こんにちは", 32, "?????"), ("abcdef", 3, "abc…"), ("", 8, ""),
    ])
    func claimsArePrintableAndCapped(input: String, limit: Int, expected: String) {
        #expect(AuthClaim.sanitised(input, limit: limit) == expected)
    }
}
