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
        states.contains { $0 != "compliant" && $0 != "out-of-scope" }
    }
}
