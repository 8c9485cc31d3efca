public import MamoriCore

/// One point of the compliance-over-time series: in-scope hosts with posture at `at`, and how
/// many of them were compliant then (every check passing or not applicable).
public struct CompliancePoint: Sendable, Equatable {
    public var at: String
    public var reporting: Int
    public var compliant: Int
}

extension CollectorStore {
    /// Per check among in-scope hosts of `organisation`: counts by status.
    public func checkStatusCounts(organisation: Organisation) async throws -> [(id: String, title: String, clause: String?, counts: [String: Int64])] {
        let rows = try await database.query("""
            SELECT p.check_id, MAX(p.title) AS title, MAX(p.clause) AS clause, p.status, COUNT(*) AS n
            FROM posture_current p JOIN hosts h ON h.id = p.host_id
            WHERE h.org = ? AND h.out_of_scope = 0 GROUP BY p.check_id, p.status ORDER BY p.check_id
            """, [.text(organisation.rawValue)])
        var order: [String] = []
        var out: [String: (id: String, title: String, clause: String?, counts: [String: Int64])] = [:]
        for row in rows {
            guard let id = row["check_id"].text, let status = row["status"].text, let count = row["n"].int else { continue }
            if out[id] == nil {
                order.append(id)
                out[id] = (id, row["title"].text ?? "", row["clause"].text, [:])
            }
            out[id]?.counts[status] = count
        }
        return order.compactMap { out[$0] }
    }

    /// Failing checks (fail or error) of in-scope hosts of `organisation`, oldest first.
    public func failingChecks(organisation: Organisation) async throws -> [(hostname: String, hostId: String, check: FleetCheckState)] {
        let rows = try await database.query("""
            SELECT h.hostname, h.id, p.check_id, p.title, p.clause, p.status, p.evidence, p.since
            FROM posture_current p JOIN hosts h ON h.id = p.host_id
            WHERE h.org = ? AND h.out_of_scope = 0 AND p.status IN ('fail', 'error') ORDER BY p.since, h.hostname, p.check_id
            """, [.text(organisation.rawValue)])
        return rows.compactMap { row in
            guard let name = row["hostname"].text, let id = row["id"].text, let check = row["check_id"].text,
                  let status = row["status"].text, let since = row["since"].text else { return nil }
            return (name, id, FleetCheckState(id: check, title: row["title"].text ?? "", clause: row["clause"].text, status: status,
                                              evidence: row["evidence"].text ?? "", since: since, updatedAt: nil))
        }
    }

    /// Compliance of the organisation's in-scope hosts at each of `points` (ascending), replayed
    /// from the posture history.
    public func complianceSeries(organisation: Organisation, points: [Timestamp]) async throws -> [CompliancePoint] {
        guard let last = points.last else { return [] }
        let rows = try await database.query("""
            SELECT p.host_id, p.check_id, p.status, p.changed_at FROM posture_history p JOIN hosts h ON h.id = p.host_id
            WHERE h.org = ? AND h.out_of_scope = 0 AND p.changed_at <= ? ORDER BY p.host_id, p.changed_at, p.seq
            """, [.text(organisation.rawValue), .text(last.description)])
        var byHost: [String: [(check: String, status: String, at: String)]] = [:]
        for row in rows {
            guard let host = row["host_id"].text, let check = row["check_id"].text, let status = row["status"].text,
                  let at = row["changed_at"].text else { continue }
            byHost[host, default: []].append((check, status, at))
        }
        var reporting = [Int](repeating: 0, count: points.count)
        var compliant = [Int](repeating: 0, count: points.count)
        for events in byHost.values {
            var statuses: [String: String] = [:]
            var next = 0
            for (index, point) in points.enumerated() {
                let bound = point.description
                while next < events.count, events[next].at <= bound {
                    if events[next].status == "removed" { statuses[events[next].check] = nil } else { statuses[events[next].check] = events[next].status }
                    next += 1
                }
                guard !statuses.isEmpty else { continue }
                reporting[index] += 1
                if statuses.values.allSatisfy({ PostureStatus(rawValue: $0)?.isCompliant ?? false }) { compliant[index] += 1 }
            }
        }
        return points.indices.map { CompliancePoint(at: points[$0].description, reporting: reporting[$0], compliant: compliant[$0]) }
    }
}

