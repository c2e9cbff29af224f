import Foundation

/// A named OS thread that can be joined with a deadline. Each ZeroMQ socket lives on one of these.
final class JoinableThread: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)

    /// Starts `body` on a new thread called `name`.
    init(name: String, body: @escaping @Sendable () -> Void) {
        let finished = finished
        let thread = Thread {
            body()
            finished.signal()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Waits for the thread to finish; false if `seconds` passed first.
    @discardableResult
    func join(timeout seconds: Double = .infinity) -> Bool {
        if seconds.isInfinite {
            finished.wait()
            return true
        }
        return finished.wait(timeout: .now() + seconds) == .success
    }
}
