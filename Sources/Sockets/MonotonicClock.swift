#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds on the monotonic clock: deadlines are compared against this, never the wall clock.
public enum MonotonicClock {
    /// The current monotonic time in nanoseconds.
    @inline(__always)
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// A deadline `seconds` from now.
    public static func deadline(after seconds: Double) -> UInt64 {
        now() &+ UInt64(max(0, seconds) * 1_000_000_000)
    }
}
