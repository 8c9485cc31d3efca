public import MamoriCore

/// A host's compliance state; each in-scope host has exactly one, by this precedence:
/// tampered, stale, non-compliant (a check failing or in error), unreported (no posture yet),
/// compliant. Out-of-scope hosts (policy 4(2)) are listed but left out of compliance figures.
public enum FleetHostState: String, Sendable, CaseIterable {
    case compliant
    case nonCompliant = "non-compliant"
    case stale
    case tampered
    case unreported
    case outOfScope = "out-of-scope"

    /// Counts against the exit status of `mamorictl fleet`.
    public var isProblem: Bool { self != .compliant && self != .outOfScope }

    /// The SQL for a hosts row's state; one bind: the stale boundary.
    static let sql = """
        CASE WHEN out_of_scope = 1 THEN 'out-of-scope'
             WHEN tampered_at IS NOT NULL THEN 'tampered'
             WHEN COALESCE(last_seen_at, enrolled_at) < ? THEN 'stale'
             WHEN posture_failing > 0 THEN 'non-compliant'
             WHEN posture_checks = 0 THEN 'unreported'
             ELSE 'compliant' END
        """
}

public struct FleetHost: Sendable, Equatable {
    public var id: String
    public var hostname: String
    public var organisation: Organisation
    public var hostGroup: String?
    public var state: FleetHostState
    public var checks: Int64
    public var failing: Int64
    public var lastSeenAt: String?
    public var postureAt: String?
    public var tamperedAt: String?
    /// With `--failing CHECK`: when that check last changed to its failing status.
    public var failingSince: String?
}

public struct FleetHostFilter: Sendable {
    public var organisations: [Organisation]
    public var failingCheck: String?
    public var state: FleetHostState?

    public init(organisations: [Organisation], failingCheck: String? = nil, state: FleetHostState? = nil) {
        self.organisations = organisations
        self.failingCheck = failingCheck
        self.state = state
    }
}

public struct FleetCheckState: Sendable, Equatable {
    public var id: String
    public var title: String
    public var clause: String?
    public var status: String
    public var evidence: String
    /// When the status last changed (for history rows: when this row's status began).
    public var since: String
    public var updatedAt: String?
}

extension CollectorStore {
    static let fleetHostColumns = "id, hostname, org, host_group, posture_checks, posture_failing, last_seen_at, posture_at, tampered_at"

    /// Host counts per organisation and state: one scan of `hosts`, no join.
    public func fleetSummary(staleBefore: Timestamp) async throws -> [Organisation: [FleetHostState: Int64]] {
        let rows = try await database.query(
            "SELECT org, \(FleetHostState.sql) AS state, COUNT(*) AS n FROM hosts GROUP BY org, state", [.text(staleBefore.description)])
        var out: [Organisation: [FleetHostState: Int64]] = [:]
        for row in rows {
            guard let org = row["org"].text.flatMap(Organisation.init(rawValue:)),
                  let state = row["state"].text.flatMap(FleetHostState.init(rawValue:)), let count = row["n"].int else { continue }
            out[org, default: [:]][state] = count
        }
        return out
    }

    public func fleetHosts(_ filter: FleetHostFilter, staleBefore: Timestamp) async throws -> [FleetHost] {
        guard !filter.organisations.isEmpty else { return [] }
        var binds: [SQLValue] = [.text(staleBefore.description)]
        let orgList = filter.organisations.map { _ in "?" }.joined(separator: ", ")
        binds += filter.organisations.map { .text($0.rawValue) }
        var sql: String
        if let check = filter.failingCheck {
            sql = """
                SELECT h.id, h.hostname, h.org, h.host_group, h.posture_checks, h.posture_failing, h.last_seen_at, h.posture_at,
                       h.tampered_at, p.since AS failing_since, \(FleetHostState.sql) AS state
                FROM posture_current p JOIN hosts h ON h.id = p.host_id
                WHERE h.org IN (\(orgList)) AND p.check_id = ? AND p.status IN ('fail', 'error')
                """
            binds.append(.text(check))
        } else {
            sql = "SELECT \(Self.fleetHostColumns), \(FleetHostState.sql) AS state FROM hosts WHERE org IN (\(orgList))"
        }
        sql = "SELECT * FROM (\(sql)) AS f"
        if let state = filter.state {
            sql += " WHERE state = ?"
            binds.append(.text(state.rawValue))
        }
        sql += " ORDER BY org, hostname, id"
        return try await database.query(sql, binds).map(Self.decodeFleetHost)
    }

    static func decodeFleetHost(_ row: SQLRow) throws -> FleetHost {
        guard let id = row["id"].text, let hostname = row["hostname"].text, let org = row["org"].text.flatMap(Organisation.init(rawValue:)),
              let state = row["state"].text.flatMap(FleetHostState.init(rawValue:)) else {
            throw CollectorError.internalError("a hosts row does not decode")
        }
        return FleetHost(id: id, hostname: hostname, organisation: org, hostGroup: row["host_group"].text, state: state,
                         checks: row["posture_checks"].int ?? 0, failing: row["posture_failing"].int ?? 0,
                         lastSeenAt: row["last_seen_at"].text, postureAt: row["posture_at"].text, tamperedAt: row["tampered_at"].text,
                         failingSince: row["failing_since"].text)
    }

