#if canImport(Glibc)
import Glibc
#endif

extension FileSystem {
    /// Reads a file to end of file without trusting its size (procfs and sysfs report 0).
    public static func readProcFile(_ path: String) throws -> [UInt8] {
        let handle = try FileHandleFD(path: path, flags: O_RDONLY)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let got = try chunk.withUnsafeMutableBytes { raw in
                try Syscall.call("read", path: path) { read(handle.fd, raw.baseAddress!, raw.count) }
            }
            if got == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<got])
        }
    }
}

/// Linux's dev_t encoding (glibc's gnu_dev_makedev is a macro Swift cannot import).
enum DeviceNumber {
    static func make(major: UInt32, minor: UInt32) -> dev_t {
        let major = UInt64(major), minor = UInt64(minor)
        let high = ((major & 0xffff_f000) << 32) | ((minor & 0xffff_ff00) << 12)
        return dev_t(high | ((major & 0x0000_0fff) << 8) | (minor & 0x0000_00ff))
    }
}
