#if os(Linux)
import CMalloc
#endif

/// How the daemon's allocator treats large request buffers.
///
/// libzmq's I/O thread allocates each received message with `malloc`. By default glibc serves
/// a block larger than its mmap threshold (dynamic, at most 32 MiB) with a fresh `mmap` and
/// unmaps it on `free`; a block in a thread's own arena goes the same way when it needed an
/// extra heap. So a 100,000-row SCORE (48 MB) cost about 11,700 page faults and 48 MB of page
/// clearing on every request, a quarter of its time on loopback (`benchmarks/daemon/README.md`).
///
/// Here blocks up to 64 MiB come from one arena, the main heap, for every thread, and glibc
/// keeps up to 64 MiB free at its top for the next request. The broker's `malloc_trim`
/// (``Broker/trimAfterBytes``) hands that back once a burst has passed: `malloc_trim` can
/// shrink the main heap's top, not a thread arena's, which is why there is one arena. The
/// allocations a request makes on the hot path are small ones from glibc's per-thread cache,
/// which takes no arena lock (16 concurrent clients measured the same requests/s either way).
enum ArenaPolicy {
    /// Blocks up to this size come from the arena (larger ones are still mapped and unmapped).
    static let mmapThresholdBytes: Int32 = 64 << 20
    /// Free memory glibc keeps at the top of the heap before it trims by itself.
    static let trimThresholdBytes: Int32 = 64 << 20

    /// Applies the policy. Call it before other threads allocate: a thread that already has an
    /// arena of its own keeps it. Returns whether glibc took every setting.
    @discardableResult
    static func apply() -> Bool {
        #if os(Linux)
        return mallopt(M_ARENA_MAX, 1) == 1 && mallopt(M_MMAP_THRESHOLD, mmapThresholdBytes) == 1
            && mallopt(M_TRIM_THRESHOLD, trimThresholdBytes) == 1
        #else
        return false
        #endif
    }
}
