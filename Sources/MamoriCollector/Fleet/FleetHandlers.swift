public import MamoriCore
import Foundation
import Logging

extension CollectorRequest {
    /// A time parameter: RFC 3339 UTC (`2026-04-01T09:00:00Z`) or a date (`2026-04-01`).
    func timeParameter(_ name: String) throws -> Timestamp? {
        guard let text = query[name], !text.isEmpty else { return nil }
        guard let time = Timestamp(parsing: text) else {
            throw CollectorError.badRequest("`\(name)` must be a time such as 2026-04-01T09:00:00Z or a date such as 2026-04-01")
        }
        return time
    }

    func requiredParameter(_ name: String) throws -> String {
        guard let text = query[name], !text.isEmpty else { throw CollectorError.badRequest("the `\(name)` parameter is required") }
        return text
    }
}

extension FleetHost {
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id), "hostname": .string(hostname), "org": .string(organisation.rawValue), "state": .string(state.rawValue),
            "checks": .int(checks), "failing": .int(failing),
        ]
        if let hostGroup { members["group"] = .string(hostGroup) }
        if let lastSeenAt { members["last_seen_at"] = .string(lastSeenAt) }
        if let postureAt { members["posture_at"] = .string(postureAt) }
        if let tamperedAt { members["tampered_at"] = .string(tamperedAt) }
        if let failingSince { members["failing_since"] = .string(failingSince) }
        return .object(members)
    }
}

extension FleetCheckState {
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id), "title": .string(title), "status": .string(status), "evidence": .string(evidence), "since": .string(since),
        ]
        if let clause { members["clause"] = .string(clause) }
        if let updatedAt { members["updated_at"] = .string(updatedAt) }
        return .object(members)
    }
}

extension CollectorService {
    var staleBefore: Timestamp { now().adding(seconds: -limits.staleAfterSeconds) }

    func authorise(_ request: CollectorRequest, _ permission: FleetPermission) async throws -> AdminPrincipal {
        try await authenticateAdmin(request, roles: permission.roles)
    }

