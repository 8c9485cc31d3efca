import Foundation
import Testing

/// Grants in combination, through the real libudev under umockdev: a grant file holding a grant
/// for the stick behind a hub, one for another host, one already expired and one naming a BadUSB
/// composite. Only the stick becomes writable; the keyboard stays allowed, the hubs ungoverned,
/// the composite blocked (and deauthorised by the udev helper). Signed by the real `mamorictl`.
@Suite("Media guard: grants under umockdev", .serialized)
struct MediaGrantUmockdevTests {
    final class Grants {
        let directory: TemporaryDirectory
        var profile: String { directory.file("p.yaml") }
        var grants: String { directory.file("grants.jsonl") }
        var root: String { directory.file("keys/root.pub") }

        init(_ specs: [(host: String, serial: String, vendor: String, product: String, now: String?)]) throws {
            directory = try TemporaryDirectory("mamori-grant-umockdev")
            #expect(try CLI.mamorictl("keys", "init", "--dir", directory.file("keys")).status == 0)
            try MediaUmockdevTests.profile.write(toFile: profile, atomically: true, encoding: .utf8)
            var lines = Data()
            for (index, spec) in specs.enumerated() {
                let out = directory.file("g\(index).json")
                var arguments = ["profile", "grant-device", "--no-push", "--out", out, "--host", spec.host, "--serial", spec.serial,
                                 "--vendor", spec.vendor, "--product", spec.product, "--for", "2h", "--reason", "持ち出し", "--ref", "R8-\(index)",
                                 "--key", directory.file("keys/signing.key")]
                if let now = spec.now { arguments += ["--now", now] }
                let signed = try CLI.run("mamorictl", arguments)
                #expect(signed.status == 0, "\(signed.stderr)")
                lines.append(try Data(contentsOf: URL(fileURLWithPath: out)))
            }
            try lines.write(to: URL(fileURLWithPath: grants))
        }

        var options: [String] { ["--profile", profile, "--grants", grants, "--profile-root", root, "--host-id", "hst-here"] }
    }

    static func scan(_ fixture: String, _ grants: Grants) throws -> [[String: Any]] {
        let result = try MediaUmockdevTests.underUmockdev(fixture, ["media", "scan", "--all", "--format", "json"] + grants.options)
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return json?["devices"] as? [[String: Any]] ?? []
    }

    @Test func onlyTheGrantedStickBehindTheHubBecomesWritable() throws {
        let grants = try Grants([
            ("hst-here", "4C530099", "0781", "5583", nil),
            ("hst-elsewhere", "4C530099", "0781", "5583", nil),
            ("hst-here", "4C530099", "0781", "5583", "2026-01-01"),
        ])
        let devices = try Self.scan("hub-stick-keyboard", grants)
        let disk = try #require(devices.first { $0["device"] as? String == "/dev/sdb" })
        #expect(disk["decision"] as? String == "read-write", "\(disk)")
        #expect((disk["rule"] as? String)?.hasPrefix("grant:grt-") == true, "\(disk)")
        #expect(devices.first { $0["device"] as? String == "/dev/sdb1" }?["decision"] as? String == "read-write")
        let keyboard = devices.first { ($0["syspath"] as? String)?.hasSuffix("usb1/1-1/1-1.3") == true }
        #expect(keyboard?["decision"] as? String == "allow")
        let hubs = devices.filter { $0["rule"] as? String == "builtin:hub-never-governed" }
        #expect(hubs.count == 2)

        // Without the one valid grant (another host's and an expired one only), the default applies.
        let without = try Grants([("hst-elsewhere", "4C530099", "0781", "5583", nil), ("hst-here", "4C530099", "0781", "5583", "2026-01-01")])
        let fallback = try Self.scan("hub-stick-keyboard", without)
        #expect(fallback.first { $0["device"] as? String == "/dev/sdb" }?["rule"] as? String == "default:usb-storage")
    }

    /// A grant naming the BadUSB composite's exact serial still leaves it blocked, and the udev
    /// helper deauthorises the composite only, never the hub or the keyboard beside it.
    @Test func aGrantNeverLetsABadUSBCompositeThrough() throws {
        let grants = try Grants([("hst-here", "EVIL", "05ac", "1234", nil)])
        let devices = try Self.scan("hub-badusb-keyboard", grants)
        let composite = try #require(devices.first { $0["device"] as? String == "/dev/sdf" })
        #expect(composite["decision"] as? String == "block")
        #expect((composite["reason"] as? String)?.contains("never allows a storage+HID composite") == true, "\(composite)")
        let helper = try MediaUmockdevTests.underUmockdev("hub-badusb-keyboard",
                                                           ["media-guard", MediaHubTopologyTests.controller + "usb1/1-1/1-1.1"] + grants.options)
        #expect(helper.status == 0, "\(helper.stderr)")
        #expect(helper.stdout.contains("authorized=0 \(MediaHubTopologyTests.controller)usb1/1-1/1-1.1"), "\(helper.stdout)")
    }

    /// The udev helper honours a grant as the agent does: the granted stick is decided read-write
    /// at attach, and nothing is made read-only.
    @Test func theUdevHelperHonoursTheGrant() throws {
        let grants = try Grants([("hst-here", "4C530099", "0781", "5583", nil)])
        let result = try MediaUmockdevTests.underUmockdev("hub-stick-keyboard", ["media-guard", "/dev/sdb"] + grants.options)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"decision\":\"read-write\""), "\(result.stdout)")
        #expect(result.stdout.contains("\"rule\":\"grant:grt-"), "\(result.stdout)")
        #expect(!result.stdout.contains("BLKROSET /dev/sdb"), "\(result.stdout)")
    }
}
