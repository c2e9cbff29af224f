import Foundation
import Logging
import ReadmitParallel
import ReadmitWire
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's access audit trail (`readmitd --audit-log FILE`): one JSON line for every
/// request answered (when, which client key, from which address, the operation, its rows, the
/// outcome, which model, how long), for every CURVE handshake refused, and for the start,
/// every model load and the stop. It is what a hospital's security officer reads to answer
/// "who scored how many encounters, when, with which model" (the HIPAA Security Rule's audit
/// controls, 45 CFR 164.312(b)).
///
/// It never holds patient data: no feature value, raw field, risk or message text, only counts
/// and codes (which encounters were scored is in the caller's own records).
///
/// The threads that answer requests only append a small record to a buffer in memory; a thread
/// of its own formats and writes the lines every ``flushInterval`` and at the stop, so a
/// request never waits on the disk. The buffer is bounded (``maxBufferedEntries``): past it,
/// entries are dropped and counted, and a `dropped` line says how many once writing resumes,
/// so a full disk costs the audit trail its completeness, said in the trail, and never
/// the daemon its memory or its patients their scores.
///
/// The file is opened for appending, created with mode 0600, and must be a regular file (not a
/// link, a directory or a FIFO). It may be rotated by moving it away (logrotate's default
/// `create` mode): when the path stops naming the open file, the next write opens a new one
/// there, without a signal.
public final class AuditLog: @unchecked Sendable {
    /// Why the audit log cannot be opened (the daemon then does not start).
    public struct OpenError: Error, Sendable, CustomStringConvertible {
        /// The message, naming the path.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    /// One answered request, as the broker saw it. A class: the broker passes an optional one
    /// on every request's path, where a nil reference costs nothing to pass and destroy.
    final class Request {
        var time = timespec()
        let client: String?
        let keyFile: String?
        let address: String?
        var op: UInt8
        let requestID: UInt64
        let rows: Int?
        var status: UInt16 = 0
        var modelVersion: UInt64 = 0
        /// The start (uptime nanoseconds) until ``finish(op:status:modelVersion:)``, then the duration.
        var micros: UInt64 = 0

        init(client: String?, keyFile: String?, address: String?, op: UInt8, requestID: UInt64, rows: Int?, started: UInt64) {
            self.client = client
            self.keyFile = keyFile
            self.address = address
            self.op = op
            self.requestID = requestID
            self.rows = rows
            micros = started
        }

        /// Sets the outcome, the time it was answered and how long it took since its start.
        func finish(op: UInt8, status: UInt16, modelVersion: UInt64) {
            self.op = op
            self.status = status
            self.modelVersion = modelVersion
            time = AuditLog.now()
            micros = micros == 0 ? 0 : (DispatchTime.now().uptimeNanoseconds &- micros) / 1000
        }
    }

    /// A line of the trail, formatted on the writer thread.
    enum Entry {
        case request(Request)
        /// `event` with its fields in order (values are texts, numbers or null).
        case event(time: timespec, name: String, fields: [(String, Value)])
    }

    /// A field's value in an event line.
    enum Value {
        case text(String)
        case number(UInt64)
        case null
    }

    /// How often the writer thread writes what was appended.
    static let flushInterval: Double = 0.1
    /// Entries held in memory while the file cannot be written; past this they are dropped.
    static let maxBufferedEntries = 1 << 18

    /// The path given (as given: a rotated file is reopened at it).
    public let path: String
    private let logger: Logger
    private let state = Locked(State())
    private let wake = DispatchSemaphore(value: 0)
    private var thread: JoinableThread?
    /// The open file, owned by the writer thread after ``start()``.
    private var fd: Int32
    /// When a failed reopen was last logged (the writer thread's).
    private var lastReopenFailureLog: UInt64 = 0

    private struct State {
        var entries: [Entry] = []
        var dropped: UInt64 = 0
        var droppedToReport: UInt64 = 0
        var written: UInt64 = 0
        var writeFailures: UInt64 = 0
        var stopping = false
    }

