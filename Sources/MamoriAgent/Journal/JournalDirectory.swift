public import MamoriCore

/// The segment files of a journal directory: `<20-digit first seq>.log`, in seq order.
public struct JournalDirectory: JournalLineSource, Sendable {
    public let path: String
    public let segments: [Segment]

    public struct Segment: Sendable, Hashable {
        public let name: String
        public let firstSeq: UInt64
        public var path: String
    }

    public static let segmentSuffix = ".log"

    public static func segmentName(firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + segmentSuffix
    }

    /// Lists the segments; throws if the directory cannot be read.
    public init(path: String) throws {
        self.path = path
        var found: [Segment] = []
        for name in try FileSystem.listDirectory(path) where name.hasSuffix(JournalDirectory.segmentSuffix) {
            let stem = name.dropLast(JournalDirectory.segmentSuffix.count)
            guard stem.count == 20, let first = UInt64(stem) else { continue }
            found.append(Segment(name: name, firstSeq: first, path: path + "/" + name))
        }
        self.segments = found.sorted { $0.firstSeq < $1.firstSeq }
    }

    public func forEachLine(from startLine: Int, _ body: (JournalLineView) throws -> Bool) throws {
        var first = 0
        for (position, segment) in segments.enumerated() {
            let bytes = try FileSystem.readFile(segment.path)
            let result = try bytes.withUnsafeBufferPointer { buffer in
                try JournalSegmentScanner.scan(buffer, segment: segment.name, firstIndex: first, skipping: startLine,
                                               isLastSegment: position == segments.count - 1, body)
            }
            if !result.continue { return }
            first += result.lines
        }
    }
}
