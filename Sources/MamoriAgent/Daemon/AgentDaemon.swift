public import Logging
import MamoriClient
public import MamoriCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The agent's services by name, as `--only` takes them.
public enum AgentServiceName: String, Sendable, CaseIterable {
    case media
    case auth
    case posture
    case shipper
    case profile

    /// Services that talk to the collector and so need an enrolment.
    public var needsEnrolment: Bool { self == .shipper || self == .profile }
}

/// Loads the configuration and the installed profile: at start and on SIGHUP.
public enum AgentConfigurationLoader {
    public static func configuration(_ layout: AgentLayout) throws(AgentStateError) -> AgentConfiguration {
        guard FileSystem.exists(layout.configurationPath) else { return .default }
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(layout.configurationPath)
        } catch {
            throw AgentStateError("\(layout.configurationPath): \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw AgentStateError("\(layout.configurationPath): not UTF-8 text") }
        switch AgentConfiguration.parse(text) {
        case .success(let configuration): return configuration
        case .failure(let error):
            throw AgentStateError("\(layout.configurationPath): invalid configuration: "
                + error.diagnostics.map(\.description).joined(separator: "; "))
        }
    }

    public static func profile(_ layout: AgentLayout, now: Timestamp) -> ProfileState {
        guard FileSystem.exists(layout.profilePath) else { return .missing("no profile installed yet; the safe defaults apply") }
        switch InstalledProfile.load(path: layout.profilePath, now: now, requireTrustedFile: layout.root.isEmpty) {
        case .success(let profile): return .installed(profile)
        case .failure(let unusable): return .unusable(unusable.description)
        }
    }
}

/// Assembles the services into one ServiceGroup: graceful shutdown on SIGTERM/SIGINT, reload on
/// SIGHUP, readiness and watchdog for systemd (`Type=notify`).
public struct AgentDaemon {
    public let layout: AgentLayout
    public let services: [AgentServiceName]
    public let logger: Logger
    public let evaluatePosture: PostureService.Evaluator
    public var clientTimeoutMilliseconds = AuthConnectionLimits.standard.requestDeadlineMilliseconds
    /// Apply media decisions to this machine's devices even though the root is not `/` (under
    /// umockdev, whose devices are fakes). An agent rooted at `/` always applies them.
    public var enforceMediaOnHost = false

    /// Whether the media guard changes devices: the real root, or explicitly asked.
    public var mediaTouchesDevices: Bool { layout.root.isEmpty || enforceMediaOnHost }

    public init(layout: AgentLayout, services: [AgentServiceName], logger: Logger, evaluatePosture: @escaping PostureService.Evaluator) {
        self.layout = layout
        self.services = services
        self.logger = logger
        self.evaluatePosture = evaluatePosture
    }

    public static let startedKind = "agent.started"
    public static let stoppedKind = "agent.stopped"
    public static let reloadedKind = "agent.reloaded"
    public static let configurationRejectedKind = "agent.configuration_rejected"

