import Foundation
import MamoriAgent
import MamoriAuthWire
import MamoriCore
import Testing

/// `mamori-agent run --root DIR --only auth` as a process, asked over its real socket.
@Suite(.serialized) struct AuthAgentTests {
    static let secret = Array("12345678901234567890".utf8)

    /// The agent closed the connection without answering.
    struct NoAnswer: Error {}

    final class RunningAgent {
        let process = Process()
        let root: TemporaryDirectory
        let usesLauncher: Bool
        var socketPath: String { root.path + "/run/mamori/pam.sock" }
        var mfaDirectory: String { root.path + "/var/lib/mamori/mfa" }

        /// `launcher` runs the agent through another program (e.g. `timeout`), which then gets the
        /// environment first. `profile` is installed as the agent's current profile (with `mode`).
        /// `reusing` starts the agent on another agent's root (a restart), after removing the
        /// socket a killed agent left behind.
        init(environment: [String: String] = [:], launcher: [String] = [], extraArguments: [String] = [],
             profile: String? = nil, profileMode: Int = 0o644, reusing: TemporaryDirectory? = nil) throws {
            root = try reusing ?? TemporaryDirectory("mamori-agent")
            if reusing != nil { unlink(root.path + "/run/mamori/pam.sock") }
            if let profile { try Self.install(profile, mode: profileMode, under: root.path) }
            let agent = CLI.binDirectory + "/mamori-agent"
            let arguments = ["run", "--root", root.path, "--only", "auth"] + extraArguments
            usesLauncher = !launcher.isEmpty
            process.executableURL = URL(fileURLWithPath: launcher.first ?? agent)
            process.arguments = launcher.isEmpty ? arguments : Array(launcher.dropFirst()) + [agent] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            // The agent's output goes to DIR/agent.log, for diagnosing a failed start.
            _ = FileManager.default.createFile(atPath: root.path + "/agent.log", contents: nil)
            let logHandle = FileHandle(forWritingAtPath: root.path + "/agent.log")
            process.standardOutput = logHandle
            process.standardError = logHandle
            try process.run()
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: socketPath) { usleep(25_000) }
            let log = (try? String(contentsOfFile: root.path + "/agent.log", encoding: .utf8)) ?? ""
            #expect(FileManager.default.fileExists(atPath: socketPath), "agent never opened its socket: \(log)")
        }

        static func install(_ profile: String, mode: Int, under root: String) throws {
            let path = root + "/var/lib/mamori/profile/current.yaml"
            try FileManager.default.createDirectory(atPath: root + "/var/lib/mamori/profile", withIntermediateDirectories: true)
            try profile.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }

        /// SIGTERM to the agent. With a launcher the agent is the launcher's child: a launcher
        /// started from a test thread inherits a mask that blocks SIGTERM, while the agent polls
        /// for a pending SIGTERM and so stops either way (and the launcher exits with it).
        func stop() -> Int32 {
            let pids = usesLauncher ? childPIDs() : [process.processIdentifier]
            for pid in pids { kill(pid, SIGTERM) }
            process.waitUntilExit()
            return process.terminationStatus
        }

        func childPIDs() -> [Int32] {
            let pid = process.processIdentifier
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }

        deinit { if process.isRunning { _ = stop() } }

        func enroll(_ user: String) throws {
            let credential = try #require(OTPCredential(factor: .totp, secret: AuthAgentTests.secret, parameters: .standard))
            try MFAStore(directory: mfaDirectory).write(MFAUserRecord(user: user, credential: credential))
        }

        func ask(_ request: AuthRequest) throws -> AuthResponse {
            try ask(raw: request.encoded())
        }

