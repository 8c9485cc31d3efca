#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT, blocked and polled: the agent's loops ask `received()` between bounded
/// waits, so shutdown needs no signal handler and no shared mutable state.
public struct StopSignals {
    var set = sigset_t()

    /// Blocks SIGTERM and SIGINT in the calling thread (call before starting any other thread).
    public init() {
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// True once SIGTERM or SIGINT is pending; the signal is consumed.
    public mutating func received() -> Bool {
        var pending = sigset_t()
        sigpending(&pending)
        guard sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1 else { return false }
        var signal: Int32 = 0
        sigwait(&set, &signal)
        return true
    }
}
