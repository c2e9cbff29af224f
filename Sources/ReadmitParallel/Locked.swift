import Foundation

/// A value guarded by a mutex, shared between threads.
///
/// An `NSLock` (a pthread mutex), not the Synchronization module's `Mutex`, whose locking
/// ThreadSanitizer does not see. `@inlinable`, so that callers in other modules (the daemon's
/// per-request counters) get the specialised code they had when this lived beside them.
public final class Locked<Value>: @unchecked Sendable {
    @usableFromInline let lock = NSLock()
    @usableFromInline var value: Value

    /// Wraps `value`.
    @inlinable public init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access.
    @inlinable public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the value.
    @inlinable public var current: Value { withLock { $0 } }
}
