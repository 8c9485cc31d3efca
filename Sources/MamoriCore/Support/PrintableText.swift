/// Text a device or a caller supplied, reduced to what is safe to record and show: printable
/// ASCII kept, every other scalar (controls, escapes, bidi overrides, anything else) replaced by
/// `?`, at most `limit` scalars. Shared by the PAM verifier's claims and the media guard's names.
public enum PrintableText {
    public static func ascii(_ text: String, limit: Int) -> (text: String, cut: Bool) {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else { return (out, true) }
            out.unicodeScalars.append((0x20...0x7E).contains(scalar.value) ? scalar : "?")
            count += 1
        }
        return (out, false)
    }
}
