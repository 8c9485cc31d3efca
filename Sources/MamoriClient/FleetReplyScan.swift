/// The host states in a `/v1/admin/fleet/hosts` reply, read straight from its bytes.
///
/// `mamorictl fleet hosts --format json` prints the collector's reply as received; its exit status
/// (3 when a host shown is not compliant) needs only the `state` of each host, which this finds
/// without building the whole document (4,000 hosts: about 1 MB). The collector writes canonical
/// JSON, in which every `"` inside a string is escaped, so the bytes `"state":"` occur only where
/// a `state` member begins; no host object nests another object with a `state` member.
public enum FleetReplyScan {
    private static let marker = Array(#""state":""#.utf8)

    /// Every `state` value, in order; nil when a value is not terminated (a truncated reply).
    public static func states(in body: [UInt8]) -> [String]? {
        var states: [String] = []
        var index = 0
        let count = body.count
        let first = marker[0]
        return body.withUnsafeBufferPointer { bytes -> [String]? in
            while index + marker.count <= count {
                guard bytes[index] == first, matches(bytes, at: index) else {
                    index += 1
                    continue
                }
                let start = index + marker.count
                var end = start
                while end < count, bytes[end] != UInt8(ascii: "\"") {
                    if bytes[end] == UInt8(ascii: "\\") { end += 1 }
                    end += 1
                }
                guard end < count else { return nil }
                states.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
                index = end + 1
            }
            return states
        }
    }

    private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        for offset in 1..<marker.count where bytes[index + offset] != marker[offset] { return false }
        return true
    }

    /// Whether any state is one `fleet` reports as a problem (anything but compliant or out of scope).
    public static func hasProblem(_ states: [String]) -> Bool {
        states.contains(where: isProblem)
    }

    public static func isProblem(_ state: String) -> Bool {
        state != "compliant" && state != "out-of-scope"
    }
}

extension FleetReplyScan {
    /// The members `fields` of each object in the top-level array `key` of a reply shaped
    /// `{"KEY":[{…},{…}]}` whose objects are flat (strings, numbers, booleans, null), read straight
    /// from the bytes: strings unescaped, other values as their text, missing members nil. For a
    /// table of every failing host this replaces building the whole document (a dictionary per
    /// host) with one pass. nil when the reply is shaped otherwise; the caller then parses it.
    public static func flatObjects(in body: [UInt8], array key: String, fields: [String]) -> [[String?]]? {
        let prefix = Array(("{\"" + key + "\":[").utf8)
        guard body.count >= prefix.count + 2, body.starts(with: prefix) else { return nil }
        var index: [String: Int] = [:]
        for (position, field) in fields.enumerated() { index[field] = position }
        return body.withUnsafeBufferPointer { bytes -> [[String?]]? in
            var reader = FlatReader(bytes: bytes, position: prefix.count)
            var objects: [[String?]] = []
            if reader.peek == UInt8(ascii: "]") {
                reader.position += 1
            } else {
                while true {
                    guard let object = reader.object(index: index, width: fields.count) else { return nil }
                    objects.append(object)
                    guard let next = reader.next() else { return nil }
                    if next == UInt8(ascii: "]") { break }
                    guard next == UInt8(ascii: ",") else { return nil }
                }
            }
            guard reader.next() == UInt8(ascii: "}"), reader.position == bytes.count
                    || (reader.position == bytes.count - 1 && bytes[reader.position] == UInt8(ascii: "\n")) else { return nil }
            return objects
        }
    }

    /// A cursor over canonical JSON (no insignificant whitespace).
    struct FlatReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position: Int

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func next() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        /// `{"name":value,…}` with flat values; the wanted members by their column.
        mutating func object(index: [String: Int], width: Int) -> [String?]? {
            guard next() == UInt8(ascii: "{") else { return nil }
            var values = [String?](repeating: nil, count: width)
            if peek == UInt8(ascii: "}") {
                position += 1
                return values
            }
            while true {
                guard next() == UInt8(ascii: "\""), let name = string(), next() == UInt8(ascii: ":"), let value = scalar() else { return nil }
                if let column = index[name] { values[column] = value }
                guard let separator = next() else { return nil }
                if separator == UInt8(ascii: "}") { return values }
                guard separator == UInt8(ascii: ",") else { return nil }
            }
        }

        /// A string's contents after its opening quote, unescaped; the cursor ends after the closing quote.
        mutating func string() -> String? {
            let start = position
            var plain = true
            while let byte = peek, byte != UInt8(ascii: "\"") {
                if byte == UInt8(ascii: "\\") {
                    plain = false
                    position += 1
                }
                position += 1
            }
            guard position < bytes.count else { return nil }
            let raw = UnsafeBufferPointer(rebasing: bytes[start..<position])
            position += 1
            if plain { return String(decoding: raw, as: UTF8.self) }
            return Self.unescape(raw)
        }

        /// A string, number, boolean or null; nil for an object or array (not flat).
        mutating func scalar() -> String?? {
            guard let first = peek else { return nil }
            if first == UInt8(ascii: "\"") {
                position += 1
                return string().map { .some($0) }
            }
            guard first != UInt8(ascii: "{"), first != UInt8(ascii: "[") else { return nil }
            let start = position
            while let byte = peek, byte != UInt8(ascii: ","), byte != UInt8(ascii: "}") { position += 1 }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            return .some(text == "null" ? nil : text)
        }

        static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
            var out: [UInt8] = []
            out.reserveCapacity(raw.count)
            var index = 0
            while index < raw.count {
                let byte = raw[index]
                index += 1
                guard byte == UInt8(ascii: "\\") else {
                    out.append(byte)
                    continue
                }
                guard index < raw.count else { return nil }
                let escape = raw[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard index + 4 <= raw.count,
                          let code = UInt32(String(decoding: UnsafeBufferPointer(rebasing: raw[index..<index + 4]), as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { return nil }   // surrogates: not flat enough here
                    index += 4
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: return nil
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