    /// GET /v1/admin/fleet/summary: per organisation the token covers, hosts by state. Ward-wide
    /// tokens get 区議会's counts (and nothing more: `details` is false).
    public func fleetSummary(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .readFleet)
        let counts = try await store.fleetSummary(staleBefore: staleBefore)
        let rows: [JSONValue] = Organisation.allCases.filter(principal.seesCounts(of:)).map { org in
            let byState = counts[org] ?? [:]
            var members: [String: JSONValue] = [
                "org": .string(org.rawValue), "name": .string(org.japaneseName), "hosts": .int(byState.values.reduce(0, +)),
                "details": .bool(principal.seesDetails(of: org)),
            ]
            for state in FleetHostState.allCases { members[state.rawValue] = .int(byState[state] ?? 0) }
            return .object(members)
        }
        return .json(200, .object(["organisations": .array(rows), "stale_after_seconds": .int(limits.staleAfterSeconds),
                                   "generated_at": .string(now().description)]))
    }

    /// The organisations a request asks about (`org=`), or all the token sees in detail.
    func requestedOrganisations(_ request: CollectorRequest, _ principal: AdminPrincipal) throws -> [Organisation] {
        guard let text = request.query["org"], !text.isEmpty else { return principal.detailOrganisations }
        guard let org = Organisation(identifierOrName: text) else {
            throw CollectorError.badRequest("unknown organisation `\(text)` (one of \(Organisation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard principal.seesDetails(of: org) else {
            throw CollectorError.forbidden(org == .wardAssembly
                ? "区議会's hosts are visible only to tokens scoped to 区議会 (policy 9)" : "this token does not cover \(org.rawValue)")
        }
        return [org]
    }

    /// GET /v1/admin/fleet/hosts[?org=&failing=CHECK&state=STATE].
    public func fleetHosts(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .readFleet)
        var filter = FleetHostFilter(organisations: try requestedOrganisations(request, principal))
        if let check = request.query["failing"] {
            guard PostureCatalogue.isCheckId(check) else { throw CollectorError.badRequest("`failing` must be a check id") }
            filter.failingCheck = check
        }
        if let text = request.query["state"] {
            guard let state = FleetHostState(rawValue: text) else {
                throw CollectorError.badRequest("`state` must be one of \(FleetHostState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.state = state
        }
        let hosts = try await store.fleetHosts(filter, staleBefore: staleBefore)
        return .json(200, .object(["hosts": .array(hosts.map(\.json))]))
    }

    /// The one host a request names (`name=`: id or hostname), among those the token sees:
    /// 404 for hosts it may not see, exactly as for hosts that do not exist.
    func namedHost(_ request: CollectorRequest, _ principal: AdminPrincipal) async throws -> FleetHost {
        let name = try request.requiredParameter("name")
        let hosts = try await store.fleetHosts(named: name, organisations: principal.detailOrganisations, staleBefore: staleBefore)
        guard let host = hosts.first else { throw CollectorError.notFound("no host \(name)") }
        guard hosts.count == 1 else {
            throw CollectorError.conflict("\(hosts.count) hosts are named \(name); give one of their ids: \(hosts.map(\.id).joined(separator: ", "))")
        }
        return host
    }

    /// GET /v1/admin/fleet/host?name=: its checks; for auditors and admins also its recent
    /// events and its alerts.
    public func fleetHost(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .readFleet)
        let host = try await namedHost(request, principal)
        var members: [String: JSONValue] = [
            "host": host.json, "checks": .array(try await store.postureChecks(hostId: host.id).map(\.json)),
        ]
        if FleetPermission.readAudit.roles.contains(principal.role) {
            let events = try await store.recentEvents(hostId: host.id, limit: 20)
            members["events"] = .array(events.map { event in
                var object: [String: JSONValue] = ["seq": .int(event.seq), "time": .string(event.time), "kind": .string(event.kind)]
                if let detail = event.detail { object["detail"] = .string(detail) }
                return .object(object)
            })
            members["alerts"] = .array(try await store.alerts(visibleTo: principal, since: nil, hostId: host.id).map(\.json))
            let time = now()
            members["grants"] = .array(try await store.grants(organisations: [host.organisation], hostId: host.id, includeEnded: true,
                                                              now: time, limit: 20).map { $0.json(now: time) })
        }
        return .json(200, .object(members))
    }

    /// GET /v1/admin/fleet/history?name=&at=TIME: each check's status at that time.
    public func fleetHistory(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .readAudit)
        let host = try await namedHost(request, principal)
        guard let at = try request.timeParameter("at") else { throw CollectorError.badRequest("the `at` parameter is required") }
        let checks = try await store.postureChecks(hostId: host.id, at: at)
        let compliant = !checks.isEmpty && checks.allSatisfy { PostureStatus(rawValue: $0.status)?.isCompliant ?? false }
        return .json(200, .object(["host": host.json, "at": .string(at.description), "compliant": .bool(compliant),
                                   "checks": .array(checks.map(\.json))]))
    }

    static func reason(_ body: StrictObject) throws -> String {
        let reason = try body.string("reason").trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(reason.utf8.count) else { throw CollectorError.badRequest("`reason` must be 1 to 500 bytes") }
        return reason
    }

    /// POST /v1/admin/alerts/ack {"id","reason"}: admins; who and why are recorded.
    public func acknowledgeAlert(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .acknowledge)
        let body = try StrictObject(parsing: request.body, allowed: ["id", "reason"])
        let alert = try await store.acknowledgeAlert(id: try body.string("id"), principal: principal, reason: try Self.reason(body), now: now())
        logger.notice("alert acknowledged", metadata: ["alert": "\(alert.id)", "by": "\(principal.id)"])
        return .json(200, alert.json)
    }

    /// POST /v1/admin/fleet/scope {"name","out_of_scope","reason"}: admins.
    public func setHostScope(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .manageScope)
        let body = try StrictObject(parsing: request.body, allowed: ["name", "out_of_scope", "reason"])
        var lookup = request
        lookup.query["name"] = try body.string("name")
        let host = try await namedHost(lookup, principal)
        let out = try body.bool("out_of_scope")
        try await store.setOutOfScope(hostId: host.id, outOfScope: out, principal: principal, reason: try Self.reason(body), now: now())
        logger.notice("host scope changed", metadata: ["host": "\(host.id)", "out_of_scope": "\(out)", "by": "\(principal.id)"])
        return .json(200, .object(["id": .string(host.id), "hostname": .string(host.hostname), "out_of_scope": .bool(out)]))
    }
}
