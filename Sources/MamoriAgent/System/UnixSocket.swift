#if canImport(Glibc)
import Glibc
#endif

/// A stream socket descriptor, closed by `close()` or in deinit, whichever comes first.
public final class SocketFD {
    public let fd: Int32
    private var isClosed = false

    init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Closes the descriptor now (the peer sees end of file at once), not when the last
    /// reference goes; later calls do nothing. Only the one thread that owns the socket calls it.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = Glibc.close(fd)
    }

    /// `struct ucred` from SO_PEERCRED, mirrored because Glibc's is behind _GNU_SOURCE.
    struct PeerCred {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    public func peerCredentials() throws -> PeerCredentials {
        var cred = PeerCred()
        var length = socklen_t(MemoryLayout<PeerCred>.size)
        try Syscall.call("getsockopt(SO_PEERCRED)") { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) }
        guard length == socklen_t(MemoryLayout<PeerCred>.size) else {
            throw SystemError(operation: "getsockopt(SO_PEERCRED)", path: nil, errno: Errno(rawValue: EPROTO))
        }
        return PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid)
    }

    /// Send and receive time-outs, so a stalled peer cannot hold the service.
    public func setTimeout(milliseconds: Int) throws {
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        let size = socklen_t(MemoryLayout<timeval>.size)
        try Syscall.call("setsockopt(SO_RCVTIMEO)") { setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, size) }
        try Syscall.call("setsockopt(SO_SNDTIMEO)") { setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, size) }
    }

    /// Exactly `count` bytes, or nil if the peer closed first.
    public func readExactly(_ count: Int) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = try bytes.withUnsafeMutableBytes { raw in
                try Syscall.call("recv") { recv(fd, raw.baseAddress! + done, count - done, 0) }
            }
            if got == 0 { return nil }
            done += got
        }
        return bytes
    }

    /// Exactly `count` bytes before `deadline` (CLOCK_MONOTONIC nanoseconds), or nil if the peer
    /// closed first; `ETIMEDOUT` once the deadline passes, however the bytes trickle in. A
    /// per-`recv` time-out is not enough: a client sending one byte a second would never time out.
    public func readExactly(_ count: Int, deadline: UInt64) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let now = MonotonicClock.nanoseconds()
            guard now < deadline else { throw SystemError(operation: "recv", path: nil, errno: Errno(rawValue: ETIMEDOUT)) }
            let remaining = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = try Syscall.call("poll") { poll(&entry, 1, remaining) }
            if ready == 0 { continue }
            let got = bytes.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress! + done, count - done, Int32(MSG_DONTWAIT)) }
            if got == 0 { return nil }
            if got < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
                throw SystemError(operation: "recv", path: nil, errno: Errno(rawValue: code))
            }
            done += got
        }
        return bytes
    }

    public func writeAll(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let sent = try bytes.withUnsafeBytes { raw in
                try Syscall.call("send") { send(fd, raw.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            }
            done += sent
        }
    }
}

/// A listening Unix stream socket at a path; the path is removed when the listener goes away.
public final class UnixListener {
    public let path: String
    public let socket: SocketFD

    /// Binds `path` (a stale socket there is replaced; any other file is refused) with `mode`.
    public init(path: String, mode: UInt32 = 0o666, backlog: Int32 = 64) throws {
        let maxPath = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
        guard path.utf8.count <= maxPath else {
            throw SystemError(operation: "bind", path: path, errno: Errno(rawValue: ENAMETOOLONG))
        }
        if FileSystem.exists(path) {
            var info = stat()
            try Syscall.call("lstat", path: path) { lstat(path, &info) }
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw SystemError(operation: "bind", path: path, errno: Errno(rawValue: EEXIST))
            }
            try Syscall.call("unlink", path: path) { unlink(path) }
        }
        let fd = try Syscall.call("socket") { Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        socket = SocketFD(fd: fd)
        self.path = path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        _ = try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                try Syscall.call("bind", path: path) { bind(fd, generic, size) }
            }
        }
        try Syscall.call("chmod", path: path) { chmod(path, mode_t(mode)) }
        try Syscall.call("listen", path: path) { listen(fd, backlog) }
    }

    deinit { unlink(path) }

    /// Waits up to `milliseconds` for a connection; nil on time-out.
    public func accept(waitingUpTo milliseconds: Int32) throws -> SocketFD? {
        var entry = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
        let ready = try Syscall.call("poll", path: path) { poll(&entry, 1, milliseconds) }
        guard ready > 0 else { return nil }
        let client = try Syscall.call("accept", path: path) { Glibc.accept(socket.fd, nil, nil) }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        return SocketFD(fd: client)
    }
}

/// Connects to a Unix stream socket (tests and tools; the PAM module has its own client).
public func connectUnixSocket(path: String) throws -> SocketFD {
    let fd = try Syscall.call("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
    let handle = SocketFD(fd: fd)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
        throw SystemError(operation: "connect", path: path, errno: Errno(rawValue: ENAMETOOLONG))
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
    }
    let size = socklen_t(MemoryLayout<sockaddr_un>.size)
    _ = try withUnsafePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
            try Syscall.call("connect", path: path) { connect(fd, generic, size) }
        }
    }
    return handle
}

/// CLOCK_MONOTONIC in nanoseconds: deadlines that a clock step cannot move.
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
