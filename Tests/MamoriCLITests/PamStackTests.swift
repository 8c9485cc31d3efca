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