    /// Opens (or creates, mode 0600) `path` for appending. Throws naming the path when it is
    /// not a regular file or cannot be opened.
    /// `-` writes the lines to standard output (which the daemon does not otherwise use): a
    /// container's log, or journald under systemd, then keeps them.
    public init(path: String, logger: Logger) throws(OpenError) {
        self.path = path
        self.logger = logger
        if path == "-" {
            fd = dup(STDOUT_FILENO)
            guard fd >= 0 else { throw OpenError(message: "cannot write the audit log to standard output: \(String(cString: strerror(errno)))") }
        } else {
            fd = try Self.open(path)
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Lines written, entries dropped (the buffer was full) and failed writes so far.
    public var counts: (written: UInt64, dropped: UInt64, writeFailures: UInt64) {
        state.withLock { ($0.written, $0.dropped, $0.writeFailures) }
    }

    /// Starts the writer thread.
    public func start() {
        thread = JoinableThread(name: "readmitd-audit") { [self] in run() }
    }

    /// Writes what is buffered and stops the writer thread (after the `stop` event).
    public func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
        thread?.join(timeout: 10)
        thread = nil
    }

    /// Appends a request's entry (any thread; never blocks on the disk).
    func record(_ request: Request) {
        append(.request(request))
    }

    /// Appends an event line (`start`, `model_loaded`, `model_load_failed`, `refused`, `stop`).
    func event(_ name: String, _ fields: [(String, Value)]) {
        append(.event(time: Self.now(), name: name, fields: fields))
    }

    /// The wall-clock time now.
    static func now() -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return t
    }

    private func append(_ entry: Entry) {
        state.withLock {
            if $0.entries.count >= Self.maxBufferedEntries {
                $0.dropped += 1
                $0.droppedToReport += 1
            } else {
                $0.entries.append(entry)
            }
        }
    }

    // MARK: The writer thread

    private func run() {
        // Lines formatted and not yet written; when `midLine`, the file ends in the first of
        // them (a write stopped inside it: a full disk, a file size limit).
        var pending: [UInt8] = []
        var midLine = false
        var lastFailureLog: UInt64 = 0
        let newline = UInt8(ascii: "\n")
        while true {
            _ = wake.wait(timeout: .now() + Self.flushInterval)
            let (entries, dropped, stopping) = state.withLock { s -> ([Entry], UInt64, Bool) in
                defer { s.entries.removeAll(keepingCapacity: true); s.droppedToReport = 0 }
                return (s.entries, s.droppedToReport, s.stopping)
            }
            if dropped > 0 {
                pending += Self.line(.event(time: Self.now(), name: "dropped", fields: [("entries", .number(dropped))]))
            }
            for entry in entries { pending += Self.line(entry) }
            if !pending.isEmpty {
                if reopenIfRotated(), midLine, let end = pending.firstIndex(of: newline) {
                    // The moved file ends in part of a line: its rest would begin the new file
                    // as a fragment no reader could parse. Dropped, and said.
                    pending.removeSubrange(...end)
                    midLine = false
                    state.withLock { $0.dropped += 1; $0.droppedToReport += 1 }
                }
                let (done, failure) = write(pending)
                if done > 0 {
                    let lines = pending[..<done].reduce(0) { $0 + ($1 == newline ? 1 : 0) }
                    state.withLock { $0.written += UInt64(lines) }
                    midLine = pending[done - 1] != newline
                    pending.removeFirst(done)
                    if pending.isEmpty && pending.capacity > 1 << 20 { pending = [] }
                }
                if let failure {
                    state.withLock { $0.writeFailures += 1 }
                    // Kept for the next try, within the bound of the entries in memory; past it
                    // the whole lines are dropped and counted (the rest of a line begun is kept).
                    if pending.count > Self.maxBufferedEntries * 128 {
                        let keep = midLine ? (pending.firstIndex(of: newline).map { $0 + 1 } ?? pending.count) : 0
                        let lines = pending[keep...].reduce(0) { $0 + ($1 == newline ? 1 : 0) }
                        pending.removeSubrange(keep...)
                        state.withLock { $0.dropped += UInt64(lines); $0.droppedToReport += UInt64(lines) }
                    }
                    let now = DispatchTime.now().uptimeNanoseconds
                    if lastFailureLog == 0 || now &- lastFailureLog > 10_000_000_000 {
                        lastFailureLog = now
                        logger.error("cannot write the audit log; its entries are kept in memory and retried", metadata: ["path": "\(path)", "error": "\(failure)"])
                    }
                }
            }
            if stopping { break }
        }
    }

