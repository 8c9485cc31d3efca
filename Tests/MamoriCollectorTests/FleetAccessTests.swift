import Foundation
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// The access matrix of docs/compliance.md, every role × organisation scope × endpoint, over
/// real HTTPS on both engines; and the 区議会 rule both ways: ward-wide tokens see the assembly
/// only as counts, and only tokens scoped to 区議会 see its hosts, checks, events and alerts.
@Suite(.serialized) struct FleetAccessTests {
    enum Scope: String, CaseIterable, CustomTestStringConvertible {
        case wardWide, mayor, assembly, mayorAndAssembly
        var organisations: [Organisation]? {
            switch self {
            case .wardWide: nil
            case .mayor: [.mayorsDepartments]
            case .assembly: [.wardAssembly]
            case .mayorAndAssembly: [.mayorsDepartments, .wardAssembly]
            }
        }
        var seesMayor: Bool { self != .assembly }
        var seesAssemblyDetails: Bool { self == .assembly || self == .mayorAndAssembly }
        var testDescription: String { rawValue }
    }

    struct Case: CustomTestStringConvertible {
        var engine: SQLEngine
        var role: AdminRole
        var scope: Scope
        var testDescription: String { "\(engine.rawValue) \(role.rawValue) \(scope.rawValue)" }
    }

    static let cases: [Case] = TestEngines.all.flatMap { engine in
        AdminRole.allCases.flatMap { role in Scope.allCases.map { Case(engine: engine, role: role, scope: $0) } }
    }

    /// The status a request should get: `role` allowed, then `visible` (else `hidden`).
    static func expected(_ allowed: Bool, _ visible: Bool, ok: Int = 200, hidden: Int = 404) -> Int {
        !allowed ? 403 : (visible ? ok : hidden)
    }

    @Test(arguments: cases) func matrix(_ c: Case) async throws {
        try await CollectorHarness.run(c.engine) { harness in
            typealias H = CollectorHarness
            let mayorHost = try await harness.reportingHost(org: "mayor", name: "m-1", checks: [H.check("a", .pass)])
            let assemblyHost = try await harness.reportingHost(org: "assembly", name: "a-1", checks: [H.check("a", .fail)])
            let store = harness.service.store
            let mayorRecord = try await harness.host(mayorHost.hostId)
            let assemblyRecord = try await harness.host(assemblyHost.hostId)
            for record in [mayorRecord, assemblyRecord] {
                try await store.raiseAlert(host: record, kind: "replay", failure: "replayed-request", seq: nil, detail: "test",
                                           route: "/v1/agent/head", body: [], keep: .prefix, now: CollectorClock.now())
            }
            let token = try await harness.token(c.role, c.scope.organisations)
            let audit = c.role != .viewer
            let admin = c.role == .admin
            try await checkReads(harness, token, c, audit: audit)
            try await checkWrites(harness, token, c, admin: admin)
        }
    }

