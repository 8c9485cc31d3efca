/// What udev says about one device node or USB device, reduced to what a media decision needs.
/// The agent fills this from udev properties, sysfs attributes and the USB parent; MamoriCore
/// never reads them itself, so the whole decision is testable without hardware.
public struct MediaDeviceFacts: Sendable, Equatable {
    /// The kernel name (`sdb`, `sdb1`, `mmcblk0`, `sr0`, `sg1`, `1-2`).
    public var kernelName: String
    /// `/sys/devices/...`
    public var sysPath: String
    /// `/dev/sdb`; nil for a USB device, which has no block node.
    public var devNode: String?
    /// `block`, `scsi_generic` or `usb`.
    public var subsystem: String
    /// `disk`, `partition`, `usb_device`, ...
    public var devType: String?
    /// `ID_BUS` (`usb`, `ata`, `scsi`, ...).
    public var bus: String?
    /// The sysfs `removable` attribute of the disk; nil when absent.
    public var removable: Bool?
    /// The driver of the USB interface the device hangs off (`usb-storage`, `uas`), if any.
    public var usbDriver: String?
    /// Identity of the USB device the node belongs to, if any.
    public var usb: USBIdentity?
    /// `ID_CDROM=1`, `ID_TYPE=cd`, or SCSI peripheral type 5.
    public var isOptical: Bool
    /// `ID_MTP_DEVICE=1` or `ID_MEDIA_PLAYER`.
    public var isMTP: Bool
    /// `ID_GPHOTO2=1` (a PTP camera).
    public var isPTP: Bool
    /// `ID_DRIVE_FLASH_SD=1`: a USB card reader's SD slot.
    public var isSDReaderSlot: Bool
    /// For `mmcblk` devices: the card's `type` attribute (`SD`, `MMC` for soldered eMMC, `SDIO`).
    public var mmcType: String?
    /// Kernel names of devices stacked on this one (dm, md).
    public var holders: [String]
    /// A USB hub or root hub (device class 09, or a `usbN` root hub): it carries no data of its
    /// own, so it is never governed and never deauthorised, whatever hangs below it.
    public var isHub: Bool

    public init(kernelName: String, sysPath: String, devNode: String? = nil, subsystem: String, devType: String? = nil,
                bus: String? = nil, removable: Bool? = nil, usbDriver: String? = nil, usb: USBIdentity? = nil,
                isOptical: Bool = false, isMTP: Bool = false, isPTP: Bool = false, isSDReaderSlot: Bool = false,
                mmcType: String? = nil, holders: [String] = [], isHub: Bool = false) {
        self.kernelName = kernelName
        self.sysPath = sysPath
        self.devNode = devNode
        self.subsystem = subsystem
        self.devType = devType
        self.bus = bus
        self.removable = removable
        self.usbDriver = usbDriver
        self.usb = usb
        self.isOptical = isOptical
        self.isMTP = isMTP
        self.isPTP = isPTP
        self.isSDReaderSlot = isSDReaderSlot
        self.mmcType = mmcType
        self.holders = holders
        self.isHub = isHub
    }

    /// The node a user could write through: a block device or a SCSI generic node.
    public var isStorageNode: Bool { subsystem == "block" || subsystem == "scsi_generic" }
}

/// The identity an allow-list entry names: USB vendor, product and serial, plus the interface
/// classes that tell a keyboard from a stick from a BadUSB composite.
public struct USBIdentity: Sendable, Equatable {
    /// Four lower-case hex digits.
    public var vendor: String
    /// Four lower-case hex digits.
    public var product: String
    public var serial: String?
    /// bInterfaceClass of every interface (0x08 mass storage, 0x03 HID, 0x06 still image, ...).
    public var interfaceClasses: [UInt8]
    /// The vendor and model strings the device reports (sysfs `manufacturer` and `product`, or
    /// udev's `ID_VENDOR`/`ID_MODEL`), made printable: for people to read, never to match on
    /// (a BadUSB device can claim any name).
    public var vendorName: String?
    public var modelName: String?

    public init(vendor: String, product: String, serial: String?, interfaceClasses: [UInt8],
                vendorName: String? = nil, modelName: String? = nil) {
        self.vendor = vendor.lowercased()
        self.product = product.lowercased()
        self.serial = serial
        self.interfaceClasses = interfaceClasses
        self.vendorName = vendorName.flatMap(Self.printableName)
        self.modelName = modelName.flatMap(Self.printableName)
    }

    /// "SanDisk Ultra Fit", or nil when neither string is known.
    public var displayName: String? {
        let parts = [vendorName, modelName].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    /// A device-supplied string made safe to show: printable ASCII (others become `?`), at most
    /// 64 characters, trimmed; nil when nothing is left.
    public static func printableName(_ text: String) -> String? {
        var out = PrintableText.ascii(text, limit: 64).text
        while out.first == " " { out.removeFirst() }
        while out.last == " " { out.removeLast() }
        return out.isEmpty ? nil : out
    }

    /// Parses udev's `ID_USB_INTERFACES` (`:080650:030101:`): the first two hex digits of each
    /// six-digit group are the class. Malformed groups are skipped, never trapped on.
    public static func interfaceClasses(fromUdev text: String) -> [UInt8] {
        var classes: [UInt8] = []
        for group in text.split(separator: ":") where group.count == 6 {
            if let value = UInt8(group.prefix(2), radix: 16), !classes.contains(value) { classes.append(value) }
        }
        return classes
    }

    public static let massStorageClass: UInt8 = 0x08
    public static let hidClass: UInt8 = 0x03
    public static let stillImageClass: UInt8 = 0x06
    /// Hubs carry no data of their own.
    public static let hubClass: UInt8 = 0x09

    /// Whether a USB device is a hub, from its sysfs `bDeviceClass`, its kernel name (root hubs
    /// are `usb1`, `usb2`, ...) and the classes of its own interfaces.
    public static func isHub(deviceClass: String?, kernelName: String, ownInterfaceClasses: [UInt8]) -> Bool {
        if let deviceClass, UInt8(deviceClass, radix: 16) == hubClass { return true }
        if kernelName.hasPrefix("usb"), kernelName.count > 3, kernelName.dropFirst(3).allSatisfy({ $0.isASCII && $0.isNumber }) {
            return true
        }
        return !ownInterfaceClasses.isEmpty && ownInterfaceClasses.allSatisfy { $0 == hubClass }
    }
}
