/// One event on a terminal, sealed into the journal.
///
/// A record is stored as one line of canonical JSON (docs/journal-format.md):
///
///     {"seq":…,"time":"…","host":"…","kind":"…","epoch":…,"prev":"…","payload":{…},"mac":"…"}
///
/// The *body* is the same object without `mac` (so it ends `…,"payload":{…}}`); the record hash
/// is taken over the body and the MAC over the record hash.
public struct JournalRecord: Sendable, Hashable {
    public var seq: UInt64
    public var time: Timestamp
    public var host: String
    public var kind: String
    public var epoch: UInt64
    public var prev: Digest32
    /// Always a JSON object. Never holds secrets or one-time codes.
    public var payload: [String: JSONValue]
    public var mac: Digest32

    public init(seq: UInt64, time: Timestamp, host: String, kind: String, epoch: UInt64, prev: Digest32,
                payload: [String: JSONValue], mac: Digest32 = .zero) {
        self.seq = seq
        self.time = time
        self.host = host
        self.kind = kind
        self.epoch = epoch
        self.prev = prev
        self.payload = payload
        self.mac = mac
    }

    /// The canonical body: every member but `mac`, in the fixed order.
    public var body: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        appendBodyPrefix(to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The body without its closing brace; the line continues from here with the MAC.
    func appendBodyPrefix(to out: inout [UInt8]) {
        out.append(contentsOf: JournalRecord.seqKey)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: JournalRecord.timeKey)
        out.append(contentsOf: time.utf8)
        out.append(contentsOf: JournalRecord.hostKey)
        JSONValue.appendString(host, to: &out)
        out.append(contentsOf: JournalRecord.kindKey)
        JSONValue.appendString(kind, to: &out)
        out.append(contentsOf: JournalRecord.epochKey)
        out.append(contentsOf: String(epoch).utf8)
        out.append(contentsOf: JournalRecord.prevKey)
        prev.appendHex(to: &out)
        out.append(contentsOf: JournalRecord.payloadKey)
        JSONValue.object(payload).appendCanonical(to: &out)
    }

    /// The record hash (what the next record's `prev` holds, and what a head names).
    public var hash: Digest32 { JournalCrypto.recordHash(body: body) }

    /// Seals the record under `key`: sets `epoch` and `mac`; returns the record hash.
    @discardableResult
    public mutating func seal(with key: EpochKey) -> Digest32 {
        epoch = key.epoch
        let digest = hash
        mac = key.mac(recordHash: digest)
        return digest
    }

    /// The stored line, without the newline.
    public var line: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(340)
        appendBodyPrefix(to: &out)
        out.append(contentsOf: JournalRecord.macKey)
        mac.appendHex(to: &out)
        out.append(contentsOf: JournalRecord.lineEnd)
        return out
    }

    static let seqKey = Array("{\"seq\":".utf8)
    static let timeKey = Array(",\"time\":\"".utf8)
    static let hostKey = Array("\",\"host\":".utf8)
    static let kindKey = Array(",\"kind\":".utf8)
    static let epochKey = Array(",\"epoch\":".utf8)
    static let prevKey = Array(",\"prev\":\"".utf8)
    static let payloadKey = Array("\",\"payload\":".utf8)
    static let macKey = Array(",\"mac\":\"".utf8)
    static let lineEnd = Array("\"}".utf8)
    /// `,"mac":"` + 64 hex + `"}`.
    static let macSuffixLength = 8 + 64 + 2

    /// Kinds are lower-case dotted names: `media.blocked`, `journal.checkpoint`.
    public static func isValidKind(_ kind: String) -> Bool {
        let bytes = Array(kind.utf8)
        guard (3...64).contains(bytes.count), bytes.contains(UInt8(ascii: ".")) else { return false }
        return bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }
}

/// Kinds the journal itself writes.
public enum JournalKind {
    public static let created = "journal.created"
    public static let checkpoint = "journal.checkpoint"
    public static let recovered = "journal.recovered"
    /// Appends failed (a full disk, an I/O error) and were rolled back; written by the first
    /// append that succeeds afterwards, with the count of lost attempts.
    public static let writeFailed = "journal.write-failed"
    public static let spoolLimit = "journal.spool-limit"
}

/// Why a checkpoint was written. `epochEnd` is the only one after which the epoch advances.
public enum CheckpointReason: String, Sendable, CaseIterable {
    case epochEnd = "epoch-end"
    case shutdown
    case upload
    case requested
}
