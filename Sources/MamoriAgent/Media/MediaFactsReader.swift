public import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns a udev device into `MediaDeviceFacts`: its own properties first, then the sysfs
/// attributes of the disk, the USB interface and the USB device above it.
public enum MediaFactsReader {
    public static func facts(_ device: UdevDevice, context: UdevContext) -> MediaDeviceFacts {
        let usbDevice = device.devType == "usb_device" ? device : device.parent(subsystem: "usb", devType: "usb_device")
        let disk = device.devType == "partition" ? device.parent(subsystem: "block", devType: "disk") : device
        var facts = MediaDeviceFacts(
            kernelName: device.sysName, sysPath: device.sysPath, devNode: device.devNode,
            subsystem: device.subsystem ?? "", devType: device.devType, bus: device.property("ID_BUS"))
        facts.removable = (disk ?? device).attribute("removable").map { $0 == "1" }
        facts.usbDriver = device.parent(subsystem: "usb", devType: "usb_interface")?.driver ?? device.property("ID_USB_DRIVER")
        // Enumerated once: the identity, the MTP check and the hub check all read them.
        let interfaces = usbDevice.map { ownInterfaces(of: $0, context: context) } ?? []
        facts.usb = usbIdentity(device, usbDevice: usbDevice, interfaces: interfaces)
        facts.isOptical = isOptical(device)
        facts.isMTP = flag(device, "ID_MTP_DEVICE") || flag(usbDevice, "ID_MTP_DEVICE") || device.property("ID_MEDIA_PLAYER") != nil
            || hasMTPInterface(interfaces)
        facts.isPTP = flag(device, "ID_GPHOTO2") || flag(usbDevice, "ID_GPHOTO2")
        facts.isSDReaderSlot = flag(device, "ID_DRIVE_FLASH_SD") || flag(device, "ID_DRIVE_MEDIA_FLASH_SD")
        facts.mmcType = device.parent(subsystem: "mmc")?.attribute("type")
        facts.holders = (try? FileSystem.listDirectory(device.sysPath + "/holders")) ?? []
        if device.devType == "usb_device" {
            facts.isHub = isHub(device, interfaces: interfaces)
        }
        return facts
    }

    /// The USB device's own interfaces: `usb_interface` devices directly below it in sysfs. Not
    /// its descendants: a hub's subtree holds every device plugged into it, and classifying a
    /// hub by those would deauthorise the keyboard beside a stick.
    static func ownInterfaces(of usbDevice: UdevDevice, context: UdevContext) -> [UdevDevice] {
        let base = usbDevice.sysPath + "/"
        return context.devices(subsystem: "usb", parent: usbDevice).filter { interface in
            interface.devType == "usb_interface" && interface.sysPath.hasPrefix(base)
                && !interface.sysPath.utf8.dropFirst(base.utf8.count).contains(UInt8(ascii: "/"))
        }
    }

    static func interfaceClass(_ interface: UdevDevice) -> UInt8? {
        interface.attribute("bInterfaceClass").flatMap { UInt8($0, radix: 16) }
    }

    /// Whether the device is a USB hub or root hub (never deauthorised).
    static func isHub(_ usbDevice: UdevDevice, context: UdevContext) -> Bool {
        isHub(usbDevice, interfaces: ownInterfaces(of: usbDevice, context: context))
    }

    static func isHub(_ usbDevice: UdevDevice, interfaces: [UdevDevice]) -> Bool {
        USBIdentity.isHub(deviceClass: usbDevice.attribute("bDeviceClass"), kernelName: usbDevice.sysName,
                          ownInterfaceClasses: interfaces.compactMap(interfaceClass))
    }

    static func flag(_ device: UdevDevice?, _ key: String) -> Bool {
        guard let value = device?.property(key) else { return false }
        return value == "1"
    }

    static func isOptical(_ device: UdevDevice) -> Bool {
        if flag(device, "ID_CDROM") || device.property("ID_TYPE") == "cd" { return true }
        // SCSI peripheral type 5 is a CD/DVD drive (its sg node carries no ID_CDROM).
        return device.parent(subsystem: "scsi", devType: "scsi_device")?.attribute("type") == "5"
    }

    /// Vendor, product and serial from the USB device's sysfs attributes, falling back to the
    /// `ID_*` properties (which test rules and udev's usb_id builtin set on the node itself).
    static func usbIdentity(_ device: UdevDevice, usbDevice: UdevDevice?, interfaces: [UdevDevice]) -> USBIdentity? {
        let vendor = usbDevice?.attribute("idVendor") ?? device.property("ID_VENDOR_ID")
        let product = usbDevice?.attribute("idProduct") ?? device.property("ID_MODEL_ID")
        guard let vendor, let product, isUSBId(vendor), isUSBId(product) else { return nil }
        let serial = usbDevice?.attribute("serial") ?? device.property("ID_SERIAL_SHORT")
        var classes = USBIdentity.interfaceClasses(fromUdev: device.property("ID_USB_INTERFACES") ?? "")
        for interface in interfaces {
            if let value = interfaceClass(interface), !classes.contains(value) { classes.append(value) }
        }
        let vendorName = usbDevice?.attribute("manufacturer") ?? device.property("ID_VENDOR").map { $0.replacingUnderscores() }
        let modelName = usbDevice?.attribute("product") ?? device.property("ID_MODEL").map { $0.replacingUnderscores() }
        return USBIdentity(vendor: vendor, product: product, serial: serial, interfaceClasses: classes,
                           vendorName: vendorName, modelName: modelName)
    }

    /// Android phones name their vendor-specific (0xff) MTP interface "MTP"; without libmtp's
    /// udev rules no ID_MTP_DEVICE is set, so the interface string is the evidence.
    static func hasMTPInterface(_ interfaces: [UdevDevice]) -> Bool {
        interfaces.contains { interface in
            interface.attribute("interface")?.uppercased() == "MTP"
        }
    }

    static func isUSBId(_ text: String) -> Bool {
        text.utf8.count == 4 && text.allSatisfy { $0.isHexDigit && $0.isASCII }
    }
}

extension String {
    /// udev's ID_VENDOR/ID_MODEL put `_` where the device's string had a space.
    func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}
