import Foundation
import MamoriAuthWire
import Testing

/// The built pam_mamori.so inside the real libpam, through pam_wrapper (a private PAM
/// configuration directory, so the machine's /etc/pam.d is never touched) driven by pamtester,
/// against a running mamori-agent. Missing tools fail these tests.
@Suite(.serialized) struct PamStackTests {
    static let wrapperLibrary = "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"

    struct Stack {
        let serviceDirectory: String
        let service = "mamori-test"

        init(in directory: String, options: String) throws {
            let module = try PamModule.path()
            serviceDirectory = directory + "/pam.d"
            try FileManager.default.createDirectory(atPath: serviceDirectory, withIntermediateDirectories: true)
            try "auth required \(module) \(options)\n".write(toFile: serviceDirectory + "/" + service, atomically: true, encoding: .utf8)
        }

        func authenticate(_ user: String, code: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
            #expect(FileManager.default.fileExists(atPath: PamStackTests.wrapperLibrary),
                    "pam_wrapper missing: run `make deps`", sourceLocation: sourceLocation)
            return try Tool.run("pamtester", ["-v", service, user, "authenticate"], environment: [
                "LD_PRELOAD": PamStackTests.wrapperLibrary,
                "PAM_WRAPPER": "1",
                "PAM_WRAPPER_SERVICE_DIR": serviceDirectory,
            ], stdin: code + "\n", sourceLocation: sourceLocation)
        }
    }

    static let authFailure = "Authentication failure"
    static let maxTries = "Have exhausted maximum number of retries for service"
    static let unavailable = "Authentication service cannot retrieve authentication info"

    @Test func rightCodeOnceThenReplayAndWrongCodeRefused() throws {
        let agent = try AuthAgentTests.RunningAgent()
        try agent.enroll("tanaka")
        let stack = try Stack(in: agent.root.path, options: "socket=\(agent.socketPath)")
        let code = AuthAgentTests.currentCode()
        let first = try stack.authenticate("tanaka", code: code)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("successfully authenticated") || first.stderr.contains("successfully authenticated"))
        let replay = try stack.authenticate("tanaka", code: code)
        #expect(replay.status != 0)
        #expect(replay.stderr.contains(Self.authFailure), "\(replay.stderr)")
        let wrong = try stack.authenticate("tanaka", code: "abcdef")
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains(Self.authFailure), "\(wrong.stderr)")
        let stranger = try stack.authenticate("suzuki", code: code)
        #expect(stranger.status != 0)
        #expect(stranger.stderr.contains(Self.authFailure), "\(stranger.stderr)")
    }

    @Test func lockoutAfterFiveFailuresEvenWithTheRightCode() throws {
        let agent = try AuthAgentTests.RunningAgent()
        try agent.enroll("tanaka")
        let stack = try Stack(in: agent.root.path, options: "socket=\(agent.socketPath)")
        for _ in 0..<5 {
            let wrong = try stack.authenticate("tanaka", code: "abcdef")
            #expect(wrong.stderr.contains(Self.authFailure), "\(wrong.stderr)")
        }
        let locked = try stack.authenticate("tanaka", code: AuthAgentTests.currentCode())
        #expect(locked.status != 0)
        #expect(locked.stderr.contains(Self.maxTries), "\(locked.stderr)")
    }

    static let faketimeLibrary = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

    /// The agent's clock moved by libfaketime against the token's (the test's real clock):
    /// one step of skew either way is accepted, two are refused.
    @Test(arguments: [(-60, false), (-30, true), (30, true), (60, false)])
    func clockSkewOfOneStepIsAcceptedAndTwoRefused(offset: Int, accepted: Bool) throws {
        #expect(FileManager.default.fileExists(atPath: Self.faketimeLibrary), "libfaketime missing: run `make deps`")
        // Preloaded straight into the Swift executable, libfaketime 0.9.10 loses its argv; preloaded
        // into a `timeout` parent it works (and `timeout` forwards SIGTERM to the agent).
        let agent = try AuthAgentTests.RunningAgent(environment: [
            "LD_PRELOAD": Self.faketimeLibrary, "FAKETIME": offset > 0 ? "+\(offset)" : "\(offset)", "FAKETIME_NO_CACHE": "1",
        ], launcher: [try Tool.find("timeout"), "300"])
        try agent.enroll("tanaka")
        let stack = try Stack(in: agent.root.path, options: "socket=\(agent.socketPath)")
        let result = try stack.authenticate("tanaka", code: AuthAgentTests.currentCode())
        #expect((result.status == 0) == accepted, "offset \(offset): \(result.stderr)")
    }

    /// Eight logins at once with the same right code: the first the agent sees is accepted, the
    /// other seven are replays; the fifth failure locks the account and the last two are refused
    /// as locked. Counts are exact because every attempt runs under the user's lock.
    @Test func parallelLoginsAcceptOneCodeOnceAndCountExactly() throws {
        let agent = try AuthAgentTests.RunningAgent()
        try agent.enroll("tanaka")
        let stack = try Stack(in: agent.root.path, options: "socket=\(agent.socketPath)")
        let code = AuthAgentTests.currentCode()
        let outcomes = LockedStrings()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            guard let result = try? stack.authenticate("tanaka", code: code) else { return outcomes.append("tool failed") }
            if result.status == 0 { outcomes.append("success") }
            else if result.stderr.contains(PamStackTests.maxTries) { outcomes.append("maxtries") }
            else if result.stderr.contains(PamStackTests.authFailure) { outcomes.append("failure") }
            else { outcomes.append("other: \(result.stderr)") }
        }
        let counts = Dictionary(outcomes.values.map { ($0, 1) }, uniquingKeysWith: +)
        #expect(counts == ["success": 1, "failure": 5, "maxtries": 2], "\(outcomes.values)")
        #expect(agent.stop() == 0)
        let journal = try CLI.mamorictl("journal", "show", agent.root.path + "/var/lib/mamori/journal", "--format", "json")
        #expect(journal.stdout.components(separatedBy: "\"auth.replay\"").count - 1 == 5)
        #expect(journal.stdout.components(separatedBy: "\"auth.lockout\"").count - 1 == 3)
    }

    @Test func stoppedAgentIsUnavailable() throws {
        let agent = try AuthAgentTests.RunningAgent()
        try agent.enroll("tanaka")
        let stack = try Stack(in: agent.root.path, options: "socket=\(agent.socketPath)")
        #expect(agent.stop() == 0)
        let result = try stack.authenticate("tanaka", code: AuthAgentTests.currentCode())
        #expect(result.status != 0)
        #expect(result.stderr.contains(Self.unavailable), "\(result.stderr)")
    }

    @Test func garbageAgentIsUnavailable() throws {
        let directory = try TemporaryDirectory("mamori-garbage")
        let socketPath = directory.file("garbage.sock")
        // A stand-in agent that answers one connection with an HTTP response, then exits. Killed
        // with SIGKILL: a child started from a test thread inherits a mask that blocks SIGTERM.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: try Tool.find("python3"))
        server.arguments = ["-c", """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(sys.argv[1]); s.listen(4); s.settimeout(60)
            c, _ = s.accept(); c.recv(2048); c.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\nhello"); c.close()
            """, socketPath]
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socketPath) { usleep(25_000) }
        let stack = try Stack(in: directory.path, options: "socket=\(socketPath)")
        let result = try stack.authenticate("tanaka", code: "123456")
        #expect(result.status != 0)
        #expect(result.stderr.contains(Self.unavailable), "\(result.stderr)")
    }

    @Test func unknownOptionFailsClosed() throws {
        let agent = try AuthAgentTests.RunningAgent()
        try agent.enroll("tanaka")
        let stack = try Stack(in: agent.root.path, options: "socket=\(agent.socketPath) nullok")
        let result = try stack.authenticate("tanaka", code: AuthAgentTests.currentCode())
        #expect(result.status != 0)
        #expect(result.stderr.contains("Error in service module"), "\(result.stderr)")
    }
}

/// Results gathered from concurrentPerform's threads; the lock makes the appends safe.
final class LockedStrings: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
    var values: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
