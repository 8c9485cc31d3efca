import Hummingbird
import HummingbirdTLS
import Logging
import MamoriCore
import NIOCore
import NIOSSL

/// The HTTPS server: Hummingbird 2 on SwiftNIO with TLS from the collector's data directory.
public struct CollectorServer: Sendable {
    public let service: CollectorService
    public let data: CollectorData
    public var host: String
    public var port: Int

    public init(service: CollectorService, data: CollectorData, host: String, port: Int) {
        self.service = service
        self.data = data
        self.host = host
        self.port = port
    }

    /// Serves until cancelled or until SIGTERM/SIGINT; `onRunning` gets the bound port (port 0
    /// picks a free one, for tests).
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router(context: CollectorRequestContext.self)
        let service = self.service
        route(router, .get, "/healthz", "healthz") { _ in await service.health() }
        route(router, .get, "/metrics", "metrics") { try await service.metricsText($0) }
        route(router, .post, "/v1/enrol", "enrol", limit: service.limits.maxAdminBodyBytes) { try await service.enrol($0) }
        route(router, .post, "/v1/agent/journal", "agent-journal", limit: service.limits.maxBodyBytes) { try await service.ingestJournal($0) }
        route(router, .get, "/v1/agent/head", "agent-head") { try await service.agentHead($0) }
        route(router, .get, "/v1/agent/profile", "agent-profile") { try await service.agentProfile($0) }
        route(router, .get, "/v1/agent/grants", "agent-grants") { try await service.agentGrants($0) }
        route(router, .post, "/v1/admin/enroll-tokens", "admin-enroll-tokens", limit: service.limits.maxAdminBodyBytes) {
            try await service.createEnrollToken($0)
        }
        route(router, .post, "/v1/admin/profiles", "admin-profiles", limit: service.limits.maxAdminBodyBytes) { try await service.pushProfile($0) }
        route(router, .post, "/v1/admin/grants", "admin-grants", limit: service.limits.maxAdminBodyBytes) { try await service.pushGrant($0) }
        route(router, .post, "/v1/admin/grants/revoke", "admin-grants-revoke") { try await service.revokeGrant($0) }
        route(router, .get, "/v1/admin/grants", "admin-grants-list") { try await service.listGrants($0) }
        route(router, .get, "/v1/admin/fleet/devices", "fleet-devices") { try await service.hostDevices($0) }
        route(router, .get, "/v1/admin/hosts", "admin-hosts") { try await service.listHosts($0) }
        route(router, .get, "/v1/admin/alerts", "admin-alerts") { try await service.listAlerts($0) }
        route(router, .post, "/v1/admin/alerts/ack", "admin-alerts-ack") { try await service.acknowledgeAlert($0) }
        route(router, .get, "/v1/admin/fleet/summary", "fleet-summary") { try await service.fleetSummary($0) }
        route(router, .get, "/v1/admin/fleet/hosts", "fleet-hosts") { try await service.fleetHosts($0) }
        route(router, .get, "/v1/admin/fleet/host", "fleet-host") { try await service.fleetHost($0) }
        route(router, .get, "/v1/admin/fleet/history", "fleet-history") { try await service.fleetHistory($0) }
        route(router, .post, "/v1/admin/fleet/scope", "fleet-scope") { try await service.setHostScope($0) }
        route(router, .get, "/v1/admin/fleet/report", "fleet-report") { try await service.fleetReport($0) }
        route(router, .get, "/v1/admin/tokens", "admin-tokens") { try await service.listAdminTokens($0) }
        route(router, .post, "/v1/admin/tokens", "admin-tokens-create") { try await service.createAdminToken($0) }
        route(router, .post, "/v1/admin/tokens/revoke", "admin-tokens-revoke") { try await service.revokeAdminToken($0) }

        let chain = try NIOSSLCertificate.fromPEMFile(data.serverCertificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: data.serverKeyPath, format: .pem)
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        let app = Application(
            router: router,
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(service.limits.idleTimeoutSeconds))), tlsConfiguration: tls),
            configuration: .init(address: .hostname(host, port: port), serverName: "mamori-collector"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: service.logger)
        try await app.runService()
    }

    /// Registers a route whose handler sees a CollectorRequest; errors become JSON with a reason,
    /// and every request is timed into the latency histogram.
    func route(_ router: Router<CollectorRequestContext>, _ method: HTTPRequest.Method, _ path: String, _ name: String,
               limit: Int = 64 << 10, _ handler: @escaping @Sendable (CollectorRequest) async throws -> CollectorResponse) {
        let service = self.service
        router.on(RouterPath(path), method: method) { request, context -> Response in
            let started = ContinuousClock.now
            let response = await Self.respond(request, source: context.sourceAddress, limit: limit, service: service, handler)
            service.metrics.recordRequest(route: name, status: response.status, duration: ContinuousClock.now - started)
            var headers = HTTPFields()
            headers[.contentType] = response.contentType
            return Response(status: HTTPResponse.Status(code: response.status), headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.body)))
        }
    }

    static func respond(_ request: Request, source: String?, limit: Int, service: CollectorService,
                        _ handler: @Sendable (CollectorRequest) async throws -> CollectorResponse) async -> CollectorResponse {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch {
            service.metrics.recordRejectedRequest(reason: "too-large")
            return .error(.tooLarge("the body is larger than \(limit) bytes"))
        }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let collectorRequest = CollectorRequest(method: request.method.rawValue, path: request.uri.path, headers: headers,
                                                body: Array(buffer: body), query: query, sourceAddress: source)
        do {
            return try await handler(collectorRequest)
        } catch let error as CollectorError {
            return .error(error)
        } catch let error as WireError {
            return .error(.badRequest(error.reason))
        } catch {
            service.logger.error("request failed", metadata: ["path": "\(collectorRequest.path)", "error": "\(error)"])
            return .error(.internalError("the collector could not complete the request; see its log"))
        }
    }
}

/// Hummingbird's basic context plus the peer's address, for per-address rate limits and alerts.
struct CollectorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer's IP address, without the port.
    let sourceAddress: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        sourceAddress = source.channel.remoteAddress?.ipAddress
    }
}
