import Foundation
import ServiceLifecycle
import Synchronization

/// A flag a blocking loop polls between bounded waits.
public final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { value.load(ordering: .acquiring) }
    public func set() { value.store(true, ordering: .releasing) }
}

/// Runs a blocking loop (a udev monitor, a socket accept loop) on its own thread, off the
/// cooperative pool, and asks it to stop on graceful shutdown or cancellation. The loop must
/// check the flag at least every few hundred milliseconds.
enum BlockingLoop {
    static func run(name: String, _ body: @escaping @Sendable (StopFlag) throws -> Void) async throws {
        let flag = StopFlag()
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread {
                    do {
                        try body(flag)
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.name = name
                thread.start()
            }
        } onCancelOrGracefulShutdown: {
            flag.set()
        }
    }
}

/// Sleeps for `seconds`, returning early (false) on graceful shutdown or cancellation.
func pause(seconds: Double) async -> Bool {
    guard seconds > 0 else { return !Task.isCancelled && !Task.isShuttingDownGracefully }
    do {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        }
        return true
    } catch {
        return false
    }
}
