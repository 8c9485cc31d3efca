import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

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
    }

    /// Where the line for `seq` starts in `segment`: the shipper keeps the position the last read
    /// ended at, so a read costs the batch's bytes, not a scan of a 64 MB segment.
    struct Position: Equatable {
        var segment: String
        var seq: UInt64
        var offset: Int
    }

    static let chunkBytes = 256 << 10

    func read(first: UInt64, last: UInt64, limit: Int, from hint: Position? = nil) throws -> (Batch, Position)? {
        guard first <= last, limit > 0 else { return nil }
        let segments = try JournalDirectory(path: directory).segments
        guard let start = segments.lastIndex(where: { $0.firstSeq <= first }) else {
            throw AgentStateError("\(directory): no segment holds record \(first)")
        }
        let end = min(last, first + UInt64(limit) - 1)
        var out: [UInt8] = []
        var next = first
        var position = Position(segment: segments[start].name, seq: segments[start].firstSeq, offset: 0)
        if let hint, hint.segment == position.segment, hint.seq <= first { position = hint }
        for segment in segments[start...] {
            guard next <= end else { break }
            if segment.name != position.segment { position = Position(segment: segment.name, seq: segment.firstSeq, offset: 0) }
            try scan(segment, &position) { seq, line in
                if seq >= next && seq <= end {
                    guard Self.seqPrefix(line) == seq else {
                        throw AgentStateError("\(segment.path): the line for record \(seq) does not carry that seq")
                    }
                    out.append(contentsOf: line)
                    out.append(0x0A)
                    next = seq + 1
                }
                return next <= end
            }
        }
        guard next > first else { return nil }
        return (Batch(bytes: out, firstSeq: first, lastSeq: next - 1), position)
    }

    /// Reads whole lines of `segment` from `position` in chunks, advancing `position` past each
    /// line handed to `body`; stops when `body` returns false or at the last complete line.
    func scan(_ segment: JournalDirectory.Segment, _ position: inout Position,
              _ body: (UInt64, ArraySlice<UInt8>) throws -> Bool) throws {
        let fd = open(segment.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AgentStateError("\(segment.path): cannot open (errno \(errno))") }
        defer { close(fd) }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: Self.chunkBytes)
        var readOffset = position.offset
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(readOffset)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw AgentStateError("\(segment.path): read failed (errno \(errno))")
            }
            if count == 0 { return }
            readOffset += count
            pending.append(contentsOf: chunk[0..<count])
            var lineStart = pending.startIndex
            while let newline = pending[lineStart...].firstIndex(of: 0x0A) {
                let keepGoing = try body(position.seq, pending[lineStart..<newline])
                position.seq += 1
                position.offset += newline - lineStart + 1
                lineStart = newline + 1
                if !keepGoing { return }
            }
            pending.removeSubrange(pending.startIndex..<lineStart)
        }
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

    /// Journal bytes after record `seq` (nil: nothing receipted yet). `position`, when it points
    /// at the record after `seq`, gives the exact byte; otherwise every segment holding a record
    /// after `seq` counts whole (an upper bound).
    func unshippedBytes(after seq: UInt64?, head: UInt64?, position: Position?) throws -> Int64 {
        guard let head else { return 0 }
        if let seq, seq >= head { return 0 }
        let segments = try JournalDirectory(path: directory).segments
        var total: Int64 = 0
        for (index, segment) in segments.enumerated() {
            let nextFirst = index + 1 < segments.count ? segments[index + 1].firstSeq : UInt64.max
            if let seq, nextFirst <= seq + 1 { continue }
            var info = stat()
            guard stat(segment.path, &info) == 0 else { continue }
            var bytes = Int64(info.st_size)
            if let position, let seq, position.seq == seq + 1, position.segment == segment.name {
                bytes -= Int64(position.offset)
            }
            total += max(0, bytes)
        }
        return total
    }
}
