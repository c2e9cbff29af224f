import Foundation

/// Turns SIGTERM/SIGINT (stop) and SIGHUP (reload) into calls on a dedicated thread.
///
/// ``blockSignals()`` must run before any thread starts (including libzmq's), so that every
/// thread inherits the mask and the signals reach only the `sigwait` thread.
public enum SignalWatcher {
    private static let handled = [SIGTERM, SIGINT, SIGHUP]

    /// Blocks the handled signals in the calling thread (and threads it starts later); ignores SIGPIPE.
    public static func blockSignals() {
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        for s in handled { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts the thread that waits for signals: `onStop` for SIGTERM/SIGINT, `onReload` for SIGHUP.
    public static func start(onStop: @escaping @Sendable (Int32) -> Void, onReload: @escaping @Sendable () -> Void) {
        let thread = Thread {
            var set = sigset_t()
            sigemptyset(&set)
            for s in handled { sigaddset(&set, s) }
            while true {
                var received: Int32 = 0
                guard sigwait(&set, &received) == 0 else { continue }
                if received == SIGHUP { onReload() } else { onStop(received) }
            }
        }
        thread.name = "readmitd-signals"
        thread.start()
    }
}
