import MamoriCore
import Testing

@Suite struct PostureReportTests {
    func sample() -> PostureReport {
        PostureReport(complete: true, profileVersion: 7, checks: [
            PostureCheckResult(id: "network.no-wireless", title: "No wireless interface up", clause: "6(3)①",
                               status: .fail, evidence: "wlan0 is up"),
            PostureCheckResult(id: "site.motd", title: "Banner", clause: nil, status: .pass, evidence: "/etc/motd matches"),
        ])
    }

    @Test func payloadRoundTripsThroughCanonicalJSON() throws {
        let report = sample()
        let text = JSONValue.object(report.payload).canonicalString
        let parsed = try PostureReport(kind: report.kind, payload: try #require(JSONValue.parse(text).objectValue))
        #expect(parsed == report)
        #expect(report.kind == "posture.report")
        #expect(text.contains(#""status":"fail""#))
    }

    @Test func strictReadingRejectsMalformedPayloads() {
        var payload = sample().payload
        #expect(throws: PostureRecordError.self) { try PostureReport(kind: "posture.changed", payload: payload) }
        #expect(throws: PostureRecordError.self) { try PostureReport(kind: "media.decision", payload: payload) }
        payload["checks"] = .array([.object(["id": .string("x"), "title": .string("t"), "status": .string("green"), "evidence": .string("")])])
        #expect(throws: PostureRecordError.self) { try PostureReport(kind: "posture.report", payload: payload) }
        let check = PostureCheckResult(id: "a.b", title: "t", clause: nil, status: .pass, evidence: "").json
        payload["checks"] = .array([check, check])
        #expect(throws: PostureRecordError.self) { try PostureReport(kind: "posture.report", payload: payload) }
        payload["checks"] = .array([.object(["id": .string("a.b"), "title": .string("t"), "status": .string("pass"),
                                             "evidence": .string(""), "extra": .int(1)])])
        #expect(throws: PostureRecordError.self) { try PostureReport(kind: "posture.report", payload: payload) }
        payload["checks"] = .array([check])
        payload["profile_version"] = .string("7")
        #expect(throws: PostureRecordError.self) { try PostureReport(kind: "posture.report", payload: payload) }
    }

    @Test func longEvidenceIsCutAtACharacterBoundary() {
        let check = PostureCheckResult(id: "a", title: "t", clause: nil, status: .error, evidence: String(repeating: "監", count: 1000))
        #expect(check.evidence.utf8.count <= PostureCheckResult.maxEvidenceBytes)
        #expect(check.evidence.hasSuffix("…"))
    }

    @Test func statusOrderAndCompliance() {
        #expect(PostureStatus.allCases.sorted() == [.fail, .error, .pass, .notApplicable])
        #expect(PostureStatus.pass.isCompliant && PostureStatus.notApplicable.isCompliant)
        #expect(!PostureStatus.fail.isCompliant && !PostureStatus.error.isCompliant)
        #expect(PostureRules.builtinIds.count == PostureCatalogue.builtin.count)
        #expect(PostureCatalogue.builtin.allSatisfy { PostureCatalogue.isCheckId($0.id) })
    }
}
