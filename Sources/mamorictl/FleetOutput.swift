import ArgumentParser
import MamoriClient
import Foundation
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// Output formats of `mamorictl fleet`, `token` (STYLE item 9: a CaseIterable enum).
enum FleetFormat: String, CaseIterable, ExpressibleByArgument {
    case table, json, csv
}

/// Exit statuses of `mamorictl fleet`: 0 everything shown is compliant, 3 something is not,
/// 2 usage or connection errors (the collector's refusals included).
enum FleetExit {
    static let notCompliant = ExitCode(3)
}

/// A table of text cells rendered as an aligned table (fitting `width` columns, cutting the
/// widest cells with "…"), as CSV (RFC 4180), or handed back for JSON by the caller.
struct FleetTable {
    var headers: [String]
    var rows: [[String]]
    /// Column indices holding a state word, coloured on a terminal unless NO_COLOR is set.
    var stateColumns: Set<Int> = []

    func render(_ format: FleetFormat, width: Int = 80) -> String {
        switch format {
        case .csv: return csv()
        case .table, .json: return table(width: width)
        }
    }

    func csv() -> String {
        ([headers] + rows).map { row in row.map(Self.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    /// One RFC 4180 field: control characters made visible (a CSV is also read with `cat`), a
    /// leading `=`, `+`, `@` or `-` neutralised with `'` so a spreadsheet never runs it as a
    /// formula (unless the cell is a number or a lone `-`), then quoted when needed.
    static func csvField(_ raw: String) -> String {
        var text = TerminalText.safe(raw)
        if let first = text.first, "=+@-".contains(first), text != "-", Double(text) == nil { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func table(width: Int) -> String {
        // Text from terminals (host names, evidence, device names) never reaches the screen raw.
        let all = ([headers] + rows).map { $0.map(TerminalText.safe) }
        // Each cell's width once (a fleet table can hold every host of the ward).
        let cellWidths = all.map { row in row.map(Self.displayWidth) }
        var widths = headers.indices.map { column in cellWidths.map { $0[column] }.max() ?? 0 }
        let gaps = 2 * (headers.count - 1)
        while widths.reduce(0, +) + gaps > width, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }), widths[widest] > 6 {
            widths[widest] -= 1
        }
        let colour = Self.useColour
        var out = ""
        out.reserveCapacity(all.count * (width + 1))
        for (index, row) in all.enumerated() {
            for (column, cell) in row.enumerated() {
                if column > 0 { out += "  " }
                let fits = cellWidths[index][column] <= widths[column]
                let cut = fits ? cell : Self.cut(cell, to: widths[column])
                var padded = cut
                if column < row.count - 1 {
                    let used = fits ? cellWidths[index][column] : Self.displayWidth(cut)
                    if used < widths[column] { padded += String(repeating: " ", count: widths[column] - used) }
                }
                if colour, index > 0, stateColumns.contains(column) { padded = Self.colour(cell, padded) }
                out += padded
            }
            out += "\n"
        }
        return out
    }

    /// Columns a character takes on a terminal: East Asian wide and full-width forms take two.
    static func displayWidth(_ text: String) -> Int {
        let utf8 = text.utf8
        if utf8.allSatisfy({ $0 < 0x80 }) { return utf8.count }
        return text.unicodeScalars.reduce(0) { sum, scalar in
            let v = scalar.value
            let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
                || (0xFFE0...0xFFE6).contains(v)
            return sum + (wide ? 2 : 1)
        }
    }

    static func cut(_ text: String, to width: Int) -> String {
        guard displayWidth(text) > width else { return text }
        var out = ""
        for character in text {
            if displayWidth(out + String(character)) > width - 1 { break }
            out.append(character)
        }
        return out + "…"
    }

    static var useColour: Bool {
        ProcessInfo.processInfo.environment["NO_COLOR"].map { $0.isEmpty } ?? true ? isatty(STDOUT_FILENO) == 1 : false
    }

    static func colour(_ state: String, _ text: String) -> String {
        let code: String
        switch state {
        case "compliant", "pass", "not-applicable": code = "32"
        case "stale", "unreported", "out-of-scope": code = "33"
        default: code = "31"
        }
        return "\u{1B}[\(code)m" + text + "\u{1B}[0m"
    }
}

/// Text from terminals and the collector made safe for a terminal: every control character
/// (C0, DEL, C1: ESC, CSI, OSC's BEL, carriage return...) and every bidirectional override is
/// shown as `\u{XX}` instead of being sent, so no record can clear the screen, retitle the
/// window or hide text. Printable ASCII passes through untouched (the fast path).
enum TerminalText {
    static func safe(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let control = value < 0x20 || (0x7F...0x9F).contains(value)
            let bidi = (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) || value == 0x200E || value == 0x200F
            if control || bidi {
                out += "\\u{" + String(value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

enum FleetPrint {
    /// Prints `json` (canonical, one line) or the table, then exits 3 if `problem`.
    static func emit(_ format: FleetFormat, json: JSONValue, table: FleetTable, problem: Bool) throws {
        switch format {
        case .json: print(json.canonicalString)
        case .table, .csv: print(table.render(format), terminator: "")
        }
        if problem { throw FleetExit.notCompliant }
    }

    /// Writes bytes to standard output as they are, then a newline if they lack one.
    static func write(_ bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
        if bytes.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data([UInt8(ascii: "\n")])) }
    }

    /// A short local form of a stored time (`2026-04-01 09:00Z`), for tables.
    static func shortTime(_ text: String?) -> String {
        guard let text, text.count >= 16 else { return text ?? "-" }
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + "Z"
    }
}
