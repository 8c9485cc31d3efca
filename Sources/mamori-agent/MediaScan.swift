import ArgumentParser
import MamoriAgent
import MamoriCore

/// Lists present storage-capable devices, their facts and the decision the profile gives them,
/// without enforcing anything: what an administrator runs before switching audit to enforce.
struct MediaScan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "List removable devices and the profile's decision for each, without enforcing.",
        discussion: "Exit status: 0 listed (with the profile); 1 listed, but the profile was unusable so the fail-closed defaults were shown; 2 udev unavailable."
    )

    @OptionGroup var profileOptions: MediaProfileOptions

    @Option(help: "Output format: \(MediaOutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: MediaOutputFormat = .table

    @Flag(help: "Also list fixed disks and other devices that are not removable media.")
    var all = false

    func run() throws {
        let now = SystemClock.now()
        let load = profileOptions.load(now: now, requireTrustedFile: false)
        if let problem = load.problem { AgentOutput.error("no usable profile, showing the fail-closed defaults: \(problem)") }
        let context: UdevContext
        do {
            context = try UdevContext()
        } catch {
            AgentOutput.error("udev unavailable: \(error)")
            throw ExitCode(2)
        }
        let entries = MediaScanner.scan(context: context, policy: load.policy, now: now, includeFixed: all)
        switch format {
        case .table: print(MediaScanFormatter.table(entries), terminator: "")
        case .json: print(MediaScanFormatter.json(entries, profile: load.profileName, mode: load.policy.rules.mode).canonicalString)
        }
        if load.problem != nil { throw ExitCode(1) }
    }
}

enum MediaScanFormatter {
    static func table(_ entries: [MediaScanEntry]) -> String {
        var rows = [["DEVICE", "NAME", "CLASS", "USB ID", "SERIAL", "DECISION", "RULE", "MODE", "RO NOW"]]
        for entry in entries {
            let usb = entry.facts.usb
            rows.append([
                entry.facts.devNode ?? entry.facts.kernelName,
                usb?.displayName ?? "-",
                entry.decision.deviceClass?.rawValue ?? (entry.decision.rule == .hubNeverGoverned ? "not governed: hub" : "not-removable"),
                usb.map { "\($0.vendor):\($0.product)" } ?? "-",
                usb?.serial.flatMap(USBIdentity.printableName) ?? "-",
                entry.decision.action.rawValue,
                entry.decision.rule.description,
                entry.decision.mode.rawValue,
                entry.isReadOnly.map { $0 ? "yes" : "no" } ?? "-",
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { cell, width in cell + String(repeating: " ", count: width - cell.count) }
                .joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }.joined()
    }

    static func json(_ entries: [MediaScanEntry], profile: String?, mode: EnforcementMode) -> JSONValue {
        .object([
            "profile": profile.map { .string($0) } ?? .null,
            "fail_closed": .bool(profile == nil),
            "mode": .string(mode.rawValue),
            "devices": .array(entries.map(json)),
        ])
    }

    static func json(_ entry: MediaScanEntry) -> JSONValue {
        var device = entry.decision.journalPayload(for: entry.facts, event: "scan", applied: [])
        device["removable"] = entry.facts.removable.map { .bool($0) } ?? .null
        device["bus"] = entry.facts.bus.map { .string($0) } ?? .null
        device["usb_driver"] = entry.facts.usbDriver.map { .string($0) } ?? .null
        device["interface_classes"] = .array((entry.facts.usb?.interfaceClasses ?? []).map { .int(Int64($0)) })
        device["holders"] = .array(entry.facts.holders.map { .string($0) })
        device["governed"] = .bool(entry.decision.deviceClass != nil)
        if entry.decision.rule == .hubNeverGoverned { device["not_governed"] = .string("hub") }
        device["read_only_now"] = entry.isReadOnly.map { .bool($0) } ?? .null
        return .object(device)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = Substring(self)
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
