import CQRencode

/// A QR code (libqrencode) for the terminal: two modules per character cell with half blocks,
/// light modules drawn as ink so the symbol scans on a dark terminal (as `qrencode -t UTF8` does).
final class QRSymbol {
    private let code: UnsafeMutablePointer<QRcode>

    /// nil when libqrencode cannot encode `text` (too long, or out of memory).
    init?(_ text: String) {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        guard code.pointee.width > 0, code.pointee.data != nil else {
            QRcode_free(code)
            return nil
        }
        self.code = code
    }

    deinit { QRcode_free(code) }

    var width: Int { Int(code.pointee.width) }

    /// Whether the module at (x, y) is dark; outside the symbol (the quiet zone) is light.
    func isDark(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < width, y < width, let data = code.pointee.data else { return false }
        return data[y * width + x] & 1 == 1
    }

    /// Rows of text; `margin` light modules around the symbol (4 is the standard's quiet zone).
    func render(margin: Int = 2) -> [String] {
        var lines: [String] = []
        var y = -margin
        while y < width + margin {
            var line = ""
            for x in -margin..<(width + margin) {
                let top = !isDark(x: x, y: y)
                let bottom = !isDark(x: x, y: y + 1)
                switch (top, bottom) {
                case (true, true): line += "█"
                case (true, false): line += "▀"
                case (false, true): line += "▄"
                case (false, false): line += " "
                }
            }
            lines.append(line)
            y += 2
        }
        return lines
    }
}