    /// Writes as much of `bytes` as the file takes (a write may be partial or interrupted):
    /// the count written, and the error that stopped it before the end, if one did.
    private func write(_ bytes: [UInt8]) -> (written: Int, failure: String?) {
        guard fd >= 0 else { return (0, "the file is not open") }
        return bytes.withUnsafeBytes { raw -> (Int, String?) in
            guard let base = raw.baseAddress else { return (0, nil) }
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return (offset, String(cString: strerror(errno)))
                }
                offset += n
            }
            return (offset, nil)
        }
    }

    /// Opens a new file at the path when the open one was moved away or removed (rotation);
    /// whether it did.
    private func reopenIfRotated() -> Bool {
        guard path != "-" else { return false }
        var atPath = stat(), open = stat()
        let moved = lstat(path, &atPath) != 0 || (fd >= 0 && fstat(fd, &open) == 0
            && (atPath.st_ino != open.st_ino || atPath.st_dev != open.st_dev))
        guard moved || fd < 0 else { return false }
        do {
            let new = try Self.open(path)
            if fd >= 0 { Glibc.close(fd) }
            fd = new
            logger.info("audit log reopened (rotated)", metadata: ["path": "\(path)"])
            return true
        } catch {
            let now = DispatchTime.now().uptimeNanoseconds
            if lastReopenFailureLog == 0 || now &- lastReopenFailureLog > 10_000_000_000 {
                lastReopenFailureLog = now
                logger.error("cannot reopen the rotated audit log; writing on to the moved file", metadata: ["error": "\(error.message)"])
            }
            return false
        }
    }

    private static func open(_ path: String) throws(OpenError) -> Int32 {
        var info = stat()
        if lstat(path, &info) == 0, let kind = notRegular(info.st_mode) {
            throw OpenError(message: "cannot open the audit log \(path): it is \(kind), not a regular file")
        }
        // O_NOFOLLOW and O_NONBLOCK: a link or a FIFO put there since the check is refused, not
        // followed or waited on.
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            throw OpenError(message: "cannot open the audit log \(path): \(String(cString: strerror(errno)))")
        }
        if fstat(fd, &info) != 0 || notRegular(info.st_mode) != nil {
            Glibc.close(fd)
            throw OpenError(message: "cannot open the audit log \(path): it is not a regular file")
        }
        _ = fcntl(fd, F_SETFL, O_WRONLY | O_APPEND)
        return fd
    }

    /// What a file of `mode` is in words when it is not a regular file.
    private static func notRegular(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFLNK: "a symbolic link"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        default: "a device"
        }
    }

    // MARK: Lines

    /// One JSON line: `time` (UTC, microseconds) and `event` first, then the entry's fields.
    static func line(_ entry: Entry) -> [UInt8] {
        var out = JSONBytes()
        switch entry {
        case .request(let r):
            out.raw("{\"time\": "); out.string(iso8601(r.time))
            out.raw(", \"event\": \"request\", \"op\": ")
            out.string(Operation(rawValue: r.op)?.name ?? "UNKNOWN")
            out.raw(", \"status\": "); out.string(Status(rawValue: r.status)?.name ?? "UNKNOWN")
            out.raw(", \"rows\": "); if let rows = r.rows { out.int(rows) } else { out.raw("null") }
            out.raw(", \"client_key\": "); optional(r.client, &out)
            out.raw(", \"key_file\": "); optional(r.keyFile, &out)
            out.raw(", \"address\": "); optional(r.address, &out)
            out.raw(", \"request_id\": "); out.raw(String(r.requestID))
            out.raw(", \"model_version\": "); out.string(hexVersion(r.modelVersion))
            out.raw(", \"micros\": "); out.raw(String(r.micros))
        case .event(let time, let name, let fields):
            out.raw("{\"time\": "); out.string(iso8601(time))
            out.raw(", \"event\": "); out.string(name)
            for (key, value) in fields {
                out.raw(", "); out.string(key); out.raw(": ")
                switch value {
                case .text(let text): out.string(text)
                case .number(let n): out.raw(String(n))
                case .null: out.raw("null")
                }
            }
        }
        out.raw("}\n")
        return out.bytes
    }

    private static func optional(_ text: String?, _ out: inout JSONBytes) {
        if let text { out.string(text) } else { out.raw("null") }
    }

    /// `2026-12-06T19:40:01.123456Z`.
    static func iso8601(_ t: timespec) -> String {
        var seconds = t.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(t.tv_nsec / 1000, 6))Z"
    }
}
