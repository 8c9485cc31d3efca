internal import CUdev

#if canImport(Glibc)
import Glibc
#endif

/// A libudev context. Every libudev pointer in Mamori lives inside this file's classes, which
/// release their reference in `deinit`; nothing else imports CUdev.
public final class UdevContext {
    fileprivate let pointer: OpaquePointer

    public init() throws {
        guard let pointer = udev_new() else {
            throw SystemError(operation: "udev_new", path: nil, errno: Errno(rawValue: errno))
        }
        self.pointer = pointer
    }

    deinit { udev_unref(pointer) }

    /// The device at `/sys/...`, or nil when there is none.
    public func device(sysPath: String) -> UdevDevice? {
        udev_device_new_from_syspath(pointer, sysPath).map { UdevDevice(owning: $0) }
    }

    /// The device behind a `/dev` node (block or character), or nil. Looks the node's device
    /// number up first; falls back to matching udev's DEVNAME (a node that is not a device file,
    /// as in a umockdev testbed).
    public func device(devNode: String) -> UdevDevice? {
        if let device = deviceByNumber(devNode) { return device }
        for subsystem in ["block", "scsi_generic", "usb"] {
            if let device = devices(subsystem: subsystem).first(where: { $0.devNode == devNode }) { return device }
        }
        return nil
    }

    func deviceByNumber(_ devNode: String) -> UdevDevice? {
        var info = stat()
        guard stat(devNode, &info) == 0 else { return nil }
        let kind: CChar
        switch info.st_mode & S_IFMT {
        case S_IFBLK: kind = CChar(UInt8(ascii: "b"))
        case S_IFCHR: kind = CChar(UInt8(ascii: "c"))
        default: return nil
        }
        return udev_device_new_from_devnum(pointer, kind, info.st_rdev).map { UdevDevice(owning: $0) }
    }

    /// Every device in `subsystem` (optionally only children of `parent`), in sysfs order.
    public func devices(subsystem: String, parent: UdevDevice? = nil) -> [UdevDevice] {
        guard let enumerator = udev_enumerate_new(pointer) else { return [] }
        defer { udev_enumerate_unref(enumerator) }
        udev_enumerate_add_match_subsystem(enumerator, subsystem)
        if let parent { udev_enumerate_add_match_parent(enumerator, parent.pointer) }
        guard udev_enumerate_scan_devices(enumerator) >= 0 else { return [] }
        var result: [UdevDevice] = []
        var entry = udev_enumerate_get_list_entry(enumerator)
        while let current = entry {
            if let path = udev_list_entry_get_name(current), let device = udev_device_new_from_syspath(pointer, path) {
                result.append(UdevDevice(owning: device))
            }
            entry = udev_list_entry_get_next(current)
        }
        return result
    }
}

/// One udev device; holds its own reference.
public final class UdevDevice {
    fileprivate let pointer: OpaquePointer

    fileprivate init(owning pointer: OpaquePointer) { self.pointer = pointer }

    deinit { udev_device_unref(pointer) }

    public var sysPath: String { string(udev_device_get_syspath(pointer)) ?? "" }
    public var sysName: String { string(udev_device_get_sysname(pointer)) ?? "" }
    public var subsystem: String? { string(udev_device_get_subsystem(pointer)) }
    public var devType: String? { string(udev_device_get_devtype(pointer)) }
    public var devNode: String? { string(udev_device_get_devnode(pointer)) }
    public var driver: String? { string(udev_device_get_driver(pointer)) }
    public var action: String? { string(udev_device_get_action(pointer)) }
    var devNumber: dev_t { udev_device_get_devnum(pointer) }

    public func property(_ key: String) -> String? { string(udev_device_get_property_value(pointer, key)) }

    public func attribute(_ name: String) -> String? {
        string(udev_device_get_sysattr_value(pointer, name))?.trimmingWhitespace()
    }

    /// Writes a sysfs attribute (`authorized`), returning the errno on failure.
    public func setAttribute(_ name: String, _ value: String) throws {
        var bytes = Array(value.utf8CString)
        let result = bytes.withUnsafeMutableBufferPointer { buffer in
            udev_device_set_sysattr_value(pointer, name, buffer.baseAddress)
        }
        if result < 0 {
            throw SystemError(operation: "write sysfs attribute \(name)", path: sysPath, errno: Errno(rawValue: -result))
        }
    }

    /// The nearest ancestor in `subsystem` (and `devType`), holding its own reference.
    public func parent(subsystem: String, devType: String? = nil) -> UdevDevice? {
        guard let parent = udev_device_get_parent_with_subsystem_devtype(pointer, subsystem, devType) else { return nil }
        // The parent is borrowed from this device; take a reference so it can outlive it.
        return udev_device_ref(parent).map { UdevDevice(owning: $0) }
    }

    /// The udev property list, for diagnostics and the scan's JSON.
    public var properties: [String: String] {
        var result: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(pointer)
        while let current = entry {
            if let name = string(udev_list_entry_get_name(current)) {
                result[name] = string(udev_list_entry_get_value(current)) ?? ""
            }
            entry = udev_list_entry_get_next(current)
        }
        return result
    }
}

/// A libudev monitor on the "udev" netlink source (events after udevd's rules ran). Subscribe
/// first, then enumerate, so that no device can arrive unseen between the two.
public final class UdevMonitor {
    private let pointer: OpaquePointer
    private let context: UdevContext

    public init(context: UdevContext, subsystems: [String]) throws {
        guard let monitor = udev_monitor_new_from_netlink(context.pointer, "udev") else {
            throw SystemError(operation: "udev_monitor_new_from_netlink", path: nil, errno: Errno(rawValue: errno))
        }
        self.pointer = monitor
        self.context = context
        for subsystem in subsystems {
            try Syscall.call("udev_monitor_filter_add_match_subsystem_devtype") {
                udev_monitor_filter_add_match_subsystem_devtype(monitor, subsystem, nil)
            }
        }
        try Syscall.call("udev_monitor_enable_receiving") { udev_monitor_enable_receiving(monitor) }
    }

    deinit { udev_monitor_unref(pointer) }

    /// The socket to poll for readability.
    public var fileDescriptor: Int32 { udev_monitor_get_fd(pointer) }

    /// Waits up to `timeoutMilliseconds` for one event; nil on timeout.
    public func receive(timeoutMilliseconds: Int32) throws -> UdevDevice? {
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        let ready = try Syscall.call("poll") { poll(&descriptor, 1, timeoutMilliseconds) }
        guard ready > 0 else { return nil }
        return udev_monitor_receive_device(pointer).map { UdevDevice(owning: $0) }
    }
}

/// BLKROSET and BLKROGET on an open block device, through the syscall helper.
public enum BlockDeviceReadOnly {
    public static func set(_ devNode: String, readOnly: Bool) throws {
        let handle = try FileHandleFD(path: devNode, flags: O_RDONLY | O_NONBLOCK)
        try Syscall.call("ioctl BLKROSET", path: devNode) { cudev_blk_set_read_only(handle.fd, readOnly ? 1 : 0) }
    }

    public static func get(_ devNode: String) throws -> Bool {
        let handle = try FileHandleFD(path: devNode, flags: O_RDONLY | O_NONBLOCK)
        var value: Int32 = 0
        try Syscall.call("ioctl BLKROGET", path: devNode) { cudev_blk_get_read_only(handle.fd, &value) }
        return value != 0
    }
}

private func string(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
