import Foundation
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// Scripted posture for the fleet suites: reports shipped through the real ingest path.
extension CollectorHarness {
    static func check(_ id: String, _ status: PostureStatus, _ evidence: String = "observed", clause: String? = "6(3)①") -> PostureCheckResult {
        PostureCheckResult(id: id, title: "Check \(id)", clause: clause, status: status, evidence: evidence)
    }

    /// Ships one posture record (at `time`) and requires a receipt.
    func ship(_ report: PostureReport, time: Timestamp? = nil, identity: AgentIdentity, journal: inout SyntheticJournal) async throws {
        let lines = journal.posture(report, time: time)
        guard case .stored = try await client.shipJournal(identity: identity, lines: lines) else {
            Issue.record("a posture batch was refused")
            return
        }
    }

    /// A host enrolled in `org` that has shipped one complete report of `checks`.
    @discardableResult
    func reportingHost(org: String, name: String, checks: [PostureCheckResult], time: Timestamp? = nil) async throws -> AgentIdentity {
        var (identity, journal) = try await enrolHost(org: org, name: name)
        try await ship(PostureReport(complete: true, profileVersion: 1, checks: checks), time: time, identity: identity, journal: &journal)
        return identity
    }

    func get(_ path: String, token: String? = nil) async throws -> ClientResponse {
        try await client.admin("GET", path, token: token ?? adminToken)
    }

    func getJSON(_ path: String, token: String? = nil) async throws -> JSONValue {
        try await get(path, token: token).json(expect: 200)
    }

    func post(_ path: String, _ body: JSONValue, token: String? = nil) async throws -> ClientResponse {
        try await client.admin("POST", path, token: token ?? adminToken, body: body.canonicalBytes)
    }

    func token(_ role: AdminRole, _ orgs: [Organisation]?) async throws -> String {
        try await service.store.createAdminToken(role: role, organisations: orgs, label: "\(role.rawValue)-test", now: CollectorClock.now()).token
    }
}

extension JSONValue {
    func hostnames() -> [String] {
        (self["hosts"]?.arrayValue ?? []).compactMap { $0["hostname"]?.stringValue }.sorted()
    }

    func organisationRow(_ org: String) -> JSONValue? {
        self["organisations"]?.arrayValue?.first { $0["org"]?.stringValue == org }
    }

    func check(_ id: String) -> JSONValue? {
        self["checks"]?.arrayValue?.first { $0["id"]?.stringValue == id }
    }
}