        func ask(raw: [UInt8]) throws -> AuthResponse {
            let socket = try connectUnixSocket(path: socketPath)
            try socket.setTimeout(milliseconds: 5000)
            try socket.writeAll(raw)
            guard let header = try socket.readExactly(4),
                  let body = try socket.readExactly(AuthFrame.bodyLength(header: header)) else { throw NoAnswer() }
            return try AuthResponse(body: body)
        }
    }

    /// The code for now, taken at least 3 s before the step ends, so that a test's few hundred
    /// milliseconds never straddle a step boundary.
    static func currentCode() -> String {
        var now = Int64(Date().timeIntervalSince1970)
        if now % 30 >= 27 {
            usleep(UInt32(30 - now % 30) * 1_000_000 + 100_000)
            now = Int64(Date().timeIntervalSince1970)
        }
        return OneTimePassword.format(OneTimePassword.totp(secret: secret, unixSeconds: now, parameters: .standard), digits: 6)
    }

    @Test func acceptsOnceRefusesReplayAndWrongCodesAndStopsOnSIGTERM() throws {
        let agent = try RunningAgent()
        try agent.enroll("tanaka")
        let code = Self.currentCode()
        let request = AuthRequest(user: "tanaka", service: "login", tty: "tty1", code: code)
        #expect(try agent.ask(request).status == .accepted)
        #expect(try agent.ask(request).status == .replayed)
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "login", code: "abcdef")).status == .rejected)
        #expect(try agent.ask(AuthRequest(user: "suzuki", service: "login", code: code)).status == .notEnrolled)
        #expect(agent.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: agent.socketPath))
        let journal = try CLI.mamorictl("journal", "show", agent.root.path + "/var/lib/mamori/journal", "--format", "json")
        for kind in ["auth.success", "auth.replay", "auth.failure", "auth.not_enrolled"] {
            #expect(journal.stdout.contains("\"\(kind)\""), "journal lacks \(kind)")
        }
        #expect(!journal.stdout.contains(code))
    }

    /// Clients that connect and say nothing (or say half a frame) must not hold up a real login:
    /// each connection has its own thread and time-out. No wall clock: the stalled clients get a
    /// 60 s time-out, and the real request must be answered while all of them are still open. A
    /// server that served connections one at a time could only answer after closing them.
    @Test func stalledClientsDoNotBlockOthers() throws {
        let agent = try AuthAgentTests.RunningAgent(extraArguments: ["--client-timeout-ms", "60000"])
        try agent.enroll("tanaka")
        let code = Self.currentCode()
        var stalled: [SocketFD] = []
        for index in 0..<4 {
            let socket = try connectUnixSocket(path: agent.socketPath)
            if index % 2 == 1 { try socket.writeAll([0, 0, 0, 40, 0x4D]) }
            stalled.append(socket)
        }
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "login", code: code)).status == .accepted)
        for socket in stalled {
            var byte: UInt8 = 0
            let got = recv(socket.fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
            let error = errno
            #expect(got == -1 && (error == EAGAIN || error == EWOULDBLOCK), "a stalled client was closed before the real request was answered")
        }
        stalled.removeAll()
        #expect(agent.stop() == 0)
    }

    /// A crash (SIGKILL) that also loses the state file's renames since enrolment: a login
    /// syncs only its journal record, and the restarted agent rebuilds the state from the journal
    /// before it serves, so the used code is still refused and the failures still count.
    @Test func aRestartAfterACrashThatLostTheStateFileStillRefusesTheReplay() throws {
        let agent = try RunningAgent()
        try agent.enroll("tanaka")
        let path = agent.mfaDirectory + "/tanaka.json"
        let enrolled = try FileSystem.readFile(path)
        let code = Self.currentCode()
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "login", code: code)).status == .accepted)
        for _ in 0..<2 {
            #expect(try agent.ask(AuthRequest(user: "tanaka", service: "login", code: "abcdef")).status == .rejected)
        }
        kill(agent.process.processIdentifier, SIGKILL)
        agent.process.waitUntilExit()
        try FileSystem.writeFileAtomically(path, enrolled, mode: 0o600)

        let restarted = try RunningAgent(reusing: agent.root)
        #expect(try restarted.ask(AuthRequest(user: "tanaka", service: "login", code: code)).status == .replayed)
        let state = try MFAStore(directory: restarted.mfaDirectory).read("tanaka")?.state
        #expect(state?.consecutiveFailures == 3)
        #expect(restarted.stop() == 0)
        let journal = try CLI.mamorictl("journal", "show", agent.root.path + "/var/lib/mamori/journal", "--format", "json")
        #expect(journal.stdout.contains("\"auth.state_restored\""))
    }

    @Test func garbageIsDroppedAndTheAgentKeepsServing() throws {
        let agent = try RunningAgent()
        try agent.enroll("tanaka")
        for raw: [UInt8] in [[0, 0, 0, 3, 1, 2, 3], [0xFF, 0xFF, 0xFF, 0xFF], Array("GET / HTTP/1.0\r\n\r\n".utf8)] {
            #expect(throws: (any Error).self) { try agent.ask(raw: raw) }
        }
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "login", code: Self.currentCode())).status == .accepted)
        #expect(agent.stop() == 0)
    }
}
