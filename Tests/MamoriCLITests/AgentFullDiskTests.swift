import Foundation
import MamoriAgent
import MamoriAuthWire
import MamoriCore
import Testing

/// An enrolled agent whose state lives on a small file system (a 3 MiB tmpfs at
/// /var/lib/mamori) that a non-root user fills through a world-writable directory on it, as
/// /var/tmp would be on a terminal's /var. While the disk is full every login fails closed
/// ("unavailable"); once space is freed the journal continues, with a journal.write-failed
/// record, and the collector accepts the continuation with no tamper alert. Before the rollback a
/// failed write left a torn line and an advanced seq, and every later batch looked like tampering.
@Suite("Agent on a full disk", .serialized)
struct AgentFullDiskTests {
    static func ask(_ socket: String, _ request: AuthRequest) -> AuthResponse.Status? {
        guard let connection = try? connectUnixSocket(path: socket) else { return nil }
        _ = try? connection.setTimeout(milliseconds: 5000)
        guard (try? connection.writeAll(request.encoded())) != nil,
              let header = try? connection.readExactly(4), let length = try? AuthFrame.bodyLength(header: header),
              let body = try? connection.readExactly(length), let response = try? AuthResponse(body: body) else { return nil }
        return response.status
    }

    @Test func loginsFailClosedWhileFullAndTheCollectorAcceptsTheContinuation() throws {
        let collector = try FleetCollector()
        let agent = try FleetAgent(name: "full-01", collector: collector, org: "mayor", group: "terminals")
        let state = agent.root.path + "/var/lib/mamori"
        try FileManager.default.moveItem(atPath: state, toPath: state + ".orig")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        let mount = try CLI.runExecutable("/bin/mount", ["-t", "tmpfs", "-o", "size=3m,mode=0755", "tmpfs", state])
        #expect(mount.status == 0, "cannot mount a tmpfs (needs root): \(mount.stderr)")
        defer { _ = try? CLI.runExecutable("/bin/umount", ["-l", state]) }
        #expect(try CLI.runExecutable("/bin/cp", ["-a", state + ".orig/.", state + "/"]).status == 0)
        let publicDirectory = state + "/public"
        try FileManager.default.createDirectory(atPath: publicDirectory, withIntermediateDirectories: false)
        chmod(publicDirectory, 0o1777)
        let users = MFAStore(directory: state + "/mfa")
        try users.prepare()
        try users.write(MFAUserRecord(user: "tanaka",
                                      credential: try #require(OTPCredential(factor: .totp, secret: AuthAgentTests.secret, parameters: .standard))))
        try agent.start(services: ["auth", "shipper"])
        let socket = agent.root.path + "/run/mamori/pam.sock"
        #expect(Self.ask(socket, AuthRequest(user: "tanaka", service: "login", code: AuthAgentTests.currentCode())) == .accepted, "\(agent.log)")
        try AgentFleetTests.expectDelivered(agent, collector)

        // A non-root user fills the file system.
        let fill = try CLI.runExecutable("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups",
                                                              "/bin/dd", "if=/dev/zero", "of=\(publicDirectory)/filler", "bs=4k"])
        #expect(fill.stderr.contains("No space left"), "dd did not fill the file system: \(fill.stderr)")
        // Records may still fit in the journal file's last page for a while; then every login is
        // answered "unavailable" (fail closed): never accepted, never an answer not on record.
        var whileFull: [String] = []
        for _ in 0..<60 {
            let status = Self.ask(socket, AuthRequest(user: "tanaka", service: "login", code: "000000")).map(\.rawValue) ?? "no answer"
            whileFull.append(status)
            if whileFull.suffix(3) == Array(repeating: AuthResponse.Status.unavailable.rawValue, count: 3) { break }
        }
        #expect(whileFull.suffix(3).allSatisfy { $0 == AuthResponse.Status.unavailable.rawValue }, "\(whileFull)")
        #expect(!whileFull.contains(AuthResponse.Status.accepted.rawValue))

        unlink(publicDirectory + "/filler")
        // Recorded answers again (rejected, or locked out by the failures counted before the disk filled).
        #expect(FleetAgent.eventually(10) {
            let status = Self.ask(socket, AuthRequest(user: "tanaka", service: "login", code: "000000"))
            return status == .rejected || status == .lockedOut
        },
                "logins did not recover after space was freed\n\(agent.log)")
        try AgentFleetTests.expectDelivered(agent, collector, within: 30)
        let journal = try agent.journalText()
        #expect(journal.contains("\"kind\":\"journal.write-failed\""), "no journal.write-failed record")
        let alerts = try collector.alerts()
        #expect(alerts.isEmpty, "the collector raised \(alerts)")
        #expect(agent.stop() == 0)
    }
}
