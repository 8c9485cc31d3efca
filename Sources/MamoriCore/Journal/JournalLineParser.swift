/// The strict, allocation-light reader of one journal line. It accepts exactly the canonical
/// layout the writer produces; anything else is `malformed` with a reason.
public struct ParsedJournalLine: Sendable {
    public var seq: UInt64
    public var epoch: UInt64
    public var prev: Digest32
    public var mac: Digest32
    /// Hash of the body (the line without its `mac` member).
    public var hash: Digest32
    public var isCheckpoint: Bool
    /// Byte range of the payload object within the line.
    public var payloadRange: Range<Int>
    public var kind: String
}

public struct JournalLineError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

public enum JournalLineParser {
    static let checkpointKindJSON = Array("\"journal.checkpoint\"".utf8)

    /// Parses a line (without its newline).
    public static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(JournalLineError) -> ParsedJournalLine {
        var index = 0
        let count = line.count

        func fail(_ reason: String) -> JournalLineError { JournalLineError(reason: reason) }

        func expect(_ literal: [UInt8], _ what: String) throws(JournalLineError) {
            guard index + literal.count <= count else { throw fail("line ends before \(what)") }
            for offset in 0..<literal.count where line[index + offset] != literal[offset] {
                throw fail("expected \(what) at byte \(index)")
            }
            index += literal.count
        }

        func number(_ what: String) throws(JournalLineError) -> UInt64 {
            let start = index
            var value: UInt64 = 0
            while index < count, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "9") {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(UInt64(line[index] &- UInt8(ascii: "0")))
                if o1 || o2 { throw fail("\(what) out of range") }
                value = sum
                index += 1
            }
            if index == start { throw fail("\(what) is not a number") }
            if index - start > 1, line[start] == UInt8(ascii: "0") { throw fail("\(what) has a leading zero") }
            return value
        }

        /// Skips a JSON string starting at the opening quote; returns its range including quotes.
        func string(_ what: String) throws(JournalLineError) -> Range<Int> {
            let start = index
            guard index < count, line[index] == UInt8(ascii: "\"") else { throw fail("\(what) is not a string") }
            index += 1
            while index < count {
                let byte = line[index]
                if byte == UInt8(ascii: "\\") { index += 2; continue }
                if byte < 0x20 { throw fail("control character in \(what)") }
                index += 1
                if byte == UInt8(ascii: "\"") { return start..<index }
            }
            throw fail("unterminated \(what)")
        }

        guard count > JournalRecord.macSuffixLength + 20 else { throw fail("line too short to be a record") }
        try expect(JournalRecord.seqKey, "{\"seq\":")
        let seq = try number("seq")
        try expect(JournalRecord.timeKey, ",\"time\":")
        guard index + 27 <= count, line[index + 26] == UInt8(ascii: "Z") else { throw fail("time is not in canonical form") }
        for offset in [4, 7, 10, 13, 16, 19] {
            let expected: UInt8 = switch offset {
            case 4, 7: UInt8(ascii: "-")
            case 10: UInt8(ascii: "T")
            case 19: UInt8(ascii: ".")
            default: UInt8(ascii: ":")
            }
            guard line[index + offset] == expected else { throw fail("time is not in canonical form") }
        }
        index += 27
        try expect(JournalRecord.hostKey, ",\"host\":")
        _ = try string("host")
        try expect(JournalRecord.kindKey, ",\"kind\":")
        let kindRange = try string("kind")
        try expect(JournalRecord.epochKey, ",\"epoch\":")
        let epoch = try number("epoch")
        try expect(JournalRecord.prevKey, ",\"prev\":")
        guard let prev = Hex.decodeLower32(line, from: index) else { throw fail("prev is not 64 lower-case hex digits") }
        index += 64
        try expect(JournalRecord.payloadKey, ",\"payload\":")
        let payloadStart = index
        let macStart = count - JournalRecord.macSuffixLength
        guard macStart > payloadStart + 1, line[payloadStart] == UInt8(ascii: "{"), line[macStart - 1] == UInt8(ascii: "}") else {
            throw fail("payload is not an object")
        }
        index = macStart
        try expect(JournalRecord.macKey, ",\"mac\":")
        guard let mac = Hex.decodeLower32(line, from: index) else { throw fail("mac is not 64 lower-case hex digits") }
        index += 64
        try expect(JournalRecord.lineEnd, "end of record")

        let kindBytes = UnsafeBufferPointer(rebasing: line[kindRange])
        let isCheckpoint = kindBytes.elementsEqual(checkpointKindJSON)
        let kind: String
        if isCheckpoint {
            kind = JournalKind.checkpoint
        } else {
            let inner = UnsafeBufferPointer(rebasing: line[(kindRange.lowerBound + 1)..<(kindRange.upperBound - 1)])
            kind = String(decoding: inner, as: UTF8.self)
        }
        let hash = JournalCrypto.recordHash(bodyPrefix: UnsafeBufferPointer(rebasing: line[0..<macStart]))
        return ParsedJournalLine(seq: seq, epoch: epoch, prev: prev, mac: mac, hash: hash, isCheckpoint: isCheckpoint,
                                 payloadRange: payloadStart..<macStart, kind: kind)
    }

    public static func parse(_ line: [UInt8]) throws(JournalLineError) -> ParsedJournalLine {
        try line.withUnsafeBufferPointer { buffer throws(JournalLineError) in try parse(buffer) }
    }

    /// Decodes a line fully (for display and for tools); slower than `parse`.
    public static func decode(_ line: [UInt8]) throws(JournalLineError) -> JournalRecord {
        let parsed = try parse(line)
        let value: JSONValue
        do { value = try JSONValue.parse(line) } catch { throw JournalLineError(reason: "\(error)") }
        guard case .object(let members) = value,
              let timeText = members["time"]?.stringValue, let time = Timestamp(parsing: timeText),
              let host = members["host"]?.stringValue, let kind = members["kind"]?.stringValue,
              let payload = members["payload"]?.objectValue
        else { throw JournalLineError(reason: "record members have the wrong types") }
        return JournalRecord(seq: parsed.seq, time: time, host: host, kind: kind, epoch: parsed.epoch, prev: parsed.prev,
                             payload: payload, mac: parsed.mac)
    }
}
