import MamoriCore

/// What a verified batch says about removable media, for the tables beside the journal: the USB
/// devices the host decided about (`host_devices`) and what happened to its grants
/// (`device_grants`). As for posture, only lines holding the marker bytes are parsed, so the
/// other records of a batch cost one byte scan.
public struct MediaBatchFacts: Sendable, Equatable {
    public struct Device: Sendable, Equatable {
        public var vendor: String
        public var product: String
        /// "" when the device reports none.
        public var serial: String
        public var vendorName: String?
        public var modelName: String?
        public var deviceClass: String
        public var decision: String
        public var rule: String
        public var firstSeen: String
        public var lastSeen: String
    }

    public struct GrantEvent: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case applied
            case used
            case expired
            case revoked
            case rejected(code: String)
        }
        public var grantId: String
        public var kind: Kind
        public var time: String
    }

    /// One entry per USB identity, the batch's latest decision.
    public var devices: [Device] = []
    public var grantEvents: [GrantEvent] = []

    public init() {}

    public var isEmpty: Bool { devices.isEmpty && grantEvents.isEmpty }
}

public enum MediaEventExtractor {
    static let grantKinds = ["media.grant-applied", "media.grant-expired", "media.grant-revoked", "media.grant-rejected"]

    public static func facts(in lines: [ArraySlice<UInt8>]) -> MediaBatchFacts {
        var facts = MediaBatchFacts()
        var index: [String: Int] = [:]
        for line in lines where mayHoldMedia(line) {
            guard let record = try? JournalLineParser.decode(Array(line)) else { continue }
            let time = record.time.description
            let payload = record.payload
            if record.kind == MediaJournalKind.decision {
                guard let vendor = payload["usb_vendor"]?.stringValue, let product = payload["usb_product"]?.stringValue,
                      let deviceClass = payload["class"]?.stringValue, let decision = payload["decision"]?.stringValue,
                      let rule = payload["rule"]?.stringValue else { continue }
                // A use is an attach the grant allowed: the whole disk's `add` (or, for a phone
                // with no disk, the USB device's), not every partition and re-decision.
                let devType = payload["devtype"]?.stringValue
                let isAttach = payload["event"]?.stringValue == "add"
                    && (devType == "disk" || (devType == "usb_device" && deviceClass == DeviceClass.mtpPTP.rawValue))
                if rule.hasPrefix("grant:"), isAttach {
                    facts.grantEvents.append(.init(grantId: String(rule.dropFirst(6)), kind: .used, time: time))
                }
                let serial = payload["usb_serial"]?.stringValue ?? ""
                let device = MediaBatchFacts.Device(vendor: vendor, product: product, serial: serial,
                                                    vendorName: payload["usb_vendor_name"]?.stringValue,
                                                    modelName: payload["usb_model_name"]?.stringValue, deviceClass: deviceClass,
                                                    decision: decision, rule: rule, firstSeen: time, lastSeen: time)
                let key = "\(vendor):\(product):\(serial)"
                if let at = index[key] {
                    let first = facts.devices[at].firstSeen
                    facts.devices[at] = device
                    facts.devices[at].firstSeen = first
                } else {
                    index[key] = facts.devices.count
                    facts.devices.append(device)
                }
            } else if grantKinds.contains(record.kind), let id = payload["grant"]?.stringValue {
                let kind: MediaBatchFacts.GrantEvent.Kind
                switch record.kind {
                case "media.grant-applied": kind = .applied
                case "media.grant-expired": kind = .expired
                case "media.grant-revoked": kind = .revoked
                default: kind = .rejected(code: payload["code"]?.stringValue ?? "unknown")
                }
                facts.grantEvents.append(.init(grantId: id, kind: kind, time: time))
            }
        }
        return facts
    }

    /// Canonical JSON sorts members, so the record's own `kind` is the first `"kind":"` in the
    /// line (it follows `epoch` and `host`, and a quote inside a string is always escaped): the
    /// scan stops there, a few dozen bytes in.
    static func mayHoldMedia(_ line: ArraySlice<UInt8>) -> Bool {
        guard let start = firstKind(line) else { return false }
        let rest = line[start...]
        return rest.starts(with: decisionSuffix) || rest.starts(with: grantSuffix)
    }

    static let kindMarker = Array("\"kind\":\"".utf8)
    static let decisionSuffix = Array("media.decision\"".utf8)
    static let grantSuffix = Array("media.grant-".utf8)

    /// The index just after the first `"kind":"`, or nil.
    static func firstKind(_ line: ArraySlice<UInt8>) -> Int? {
        let count = kindMarker.count
        var index = line.startIndex
        let last = line.endIndex - count
        while index <= last {
            if line[index] == 0x22, line[index..<(index + count)].elementsEqual(kindMarker) { return index + count }
            index += 1
        }
        return nil
    }
}
