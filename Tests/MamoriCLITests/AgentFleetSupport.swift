import Foundation
import MamoriCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A collector process that can be stopped and started again on the same data and port, as an
/// outage looks to the agents.
final class FleetCollector {
    let directory: TemporaryDirectory
    private var process: Process?
    private(set) var port = 0
    let keys: TemporaryDirectory
    var data: String { directory.path + "/data" }
    var url: String { "https://127.0.0.1:\(port)" }
    var ca: String { data + "/tls/ca.pem" }
    var tokenFile: String { directory.path + "/admin-token" }
    var environment: [String: String] { ["MAMORI_SERVER": url, "MAMORI_CA": ca] }

    /// `mamorictl keys init`, then `mamori-collector init --profile-root` and `serve`.
    init() throws {
        directory = try TemporaryDirectory("mamori-fleet-collector")
        keys = try TemporaryDirectory("mamori-fleet-keys")
        #expect(try CLI.mamorictl("keys", "init", "--dir", keys.path).status == 0)
        let initResult = try CLI.run("mamori-collector", ["init", "--data", data, "--profile-root", keys.path + "/root.pub"])
        #expect(initResult.status == 0, "init failed: \(initResult.stderr)")
        let token = initResult.stdout.split(separator: "\n").last.map(String.init) ?? ""
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try start()
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binDirectory + "/mamori-collector")
        process.arguments = ["serve", "--data", data, "--listen", "127.0.0.1:\(port)"]
        let logPath = directory.path + "/serve.log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        // The first start picks a free port and logs it; a restart reuses it.
        if port == 0 {
            for _ in 0..<300 where port == 0 {
                let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                if let range = text.range(of: "address=127.0.0.1:") { port = Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0 }
                if port == 0 { usleep(50_000) }
            }
        }
        for _ in 0..<200 {
            if (try? CLI.runExecutable("/usr/bin/curl", ["-sf", "--cacert", ca, url + "/healthz"]))?.status == 0 { return }
            usleep(50_000)
        }
        Issue.record("the collector did not come up: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }

    /// GET an admin endpoint; the parsed JSON.
    func admin(_ path: String) throws -> JSONValue {
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try CLI.runExecutable("/usr/bin/curl", ["-sf", "--cacert", ca, "-H", "Authorization: Bearer " + token, url + path])
        #expect(result.status == 0, "GET \(path) failed: \(result.stderr)")
        return try JSONValue.parse(Array(result.stdout.utf8))
    }

    /// The collector's view of one host: stored records and alerts.
    func host(_ id: String) throws -> (records: Int64, nextSeq: Int64, tampered: Bool)? {
        guard let hosts = try admin("/v1/admin/hosts")["hosts"]?.arrayValue else { return nil }
        guard let host = hosts.first(where: { $0["id"]?.stringValue == id }) else { return nil }
        return (host["records"]?.intValue ?? -1, host["next_seq"]?.intValue ?? -1, host["tampered_at"] != nil)
    }

    func alerts() throws -> [JSONValue] { try admin("/v1/admin/alerts")["alerts"]?.arrayValue ?? [] }

    func enrollToken(org: String, group: String?) throws -> String {
        var arguments = ["enroll-token", "create", "--org", org, "--token-file", tokenFile]
        if let group { arguments += ["--group", group] }
        let result = try CLI.run("mamorictl", arguments, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Signs `yaml` with the collector's signing key and pushes it.
    func pushProfile(_ yaml: String) throws -> CLIResult {
        let source = directory.path + "/profile-\(UUID().uuidString).yaml"
        try yaml.write(toFile: source, atomically: true, encoding: .utf8)
        let signed = source + ".signed"
        let sign = try CLI.mamorictl("profile", "sign", source, "--key", keys.path + "/signing.key", "--out", signed)
        #expect(sign.status == 0, "\(sign.stderr)")
        return try CLI.run("mamorictl", ["profile", "push", signed, "--token-file", tokenFile], environment: environment)
    }
}

/// One enrolled terminal: its own root directory, run as `mamori-agent run --root`.
final class FleetAgent {
    let root: TemporaryDirectory
    let name: String
    private(set) var hostId = ""
    private var process: Process?
    var logPath: String { root.path + "/agent.log" }

    /// Tight intervals so a test sees shipments, posture runs and profile polls within seconds.
    static let fastConfiguration = """
        ship_interval: 1s
        posture_interval: 2s
        profile_poll: 1s
        retry_initial: 1s
        retry_max: 2s

        """

    init(name: String, collector: FleetCollector, org: String, group: String?) throws {
        self.name = name
        root = try TemporaryDirectory("mamori-fleet-\(name)")
        let token = try collector.enrollToken(org: org, group: group)
        let enrol = try CLI.run("mamori-agent", ["enroll", "--root", root.path, "--server", collector.url, "--token", token,
                                                 "--ca", collector.ca, "--hostname", name])
        #expect(enrol.status == 0, "enroll failed: \(enrol.stderr)")
        hostId = String(enrol.stdout.split(separator: " ").dropFirst(2).first ?? "")
        try FileManager.default.createDirectory(atPath: root.path + "/etc/mamori", withIntermediateDirectories: true)
        try Self.fastConfiguration.write(toFile: root.path + "/etc/mamori/agent.yaml", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        // One wired interface up, so the wireless check has something to look at.
        try Self.interface("eth0", wireless: false, under: root.path)
    }

    /// An interface, up, in the terminal's simulated /sys/class/net.
    static func interface(_ name: String, wireless: Bool, under root: String) throws {
        let directory = root + "/sys/class/net/" + name
        try FileManager.default.createDirectory(atPath: directory + (wireless ? "/wireless" : ""), withIntermediateDirectories: true)
        try "0x1003\n".write(toFile: directory + "/flags", atomically: true, encoding: .utf8)
        try "up\n".write(toFile: directory + "/operstate", atomically: true, encoding: .utf8)
    }

    /// `launcher` runs the agent inside another program (umockdev-run); `enforceMediaOnHost`
    /// lets a rooted agent apply media decisions to the devices it sees (the testbed's fakes).
    func start(services: [String] = ["auth", "posture", "shipper", "profile"], launcher: [String] = [],
               enforceMediaOnHost: Bool = false) throws {
        let process = Process()
        let agent = CLI.binDirectory + "/mamori-agent"
        let arguments = ["run", "--root", root.path] + (enforceMediaOnHost ? ["--enforce-media-on-host"] : []) + ["--only"] + services
        process.executableURL = URL(fileURLWithPath: launcher.first ?? agent)
        process.arguments = launcher.isEmpty ? arguments : Array(launcher.dropFirst()) + [agent] + arguments
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        unlink(root.path + "/run/mamori/pam.sock")
        try process.run()
        self.process = process
        if services.contains("auth") {
            // Up to 30 s: on 2 cores beside a release build, the agent's start took over 5 s (the old bound).
            for _ in 0..<1200 where !FileManager.default.fileExists(atPath: root.path + "/run/mamori/pam.sock") { usleep(25_000) }
        }
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }
    var isRunning: Bool { process?.isRunning ?? false }

    /// The agent itself (the launcher's child when there is one).
    var agentPID: Int32 {
        guard let process else { return 0 }
        let pid = process.processIdentifier
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.first ?? pid
    }

    func signal(_ number: Int32) { kill(agentPID, number) }

    @discardableResult
    func stop() -> Int32 {
        guard let process, process.isRunning else { return process?.terminationStatus ?? 0 }
        kill(agentPID, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    func killHard() {
        guard let process, process.isRunning else { return }
        kill(agentPID, SIGKILL)
        if agentPID != process.processIdentifier { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { if process?.isRunning == true { killHard() } }

    /// Complete records in the local journal (seq 0 ... count-1).
    func journalRecords() throws -> Int {
        let directory = root.path + "/var/lib/mamori/journal"
        var total = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".log") {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
            total += data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        return total
    }

    func journalText() throws -> String {
        let directory = root.path + "/var/lib/mamori/journal"
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.sorted()
            .map { try String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }.joined()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until `condition` holds (polling), up to `seconds`.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }
}
