/// Which profile class a device belongs to, or that it is not removable media at all (the
/// system disk, a loop device, a network adapter): those the media guard leaves alone.
public enum MediaClassification: Sendable, Equatable {
    case governed(DeviceClass, reason: String)
    case notRemovable(reason: String)
    /// A USB hub or root hub: never governed, never deauthorised (it carries keyboards and mice).
    case hub(reason: String)

    public var deviceClass: DeviceClass? {
        if case .governed(let deviceClass, _) = self { return deviceClass }
        return nil
    }

    public var reason: String {
        switch self {
        case .governed(_, let reason), .notRemovable(let reason), .hub(let reason): return reason
        }
    }
}

/// Maps device facts to a `DeviceClass`. Ambiguity resolves towards the stricter class: a device
/// that offers both storage and HID is a composite (BadUSB), whatever else it claims.
public enum MediaClassifier {
    public static func classify(_ facts: MediaDeviceFacts) -> MediaClassification {
        if facts.isHub && facts.subsystem == "usb" {
            let id = facts.usb.map { " \($0.vendor):\($0.product)" } ?? ""
            return .hub(reason: "USB hub\(id) (\(facts.kernelName)); hubs are never governed: the devices behind it are decided one by one")
        }
        if let usb = facts.usb, let composite = compositeOrHID(usb, facts) { return composite }
        switch facts.subsystem {
        case "block", "scsi_generic": return classifyStorage(facts)
        case "usb": return classifyUSBDevice(facts)
        default: return .notRemovable(reason: "subsystem \(facts.subsystem) carries no removable storage")
        }
    }

    /// Storage and HID on one device is the BadUSB shape; HID alone is a keyboard or mouse.
    static func compositeOrHID(_ usb: USBIdentity, _ facts: MediaDeviceFacts) -> MediaClassification? {
        // A device's own interfaces only: a hub's downstream devices are never counted here.
        let classes = usb.interfaceClasses.filter { $0 != USBIdentity.hubClass }
        let hasStorage = classes.contains(USBIdentity.massStorageClass)
        let hasHID = classes.contains(USBIdentity.hidClass)
        if hasStorage && hasHID {
            return .governed(.compositeHIDStorage, reason: "USB \(usb.vendor):\(usb.product) offers mass storage and HID interfaces together")
        }
        if hasHID, !classes.isEmpty, classes.allSatisfy({ $0 == USBIdentity.hidClass }), !facts.isStorageNode {
            return .governed(.hid, reason: "USB \(usb.vendor):\(usb.product) has only HID interfaces")
        }
        return nil
    }

    static func classifyStorage(_ facts: MediaDeviceFacts) -> MediaClassification {
        let name = facts.kernelName
        if facts.isOptical || name.hasPrefix("sr") {
            return .governed(.optical, reason: "optical drive (\(name)); writes travel through SG_IO")
        }
        if name.hasPrefix("mmcblk") {
            return classifyMMC(facts)
        }
        if facts.usb != nil || facts.bus == "usb" || facts.usbDriver != nil {
            return classifyUSBStorage(facts)
        }
        if facts.removable == true {
            return .governed(.usbStorage, reason: "\(name) reports removable=1 on bus \(facts.bus ?? "unknown"); treated as removable storage")
        }
        return .notRemovable(reason: "\(name) is a fixed disk (bus \(facts.bus ?? "none"), removable=0, no USB parent)")
    }

    static func classifyMMC(_ facts: MediaDeviceFacts) -> MediaClassification {
        let name = facts.kernelName
        // Soldered eMMC (type MMC) holds the system on many thin clients; boot and RPMB areas too.
        if facts.mmcType == "MMC" || name.contains("boot") || name.contains("rpmb") {
            return .notRemovable(reason: "\(name) is soldered eMMC (mmc type \(facts.mmcType ?? "unknown"))")
        }
        return .governed(.sdCard, reason: "\(name) is an SD card in a PCI/SDHCI reader (mmc type \(facts.mmcType ?? "unknown"))")
    }

    static func classifyUSBStorage(_ facts: MediaDeviceFacts) -> MediaClassification {
        let name = facts.kernelName
        let driver = facts.usbDriver ?? "usb"
        if facts.isSDReaderSlot {
            return .governed(.sdCard, reason: "\(name) is the SD slot of a USB card reader (\(driver))")
        }
        let removable = facts.removable == false ? ", reports removable=0" : ""
        return .governed(.usbStorage, reason: "\(name) is USB mass storage (\(driver)\(removable))")
    }

    static func classifyUSBDevice(_ facts: MediaDeviceFacts) -> MediaClassification {
        guard let usb = facts.usb else {
            return .notRemovable(reason: "USB device \(facts.kernelName) without identity")
        }
        let id = "\(usb.vendor):\(usb.product)"
        if facts.isMTP || facts.isPTP || usb.interfaceClasses.contains(USBIdentity.stillImageClass) {
            return .governed(.mtpPTP, reason: "USB \(id) is an MTP/PTP phone or camera (no block device)")
        }
        if usb.interfaceClasses.contains(USBIdentity.massStorageClass) {
            return .governed(.usbStorage, reason: "USB \(id) offers mass storage")
        }
        return .notRemovable(reason: "USB \(id) offers no storage, still-image or HID interface")
    }
}
