import Dispatch
import ReadmitParallel

/// Splits a large batch's rows among the cores by guided self-scheduling: each thread takes the
/// next `remaining / (2 * threads)` rows (at least `minimumRows`) until none are left, so the
/// chunks start large and end small and the threads finish together.
///
/// Fixed chunks of 8,192 rows left one thread scoring alone for the last 20-30 ms of a
/// 100,000-row request on two cores (13 chunks: one thread took 7). Rows are independent, so
/// where a chunk starts never changes a row's result; only the order in which chunks run does.
struct GuidedChunks {
    /// Batches of fewer rows than this are not split.
    static let parallelThreshold = 16_384
    /// The smallest chunk handed out (the last one may be smaller).
    static let minimumRows = 2_048

    /// Calls `body` with consecutive row ranges covering `0..<rows`, on up to `threads` threads
    /// at once; returns when every range is done. Thread-safe; `body` must be.
    static func forEach(rows: Int, threads: Int, minimumRows: Int = minimumRows, _ body: @Sendable (Range<Int>) -> Void) {
        let threads = max(1, threads), minimum = max(1, minimumRows)
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while let range = next.withLock({ (start: inout Int) -> Range<Int>? in
                guard start < rows else { return nil }
                let remaining = rows - start
                let size = min(remaining, max(minimum, remaining / (2 * threads)))
                defer { start += size }
                return start..<(start + size)
            }) {
                body(range)
            }
        }
    }
}
