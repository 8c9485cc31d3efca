import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The collector as an operator runs it: `mamori-collector init` and `serve` as processes,
/// `mamorictl enroll-token create` and `profile push` against it, and `mamori-loadgen` streaming
/// journals with an injected fault, all over real HTTPS on SQLite.
@Suite(.serialized) struct CollectorCLITests {
    final class RunningCollector {
        let directory: TemporaryDirectory
        let process = Process()
        var port = 0
        var data: String { directory.path + "/data" }
        var url: String { "https://127.0.0.1:\(port)" }
        var ca: String { data + "/tls/ca.pem" }
        let tokenFile: String
        var metricsTokenFile = ""

        /// - Parameter database: a postgres:// URL, or nil for SQLite in the data directory.
        init(profileRoot: String?, database: String? = nil) throws {
            directory = try TemporaryDirectory("mamori-collector-cli")
            let databaseArguments = database.map { ["--database", $0] } ?? []
            var arguments = ["init", "--data", directory.path + "/data"] + databaseArguments
            if let profileRoot { arguments += ["--profile-root", profileRoot] }
            let initResult = try CLI.run("mamori-collector", arguments)
            #expect(initResult.status == 0, "init failed: \(initResult.stderr)")
            let token = initResult.stdout.split(separator: "\n").last.map(String.init) ?? ""
            #expect(token.hasPrefix("mamori_admin_"))
            tokenFile = directory.path + "/token"
            try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
            // Port 0: the collector picks a free one and logs it.
            process.executableURL = URL(fileURLWithPath: CLI.binDirectory + "/mamori-collector")
            // The scrape token /metrics requires: a file others cannot read.
            metricsTokenFile = directory.path + "/metrics-token"
            try "mamori-cli-test-scrape-token\n".write(toFile: metricsTokenFile, atomically: true, encoding: .utf8)
            chmod(metricsTokenFile, 0o600)
            process.arguments = ["serve", "--data", directory.path + "/data", "--listen", "127.0.0.1:0",
                                 "--metrics-token-file", metricsTokenFile] + databaseArguments
            let logPath = directory.path + "/serve.log"
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            let log = FileHandle(forWritingAtPath: logPath)
            process.standardOutput = log
            process.standardError = log
            try process.run()
            for _ in 0..<300 where port == 0 {
                let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                if let range = text.range(of: "address=127.0.0.1:") {
                    port = Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
                }
                if port == 0 { usleep(50_000) }
            }
            #expect(port > 0, "the collector did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }

        var environment: [String: String] { ["MAMORI_SERVER": url, "MAMORI_CA": ca] }

        func stop() -> Int32 {
            process.terminate()
            process.waitUntilExit()
            return process.terminationStatus
        }

        deinit { if process.isRunning { process.terminate() } }
    }

