import AsyncHTTPClient
public import Crypto
import Foundation
public import MamoriCore
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// An HTTPS client of the collector that trusts only the collector's CA (pinned at enrolment).
/// Used by mamorictl, the load generator, the tests, and later the agent's shipper.
public final class CollectorClient: Sendable {
    public let baseURL: String
    let http: HTTPClient
    public let timeoutSeconds: Int64
    public static let maxResponseBytes = 16 << 20

    /// - Parameter caPEM: the collector's CA certificate (DATA/tls/ca.pem).
    public init(baseURL: String, caPEM: String, connectionsPerHost: Int = 8, timeoutSeconds: Int64 = 30) throws {
        self.timeoutSeconds = timeoutSeconds
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        tls.minimumTLSVersion = .tlsv12
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public convenience init(baseURL: String, caFile: String, connectionsPerHost: Int = 8) throws {
        let pem: String
        do {
            pem = try String(contentsOfFile: caFile, encoding: .utf8)
        } catch {
            throw CollectorClientError.transport("cannot read the collector CA \(caFile): \(error.localizedDescription)")
        }
        try self.init(baseURL: baseURL, caPEM: pem, connectionsPerHost: connectionsPerHost)
    }

    public func shutdown() async throws { try await http.shutdown() }

    /// One request; the status and body whatever the status (callers decide what is an error).
    public func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> ClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "content-type", value: "application/json")
            }
        }
        do {
            let response = try await http.execute(request, timeout: .seconds(timeoutSeconds))
            let bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
            return ClientResponse(status: Int(response.status.code), body: Array(buffer: bytes))
        } catch let error as HTTPClientError {
            throw CollectorClientError.transport("\(method) \(path): \(error)")
        }
    }

    // MARK: Admin

    public func admin(_ method: String, _ path: String, token: String, body: [UInt8]? = nil) async throws -> ClientResponse {
        try await send(method, path, headers: [("authorization", "Bearer " + token)], body: body)
    }

    public func createEnrollToken(adminToken: String, organisation: String, group: String?, expiresSeconds: Int64?) async throws -> JSONValue {
        var members: [String: JSONValue] = ["org": .string(organisation)]
        if let group { members["group"] = .string(group) }
        if let expiresSeconds { members["expires_seconds"] = .int(expiresSeconds) }
        return try await admin("POST", "/v1/admin/enroll-tokens", token: adminToken, body: JSONValue.object(members).canonicalBytes).json(expect: 201)
    }

    public func pushProfile(adminToken: String, envelope: [UInt8]) async throws -> JSONValue {
        try await admin("POST", "/v1/admin/profiles", token: adminToken, body: envelope).json(expect: 201)
    }

    // MARK: Agent

    /// Registers a host with a one-time token; returns its identity for signed requests.
    public func enrol(token: String, hostname: String, hostKey: Curve25519.Signing.PrivateKey, k0: EpochKey) async throws -> AgentIdentity {
        try await enrolDetailed(token: token, hostname: hostname, hostKey: hostKey, k0: k0).identity
    }

    /// The same, with the collector's profile root key (nil when it has none) for the agent to pin.
    public func enrolDetailed(token: String, hostname: String, hostKey: Curve25519.Signing.PrivateKey, k0: EpochKey) async throws -> AgentEnrolment {
        let body = JSONValue.object([
            "token": .string(token), "hostname": .string(hostname),
            "public_key": .string(Hex.encode(hostKey.publicKey.rawRepresentation)), "k0": .string(Hex.encode(k0.keyBytes)),
        ])
        let reply = try StrictObject(try await send("POST", "/v1/enrol", body: body.canonicalBytes).json(expect: 201),
                                     allowed: ["host_id", "organisation", "host_group", "receipt_key", "profile_root"])
        let receiptKey = try reply.hexBytes("receipt_key", count: 32)
        var profileRoot: ProfilePublicKey?
        if let text = try reply.optionalString("profile_root") {
            guard let key = ProfilePublicKey(hex: text) else { throw CollectorClientError.badResponse("`profile_root` is not a public key") }
            profileRoot = key
        }
        let identity = AgentIdentity(hostId: try reply.string("host_id"), organisation: try reply.string("organisation"),
                                     hostGroup: try reply.optionalString("host_group"), key: hostKey,
                                     receiptKey: try Curve25519.Signing.PublicKey(rawRepresentation: receiptKey))
        return AgentEnrolment(identity: identity, profileRoot: profileRoot)
    }

    /// A request signed with the host key and numbered from the agent's clock. One host's signed
    /// requests go out one at a time: the collector refuses a number not above the last it accepted,
    /// so two in flight at once (the shipper's and the profile fetcher's) could arrive in the wrong
    /// order and the later-numbered one would look like a replay.
    public func signed(_ method: String, _ path: String, identity: AgentIdentity, body: [UInt8] = [],
                       contentType: String = "application/x-ndjson", requestNumber: Int64? = nil) async throws -> ClientResponse {
        await identity.gate.acquire()
        do {
            let response = try await sendSigned(method, path, identity: identity, body: body, contentType: contentType, requestNumber: requestNumber)
            await identity.gate.release()
            return response
        } catch {
            await identity.gate.release()
            throw error
        }
    }

    func sendSigned(_ method: String, _ path: String, identity: AgentIdentity, body: [UInt8],
                    contentType: String, requestNumber: Int64?) async throws -> ClientResponse {
        let number = requestNumber ?? identity.nextRequestNumber()
        let signature = try CollectorWire.signRequest(method: method, path: path, host: identity.hostId, request: number, body: body,
                                                      key: identity.key)
        var headers = [(CollectorWire.hostHeader, identity.hostId), (CollectorWire.requestHeader, String(number)),
                       (CollectorWire.signatureHeader, signature)]
        if !body.isEmpty { headers.append(("content-type", contentType)) }
        return try await send(method, path, headers: headers, body: body.isEmpty ? nil : body)
    }

    /// Ships journal lines (each ending in a newline). A receipt that does not verify under the
    /// collector's receipt key is an error: the agent must not prune against it.
    public func shipJournal(identity: AgentIdentity, lines: [UInt8]) async throws -> ShipResult {
        let response = try await signed("POST", "/v1/agent/journal", identity: identity, body: lines)
        switch response.status {
        case 200:
            let receipt = try IngestReceipt(json: try response.json(expect: 200))
            guard receipt.isValid(under: identity.receiptKey), receipt.host == identity.hostId else {
                throw CollectorClientError.badReceipt("the receipt is not signed by the collector this host enrolled with")
            }
            return .stored(receipt)
        case 422:
            return .refused(try response.json(expect: 422))
        default:
            throw CollectorClientError.status(response.status, response.reason)
        }
    }
}

