#if canImport(Glibc)
import Glibc
#endif

/// Gives back the resident pages of the agent's own machine code once start-up is over.
///
/// The agent is one statically linked executable (the Swift runtime and Foundation included).
/// Start-up touches code all over it (runtime metadata, conformance scans, TLS set-up, the
/// profile parser) that an idle agent never runs again; with the kernel's fault-around each
/// touch maps 64 KiB, so about 18 MB of code stays mapped. Those pages are clean and file-backed
/// (the page cache keeps them): `MADV_DONTNEED` on the executable's read+execute mappings only
/// drops them from this process, and a function that runs again faults its page back in. Only
/// `r-xp` mappings of the executable itself are touched: never writable, relocated (RELRO) or
/// anonymous memory, whose contents a discard would change.
public enum CodePages {
    /// Returns the number of bytes advised, or nil when /proc/self/maps could not be read.
    @discardableResult
    public static func releaseExecutableCode() -> Int? {
        guard let exe = executablePath(), let maps = try? FileSystem.readProcFile("/proc/self/maps") else { return nil }
        var advised = 0
        for line in String(decoding: maps, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "r-xp", fields[5...].joined(separator: " ") == exe else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), end > start,
                  let pointer = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            if madvise(pointer, Int(end - start), MADV_DONTNEED) == 0 { advised += Int(end - start) }
        }
        return advised
    }

    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
