import Foundation
import Testing

/// `mamori-agent media generate-policy` (USBGuard's generate-policy for Mamori) and device
/// names in `media scan`, through the real libudev under umockdev.
@Suite("Media: generate-policy and device names", .serialized)
struct MediaGeneratePolicyTests {
    static func generate(_ fixture: String) throws -> CLIResult {
        try MediaUmockdevTests.underUmockdev(fixture, ["media", "generate-policy"])
    }

    /// The stick behind a hub gets one entry (its disk and partition are one device); the
    /// keyboard and the hubs get none. The placeholders keep the profile from linting until the
    /// administrator fills in expires and reason; filled in, it lints clean.
    @Test func entriesForTheAttachedStickAreReadyToFillIn() throws {
        let result = try Self.generate("hub-stick-keyboard")
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout
        #expect(text.contains("# SanDisk Ultra Fit (/dev/sdb, usb-storage)"), "\(text)")
        #expect(text.contains("- vendor: \"0781\"\n  product: \"5583\"\n  serial: \"4C530099\"\n  mode: read-write"), "\(text)")
        #expect(text.components(separatedBy: "- vendor:").count == 2, "one entry expected:\n\(text)")
        #expect(!text.contains("046d"), "the keyboard was listed")
        #expect(!text.contains("05e3") && !text.contains("1d6b"), "a hub was listed")

        let directory = try TemporaryDirectory("mamori-generate")
        let indented = text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
        let profile = "name: generated\nversion: 1\nexpires: 2099-01-01\nscope:\n  organisation: mayor\nmedia:\n  mode: enforce\n  allow:\n" + indented + "\n"
        try profile.write(toFile: directory.file("raw.yaml"), atomically: true, encoding: .utf8)
        let raw = try CLI.mamorictl("profile", "lint", directory.file("raw.yaml"))
        #expect(raw.status == 1, "the unfilled placeholders linted clean:\n\(raw.stdout)\(raw.stderr)")
        let filled = profile.replacingOccurrences(of: "FILL-IN-YYYY-MM-DD", with: "2027-03-31")
            .replacingOccurrences(of: "reason: \"\"", with: "reason: \"持ち出し申請 R8-0123\"")
        try filled.write(toFile: directory.file("filled.yaml"), atomically: true, encoding: .utf8)
        let lint = try CLI.mamorictl("profile", "lint", directory.file("filled.yaml"))
        #expect(lint.status == 0, "\(lint.stdout)\(lint.stderr)\n\(filled)")
    }

    @Test func aDeviceWithoutASerialIsFlaggedAndNotAllowListed() throws {
        let result = try Self.generate("usb-stick-no-serial")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("NOT ALLOW-LISTABLE"), "\(result.stdout)")
        #expect(!result.stdout.split(separator: "\n").contains { $0.hasPrefix("- vendor:") }, "\(result.stdout)")
    }

    @Test func nothingAttachedExitsOne() throws {
        let result = try Self.generate("hid-keyboard")
        #expect(result.status == 1)
        #expect(result.stderr.contains("no removable storage"))
    }

    /// `media watch` prints one readable line per event by default: time, device, name, ids,
    /// class, decision, rule, mode and what was applied (or what failed).
    @Test func watchPrintsOneReadableLinePerEvent() throws {
        let directory = try TemporaryDirectory("mamori-watch")
        try MediaUmockdevTests.profile.write(toFile: directory.file("p.yaml"), atomically: true, encoding: .utf8)
        let result = try MediaUmockdevTests.underUmockdev("hub-stick-keyboard", ["media", "watch", "--profile", directory.file("p.yaml"), "--duration", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let stick = try #require(lines.first { $0.contains("  /dev/sdb  ") }, "\(result.stdout)")
        #expect(stick.contains("\"SanDisk Ultra Fit\"  0781:5583:4C530099  usb-storage  read-only  default:usb-storage  enforce"), "\(stick)")
        // umockdev's fake node takes no BLKROSET: the line says so.
        #expect(stick.contains("FAILED") && stick.contains("BLKROSET /dev/sdb"), "\(stick)")
        let keyboard = try #require(lines.first { $0.contains("046d:c31c") }, "\(result.stdout)")
        #expect(keyboard.contains("\"Logitech USB Keyboard\"") && keyboard.contains("hid  allow  builtin:hid-always-allowed"), "\(keyboard)")
        #expect(!result.stdout.contains("{\"kind\""), "JSON printed without --format json")
        #expect(lines.contains("ready"))
    }

    /// Vendor and model strings beside the ids, in the scan's table and JSON and so in every
    /// media.decision record.
    @Test func scanShowsDeviceNames() throws {
        let directory = try TemporaryDirectory("mamori-names")
        try MediaUmockdevTests.profile.write(toFile: directory.file("p.yaml"), atomically: true, encoding: .utf8)
        let table = try MediaUmockdevTests.underUmockdev("hub-stick-keyboard", ["media", "scan", "--profile", directory.file("p.yaml")])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.split(separator: "\n").first?.contains("NAME") == true)
        #expect(table.stdout.contains("SanDisk Ultra Fit") && table.stdout.contains("Logitech USB Keyboard"), "\(table.stdout)")
        let devices = try MediaUmockdevTests.scan("hub-stick-keyboard", profile: MediaUmockdevTests.profile)
        let stick = devices.first { $0["device"] as? String == "/dev/sdb" }
        #expect(stick?["usb_vendor_name"] as? String == "SanDisk")
        #expect(stick?["usb_model_name"] as? String == "Ultra Fit")
    }
}
