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

/// The installer is used by this service's one task only.
/// @unchecked Sendable: `installer` is touched only from `ProfileFetcherService.run`, sequentially.
final class InstallerBox: @unchecked Sendable {
    let installer: ProfileInstaller
    init(_ installer: ProfileInstaller) { self.installer = installer }
}
