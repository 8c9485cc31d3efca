@testable import MamoriCollector
import MamoriCore
import Testing

/// `mamorictl fleet host` shows a media decision's device name beside its ids.
@Suite struct FleetEventDetailTests {
    @Test func aMediaDecisionNamesTheDevice() {
        let payload: [String: JSONValue] = [
            "device": .string("/dev/sdb"), "usb_vendor": .string("0781"), "usb_product": .string("5583"), "usb_serial": .string("4C530001"),
            "usb_vendor_name": .string("SanDisk"), "usb_model_name": .string("Ultra Fit"), "decision": .string("read-only"),
            "rule": .string("default:usb-storage"),
        ]
        #expect(CollectorStore.eventDetail("media.decision", payload) == "/dev/sdb SanDisk Ultra Fit 0781:5583:4C530001 read-only default:usb-storage")
        #expect(CollectorStore.eventDetail("media.decision", ["device": .string("/dev/sr0"), "decision": .string("read-only")]) == "/dev/sr0 read-only")
        #expect(CollectorStore.eventDetail("auth.success", payload) == nil)
        let grant: [String: JSONValue] = [
            "grant": .string("grt-1"), "usb_vendor": .string("0781"), "usb_product": .null, "usb_serial": .string("4C530001"),
            "mode": .string("read-write"), "expires": .string("2026-12-03T13:00:00Z"), "ref": .string("R8-0142"),
        ]
        #expect(CollectorStore.eventDetail("media.grant-applied", grant) == "grt-1 0781:*:4C530001 read-write until 2026-12-03T13:00:00Z ref R8-0142")
        var refused = grant
        refused["code"] = .string("other-host")
        #expect(CollectorStore.eventDetail("media.grant-rejected", refused)?.hasSuffix("refused: other-host") == true)
    }
}