    public func run() async throws {
        let configuration = try AgentConfigurationLoader.configuration(layout)
        let enrolment = services.contains(where: \.needsEnrolment) || FileSystem.exists(layout.enrolmentPath)
            ? try EnrolmentRecord.load(layout) : nil
        let journal = SharedJournal(try openJournal(enrolled: enrolment != nil))
        let cursor = try ShipperCursor.load(layout.shipperCursorPath)
        let runtime = AgentRuntime(layout: layout, journal: journal, configuration: configuration,
                                   profile: AgentConfigurationLoader.profile(layout, now: SystemClock.now()),
                                   shipment: ShipmentState(lastReceipt: cursor),
                                   grants: DeviceGrantBook(layout: layout, hostId: enrolment?.hostId, now: SystemClock.now()))
        try await journal.append(kind: Self.startedKind, payload: [
            "version": .string(MamoriVersion.current), "services": .array(services.map { .string($0.rawValue) }),
            "profile_version": runtime.profileState.profile.map { .int($0.version) } ?? .null,
            "media_touches_devices": .bool(mediaTouchesDevices),
        ], now: SystemClock.now())
        let notifier = SystemdNotifier.fromProcess()
        let readiness = Readiness(waitingFor: services.contains(.auth) ? 1 : 0, notifier: notifier, logger: logger)
        var client: CollectorClient?
        // One identity for every service: its request numbers and its request gate are per host.
        let identity = try enrolment.map { try $0.identity(hostKey: try HostKeyFile.read(layout.journalPaths.hostKeyPath)) }
        var group: [ServiceGroupConfiguration.ServiceConfiguration] = []
        for name in services {
            let service: any Service
            switch name {
            case .media: service = MediaGuardService(runtime: runtime, logger: logger, touchesDevices: mediaTouchesDevices)
            case .auth:
                service = AuthVerifierService(runtime: runtime, logger: logger, clientTimeoutMilliseconds: clientTimeoutMilliseconds,
                                              ready: { readiness.oneReady() })
            case .posture: service = PostureService(runtime: runtime, logger: logger, evaluate: evaluatePosture)
            case .shipper, .profile:
                guard let enrolment, let identity else { throw AgentStateError("the \(name.rawValue) service needs an enrolment") }
                let http = try client ?? CollectorClient(baseURL: configuration.collectorURL ?? enrolment.collectorURL,
                                                         caFile: layout.collectorCAPath, connectionsPerHost: 2)
                client = http
                if name == .shipper {
                    service = ShipperService(runtime: runtime, client: http, identity: identity, logger: logger)
                } else {
                    guard let organisation = Organisation(identifierOrName: enrolment.organisation) else {
                        throw AgentStateError("the enrolment names an unknown organisation `\(enrolment.organisation)`")
                    }
                    service = ProfileFetcherService(runtime: runtime, client: http, identity: identity,
                                                    installer: ProfileInstaller(layout: layout, organisation: organisation, hostGroup: enrolment.hostGroup),
                                                    logger: logger)
                }
            }
            group.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                               failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name.rawValue))
        }
        group.append(.init(service: ControlService(runtime: runtime, notifier: notifier, logger: logger),
                           successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "control"))
        let serviceGroup = ServiceGroup(configuration: .init(services: group, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        readiness.start()
        var failure: (any Error)?
        do {
            try await serviceGroup.run()
        } catch {
            failure = error
            logger.critical("agent: a service failed; stopping", metadata: ["error": "\(error)"])
        }
        notifier.notify("STOPPING=1")
        try? await client?.shutdown()
        let now = SystemClock.now()
        try? journal.record(kind: Self.stoppedKind, payload: ["reason": .string(failure.map { "\($0)" } ?? "signal")], now: now)
        try journal.close(now: now)
        if let failure { throw failure }
    }

    func openJournal(enrolled: Bool) throws -> JournalStore {
        let paths = layout.journalPaths
        if FileSystem.exists(paths.epochKeyPath) || layout.root.isEmpty || enrolled {
            return try JournalStore.open(paths: paths, now: SystemClock.now())
        }
        // Test and demo roots without an enrolment: a fresh journal, its verification material beside the keys.
        return try JournalStore.createWithVerificationMaterial(paths: paths, host: "mamori-test-host", now: SystemClock.now())
    }
}

/// READY=1 once every service that must be up before logins (the auth socket) is.
final class Readiness: Sendable {
    let remaining: Mutex<Int>
    let notifier: SystemdNotifier
    let logger: Logger

    init(waitingFor count: Int, notifier: SystemdNotifier, logger: Logger) {
        remaining = Mutex(count)
        self.notifier = notifier
        self.logger = logger
    }

    func start() { if remaining.withLock({ $0 }) == 0 { ready() } }

    func oneReady() {
        let left = remaining.withLock { value -> Int in
            value -= 1
            return value
        }
        if left == 0 { ready() }
    }

    func ready() {
        notifier.notify("READY=1\nSTATUS=protecting")
        logger.info("agent: ready")
    }
}

/// SIGHUP reloads agent.yaml and the installed profile (an invalid agent.yaml is refused and the
/// one in force stays); pings the systemd watchdog while the runtime is responsive.
struct ControlService: Service {
    let runtime: AgentRuntime
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await reloadOnHangup() }
            if let interval = notifier.watchdogInterval {
                group.addTask {
                    while await pause(seconds: interval) { notifier.notify("WATCHDOG=1") }
                }
            }
            // Start-up code an idle agent never runs again goes back to the page cache (CodePages).
            group.addTask {
                guard await pause(seconds: 5) else { return }
                repeat { CodePages.releaseExecutableCode() } while await pause(seconds: 300)
            }
            group.addTask { try? await gracefulShutdown() }
            await group.next()
            group.cancelAll()
        }
    }

    func reloadOnHangup() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())")
            await reload()
            notifier.notify("READY=1")
        }
    }

    func reload() async {
        let now = SystemClock.now()
        var payload: [String: JSONValue] = [:]
        do {
            let configuration = try AgentConfigurationLoader.configuration(runtime.layout)
            runtime.setConfiguration(configuration)
            payload["configuration"] = .string("reloaded")
        } catch {
            logger.error("agent: SIGHUP: the configuration is invalid; the one in force stays", metadata: ["error": "\(error)"])
            try? await runtime.journal.append(kind: AgentDaemon.configurationRejectedKind, payload: ["reason": .string(error.description)], now: now)
            payload["configuration"] = .string("kept (invalid)")
        }
        let profile = AgentConfigurationLoader.profile(runtime.layout, now: now)
        runtime.setProfile(profile)
        payload["profile_version"] = profile.profile.map { .int($0.version) } ?? .null
        try? await runtime.journal.append(kind: AgentDaemon.reloadedKind, payload: payload, now: now)
        logger.notice("agent: reloaded on SIGHUP")
    }
}
