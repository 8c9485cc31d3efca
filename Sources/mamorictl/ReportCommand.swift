import ArgumentParser
import MamoriClient
import Foundation
import MamoriCore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the self-inspection (自己点検) report of one organisation as HTML and Markdown (auditors and admins).",
        discussion: """
            Writes DIR/self-inspection-ORG.html, DIR/self-inspection-ORG.md and DIR/compliance-ORG.svg (the chart the Markdown shows;
            the HTML holds it inline). No JavaScript; the HTML prints on A4.
            Exit status: 0 written; 2 bad arguments, an unreachable collector, or a refusal.
            """)

    @OptionGroup var collector: CollectorOptions

    @Option(help: "The organisation (identifier or Japanese name).")
    var org: String

    @Option(help: "Directory to write into (created if missing).")
    var out: String

    @Option(help: "Start of the period (2026-04-01 or a UTC time); default 30 days before --to.")
    var from: String?

    @Option(help: "End of the period; default now.")
    var to: String?

    @Option(help: "ja or en.")
    var lang: String = "ja"

    func validate() throws {
        guard Organisation(identifierOrName: org) != nil else {
            throw ValidationError("unknown organisation \(org) (one of \(Organisation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, Timestamp(parsing: value) == nil { throw ValidationError("\(name) must be a date (2026-04-01) or a UTC time") }
        }
        guard SelfInspectionReport.Language(rawValue: lang) != nil else { throw ValidationError("--lang must be ja or en") }
    }

    func run() async throws {
        let organisation = Organisation(identifierOrName: org)!
        let data = try await collector.withFleetClient { client, token in
            try await client.adminGet("/v1/admin/fleet/report", query: [
                ("org", organisation.rawValue), ("from", from.flatMap { Timestamp(parsing: $0) }?.description),
                ("to", to.flatMap { Timestamp(parsing: $0) }?.description),
            ], token: token)
        }
        let report = SelfInspectionReport(data: data, language: SelfInspectionReport.Language(rawValue: lang)!)
        let base = out + "/"
        let chart = "compliance-\(organisation.rawValue).svg"
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try report.html().write(toFile: base + "self-inspection-\(organisation.rawValue).html", atomically: true, encoding: .utf8)
            try report.markdown(chartFile: chart).write(toFile: base + "self-inspection-\(organisation.rawValue).md", atomically: true, encoding: .utf8)
            try report.svgChart().write(toFile: base + chart, atomically: true, encoding: .utf8)
        } catch {
            throw InputError("cannot write the report into \(out): \(error.localizedDescription)")
        }
        print(base + "self-inspection-\(organisation.rawValue).html")
        print(base + "self-inspection-\(organisation.rawValue).md")
    }
}
