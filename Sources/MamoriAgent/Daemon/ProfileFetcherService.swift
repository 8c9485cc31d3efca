public import Logging
public import MamoriClient
import MamoriCore
public import ServiceLifecycle

/// Asks the collector for the newest profile for this host's organisation and group, at start and
/// every `profile_poll`; verifies and installs it (`ProfileInstaller`), and tells the other
/// services to reload. Any failure keeps the profile in force.
public struct ProfileFetcherService: Service {
    let runtime: AgentRuntime
    let client: CollectorClient
    let identity: AgentIdentity
    let box: InstallerBox
    let logger: Logger

    public init(runtime: AgentRuntime, client: CollectorClient, identity: AgentIdentity, installer: sending ProfileInstaller, logger: Logger) {
        self.runtime = runtime
        self.client = client
        self.identity = identity
        self.box = InstallerBox(installer)
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await fetchOnce(box)
            } catch {
                logger.warning("profile: fetch failed; the profile in force stays", metadata: ["error": "\(error)"])
            }
            do {
                try await fetchGrants()
            } catch {
                logger.warning("profile: grant fetch failed; the grants in force stay until they expire", metadata: ["error": "\(error)"])
            }
            guard await pause(seconds: Double(runtime.configuration.profilePollSeconds)) else { break }
        }
    }

    func fetchOnce(_ box: InstallerBox) async throws {
        let response = try await client.signed("GET", "/v1/agent/profile", identity: identity)
        switch response.status {
        case 404: return
        case 200: break
        default: throw CollectorClientError.status(response.status, response.reason)
        }
        let now = SystemClock.now()
        let (outcome, event) = try box.installer.consider(response.body, current: runtime.profileState.profile, now: now)
        if let event { try await runtime.journal.append([event], now: now) }
        switch outcome {
        case .applied(let profile):
            logger.notice("profile: applied", metadata: ["name": "\(profile.name)", "version": "\(profile.version)"])
            runtime.setProfile(.installed(profile))
        case .rejected(let rejection):
            logger.error("profile: rejected; the last good profile stays in force", metadata: ["code": "\(rejection.code)", "reason": "\(rejection.description)"])
        case .unchanged:
            break
        }
    }
}

extension ProfileFetcherService {
    /// Asks for the grants the collector serves this host now. Only a complete answer withdraws
    /// anything: an unreachable collector, or one that answers with an error, leaves every grant
    /// in force until it expires.
    func fetchGrants() async throws {
        let response = try await client.signed("GET", "/v1/agent/grants", identity: identity)
        guard response.status == 200 else { throw CollectorClientError.status(response.status, response.reason) }
        guard let json = try? JSONValue.parse(response.body), let items = json["grants"]?.arrayValue else {
            throw AgentStateError("the collector's grant list is not {\"grants\":[…]}")
        }
        var envelopes: [[UInt8]] = []
        for item in items {
            guard let text = item.stringValue else { throw AgentStateError("the collector's grant list holds a non-text item") }
            envelopes.append(Array(text.utf8))
        }
        let now = SystemClock.now()
        let (events, changed) = try runtime.grants.reconcile(served: envelopes, now: now)
        if !events.isEmpty { try await runtime.journal.append(events, now: now) }
        for event in events {
            logger.notice("profile: \(event.kind)", metadata: ["grant": "\(event.payload["grant"]?.stringValue ?? "-")",
                                                              "code": "\(event.payload["code"]?.stringValue ?? "-")"])
        }
        if changed { runtime.grantsChanged() }
    }
}

/// The installer is used by this service's one task only.
/// @unchecked Sendable: `installer` is touched only from `ProfileFetcherService.run`, sequentially.
final class InstallerBox: @unchecked Sendable {
    let installer: ProfileInstaller
    init(_ installer: ProfileInstaller) { self.installer = installer }
}
