public import ArgumentParser
import Logging
import MamoriAgent
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs the agent's services until SIGTERM: the media guard, the second-factor verifier, the
/// posture checks, the shipper and the profile fetcher (docs/agent.md).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent's services until SIGTERM (SIGHUP reloads agent.yaml and the profile).",
        discussion: "Under systemd (Type=notify) the agent reports READY=1 once the PAM socket is open and pings the watchdog."
    )

    @Option(help: "Put every path under this directory (tests and demos).")
    var root: String?

    @Option(parsing: .upToNextOption,
            help: "Run only these services (\(AgentServiceName.allCases.map(\.rawValue).joined(separator: ", "))).")
    var only: [AgentServiceName] = AgentServiceName.allCases

    @Flag(name: .customLong("enforce-media-on-host"),
          help: "With --root: apply media decisions to this machine's devices anyway (for umockdev testbeds, whose devices are fakes). Without it an agent rooted elsewhere changes no device.")
    var enforceMediaOnHost = false

    @Option(name: .customLong("client-timeout-ms"), help: .hidden)
    var clientTimeoutMilliseconds: Int = AuthConnectionLimits.standard.requestDeadlineMilliseconds

    func validate() throws {
        guard (100...600_000).contains(clientTimeoutMilliseconds) else {
            throw ValidationError("--client-timeout-ms must be between 100 and 600000")
        }
        if let root, !root.hasPrefix("/") { throw ValidationError("--root must be an absolute path") }
    }

    func run() async throws {
        // A supervisor or test harness may start us with these blocked; the service group needs them.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        // A reload requested before the handler is installed must not kill the agent (SIGHUP's default).
        signal(SIGHUP, SIG_IGN)
        let layout = AgentLayout(root: root ?? "")
        let level = (try? AgentConfigurationLoader.configuration(layout).logLevel) ?? .info
        var logger = Logger(label: "mamori-agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(level)
        var daemon = AgentDaemon(layout: layout, services: Array(Set(only)).sorted { $0.rawValue < $1.rawValue }, logger: logger,
                                 evaluatePosture: AgentPosture.evaluate)
        daemon.clientTimeoutMilliseconds = clientTimeoutMilliseconds
        daemon.enforceMediaOnHost = enforceMediaOnHost
        do {
            try await daemon.run()
        } catch let error as AgentStateError {
            AgentOutput.error(error.description)
            throw ExitCode(1)
        }
    }
}

extension AgentServiceName: ExpressibleByArgument {}

extension Logger.Level {
    init(_ level: AgentConfiguration.LogLevel) {
        switch level {
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        }
    }
}
