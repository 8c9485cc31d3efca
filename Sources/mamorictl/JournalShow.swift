import ArgumentParser
import MamoriAgent
import MamoriCore

struct JournalShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a journal's records (this does not verify them: use `journal verify`).",
        discussion: "Exit status: 0 all lines readable; 1 some lines could not be read (reported on stderr); 2 bad input."
    )

    @Argument(help: "The journal directory (holding the .log segments).")
    var journal: String

    @Option(help: "First seq to show.")
    var from: UInt64 = 0

    @Option(help: "Output format: text, or json (one record per line, as stored).")
    var format: OutputFormat = .text

    func run() throws {
        guard FileSystem.isDirectory(journal) else { throw InputError("\(journal): not a journal directory") }
        let directory: JournalDirectory
        do { directory = try JournalDirectory(path: journal) } catch { throw InputError("\(error)") }
        guard !directory.segments.isEmpty else { throw InputError("\(journal): no journal segments (*.log) found") }
        var unreadable = 0
        var out: [UInt8] = []
        func flush() {
            if !out.isEmpty { print(String(decoding: out, as: UTF8.self), terminator: ""); out.removeAll(keepingCapacity: true) }
        }
        try directory.forEachLine(from: 0) { line in
            let bytes = Array(line.bytes)
            guard let record = try? JournalLineParser.decode(bytes) else {
                unreadable += 1
                flush()
                Output.error("\(line.location): unreadable line (\(bytes.count) bytes)")
                return true
            }
            guard record.seq >= from else { return true }
            switch format {
            case .json:
                out.append(contentsOf: bytes)
            case .text:
                let payload = JSONValue.object(record.payload).canonicalString
                let text = "\(record.seq)\t\(record.time)\te\(record.epoch)\t\(record.kind)\t\(payload)"
                out.append(contentsOf: text.utf8)
            }
            out.append(0x0A)
            if out.count > 1 << 16 { flush() }
            return true
        }
        flush()
        if unreadable > 0 { throw ExitStatus.failed }
    }
}
