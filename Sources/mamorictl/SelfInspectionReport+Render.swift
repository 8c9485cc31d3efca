import Foundation
import MamoriClient
import MamoriCore

extension SelfInspectionReport {
    var sections: [(heading: String, headers: [String], rows: [[String]], empty: String)] {
        [
            (text("1. 対象範囲", "1. Coverage"), [text("項目", "Item"), text("値", "Value")], coverageRows, ""),
            (text("2. 点検項目と合格率", "2. Checks and pass rates"), checkHeaders, checkRows, text("報告なし", "No reports")),
            (text("3. 不適合端末", "3. Failing hosts"), failingHeaders, failingRows, text("なし", "None")),
            (text("4. 改ざん警報と確認", "4. Tamper alerts and acknowledgements"), alertHeaders, alertRows, text("なし", "None")),
            (text("5. 可搬記憶媒体の一時許可（持ち出し申請、6(3)①）", "5. Removable media: one-off grants (持ち出し申請, 6(3)①)"),
             grantHeaders, grantRows, text("期間中の一時許可なし", "No grants during the period")),
        ]
    }

    var chartHeading: String { text("6. 適合率の推移", "6. Compliance over time") }

    // MARK: Markdown

    func markdown(chartFile: String) -> String {
        var out = "# \(title)\n\n"
        out += "- \(text("期間", "Period")): \(period)\n- \(text("作成", "Generated")): \(data["generated_at"]?.stringValue ?? "")\n"
        out += "- \(text("根拠", "Basis")): \(text("情報セキュリティ基本方針 7（監査及び自己点検）", "Information security policy 7 (audit and self-inspection)"))\n\n"
        for section in sections {
            out += "## \(section.heading)\n\n"
            out += section.rows.isEmpty ? "\(section.empty)\n\n" : Self.markdownTable(section.headers, section.rows) + "\n"
        }
        out += "## \(chartHeading)\n\n![\(chartHeading)](\(chartFile))\n\n" + Self.markdownTable(timelineHeaders, timelineRows)
        return out
    }

    static func markdownTable(_ headers: [String], _ rows: [[String]]) -> String {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { TerminalText.safe($0.replacingOccurrences(of: "\n", with: " ")).replacingOccurrences(of: "|", with: "\\|")
                .replacingOccurrences(of: "<", with: "&lt;") }.joined(separator: " | ") + " |\n"
        }
        return line(headers) + line(headers.map { _ in "---" }) + rows.map(line).joined()
    }

    // MARK: HTML

    func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="\(language.rawValue)"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            body{font-family:sans-serif;margin:2em;color:#000}table{border-collapse:collapse;margin:.5em 0 1.5em}
            th,td{border:1px solid #888;padding:2px 6px;font-size:10pt;text-align:left;vertical-align:top}
            th{background:#eee}h2{page-break-after:avoid}table,svg{page-break-inside:avoid}
            @page{size:A4;margin:15mm}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>
            <p>\(text("期間", "Period")): \(Self.escape(period))<br>\(text("作成", "Generated")): \(Self.escape(data["generated_at"]?.stringValue ?? ""))</p>

            """
        for section in sections {
            out += "<h2>\(Self.escape(section.heading))</h2>\n"
            out += section.rows.isEmpty ? "<p>\(Self.escape(section.empty))</p>\n" : Self.htmlTable(section.headers, section.rows)
        }
        out += "<h2>\(Self.escape(chartHeading))</h2>\n" + svgChart() + "\n" + Self.htmlTable(timelineHeaders, timelineRows)
        return out + "</body></html>\n"
    }

    static func htmlTable(_ headers: [String], _ rows: [[String]]) -> String {
        "<table><tr>" + headers.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }.joined() + "</table>\n"
    }

    /// HTML text and attribute values: markup characters as entities, and control and
    /// bidirectional-override characters from terminals shown as `\u{XX}`, never passed on.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in TerminalText.safe(text) {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// The compliance rate (compliant ÷ reporting) at each point, as a line over a 0–100 % grid.
    func svgChart(width: Int = 640, height: Int = 240) -> String {
        let left = 48, right = 16, top = 16, bottom = 40
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let points = timeline
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">\n"
        out += "<title>\(Self.escape(chartHeading))</title>\n"
        for percent in stride(from: 0, through: 100, by: 25) {
            let y = top + plotHeight - plotHeight * percent / 100
            out += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - right)\" y2=\"\(y)\" stroke=\"#ccc\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"10\" text-anchor=\"end\">\(percent)%</text>\n"
        }
        let coordinates: [(x: Int, y: Int)] = points.enumerated().map { index, point in
            let x = left + (points.count > 1 ? plotWidth * index / (points.count - 1) : plotWidth / 2)
            let rate = point.reporting > 0 ? Int(point.compliant * 1000 / point.reporting) : 0
            return (x, top + plotHeight - plotHeight * rate / 1000)
        }
        if !coordinates.isEmpty {
            out += "<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\""
                + coordinates.map { "\($0.x),\($0.y)" }.joined(separator: " ") + "\"/>\n"
            for (index, point) in coordinates.enumerated() where points[index].reporting > 0 {
                out += "<circle cx=\"\(point.x)\" cy=\"\(point.y)\" r=\"2.5\" fill=\"#1f5fa8\"/>"
            }
            out += "\n"
            let labelEvery = max(1, points.count / 6)
            for (index, point) in coordinates.enumerated() where index % labelEvery == 0 || index == coordinates.count - 1 {
                out += "<text x=\"\(point.x)\" y=\"\(height - bottom + 16)\" font-size=\"10\" text-anchor=\"middle\">\(String(points[index].at.prefix(10)))</text>\n"
            }
        }
        return out + "</svg>"
    }
}