    /// Hosts named `name` (a host id or a hostname) among `organisations`.
    public func fleetHosts(named name: String, organisations: [Organisation], staleBefore: Timestamp) async throws -> [FleetHost] {
        guard !organisations.isEmpty else { return [] }
        let orgList = organisations.map { _ in "?" }.joined(separator: ", ")
        let rows = try await database.query(
            "SELECT \(Self.fleetHostColumns), \(FleetHostState.sql) AS state FROM hosts WHERE (id = ? OR hostname = ?) AND org IN (\(orgList)) ORDER BY id",
            [.text(staleBefore.description), .text(name), .text(name)] + organisations.map { .text($0.rawValue) })
        return try rows.map(Self.decodeFleetHost)
    }

    public func postureChecks(hostId: String) async throws -> [FleetCheckState] {
        let rows = try await database.query(
            "SELECT check_id, title, clause, status, evidence, since, updated_at FROM posture_current WHERE host_id = ? ORDER BY check_id",
            [.text(hostId)])
        return rows.compactMap { row in
            guard let id = row["check_id"].text, let status = row["status"].text, let since = row["since"].text else { return nil }
            return FleetCheckState(id: id, title: row["title"].text ?? "", clause: row["clause"].text, status: status,
                                   evidence: row["evidence"].text ?? "", since: since, updatedAt: row["updated_at"].text)
        }
    }

    /// Each check's status at `time`, from the history: the last change at or before it.
    /// Checks removed by then are left out.
    public func postureChecks(hostId: String, at time: Timestamp) async throws -> [FleetCheckState] {
        let rows = try await database.query("""
            SELECT check_id, title, clause, status, evidence, changed_at FROM posture_history
            WHERE host_id = ? AND changed_at <= ? ORDER BY check_id, changed_at, seq
            """, [.text(hostId), .text(time.description)])
        var latest: [String: FleetCheckState] = [:]
        for row in rows {
            guard let id = row["check_id"].text, let status = row["status"].text, let changed = row["changed_at"].text else { continue }
            latest[id] = FleetCheckState(id: id, title: row["title"].text ?? "", clause: row["clause"].text, status: status,
                                         evidence: row["evidence"].text ?? "", since: changed, updatedAt: nil)
        }
        return latest.values.filter { $0.status != "removed" }.sorted { $0.id < $1.id }
    }

    /// The last `limit` records the collector holds for a host: seq, time and kind.
    public func recentEvents(hostId: String, limit: Int) async throws -> [(seq: Int64, time: String, kind: String, detail: String?)] {
        let rows = try await database.query(
            "SELECT lines FROM journal_batches WHERE host_id = ? ORDER BY first_seq DESC LIMIT 2", [.text(hostId)])
        var events: [(seq: Int64, time: String, kind: String, detail: String?)] = []
        for row in rows.reversed() {
            guard let lines = row["lines"].text else { continue }
            // A batch may hold tens of thousands of records: decode only its last `limit`.
            for line in lines.split(separator: "\n").suffix(limit) {
                guard let record = try? JournalLineParser.decode(Array(line.utf8)) else { continue }
                events.append((Int64(record.seq), record.time.description, record.kind, Self.eventDetail(record.kind, record.payload)))
            }
        }
        return Array(events.suffix(limit))
    }

    /// A one-line summary of a media decision for people: device, the name the device claims,
    /// its ids, the decision and the rule (`/dev/sdb SanDisk Ultra Fit 0781:5583:4C530001 read-only default:usb-storage`).
    static func eventDetail(_ kind: String, _ payload: [String: JSONValue]) -> String? {
        guard kind.hasPrefix("media.") else { return nil }
        if kind.hasPrefix("media.grant-") {
            // `grt-… 0781:5583:4C530001 read-write until 2026-12-03T13:00:00Z ref R8-0142` (and why, for a refusal).
            let device = "\(payload["usb_vendor"]?.stringValue ?? "*"):\(payload["usb_product"]?.stringValue ?? "*"):\(payload["usb_serial"]?.stringValue ?? "?")"
            var parts = [payload["grant"]?.stringValue ?? "?", device]
            if let mode = payload["mode"]?.stringValue { parts.append(mode) }
            if let expires = payload["expires"]?.stringValue { parts.append("until \(expires)") }
            if let ref = payload["ref"]?.stringValue { parts.append("ref \(ref)") }
            if let code = payload["code"]?.stringValue { parts.append("refused: \(code)") }
            return parts.joined(separator: " ")
        }
        let name = [payload["usb_vendor_name"]?.stringValue, payload["usb_model_name"]?.stringValue].compactMap { $0 }.joined(separator: " ")
        var ids: String?
        if let vendor = payload["usb_vendor"]?.stringValue, let product = payload["usb_product"]?.stringValue {
            ids = "\(vendor):\(product):\(payload["usb_serial"]?.stringValue ?? "-")"
        }
        let parts = [payload["device"]?.stringValue, name.isEmpty ? nil : name, ids, payload["decision"]?.stringValue, payload["rule"]?.stringValue]
            .compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
}
