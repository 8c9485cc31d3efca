/// One line of `/proc/self/mountinfo`, reduced to what the mount-race check needs.
public struct MountEntry: Sendable, Equatable {
    public var major: UInt32
    public var minor: UInt32
    public var mountPoint: String
    /// Per-mount options (`rw,nosuid,relatime`).
    public var mountOptions: [String]
    public var fsType: String
    public var source: String
    /// Superblock options; `ro` here means the filesystem itself is read-only.
    public var superOptions: [String]

    /// Writable only when both the mount and the superblock are `rw`.
    public var isWritable: Bool { mountOptions.contains("rw") && !superOptions.contains("ro") }
}

/// Parses mountinfo text. Lines that do not have the documented shape are skipped (the kernel
/// writes the file, but nothing here traps on input).
public enum MountInfo {
    public static func parse(_ text: String) -> [MountEntry] {
        text.split(separator: "\n").compactMap { parseLine(Substring($0)) }
    }

    static func parseLine(_ line: Substring) -> MountEntry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let dash = fields.firstIndex(of: "-"), dash >= 6, dash + 2 < fields.count else { return nil }
        let numbers = fields[2].split(separator: ":")
        guard numbers.count == 2, let major = UInt32(numbers[0]), let minor = UInt32(numbers[1]) else { return nil }
        let superOptions = dash + 3 < fields.count ? fields[dash + 3].split(separator: ",").map(String.init) : []
        return MountEntry(major: major, minor: minor, mountPoint: unescape(fields[4]),
                          mountOptions: fields[5].split(separator: ",").map(String.init),
                          fsType: String(fields[dash + 1]), source: unescape(fields[dash + 2]), superOptions: superOptions)
    }

    /// Undoes the kernel's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let source = Array(field.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 4 <= source.count, let value = octal(source[(index + 1)..<(index + 4)]) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + Int(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}