    func checkReads(_ harness: CollectorHarness, _ token: String, _ c: Case, audit: Bool) async throws {
        let summary = try await harness.getJSON("/v1/admin/fleet/summary", token: token)
        let orgs = (summary["organisations"]?.arrayValue ?? []).compactMap { $0["org"]?.stringValue }
        switch c.scope {
        case .wardWide:
            #expect(orgs.count == 6)
            #expect(summary.organisationRow("assembly")?["hosts"]?.intValue == 1)
            #expect(summary.organisationRow("assembly")?["details"]?.boolValue == false)
        case .mayor: #expect(orgs == ["mayor"])
        case .assembly: #expect(orgs == ["assembly"])
        case .mayorAndAssembly: #expect(orgs.sorted() == ["assembly", "mayor"])
        }
        let names = (c.scope.seesAssemblyDetails ? ["a-1"] : []) + (c.scope.seesMayor ? ["m-1"] : [])
        #expect(try await harness.getJSON("/v1/admin/fleet/hosts", token: token).hostnames() == names)
        #expect(try await harness.getJSON("/v1/admin/hosts", token: token).hostnames() == names)
        #expect(try await harness.get("/v1/admin/fleet/hosts?org=assembly", token: token).status == (c.scope.seesAssemblyDetails ? 200 : 403))
        #expect(try await harness.get("/v1/admin/fleet/hosts?failing=a", token: token).json(expect: 200).hostnames()
                == (c.scope.seesAssemblyDetails ? ["a-1"] : []))
        // A host the token may not see is answered exactly like one that does not exist.
        let hidden = try await harness.get("/v1/admin/fleet/host?name=a-1", token: token)
        #expect(hidden.status == (c.scope.seesAssemblyDetails ? 200 : 404))
        if !c.scope.seesAssemblyDetails {
            #expect(hidden.reason == "no host a-1")
            #expect(!hidden.text.contains("assembly"))
        }
        let mayor = try await harness.get("/v1/admin/fleet/host?name=m-1", token: token)
        #expect(mayor.status == (c.scope.seesMayor ? 200 : 404))
        if c.scope.seesMayor {
            let detail = try mayor.json(expect: 200)
            #expect((detail["events"] != nil) == audit)
            #expect((detail["alerts"] != nil) == audit)
        }
        let at = CollectorClock.now().description
        #expect(try await harness.get("/v1/admin/fleet/history?name=a-1&at=\(at)", token: token).status
                == Self.expected(audit, c.scope.seesAssemblyDetails))
        #expect(try await harness.get("/v1/admin/fleet/history?name=m-1&at=\(at)", token: token).status == Self.expected(audit, c.scope.seesMayor))
        let alerts = try await harness.get("/v1/admin/alerts", token: token)
        #expect(alerts.status == (audit ? 200 : 403))
        if audit {
            let alertOrgs = (try alerts.json(expect: 200)["alerts"]?.arrayValue ?? []).compactMap { $0["org"]?.stringValue }.sorted()
            #expect(alertOrgs == (c.scope.seesAssemblyDetails ? ["assembly"] : []) + (c.scope.seesMayor ? ["mayor"] : []))
        }
        #expect(try await harness.get("/v1/admin/fleet/report?org=assembly", token: token).status
                == Self.expected(audit, c.scope.seesAssemblyDetails, hidden: 403))
        #expect(try await harness.get("/v1/admin/fleet/report?org=mayor", token: token).status == Self.expected(audit, c.scope.seesMayor, hidden: 403))
    }

    func checkWrites(_ harness: CollectorHarness, _ token: String, _ c: Case, admin: Bool) async throws {
        let assemblyAlert = try #require(try await harness.service.store.alerts(organisations: nil).first { $0.organisation == "assembly" })
        #expect(try await harness.post("/v1/admin/alerts/ack", .object(["id": .string(assemblyAlert.id), "reason": .string("checked")]),
                                       token: token).status == Self.expected(admin, c.scope.seesAssemblyDetails))
        #expect(try await harness.post("/v1/admin/fleet/scope", .object(["name": .string("a-1"), "out_of_scope": .bool(true),
                                                                          "reason": .string("test")]), token: token).status
                == Self.expected(admin, c.scope.seesAssemblyDetails))
        #expect(try await harness.post("/v1/admin/fleet/scope", .object(["name": .string("m-1"), "out_of_scope": .bool(false),
                                                                          "reason": .string("test")]), token: token).status
                == Self.expected(admin, c.scope.seesMayor))
        #expect(try await harness.get("/v1/admin/tokens", token: token).status == (admin ? 200 : 403))
        func createToken(_ orgs: JSONValue) async throws -> Int {
            try await harness.post("/v1/admin/tokens", .object(["role": .string("viewer"), "orgs": orgs, "label": .string("made")]), token: token).status
        }
        #expect(try await createToken(.array([.string("assembly")])) == Self.expected(admin, c.scope.seesAssemblyDetails, ok: 201, hidden: 403))
        #expect(try await createToken(.array([.string("mayor")])) == Self.expected(admin, c.scope.seesMayor, ok: 201, hidden: 403))
        #expect(try await createToken(.null) == Self.expected(admin, c.scope == .wardWide, ok: 201, hidden: 403))
        // Enrolment and profiles follow coverage: a ward-wide token enrols 区議会 terminals too.
        for (org, visible) in [("assembly", c.scope != .mayor), ("mayor", c.scope.seesMayor)] {
            let reply = try await harness.post("/v1/admin/enroll-tokens", .object(["org": .string(org)]), token: token)
            #expect(reply.status == Self.expected(admin, visible, ok: 201, hidden: 403))
        }
        let profile = try await harness.client.admin("POST", "/v1/admin/profiles", token: token, body: try harness.signedProfile(version: 2))
        #expect(profile.status == Self.expected(admin, c.scope.seesMayor, ok: 201, hidden: 403))
    }

    @Test(arguments: TestEngines.all) func tokensThroughTheAPI(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            let made = try await harness.post("/v1/admin/tokens", .object(["role": .string("auditor"), "orgs": .array([.string("教育委員会")]),
                                                                           "label": .string("監査担当")])).json(expect: 201)
            let token = try #require(made["token"]?.stringValue)
            let id = try #require(made["id"]?.stringValue)
            #expect(made["orgs"] == .array([.string("education")]))
            #expect(try await harness.get("/v1/admin/alerts", token: token).status == 200)
            #expect(try await harness.get("/v1/admin/tokens", token: token).status == 403)
            let listed = try await harness.getJSON("/v1/admin/tokens")
            let entry = try #require(listed["tokens"]?.arrayValue?.first { $0["id"]?.stringValue == id })
            #expect(entry["label"]?.stringValue == "監査担当")
            #expect(entry["created_by"]?.stringValue?.contains("test") == true)
            #expect(!listed.canonicalString.contains(token))
            #expect(try await harness.post("/v1/admin/tokens", .object(["role": .string("root"), "label": .string("x")])).status == 400)
            #expect(try await harness.post("/v1/admin/tokens/revoke", .object(["id": .string(id)])).status == 200)
            #expect(try await harness.post("/v1/admin/tokens/revoke", .object(["id": .string(id)])).status == 409)
            #expect(try await harness.post("/v1/admin/tokens/revoke", .object(["id": .string("adm-nope")])).status == 404)
            #expect(try await harness.get("/v1/admin/alerts", token: token).status == 401)
            let after = try await harness.getJSON("/v1/admin/tokens")
            #expect(after["tokens"]?.arrayValue?.first { $0["id"]?.stringValue == id }?["revoked_at"] != nil)
        }
    }
}
