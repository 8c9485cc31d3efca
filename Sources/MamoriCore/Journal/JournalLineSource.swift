#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a line sits: the segment it is in, its 1-based line number there, and its byte offset.
public struct JournalLineLocation: Sendable, Hashable, CustomStringConvertible {
    public var segment: String
    public var line: Int
    public var byteOffset: Int

    public init(segment: String, line: Int, byteOffset: Int) {
        self.segment = segment
        self.line = line
        self.byteOffset = byteOffset
    }

    public var description: String { "\(segment):\(line) (byte \(byteOffset))" }
}

/// One line as a source hands it out; `bytes` is valid only inside the callback.
public struct JournalLineView {
    public var bytes: UnsafeBufferPointer<UInt8>
    /// 0-based index over the whole journal.
    public var index: Int
    public var location: JournalLineLocation
    /// False for a last line with no newline: the torn tail of a crash, or a cut file.
    public var terminated: Bool
    /// True when this line is the very last of the journal.
    public var isLastLine: Bool
}

/// Ordered lines of a journal. MamoriCore reads no files: the agent and the CLI provide sources
/// over segment files, tests provide them over memory.
public protocol JournalLineSource {
    /// Calls `body` for each line from `startLine` (0-based over all segments) on, in order,
    /// until `body` returns false or the lines run out.
    func forEachLine(from startLine: Int, _ body: (JournalLineView) throws -> Bool) throws
}

public enum JournalSegmentScanner {
    /// Splits one segment's bytes into lines and calls `body` for each, in order.
    /// Returns false if `body` asked to stop.
    public static func scan(_ buffer: UnsafeBufferPointer<UInt8>, segment: String, firstIndex: Int, skipping: Int,
                            isLastSegment: Bool, _ body: (JournalLineView) throws -> Bool) rethrows -> (lines: Int, continue: Bool) {
        var offset = 0
        var lineNumber = 0
        let count = buffer.count
        guard let base = buffer.baseAddress, count > 0 else { return (0, true) }
        while offset < count {
            let remaining = count - offset
            let found = memchr(base + offset, 0x0A, remaining)
            let end: Int
            let terminated: Bool
            if let found {
                end = UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - base
                terminated = true
            } else {
                end = count
                terminated = false
            }
            let globalIndex = firstIndex + lineNumber
            lineNumber += 1
            if globalIndex >= skipping {
                let view = JournalLineView(
                    bytes: UnsafeBufferPointer(start: base + offset, count: end - offset),
                    index: globalIndex,
                    location: JournalLineLocation(segment: segment, line: lineNumber, byteOffset: offset),
                    terminated: terminated,
                    isLastLine: isLastSegment && (terminated ? end + 1 == count : true))
                if try !body(view) { return (lineNumber, false) }
            }
            offset = end + 1
        }
        return (lineNumber, true)
    }
}

/// A journal held in memory, one byte array a segment (tests, fuzzing, the collector's batches).
public struct InMemoryJournalSource: JournalLineSource, Sendable {
    public var segments: [(name: String, bytes: [UInt8])]

    public init(segments: [(name: String, bytes: [UInt8])]) { self.segments = segments }

    /// A single segment holding `lines`, each followed by a newline.
    public init(lines: [[UInt8]], segmentName: String = "memory") {
        var bytes: [UInt8] = []
        for line in lines { bytes.append(contentsOf: line); bytes.append(0x0A) }
        self.segments = [(segmentName, bytes)]
    }

    public func forEachLine(from startLine: Int, _ body: (JournalLineView) throws -> Bool) throws {
        var first = 0
        for (position, segment) in segments.enumerated() {
            let result = try segment.bytes.withUnsafeBufferPointer { buffer in
                try JournalSegmentScanner.scan(buffer, segment: segment.name, firstIndex: first, skipping: startLine,
                                               isLastSegment: position == segments.count - 1, body)
            }
            if !result.continue { return }
            first += result.lines
        }
    }
}
