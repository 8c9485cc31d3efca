import MamoriAuthWire
public import MamoriCore

/// Serves `AuthService` on the PAM socket: one request and one response per connection, read
/// with a bounded frame and a time-out, the caller identified by SO_PEERCRED. Connections are
/// handled one at a time on the calling thread; each takes at most a few milliseconds of work
/// and at most `clientTimeoutMilliseconds` of waiting.
public final class AuthSocketServer {
    public let listener: UnixListener
    public let service: AuthService
    public var clientTimeoutMilliseconds = 2000
    let now: () -> Timestamp

    public init(listener: UnixListener, service: AuthService, now: @escaping () -> Timestamp) {
        self.listener = listener
        self.service = service
        self.now = now
    }

    /// Serves until `shouldStop` returns true (checked at least every `pollMilliseconds`).
    public func run(pollMilliseconds: Int32 = 200, shouldStop: () -> Bool) throws {
        while !shouldStop() {
            guard let client = try listener.accept(waitingUpTo: pollMilliseconds) else { continue }
            serve(client)
        }
    }

    /// Answers one connection. Any I/O or protocol failure just closes it: the module treats a
    /// missing or malformed answer as "unavailable", never as success.
    public func serve(_ client: SocketFD) {
        guard (try? client.setTimeout(milliseconds: clientTimeoutMilliseconds)) != nil,
              let peer = try? client.peerCredentials(),
              let request = readRequest(client) else { return }
        let response = service.handle(request, peer: peer, now: now())
        guard let frame = try? response.encoded() else { return }
        try? client.writeAll(frame)
    }

    func readRequest(_ client: SocketFD) -> AuthRequest? {
        guard let header = try? client.readExactly(AuthWire.headerLength),
              let length = try? AuthFrame.bodyLength(header: header),
              let body = try? client.readExactly(length) else { return nil }
        return try? AuthRequest(body: body)
    }
}
