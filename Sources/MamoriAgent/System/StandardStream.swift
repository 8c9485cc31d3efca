#if canImport(Glibc)
import Glibc
#endif

/// Writes straight to file descriptors 1 and 2: unbuffered (a line a crash test reads must be out
/// before the next step), and without the C `stdout`/`stderr` globals, which are not
/// concurrency-safe.
public enum StandardStream {
    public static func output(_ text: String) { write(text, to: 1) }
    public static func error(_ text: String) { write(text, to: 2) }

    public static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
