import Crypto
import Logging
public import MamoriCore

/// A request as the handlers see it: HTTP details stay in CollectorServer.
public struct CollectorRequest: Sendable {
    public var method: String
    public var path: String
    /// Lower-case header names.
    public var headers: [String: String]
    public var body: [UInt8]
    /// Query parameters, percent-decoded (the last one wins when a name repeats).
    public var query: [String: String]
    /// The peer's IP address (no port), when the transport knows it.
    public var sourceAddress: String?

    public init(method: String, path: String, headers: [String: String], body: [UInt8], query: [String: String] = [:],
                sourceAddress: String? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.query = query
        self.sourceAddress = sourceAddress
    }
}

public struct CollectorResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String = "application/json", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func json(_ status: Int, _ value: JSONValue) -> CollectorResponse {
        CollectorResponse(status: status, body: value.canonicalBytes + [0x0A])
    }

    public static func error(_ error: CollectorError, extra: [String: JSONValue] = [:]) -> CollectorResponse {
        var members = extra
        members["error"] = .string(error.code)
        members["reason"] = .string(error.reason)
        return .json(error.status, .object(members))
    }
}

extension CollectorService {
    // MARK: Health and metrics

    /// Open to anyone (a load balancer's probe), so it says only ok or unavailable: no
    /// version, no error text (the log has the reason).
    public func health() async -> CollectorResponse {
        do {
            try await store.database.query("SELECT 1 AS ok", [])
            return .json(200, .object(["status": .string("ok")]))
        } catch {
            logger.error("health check: the database is unavailable", metadata: ["error": "\(error)"])
            return .json(503, .object(["status": .string("unavailable")]))
        }
    }

    /// `/metrics` answers only a scraper presenting the configured bearer token (compared by
    /// SHA-256 in constant time); with no token configured it answers nobody.
    public func metricsText(_ request: CollectorRequest) async throws -> CollectorResponse {
        guard let expected = limits.metricsTokenSHA256 else {
            throw CollectorError.forbidden("metrics are disabled: start the collector with --metrics-token-file")
        }
        let header = request.headers["authorization"] ?? ""
        guard header.hasPrefix("Bearer "),
              ConstantTime.equal(Array(SHA256.hash(data: Array(header.dropFirst("Bearer ".count).utf8))), expected) else {
            metrics.recordRejectedRequest(reason: "metrics-token")
            throw CollectorError.unauthorized("/metrics needs the scrape token: Authorization: Bearer TOKEN")
        }
        return await metricsText()
    }

    func metricsText() async -> CollectorResponse {
        if let counts = try? await store.hostCountsByStatus(staleBefore: now().adding(seconds: -limits.staleAfterSeconds)) {
            metrics.setHosts(counts)
        }
        return CollectorResponse(status: 200, contentType: "text/plain; version=0.0.4", body: Array(metrics.render().utf8))
    }

    // MARK: Enrolment