extension CollectorService {
    /// GET /v1/admin/fleet/report?org=&from=&to=: the self-inspection report's figures for one
    /// organisation (auditors and admins who see it in detail). Default period: the last 30 days.
    public func fleetReport(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .readAudit)
        guard request.query["org"] != nil else { throw CollectorError.badRequest("the `org` parameter is required") }
        guard let org = try requestedOrganisations(request, principal).first else { throw CollectorError.badRequest("no organisation") }
        let to = try request.timeParameter("to") ?? now()
        let from = try request.timeParameter("from") ?? to.adding(seconds: -30 * 86400)
        guard from < to, to.microsecondsSinceEpoch - from.microsecondsSinceEpoch <= 366 * 86_400_000_000 else {
            throw CollectorError.badRequest("`from` must be before `to`, at most 366 days apart")
        }
        var members: [String: JSONValue] = [
            "org": .string(org.rawValue), "name": .string(org.japaneseName), "from": .string(from.description),
            "to": .string(to.description), "generated_at": .string(now().description),
        ]
        members["coverage"] = try await reportCoverage(org)
        members["checks"] = .array(try await store.checkStatusCounts(organisation: org).map { check in
            var object: [String: JSONValue] = ["id": .string(check.id), "title": .string(check.title),
                                               "hosts": .int(check.counts.values.reduce(0, +))]
            for status in PostureStatus.allCases { object[status.rawValue] = .int(check.counts[status.rawValue] ?? 0) }
            if let clause = check.clause { object["clause"] = .string(clause) }
            return .object(object)
        })
        members["failing"] = .array(try await store.failingChecks(organisation: org).map { item in
            var object = item.check.json.objectValue ?? [:]
            object["hostname"] = .string(item.hostname)
            object["host"] = .string(item.hostId)
            return .object(object)
        })
        let alerts = try await store.alerts(visibleTo: principal, since: from).filter {
            $0.organisation == org.rawValue && $0.kind == CollectorAlert.tamperKind && $0.createdAt <= to.description
        }
        members["tamper_alerts"] = .array(alerts.map(\.json))
        // Removable media (6(3)①): every one-off grant in force during the period, with its uses.
        let generated = now()
        members["media_grants"] = .array(try await store.grants(organisation: org, from: from, to: to).map { $0.json(now: generated) })
        members["timeline"] = .array(try await store.complianceSeries(organisation: org, points: Self.dailyPoints(from: from, to: to)).map {
            .object(["at": .string($0.at), "reporting": .int(Int64($0.reporting)), "compliant": .int(Int64($0.compliant))])
        })
        return .json(200, .object(members))
    }

    func reportCoverage(_ org: Organisation) async throws -> JSONValue {
        let counts = try await store.fleetSummary(staleBefore: staleBefore)[org] ?? [:]
        var object: [String: JSONValue] = ["hosts": .int(counts.values.reduce(0, +))]
        for state in FleetHostState.allCases { object[state.rawValue] = .int(counts[state] ?? 0) }
        object["in_scope"] = .int(counts.filter { $0.key != .outOfScope }.values.reduce(0, +))
        return .object(object)
    }

    /// The end of each UTC day from `from` to `to`, and `to` itself.
    static func dailyPoints(from: Timestamp, to: Timestamp) -> [Timestamp] {
        let day: Int64 = 86_400_000_000
        var points: [Timestamp] = []
        var next = (from.microsecondsSinceEpoch / day + 1) * day
        while next < to.microsecondsSinceEpoch {
            points.append(Timestamp(microsecondsSinceEpoch: next))
            next += day
        }
        points.append(to)
        return points
    }
}
