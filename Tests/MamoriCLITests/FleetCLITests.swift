import Foundation
import Testing

/// `mamorictl fleet`, `token` and `report` as an operator runs them, against `mamori-collector
/// serve` fed by `mamori-loadgen --checks --fail-rate --orgs`, on SQLite and (under
/// pg-test-server.sh) PostgreSQL: all three formats, exit codes 0/3/2, ctl.yaml, the 80-column
/// tables, the 区議会 rule, and the self-inspection report's figures.
@Suite(.serialized) struct FleetCLITests {
    static let postgresURL = ProcessInfo.processInfo.environment["MAMORI_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let engines = postgresURL != nil || ProcessInfo.processInfo.environment["MAMORI_REQUIRE_POSTGRES"] == "1"
        ? ["sqlite", "postgres"] : ["sqlite"]

    /// A fresh database on the test server for one collector (psql as the test role, which may CREATEDB).
    static func freshDatabase(_ engine: String) throws -> String? {
        guard engine == "postgres" else { return nil }
        let url = try #require(postgresURL, "PostgreSQL is required: run under scripts/pg-test-server.sh")
        let name = "mamori_cli_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let made = try CLI.runExecutable("/usr/bin/psql", [url, "-X", "-q", "-c", "CREATE DATABASE \(name)"])
        #expect(made.status == 0, "\(made.stderr)")
        let afterScheme = url.range(of: "://")!.upperBound
        let pathStart = url[afterScheme...].firstIndex(of: "/")!
        let queryStart = url[pathStart...].firstIndex(of: "?") ?? url.endIndex
        return String(url[..<pathStart]) + "/" + name + String(url[queryStart...])
    }

    func loadgen(_ collector: CollectorCLITests.RunningCollector, _ extra: [String]) throws {
        let run = try CLI.run("mamori-loadgen", ["--server", collector.url, "--ca", collector.ca, "--token", "@" + collector.tokenFile,
                                                 "--records-per-batch", "20", "--interval", "0.3", "--duration", "1", "--checks", "5"] + extra)
        #expect(run.status == 0, "loadgen: \(run.stdout) \(run.stderr)")
    }

    func ctl(_ collector: CollectorCLITests.RunningCollector, _ arguments: [String], token: String? = nil) throws -> CLIResult {
        var environment = collector.environment
        environment["MAMORI_TOKEN"] = try token ?? String(contentsOfFile: collector.tokenFile, encoding: .utf8)
        return try CLI.run("mamorictl", arguments, environment: environment)
    }

    /// Terminal escape injection: evidence that a terminal wrote with ESC and OSC sequences (clear
    /// screen, retitle the window, a bidi override, a formula for a spreadsheet) goes through a real
    /// ingest and reaches no table, CSV or report raw.
    @Test func terminalTextNeverReachesTheScreenRaw() throws {
        let collector = try CollectorCLITests.RunningCollector(profileRoot: nil)
        defer { _ = collector.stop() }
        let hostile = "\u{1B}[2J\u{1B}]0;owned\u{07}\u{202E}evil\u{9B}31m"
        try loadgen(collector, ["--hosts", "1", "--fail-rate", "1", "--name-prefix", "esc", "--evidence-suffix", hostile])
        let reports = try ctl(collector, ["fleet", "hosts", "--format", "json"])
        let name = try #require(reports.stdout.components(separatedBy: "\"hostname\":\"").dropFirst().first?.prefix { $0 != "\"" })
        for arguments in [["fleet", "host", String(name)], ["fleet", "host", String(name), "--format", "csv"],
                          ["fleet", "hosts", "--failing", "media.rules-enforcing", "--format", "csv"], ["fleet", "hosts"]] {
            let result = try ctl(collector, arguments)
            #expect(result.status == 3, "\(arguments): \(result.stderr)")
            for raw in ["\u{1B}", "\u{07}", "\u{202E}", "\u{9B}"] {
                #expect(!result.stdout.contains(raw), "\(arguments) printed \(raw.unicodeScalars.first!.value) raw:\n\(result.stdout)")
            }
            if arguments[1] == "host", arguments.contains("csv") { #expect(result.stdout.contains("\\u{1B}[2J"), "\(result.stdout)") }
        }
        let directory = try TemporaryDirectory("mamori-report")
        let report = try ctl(collector, ["report", "--org", "mayor", "--out", directory.path])
        #expect(report.status == 0 || report.status == 3, "\(report.stderr)")
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
            let text = (try? String(contentsOfFile: directory.file(file), encoding: .utf8)) ?? ""
            #expect(!text.contains("\u{1B}") && !text.contains("\u{202E}"), "\(file) holds raw control text")
        }
    }

    @Test(arguments: engines) func fleetCommandsFormatsAndExitCodes(engine: String) throws {
        let collector = try CollectorCLITests.RunningCollector(profileRoot: nil, database: try Self.freshDatabase(engine))
        defer { _ = collector.stop() }
        // Six compliant terminals over three organisations (two each), then two failing ones in mayor.
        try loadgen(collector, ["--hosts", "6", "--orgs", "mayor,教育委員会,assembly", "--fail-rate", "0", "--name-prefix", "ok"])
        var summary = try ctl(collector, ["fleet", "summary", "--format", "json"])
        #expect(summary.status == 0, "\(summary.stderr)")
        #expect(summary.stdout.contains("\"compliant\":2"))
        try loadgen(collector, ["--hosts", "2", "--orgs", "mayor", "--fail-rate", "1", "--name-prefix", "bad"])

        summary = try ctl(collector, ["fleet", "summary"])
        #expect(summary.status == 3)
        #expect(summary.stdout.contains("区長部局"))
        #expect(summary.stdout.contains("区議会"))
        for line in summary.stdout.split(separator: "\n") { #expect(line.count <= 80) }
        #expect(!summary.stdout.contains("\u{1B}["))
        let csv = try ctl(collector, ["fleet", "summary", "--format", "csv"])
        #expect(csv.status == 3)
        #expect(csv.stdout.hasPrefix("ORG,HOSTS,OK,FAILING,STALE,TAMPERED,NO-DATA,OUT\r\n"))
        #expect(csv.stdout.contains("区長部局,4,2,2,0,0,0,0\r\n"))

        let failing = try ctl(collector, ["fleet", "hosts", "--failing", "media.rules-enforcing"])
        #expect(failing.status == 3)
        #expect(failing.stdout.contains("bad-000000") && failing.stdout.contains("bad-000001"))
        #expect(!failing.stdout.contains("ok-000000"))
        #expect(failing.stdout.contains("FAILING SINCE"))
        let failingJSON = try ctl(collector, ["fleet", "hosts", "--failing", "media.rules-enforcing", "--format", "json"])
        #expect(failingJSON.stdout.contains("\"failing_since\""))
        // Ward-wide tokens see no 区議会 host; its hosts are listed for nobody else either.
        let all = try ctl(collector, ["fleet", "hosts", "--format", "csv"])
        #expect(all.stdout.split(separator: "\r\n").count == 1 + 6)
        #expect(!all.stdout.contains("ok-000002"))
        #expect(try ctl(collector, ["fleet", "hosts", "--org", "区議会"]).status == 2)
        let compliantOnly = try ctl(collector, ["fleet", "hosts", "--org", "education"])
        #expect(compliantOnly.status == 0)

        let host = try ctl(collector, ["fleet", "host", "bad-000000"])
        #expect(host.status == 3)
        #expect(host.stdout.contains("media.rules-enforcing") && host.stdout.contains("fail"))
        #expect(host.stdout.contains("Recent events"))
        #expect(try ctl(collector, ["fleet", "host", "ok-000000"]).status == 0)
        #expect(try ctl(collector, ["fleet", "host", "ok-000002"]).status == 2)
        // The load generator's journal clock runs ahead of the wall clock (records are seconds
        // apart in its simulated time), so "now" for its posture is a day ahead.
        let now = ISO8601DateFormatter().string(from: Date().addingTimeInterval(86400))
        #expect(try ctl(collector, ["fleet", "history", "bad-000001", "--at", now]).status == 3)
        #expect(try ctl(collector, ["fleet", "history", "ok-000003", "--at", now, "--format", "json"]).stdout.contains("\"compliant\":true"))
        #expect(try ctl(collector, ["fleet", "history", "ok-000003", "--at", "2020-01-01"]).status == 3)
        #expect(try ctl(collector, ["fleet", "alerts"]).status == 0)

        // Usage and connection errors exit 2.
        #expect(try ctl(collector, ["fleet", "hosts", "--stale", "--tampered"]).status == 2)
        #expect(try ctl(collector, ["fleet", "summary", "--format", "xml"]).status == 2)
        #expect(try ctl(collector, ["fleet", "alerts", "--ack", "alr-1"]).status == 2)
        #expect(try ctl(collector, ["fleet", "summary", "--server", "https://127.0.0.1:1"]).status == 2)
        #expect(try ctl(collector, ["fleet", "summary"], token: "mamori_admin_nope").status == 2)
        #expect(try ctl(collector, ["fleet", "scope", "ok-000000", "--out", "--in", "--reason", "x"]).status == 2)

        // Scope: out of scope hosts are listed but leave the figures.
        #expect(try ctl(collector, ["fleet", "scope", "bad-000000", "--out", "--reason", "school asset"]).status == 0)
        #expect(try ctl(collector, ["fleet", "summary", "--format", "csv"]).stdout.contains("区長部局,4,2,1,0,0,0,1\r\n"))
        #expect(try ctl(collector, ["fleet", "scope", "bad-000000", "--in", "--reason", "back"]).status == 0)
    }

    @Test(arguments: engines) func tokensConfigAndReport(engine: String) throws {
        let collector = try CollectorCLITests.RunningCollector(profileRoot: nil, database: try Self.freshDatabase(engine))
        defer { _ = collector.stop() }
        try loadgen(collector, ["--hosts", "2", "--orgs", "mayor", "--fail-rate", "0", "--name-prefix", "ok"])
        try loadgen(collector, ["--hosts", "2", "--orgs", "mayor", "--fail-rate", "1", "--name-prefix", "bad"])

        // Tokens: a ward-wide admin cannot mint a 区議会 token; a mayor viewer sees mayor only and no alerts.
        #expect(try ctl(collector, ["token", "create", "--role", "auditor", "--org", "区議会", "--label", "x"]).status == 2)
        let viewer = try ctl(collector, ["token", "create", "--role", "viewer", "--org", "mayor", "--label", "総務課"])
        #expect(viewer.status == 0)
        let viewerToken = viewer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(viewerToken.hasPrefix("mamori_admin_"))
        #expect(try ctl(collector, ["fleet", "hosts"], token: viewerToken).status == 3)
        #expect(try ctl(collector, ["fleet", "alerts"], token: viewerToken).status == 2)
        let list = try ctl(collector, ["token", "list", "--format", "json"])
        #expect(list.stdout.contains("総務課"))
        #expect(!list.stdout.contains(viewerToken))
        let match = try #require(list.stdout.range(of: #""id":"adm-[0-9a-f]{16}","label":"総務課""#, options: .regularExpression))
        let id = String(list.stdout[match].dropFirst(6).prefix(20))
        #expect(try ctl(collector, ["token", "revoke", id]).status == 0)
        #expect(try ctl(collector, ["fleet", "hosts"], token: viewerToken).status == 2)

        // ctl.yaml, with nothing in the environment.
        let config = collector.directory.path + "/ctl.yaml"
        try "server: \(collector.url)\nca: \(collector.ca)\ntoken_file: \(collector.tokenFile)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let viaConfig = try CLI.run("mamorictl", ["fleet", "summary", "--format", "json"], environment: ["MAMORI_CTL_CONFIG": config])
        #expect(viaConfig.status == 3, "\(viaConfig.stderr)")
        try "server: \(collector.url)\ncolour: yes\n".write(toFile: config, atomically: true, encoding: .utf8)
        let badConfig = try CLI.run("mamorictl", ["fleet", "summary"], environment: ["MAMORI_CTL_CONFIG": config])
        #expect(badConfig.status == 2)
        #expect(badConfig.stderr.contains("colour"))

        // The report: figures for the scripted fleet (4 mayor hosts, 2 failing every check).
        let out = collector.directory.path + "/report"
        let report = try ctl(collector, ["report", "--org", "mayor", "--out", out, "--lang", "en"])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: out + "/self-inspection-mayor.html", encoding: .utf8)
        let markdown = try String(contentsOfFile: out + "/self-inspection-mayor.md", encoding: .utf8)
        #expect(html.contains("<svg") && !html.contains("<script"))
        #expect(html.contains("<polyline"))
        #expect(markdown.contains("| Hosts | 4 |"))
        #expect(markdown.contains("| Compliance rate | 50.0% |"))
        #expect(markdown.contains("| media.rules-enforcing | Removable-media rules installed and enforcing | 6(3)① | 4 | 2 | 2 | 0 | 0 | 50.0% |"))
        #expect(markdown.components(separatedBy: "| simulated failure |").count - 1 == 10)
        #expect(markdown.contains("compliance-mayor.svg"))
        #expect(FileManager.default.fileExists(atPath: out + "/compliance-mayor.svg"))
        let japanese = try ctl(collector, ["report", "--org", "区長部局", "--out", out + "-ja"])
        #expect(japanese.status == 0)
        let ja = try String(contentsOfFile: out + "-ja/self-inspection-mayor.md", encoding: .utf8)
        #expect(ja.contains("# 自己点検報告書 — 区長部局"))
        #expect(ja.contains("| 適合率 | 50.0% |"))
        #expect(try ctl(collector, ["report", "--org", "mayor", "--out", out, "--lang", "fr"]).status == 2)
    }
}
