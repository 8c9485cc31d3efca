public import MamoriCore
import Logging

extension AdminTokenInfo {
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id), "role": .string(role.rawValue), "label": .string(label), "created_at": .string(createdAt),
            "orgs": organisations.map { .array($0.map { .string($0.rawValue) }) } ?? .string("*"),
        ]
        if let createdBy { members["created_by"] = .string(createdBy) }
        if let revokedAt { members["revoked_at"] = .string(revokedAt) }
        if let revokedBy { members["revoked_by"] = .string(revokedBy) }
        return .object(members)
    }
}

extension CollectorService {
    /// GET /v1/admin/tokens: the tokens this admin manages (those within its scopes).
    public func listAdminTokens(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .manageTokens)
        let tokens = try await store.adminTokens().filter { principal.manages(scope: $0.organisations) }
        return .json(200, .object(["tokens": .array(tokens.map(\.json))]))
    }

    /// POST /v1/admin/tokens {"role","orgs"?,"label"}: a new token, only within the creator's
    /// scopes (a ward-wide admin cannot create a 区議会 token; the bootstrap
    /// `mamori-collector admin-token` on the collector's host can).
    public func createAdminToken(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .manageTokens)
        let body = try StrictObject(parsing: request.body, allowed: ["role", "orgs", "label"])
        let roleText = try body.string("role")
        guard let role = AdminRole(rawValue: roleText) else { throw CollectorError.badRequest("`role` must be admin, auditor or viewer") }
        let label = try body.string("label")
        guard (1...100).contains(label.utf8.count) else { throw CollectorError.badRequest("`label` must be 1 to 100 bytes") }
        var scope: [Organisation]?
        if let list = body.members["orgs"], list != .null {
            guard let items = list.arrayValue, !items.isEmpty else { throw CollectorError.badRequest("`orgs` must be a non-empty array") }
            scope = try items.map { item in
                guard let text = item.stringValue, let org = Organisation(identifierOrName: text) else {
                    throw CollectorError.badRequest("unknown organisation in `orgs`")
                }
                return org
            }
        }
        guard principal.manages(scope: scope) else {
            throw CollectorError.forbidden("a token may only be created within the creator's own organisations")
        }
        let created = try await store.createAdminToken(role: role, organisations: scope, label: label,
                                                       createdBy: "\(principal.id) (\(principal.label))", now: now())
        logger.notice("admin token created", metadata: ["id": "\(created.id)", "role": "\(role.rawValue)", "by": "\(principal.id)"])
        return .json(201, .object(["id": .string(created.id), "token": .string(created.token), "role": .string(role.rawValue),
                                   "orgs": scope.map { .array($0.map { .string($0.rawValue) }) } ?? .string("*"), "label": .string(label)]))
    }

    /// POST /v1/admin/tokens/revoke {"id"}: 404 for tokens outside the admin's scopes.
    public func revokeAdminToken(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .manageTokens)
        let id = try StrictObject(parsing: request.body, allowed: ["id"]).string("id")
        guard let token = try await store.adminTokens().first(where: { $0.id == id }), principal.manages(scope: token.organisations) else {
            throw CollectorError.notFound("no token \(id)")
        }
        guard try await store.revokeAdminToken(id: id, by: "\(principal.id) (\(principal.label))", now: now()) else {
            throw CollectorError.conflict("token \(id) is already revoked")
        }
        logger.notice("admin token revoked", metadata: ["id": "\(id)", "by": "\(principal.id)"])
        return .json(200, .object(["id": .string(id), "revoked": .bool(true)]))
    }
}