public struct AgentEnrolment: Sendable {
    public var identity: AgentIdentity
    public var profileRoot: ProfilePublicKey?
}

public enum ShipResult: Sendable {
    case stored(IngestReceipt)
    /// Refused as tampering: the collector's explanation (kind, seq, detail, alert).
    case refused(JSONValue)
}

/// A host's enrolment: its id, its key, and the collector's receipt key.
public final class AgentIdentity: Sendable {
    public let hostId: String
    public let organisation: String
    public let hostGroup: String?
    public let key: Curve25519.Signing.PrivateKey
    public let receiptKey: Curve25519.Signing.PublicKey
    let lastNumber = Mutex<Int64>(0)
    /// Serialises this host's signed requests (see `CollectorClient.signed`).
    let gate = SerialGate()

    public init(hostId: String, organisation: String, hostGroup: String?, key: Curve25519.Signing.PrivateKey,
                receiptKey: Curve25519.Signing.PublicKey) {
        self.hostId = hostId
        self.organisation = organisation
        self.hostGroup = hostGroup
        self.key = key
        self.receiptKey = receiptKey
    }

    /// The clock in microseconds, strictly above the last number used.
    public func nextRequestNumber() -> Int64 {
        let clock = Int64(Date().timeIntervalSince1970 * 1_000_000)
        return lastNumber.withLock { last in
            last = max(clock, last + 1)
            return last
        }
    }
}

public struct ClientResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The collector's `reason`, or the body text.
    public var reason: String {
        (try? JSONValue.parse(body))?["reason"]?.stringValue ?? text
    }

    public func json(expect status: Int) throws -> JSONValue {
        guard self.status == status else { throw CollectorClientError.status(self.status, reason) }
        do {
            return try JSONValue.parse(body)
        } catch {
            throw CollectorClientError.badResponse("the collector's reply is not JSON: \(error.description)")
        }
    }
}

public enum CollectorClientError: Error, Sendable, CustomStringConvertible, Equatable {
    case transport(String)
    case status(Int, String)
    case badResponse(String)
    case badReceipt(String)

    public var description: String {
        switch self {
        case .transport(let text): "cannot reach the collector: \(text)"
        case .status(let code, let reason): "the collector answered \(code): \(reason)"
        case .badResponse(let text): text
        case .badReceipt(let text): text
        }
    }
}

/// A first-come, first-served async lock.
actor SerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
