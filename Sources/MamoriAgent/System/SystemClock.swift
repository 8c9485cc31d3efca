public import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// The wall clock, read only at the edges (MamoriCore takes time as a parameter).
public enum SystemClock {
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microsecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }
}
