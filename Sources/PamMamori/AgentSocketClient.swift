#if canImport(Glibc)
import Glibc
#endif
internal import MamoriAuthWire

/// The live transport: a Unix stream socket with send and receive time-outs, one frame out and
/// one frame back. Foundation-free; every failure is nil, never a trap.
public struct AgentSocketClient: AgentTransport {
    public init() {}

    public func exchange(_ frame: [UInt8], socketPath: String, timeoutMilliseconds: Int) -> [UInt8]? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard setTimeouts(fd, milliseconds: timeoutMilliseconds), connect(fd, path: socketPath),
              sendAll(fd, frame),
              let header = receive(fd, count: AuthWire.headerLength),
              let length = try? AuthFrame.bodyLength(header: header) else { return nil }
        return receive(fd, count: length)
    }

    func setTimeouts(_ fd: Int32, milliseconds: Int) -> Bool {
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        let size = socklen_t(MemoryLayout<timeval>.size)
        return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, size) == 0
            && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, size) == 0
    }

    func connect(_ fd: Int32, path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard bytes.count < capacity, !bytes.contains(0) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for index in 0..<bytes.count where index < raw.count { raw[index] = bytes[index] }
        }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        let status = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, size) }
        }
        return status == 0
    }

    func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let sent = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return send(fd, base + done, raw.count - done, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { return false }
            done += sent
        }
        return true
    }

    func receive(_ fd: Int32, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return recv(fd, base + done, raw.count - done, 0)
            }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            done += got
        }
        return bytes
    }
}
