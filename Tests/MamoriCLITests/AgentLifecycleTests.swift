import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's contract with systemd (`Type=notify`): READY=1 once the PAM socket is open,
/// WATCHDOG=1 at half the watchdog period, RELOADING=1 then READY=1 around a SIGHUP reload,
/// STOPPING=1 on SIGTERM; and a reload with an invalid agent.yaml keeps the one in force.
@Suite(.serialized) struct AgentLifecycleTests {
    /// A datagram socket standing in for systemd's notification socket.
    final class NotifySocket {
        let path: String
        let fd: Int32

        init(in directory: String) throws {
            path = directory + "/notify.sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0, "bind \(path): errno \(errno)")
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        /// Messages received within `seconds`, until one contains `wanted`.
        func receive(until wanted: String, within seconds: Double) -> [String] {
            var messages: [String] = []
            let end = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < end {
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { continue }
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                messages.append(message)
                if message.contains(wanted) { break }
            }
            return messages
        }
    }

    @Test func notifiesReadyWatchdogReloadAndStopping() throws {
        let root = try TemporaryDirectory("mamori-lifecycle")
        let notify = try NotifySocket(in: root.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binDirectory + "/mamori-agent")
        process.arguments = ["run", "--root", root.path, "--only", "auth", "posture"]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment["WATCHDOG_USEC"] = "1000000"
        process.environment = environment
        let log = root.path + "/agent.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let ready = notify.receive(until: "READY=1", within: 20)
        #expect(ready.contains { $0.contains("READY=1") }, "no READY=1: \(ready)")
        #expect(FileManager.default.fileExists(atPath: root.path + "/run/mamori/pam.sock"), "READY=1 before the socket was open")
        let watchdog = notify.receive(until: "WATCHDOG=1", within: 3)
        #expect(watchdog.contains("WATCHDOG=1"), "no watchdog ping within 3 s of a 1 s period: \(watchdog)")

        // An invalid agent.yaml: the reload keeps the configuration in force and says so.
        try FileManager.default.createDirectory(atPath: root.path + "/etc/mamori", withIntermediateDirectories: true)
        try "ship_interval: forever\n".write(toFile: root.path + "/etc/mamori/agent.yaml", atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        let reload = notify.receive(until: "READY=1", within: 10)
        #expect(reload.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }, "\(reload)")
        #expect(reload.last?.contains("READY=1") == true, "\(reload)")
        #expect(process.isRunning, "a bad reload stopped the agent")

        kill(process.processIdentifier, SIGTERM)
        let stopping = notify.receive(until: "STOPPING=1", within: 10)
        #expect(stopping.contains("STOPPING=1"), "\(stopping)")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let journal = try CLI.mamorictl("journal", "show", root.path + "/var/lib/mamori/journal", "--format", "json")
        for kind in ["agent.started", "agent.configuration_rejected", "agent.reloaded", "agent.stopped", "posture.report"] {
            #expect(journal.stdout.contains("\"\(kind)\""), "no \(kind) record")
        }
    }

    @Test func anInvalidConfigurationRefusesToStart() throws {
        let root = try TemporaryDirectory("mamori-badconfig")
        try FileManager.default.createDirectory(atPath: root.path + "/etc/mamori", withIntermediateDirectories: true)
        try "spool_limit: 5\nunknown_key: 1\n".write(toFile: root.path + "/etc/mamori/agent.yaml", atomically: true, encoding: .utf8)
        let result = try CLI.run("mamori-agent", ["run", "--root", root.path, "--only", "auth"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("invalid configuration"), "\(result.stderr)")
        #expect(result.stderr.contains("unknown_key") && result.stderr.contains("spool_limit"), "\(result.stderr)")
    }

    @Test func servicesThatTalkToTheCollectorNeedAnEnrolment() throws {
        let root = try TemporaryDirectory("mamori-unenrolled")
        let result = try CLI.run("mamori-agent", ["run", "--root", root.path, "--only", "shipper"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("not enrolled"), "\(result.stderr)")
        let status = try CLI.run("mamori-agent", ["status", "--root", root.path])
        #expect(status.status == 3, "no posture run yet is not compliant")
        #expect(status.stdout.contains("not enrolled"))
    }
}