    /// The shipped unit is `Type=notify`: READY=1 comes once the HTTPS listener is bound (a TCP
    /// connection to the port it names succeeds at that moment), and STOPPING=1 on SIGTERM.
    @Test func serveNotifiesSystemdWhenListeningAndWhenStopping() throws {
        let directory = try TemporaryDirectory("mamori-collector-notify")
        let initResult = try CLI.run("mamori-collector", ["init", "--data", directory.path + "/data"])
        #expect(initResult.status == 0, "init failed: \(initResult.stderr)")
        let notify = try AgentLifecycleTests.NotifySocket(in: directory.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binDirectory + "/mamori-collector")
        process.arguments = ["serve", "--data", directory.path + "/data", "--listen", "127.0.0.1:0"]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        process.environment = environment
        let logPath = directory.path + "/serve.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: logPath)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let ready = notify.receive(until: "READY=1", within: 30)
        let message = ready.first { $0.contains("READY=1") } ?? ""
        #expect(message.contains("READY=1"), "no READY=1: \(ready); log: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        let port = message.range(of: "listening on 127.0.0.1:").map { Int(message[$0.upperBound...].prefix { $0.isNumber }) ?? 0 } ?? 0
        #expect(port > 0, "READY=1 does not name the port: \(message)")
        // Connected at once, no retry: the listener was bound before READY=1 was sent.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0, "connect to the port READY=1 named failed: errno \(errno)")

        process.terminate()
        let stopping = notify.receive(until: "STOPPING=1", within: 30)
        #expect(stopping.contains { $0.contains("STOPPING=1") }, "no STOPPING=1 on SIGTERM: \(stopping)")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func initServeEnrolShipAndCatchAFork() throws {
        let collector = try RunningCollector(profileRoot: nil)
        let health = try CLI.runExecutable("/usr/bin/curl", ["-s", "--cacert", collector.ca, collector.url + "/healthz"])
        #expect(health.stdout.contains("\"status\":\"ok\""))
        // A second init over the same directory is refused: nothing is overwritten.
        let again = try CLI.run("mamori-collector", ["init", "--data", collector.data])
        #expect(again.status != 0)
        #expect(again.stderr.contains("refusing to overwrite"))

        let token = try CLI.run("mamorictl", ["enroll-token", "create", "--org", "区議会", "--group", "clerks", "--expires", "2h",
                                              "--token-file", collector.tokenFile, "--format", "json"], environment: collector.environment)
        #expect(token.status == 0, "\(token.stderr)")
        #expect(token.stdout.contains("\"org\":\"assembly\""))
        let badOrg = try CLI.run("mamorictl", ["enroll-token", "create", "--org", "parliament", "--token-file", collector.tokenFile],
                                 environment: collector.environment)
        #expect(badOrg.status == 2)
        // mamori-agent's own duration flag: no trap either.
        for duration in ["9223372036854775807", "315360001", "0"] {
            let watch = try CLI.run("mamori-agent", ["media", "watch", "--duration", duration])
            #expect(watch.status == 64 || watch.status == 2, "--duration \(duration): exit \(watch.status)")
            #expect(watch.stderr.contains("--duration"), "\(watch.stderr)")
        }
        // Durations that would overflow (this one trapped, exit 132) or fall outside 1m...90d:
        // one line, exit 2, nothing asked of the collector.
        for expires in ["999999999999999999d", "9223372036854775807s", "106751991167301d", "91d", "30s", "0d", "12", "d", "1.5h"] {
            let bad = try CLI.run("mamorictl", ["enroll-token", "create", "--org", "mayor", "--expires", expires, "--token-file", collector.tokenFile],
                                  environment: collector.environment)
            #expect(bad.status == 2, "--expires \(expires): exit \(bad.status) \(bad.stderr)")
            #expect(bad.stderr.contains("--expires"), "--expires \(expires): \(bad.stderr)")
            #expect(bad.stderr.split(separator: "\n").count == 1, "--expires \(expires): \(bad.stderr)")
        }
        let wrongToken = try CLI.run("mamorictl", ["enroll-token", "create", "--org", "mayor"],
                                     environment: collector.environment.merging(["MAMORI_TOKEN": "mamori_admin_nope"]) { $1 })
        #expect(wrongToken.status == 1)
        #expect(wrongToken.stderr.contains("401"))

        let load = try CLI.run("mamori-loadgen", ["--server", collector.url, "--ca", collector.ca, "--token", "@" + collector.tokenFile,
                                                  "--hosts", "4", "--records-per-batch", "50", "--interval", "0.2", "--duration", "3",
                                                  "--inject", "fork", "--inject-host", "2", "--format", "json"])
        #expect(load.status == 0, "\(load.stdout) \(load.stderr)")
        #expect(load.stdout.contains("\"injected_refused\":1"))
        #expect(load.stdout.contains("\"unexpected\":0"))
        #expect(load.stdout.contains("\"forked\":1"))
        let anonymous = try CLI.runExecutable("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", collector.ca,
                                                                collector.url + "/metrics"])
        #expect(anonymous.stdout == "401", "/metrics without the scrape token: \(anonymous.stdout)")
        let metrics = try CLI.runExecutable("/usr/bin/curl", ["-s", "--cacert", collector.ca, "-H", "Authorization: Bearer mamori-cli-test-scrape-token",
                                                              collector.url + "/metrics"])
        #expect(metrics.stdout.contains("mamori_verification_failures_total{kind=\"forked\"} 1"))
        #expect(metrics.stdout.contains("mamori_hosts{status=\"tampered\"} 1"))
        #expect(collector.stop() == 0)
    }

    /// Each fault the load generator can inject is refused by the collector, and the terminal's
    /// genuine batches around it are all stored.
    @Test(arguments: [("gap", "deleted"), ("bad-mac", "bad-mac"), ("replay", "replay")])
    func loadGeneratorInjectionsAreRefused(inject: String, refusal: String) throws {
        let collector = try RunningCollector(profileRoot: nil)
        let load = try CLI.run("mamori-loadgen", ["--server", collector.url, "--ca", collector.ca, "--token", "@" + collector.tokenFile,
                                                  "--hosts", "3", "--records-per-batch", "40", "--interval", "0.3", "--duration", "2.5",
                                                  "--inject", inject, "--inject-host", "1", "--format", "json"])
        #expect(load.status == 0, "\(load.stdout) \(load.stderr)")
        #expect(load.stdout.contains("\"injected_refused\":1"))
        #expect(load.stdout.contains("\"unexpected\":0"))
        #expect(load.stdout.contains("\"\(refusal)\":1"), "\(load.stdout)")
        #expect(collector.stop() == 0)
    }

    @Test func profilePushIsVerifiedByTheCollector() throws {
        let keys = try TemporaryDirectory("mamori-collector-keys")
        #expect(try CLI.mamorictl("keys", "init", "--dir", keys.path).status == 0)
        let collector = try RunningCollector(profileRoot: keys.path + "/root.pub")
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let signed = keys.path + "/standard.signed"
        let sign = try CLI.mamorictl("profile", "sign", repo.appendingPathComponent("profiles/mynumber-standard.yaml").path,
                                     "--key", keys.path + "/signing.key", "--out", signed)
        #expect(sign.status == 0, "\(sign.stderr)")
        let push = try CLI.run("mamorictl", ["profile", "push", signed, "--token-file", collector.tokenFile], environment: collector.environment)
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.contains("accepted: mayor version 1"))
        let again = try CLI.run("mamorictl", ["profile", "push", signed, "--token-file", collector.tokenFile], environment: collector.environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("not newer"))
        #expect(collector.stop() == 0)
    }
}
