public import MamoriCore

/// A posture record found in a batch: a report to apply, or a reason it could not be read.
public struct PostureRecord: Sendable, Equatable {
    public var seq: Int64
    public var time: Timestamp
    public var result: Result<PostureReport, PostureRecordError>
    /// The journal line, kept as evidence when the record is malformed.
    public var line: String
}

/// Finds `posture.*` records in a verified batch. Ingest runs at tens of thousands of records a
/// second and posture records are a few per host per hour, so each line is first searched for
/// the bytes `"kind":"posture.` and only the lines that hold them are parsed; the parse then
/// confirms that it is the record's own kind (a payload may hold the same bytes). Only the two
/// compliance kinds (`posture.changed`, `posture.report`) are read; other `posture.*` kinds
/// (per-check events some tools write) are journal events like any other.
public enum PostureExtractor {
    static let marker = Array("\"kind\":\"posture.".utf8)
    /// What must follow the marker: the two compliance kinds, closing quote included.
    static let suffixes = [Array("report\"".utf8), Array("changed\"".utf8)]

    public static func records(in lines: [ArraySlice<UInt8>]) -> [PostureRecord] {
        var out: [PostureRecord] = []
        for line in lines where mayHoldPosture(line) {
            guard let record = try? JournalLineParser.decode(Array(line)), PostureReport.kinds.contains(record.kind) else { continue }
            let text = String(decoding: line, as: UTF8.self)
            let result: Result<PostureReport, PostureRecordError>
            do {
                result = .success(try PostureReport(kind: record.kind, payload: record.payload))
            } catch {
                result = .failure(error)
            }
            out.append(PostureRecord(seq: Int64(record.seq), time: record.time, result: result, line: text))
        }
        return out
    }

    /// True if the line holds `"kind":"posture.report"` or `"kind":"posture.changed"` somewhere:
    /// lines of other kinds (including other `posture.*` kinds) are never parsed twice.
    static func mayHoldPosture(_ line: ArraySlice<UInt8>) -> Bool {
        let first = marker[0]
        var index = line.startIndex
        let last = line.endIndex - marker.count
        while index <= last {
            if line[index] == first, line[index..<(index + marker.count)].elementsEqual(marker) {
                let rest = line[(index + marker.count)...]
                if suffixes.contains(where: { rest.starts(with: $0) }) { return true }
            }
            index += 1
        }
        return false
    }
}
