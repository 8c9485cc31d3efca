import MamoriCore

/// Reads journal lines by seq for the shipper: from `first` through `last` (the durable head),
/// at most `limit` records, whole terminated lines only. Line k of a segment holds seq
/// `firstSeq + k`; each line's seq is checked against that, so a damaged segment is an error, not
/// a silent gap.
struct JournalBatchReader {
    let directory: String

    struct Batch {
        var bytes: [UInt8]
        var firstSeq: UInt64
        var lastSeq: UInt64
        var count: Int { Int(lastSeq - firstSeq + 1) }
    }

    func read(first: UInt64, last: UInt64, limit: Int) throws -> Batch? {
        guard first <= last, limit > 0 else { return nil }
        let segments = try JournalDirectory(path: directory).segments
        guard let start = segments.lastIndex(where: { $0.firstSeq <= first }) else {
            throw AgentStateError("\(directory): no segment holds record \(first)")
        }
        let end = min(last, first + UInt64(limit) - 1)
        var out: [UInt8] = []
        var seq = segments[start].firstSeq
        var next = first
        for segment in segments[start...] {
            guard next <= end else { break }
            let bytes = try FileSystem.readFile(segment.path)
            seq = segment.firstSeq
            var lineStart = 0
            for index in bytes.indices where bytes[index] == 0x0A {
                if seq >= next && seq <= end {
                    let line = bytes[lineStart..<index]
                    guard Self.seqPrefix(line) == seq else {
                        throw AgentStateError("\(segment.path): the line for record \(seq) does not carry that seq")
                    }
                    out.append(contentsOf: line)
                    out.append(0x0A)
                    next = seq + 1
                }
                seq += 1
                lineStart = index + 1
                if next > end { break }
            }
        }
        guard next > first else { return nil }
        return Batch(bytes: out, firstSeq: first, lastSeq: next - 1)
    }

    /// The seq a line starts with (`{"seq":N,`), without parsing the rest.
    static func seqPrefix(_ line: ArraySlice<UInt8>) -> UInt64? {
        let prefix = Array(#"{"seq":"#.utf8)
        guard line.starts(with: prefix) else { return nil }
        var value: UInt64 = 0
        var digits = 0
        for byte in line.dropFirst(prefix.count) {
            guard byte >= 0x30 && byte <= 0x39 else { break }
            let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(UInt64(byte - 0x30))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// Bytes of the segments that hold records after `seq` (an upper bound on what is unshipped).
    func unshippedBytes(after seq: UInt64?) throws -> Int64 {
        let segments = try JournalDirectory(path: directory).segments
        var total: Int64 = 0
        for (index, segment) in segments.enumerated() {
            let nextFirst = index + 1 < segments.count ? segments[index + 1].firstSeq : UInt64.max
            if let seq, nextFirst <= seq + 1 { continue }
            total += Int64((try? FileSystem.readFile(segment.path).count) ?? 0)
        }
        return total
    }
}