    /// POST /v1/enrol {"token","hostname","public_key","k0"}: spends a one-time token.
    public func enrol(_ request: CollectorRequest) async throws -> CollectorResponse {
        let body = try StrictObject(parsing: request.body, allowed: ["token", "hostname", "public_key", "k0"])
        let token = try body.string("token")
        let hostname = try body.string("hostname")
        guard (1...253).contains(hostname.utf8.count), hostname.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw CollectorError.badRequest("`hostname` must be 1 to 253 printable ASCII characters")
        }
        let publicKey = try body.hexBytes("public_key", count: 32)
        guard (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)) != nil else {
            throw CollectorError.badRequest("`public_key` is not an Ed25519 public key")
        }
        let k0 = EpochKey(epoch: 0, keyBytes: try body.hexBytes("k0", count: 32))
        let host = try await store.enrol(token: token, hostname: hostname, publicKeyHex: Hex.encode(publicKey), k0: k0, box: box, now: now())
        logger.info("host enrolled", metadata: ["host": "\(host.id)", "hostname": "\(hostname)", "org": "\(host.organisation.rawValue)"])
        var members: [String: JSONValue] = [
            "host_id": .string(host.id),
            "organisation": .string(host.organisation.rawValue),
            "receipt_key": .string(Hex.encode(receiptKey.publicKey.rawRepresentation)),
        ]
        if let group = host.hostGroup { members["host_group"] = .string(group) }
        // The agent pins this (over the CA it already pinned) unless it was given one out of band.
        if let profileRoot { members["profile_root"] = .string(profileRoot.hex) }
        return .json(201, .object(members))
    }

    // MARK: Agent requests

    /// Checks an agent request's signature, time and request number. Forged and replayed requests
    /// are kept as evidence with an alert; neither does any work.
    /// - Parameter acceptNumber: false when the caller accepts the request number itself, in the
    ///   same commit as its write (journal batches).
    public func authenticateAgent(_ request: CollectorRequest, acceptNumber: Bool = true) async throws -> HostRecord {
        guard let hostId = request.headers[CollectorWire.hostHeader], let numberText = request.headers[CollectorWire.requestHeader],
              let signatureText = request.headers[CollectorWire.signatureHeader] else {
            metrics.recordRejectedRequest(reason: "unsigned")
            throw CollectorError.unauthorized("agent requests carry Mamori-Host, Mamori-Request and Mamori-Signature headers")
        }
        guard let number = Int64(numberText), let signature = Hex.decode(signatureText), signature.count == 64 else {
            metrics.recordRejectedRequest(reason: "malformed-signature")
            throw CollectorError.unauthorized("Mamori-Request must be an integer and Mamori-Signature 64 bytes of hex")
        }
        guard let host = try await store.host(id: hostId), let key = host.publicKey else {
            metrics.recordRejectedRequest(reason: "unknown-host")
            throw CollectorError.unauthorized("unknown host \(hostId)")
        }
        let message = CollectorWire.requestMessage(method: request.method, path: request.path, host: hostId, request: number, body: request.body)
        let time = now()
        guard key.isValidSignature(signature, for: message) else {
            metrics.recordRejectedRequest(reason: "bad-signature")
            // Host ids are not secret: failed authentications are limited per claimed host and
            // per source address before anything is written, and only a prefix of the body is kept.
            guard failureLimiter.allow("host:" + hostId, now: time),
                  failureLimiter.allow("address:" + (request.sourceAddress ?? "unknown"), now: time) else {
                metrics.recordRejectedRequest(reason: "rate-limit")
                throw CollectorError.tooManyRequests("too many requests that fail authentication for \(hostId) or from this address; slow down")
            }
            try await store.raiseAlert(host: host, kind: "forgery", failure: "bad-request-signature", seq: nil,
                                       detail: "\(request.method) \(request.path) signed with a key that is not the host's"
                                           + (request.sourceAddress.map { " (from \($0))" } ?? ""),
                                       route: request.path, body: request.body, keep: .prefix, now: time)
            throw CollectorError.unauthorized("the request signature does not verify under the host's key")
        }
        guard rateLimiter.allow(hostId, now: time) else {
            metrics.recordRejectedRequest(reason: "rate-limit")
            throw CollectorError.tooManyRequests("more than \(Int(limits.requestsPerSecondPerHost)) requests per second from \(hostId); slow down")
        }
        let skew = number - time.microsecondsSinceEpoch
        guard abs(skew) <= CollectorWire.requestWindowMicroseconds else {
            try await refuseReplay(host, request, time, "the request is \(skew / 1_000_000) s from the collector's clock (window ±300 s)")
        }
        if acceptNumber, !(try await store.acceptRequestNumber(hostId: hostId, request: number, now: time)) {
            try await refuseReplay(host, request, time, Self.replayDetail(number))
        }
        return host
    }

    static func replayDetail(_ number: Int64) -> String {
        "request number \(number) is not above the last one accepted from this host"
    }

    func refuseReplay(_ host: HostRecord, _ request: CollectorRequest, _ time: Timestamp, _ detail: String) async throws -> Never {
        metrics.recordRejectedRequest(reason: "replay")
        let alert = try await store.raiseAlert(host: host, kind: "replay", failure: "replayed-request", seq: nil, detail: detail,
                                               route: request.path, body: request.body, keep: .prefix, now: time)
        logger.warning("replayed request refused", metadata: ["host": "\(host.id)", "alert": "\(alert.id)"])
        throw CollectorError.conflict("replayed request refused: \(detail)")
    }

    /// POST /v1/agent/journal: a batch of journal lines.
    public func ingestJournal(_ request: CollectorRequest) async throws -> CollectorResponse {
        let host = try await authenticateAgent(request, acceptNumber: false)
        let time = now()
        let number = Int64(request.headers[CollectorWire.requestHeader] ?? "")
        let outcome: IngestOutcome
        do {
            outcome = try await ingest.ingest(host: host, body: request.body, requestNumber: number, now: time)
        } catch let replay as ReplayedRequest {
            try await refuseReplay(host, request, time, Self.replayDetail(replay.number))
        }
        switch outcome {
        case .stored(let head, let newRecords, let duplicate):
            var receipt = IngestReceipt(host: host.id, head: head, stored: newRecords, duplicate: duplicate, receivedAt: time)
            try receipt.sign(with: receiptKey)
            return .json(200, receipt.json)
        case .tampered(let failure, let alertId, let head):
            logger.warning("tampered batch refused", metadata: ["host": "\(host.id)", "kind": "\(failure.kind.rawValue)",
                                                                "seq": "\(failure.seq)", "alert": "\(alertId)"])
            var extra: [String: JSONValue] = [
                "kind": .string(failure.kind.rawValue), "seq": .int(Int64(failure.seq)), "detail": .string(failure.detail),
                "alert": .string(alertId),
            ]
            if let head {
                extra["head_seq"] = .int(Int64(head.seq))
                extra["head_hash"] = .string(head.hash.hex)
            }
            return .error(.unprocessable("the batch does not verify as a continuation of this host's journal: \(failure.kind.rawValue) at seq \(failure.seq)"),
                          extra: extra)
        case .foreignHost(let seq, let detail, let alertId, let head):
            logger.warning("record naming another host refused", metadata: ["host": "\(host.id)", "seq": "\(seq)", "alert": "\(alertId)"])
            var extra: [String: JSONValue] = [
                "kind": .string("foreign-host"), "seq": .int(Int64(seq)),
                "detail": .string(detail),
                "alert": .string(alertId),
            ]
            if let head {
                extra["head_seq"] = .int(Int64(head.seq))
                extra["head_hash"] = .string(head.hash.hex)
            }
            return .error(.unprocessable("the batch holds a record of another host: foreign-host at seq \(seq)"), extra: extra)
        }
    }

    /// GET /v1/agent/head: where the agent's next batch must start.
    public func agentHead(_ request: CollectorRequest) async throws -> CollectorResponse {
        let host = try await authenticateAgent(request)
        return .json(200, .object(["next_seq": .int(Int64(host.point.nextSeq)), "head_hash": .string(host.point.prev.hex)]))
    }

    /// GET /v1/agent/profile: the newest signed profile for the host's organisation and group.
    public func agentProfile(_ request: CollectorRequest) async throws -> CollectorResponse {
        let host = try await authenticateAgent(request)
        guard let newest = try await store.newestProfile(organisation: host.organisation, hostGroup: host.hostGroup) else {
            throw CollectorError.notFound("no profile has been pushed for \(host.organisation.rawValue)")
        }
        return CollectorResponse(status: 200, body: Array(newest.envelope.utf8))
    }

    // MARK: Admin requests

    public func authenticateAdmin(_ request: CollectorRequest, roles: Set<AdminRole>) async throws -> AdminPrincipal {
        guard let header = request.headers["authorization"], header.hasPrefix("Bearer ") else {
            throw CollectorError.unauthorized("admin requests carry `Authorization: Bearer TOKEN`")
        }
        guard let principal = try await store.adminPrincipal(token: String(header.dropFirst(7))) else {
            metrics.recordRejectedRequest(reason: "bad-admin-token")
            throw CollectorError.unauthorized("unknown or revoked admin token")
        }
        guard roles.contains(principal.role) else {
            throw CollectorError.forbidden("role \(principal.role.rawValue) may not do this")
        }
        return principal
    }

    /// POST /v1/admin/enroll-tokens {"org","group"?,"expires_seconds"?}.
    public func createEnrollToken(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authenticateAdmin(request, roles: FleetPermission.enrol.roles)
        let body = try StrictObject(parsing: request.body, allowed: ["org", "group", "expires_seconds"])
        let orgText = try body.string("org")
        guard let org = Organisation(identifierOrName: orgText) else {
            throw CollectorError.badRequest("unknown organisation `\(orgText)` (one of \(Organisation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        // Enrolment reveals none of the organisation's results, so it follows the token's
        // coverage (a ward-wide token enrols 区議会 terminals too), not the detail rule.
        guard principal.covers(org) else { throw CollectorError.forbidden("this token does not cover \(org.rawValue)") }
        let group = try body.optionalString("group")
        if let group, !(1...64).contains(group.utf8.count) || group.contains(",") {
            throw CollectorError.badRequest("`group` must be 1 to 64 characters without commas")
        }
        let seconds = try body.optionalInt("expires_seconds") ?? 86400
        guard (60...(90 * 86400)).contains(seconds) else { throw CollectorError.badRequest("`expires_seconds` must be between 60 and 7776000 (90 days)") }
        let time = now()
        let expires = time.adding(seconds: seconds)
        let created = try await store.createEnrollToken(organisation: org, hostGroup: group, expires: expires, createdBy: principal.id, now: time)
        var members: [String: JSONValue] = ["id": .string(created.id), "token": .string(created.token), "org": .string(org.rawValue),
                                            "expires_at": .string(expires.description)]
        if let group { members["group"] = .string(group) }
        return .json(201, .object(members))
    }

    /// POST /v1/admin/profiles: a signed envelope, verified here before any agent sees it.
    public func pushProfile(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authenticateAdmin(request, roles: FleetPermission.pushProfiles.roles)
        guard let root = profileRoot else {
            throw CollectorError.conflict("this collector has no profile root key (init --profile-root ROOT.pub); it cannot verify profiles")
        }
        switch ProfileVerifier.verify(request.body, pinnedRoot: root, now: now()) {
        case .failure(let rejection):
            return .error(.unprocessable("profile rejected: \(rejection.description)"), extra: ["code": .string(rejection.code)])
        case .success(let verified):
            guard principal.covers(verified.profile.scope.organisation) else {
                throw CollectorError.forbidden("this token does not cover \(verified.profile.scope.organisation.rawValue)")
            }
            let id = try await store.storeProfile(verified, envelope: request.body, uploadedBy: principal.id, now: now())
            return .json(201, .object(["id": .string(id), "org": .string(verified.profile.scope.organisation.rawValue),
                                       "version": .int(verified.profile.version), "sha256": .string(verified.sha256.hex)]))
        }
    }

    /// GET /v1/admin/hosts.
    public func listHosts(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authenticateAdmin(request, roles: FleetPermission.readFleet.roles)
        let hosts = try await store.hosts(organisations: principal.detailOrganisations)
        return .json(200, .object(["hosts": .array(hosts.map { host in
            var members: [String: JSONValue] = [
                "id": .string(host.id), "hostname": .string(host.hostname), "org": .string(host.organisation.rawValue),
                "records": .int(host.records), "next_seq": .int(Int64(host.point.nextSeq)), "head_hash": .string(host.point.prev.hex),
            ]
            if let group = host.hostGroup { members["group"] = .string(group) }
            if let seen = host.lastSeenAt { members["last_seen_at"] = .string(seen) }
            if let tampered = host.tamperedAt { members["tampered_at"] = .string(tampered) }
            return .object(members)
        })]))
    }

    /// GET /v1/admin/alerts[?since=TIME]: auditors and admins; only alerts of organisations the
    /// token sees in detail (区議会's only with a token scoped to it).
    public func listAlerts(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authenticateAdmin(request, roles: FleetPermission.readAudit.roles)
        let since = try request.timeParameter("since")
        let alerts = try await store.alerts(visibleTo: principal, since: since)
        return .json(200, .object(["alerts": .array(alerts.map(\.json))]))
    }
}

extension CollectorAlert {
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id), "kind": .string(kind), "failure": .string(failure),
            "detail": .string(detail), "created_at": .string(createdAt),
        ]
        if let hostId { members["host"] = .string(hostId) }
        if let organisation { members["org"] = .string(organisation) }
        if let seq { members["seq"] = .int(seq) }
        if let evidenceId { members["evidence"] = .string(evidenceId) }
        if let acknowledgedAt { members["acknowledged_at"] = .string(acknowledgedAt) }
        if let acknowledgedBy { members["acknowledged_by"] = .string(acknowledgedBy) }
        if let acknowledgementReason { members["ack_reason"] = .string(acknowledgementReason) }
        members["occurrences"] = .int(occurrences)
        if let lastAt { members["last_at"] = .string(lastAt) }
        return .object(members)
    }
}
