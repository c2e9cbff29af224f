import Dispatch

/// Runs `body` once for every index in `0..<count` and returns the results in index order.
///
/// With `parallel` (and more than one index), the calls run on the calling thread and GCD's
/// (`DispatchQueue.concurrentPerform`), each writing only its own slot, so the result does not
/// depend on which thread ran which index or in what order: callers that need bit-identical
/// output (sums merged in chunk order, seeds derived from the index) keep it. Without
/// `parallel`, the calls run in order on the calling thread.
///
/// The one place the project hands indexed work to threads: the slot buffer and its
/// `nonisolated(unsafe)` are written here once, not at each call site.
///
/// - Parameters:
///   - count: how many indices; 0 gives an empty array.
///   - parallel: whether the calls may run at the same time.
///   - body: the work for one index; it must not depend on the other indices' calls.
public func concurrentMap<T>(_ count: Int, parallel: Bool = true, _ body: (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    guard parallel && count > 1 else { return (0..<count).map(body) }
    return withoutActuallyEscaping(body) { body in
        let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize(); slots.deallocate() }
        // Each index writes only its own slot, and concurrentPerform returns after every
        // call: no two threads touch the same memory, and all writes happen before the reads.
        nonisolated(unsafe) let out = slots
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: count) { k in out[k] = work(k) }
        return out.map { value in
            guard let value else { preconditionFailure("concurrentPerform ran every iteration") }
            return value
        }
    }
}

/// ``concurrentMap(_:parallel:_:)`` for work that can fail: every index runs, and the error of
/// the lowest failing index is thrown (so which error is reported does not depend on timing).
public func concurrentMap<T, E: Error>(_ count: Int, parallel: Bool = true, _ body: (Int) throws(E) -> T) throws(E) -> [T] {
    let results = concurrentMap(count, parallel: parallel) { k in Result { () throws(E) in try body(k) } }
    return try results.map { result throws(E) in try result.get() }
}

/// Runs `first` and `second` at the same time (the calling thread and one of GCD's) and returns
/// both results; if either failed, throws `first`'s error if it failed, else `second`'s.
public func concurrently<A, B, E1: Error, E2: Error>(
    _ first: () throws(E1) -> A, _ second: () throws(E2) -> B
) throws -> (A, B) {
    let results: [Either<Result<A, E1>, Result<B, E2>>] = concurrentMap(2) { k in
        k == 0 ? .first(Result { () throws(E1) in try first() }) : .second(Result { () throws(E2) in try second() })
    }
    guard case .first(let a) = results[0], case .second(let b) = results[1] else {
        preconditionFailure("concurrentMap keeps index order")
    }
    return (try a.get(), try b.get())
}

/// One of two results, for ``concurrently(_:_:)``'s two slots.
private enum Either<First, Second> {
    case first(First)
    case second(Second)
}
