#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An errno with a Swift name, for messages and for matching.
public struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EWOULDBLOCK)
    public static let noEntry = Errno(rawValue: ENOENT)
    public static let exists = Errno(rawValue: EEXIST)

    public var description: String { String(cString: strerror(rawValue)) }
}

/// A failed system call: what was tried, on what, and the errno.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String?
    public let errno: Errno

    public var description: String {
        if let path { return "\(operation) \(path): \(errno)" }
        return "\(operation): \(errno)"
    }
}

/// Every system call goes through here: EINTR is retried, -1 becomes a typed error.
enum Syscall {
    @discardableResult
    static func call<T: BinaryInteger>(_ operation: String, path: String? = nil, _ body: () -> T) throws -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw SystemError(operation: operation, path: path, errno: Errno(rawValue: code))
        }
    }
}
