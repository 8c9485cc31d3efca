/// One device to write an allow-list entry for: from the devices attached now
/// (`mamori-agent media generate-policy`) or from what a host reported to the collector
/// (`mamorictl profile allow-device`).
public struct MediaAllowCandidate: Sendable, Equatable {
    public var vendor: String
    public var product: String
    public var serial: String?
    /// What the device claims to be, for people (never matched on).
    public var name: String?
    /// Where it was seen: a device node, or a host and time.
    public var location: String
    public var deviceClass: DeviceClass

    public init(vendor: String, product: String, serial: String?, name: String?, location: String, deviceClass: DeviceClass) {
        self.vendor = vendor
        self.product = product
        self.serial = serial
        self.name = name
        self.location = location
        self.deviceClass = deviceClass
    }
}

/// `media.allow` entries as YAML to paste into a profile, like `usbguard generate-policy`:
/// `expires` and `reason` are placeholders that `mamorictl profile lint` refuses until the
/// administrator fills them in, and a device without a usable serial is written commented out
/// (an entry for it would allow every device of its model).
public enum MediaAllowListYAML {
    /// The classes an entry can allow: storage, and the storage+HID composite (flagged).
    public static let listedClasses: Set<DeviceClass> = [.usbStorage, .sdCard, .compositeHIDStorage]

    /// One block per USB identity, in order; nil when no candidate is storage.
    public static func blocks(_ candidates: [MediaAllowCandidate], mode: MediaAction) -> [String] {
        var seen: Set<String> = []
        var blocks: [String] = []
        for candidate in candidates where listedClasses.contains(candidate.deviceClass) {
            let key = "\(candidate.vendor):\(candidate.product):\(candidate.serial ?? "")"
            guard seen.insert(key).inserted else { continue }
            // Names and places come from the device or a terminal's journal: one printable line
            // each, so a hostile name cannot start a YAML line of its own.
            let name = candidate.name.flatMap(USBIdentity.printableName) ?? "unnamed device"
            let location = PrintableText.ascii(candidate.location, limit: 200).text
            var lines = ["# \(name) (\(location), \(candidate.deviceClass.rawValue))"]
            if candidate.deviceClass == .compositeHIDStorage {
                lines.append("# WARNING: this device offers storage and a keyboard together (the BadUSB shape); allow it only if you know why.")
            }
            let serial = candidate.serial.flatMap(USBIdentity.printableName)
            if let serial, serial == candidate.serial, serial != "*" {
                lines += [
                    "- vendor: \"\(candidate.vendor)\"",
                    "  product: \"\(candidate.product)\"",
                    "  serial: \"\(quoted(serial))\"",
                    "  mode: \(mode.rawValue)",
                    "  expires: FILL-IN-YYYY-MM-DD   # when the approval (持ち出し申請) ends",
                    "  reason: \"\"                    # FILL IN: the approval reference and why",
                ]
            } else {
                lines.append("# NOT ALLOW-LISTABLE: the device reports no usable serial number, so an entry would allow every")
                lines.append("# \(candidate.vendor):\(candidate.product) device, not this one. Use a stick with a serial number.")
                lines += [
                    "# - vendor: \"\(candidate.vendor)\"",
                    "#   product: \"\(candidate.product)\"",
                    "#   serial: \"*\"",
                ]
            }
            blocks.append(lines.joined(separator: "\n"))
        }
        return blocks
    }

    static func quoted(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "\\" || character == "\"" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
