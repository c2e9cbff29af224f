import Foundation
import ReadmitParallel
import ReadmitWire

/// Request counters and latency histograms shared by the broker and the workers.
public final class ServerStats: @unchecked Sendable {
    /// Recorded on every request, so indexed by number rather than keyed by name: slot 0 is an
    /// unreadable op (`UNKNOWN`), slot `op` an operation; statuses by their code.
    private struct State {
        var counts = [UInt64](repeating: 0, count: State.opSlots * State.statusSlots)
        var latencies = [LatencyHistogram](repeating: LatencyHistogram(), count: State.opSlots)
        var rowsScored: UInt64 = 0
        /// What each model served, by model version, oldest first: the models served last
        /// (``ServedTotals/modelsKept``), so that a reload starts the new model's counts apart.
        var served: [(version: UInt64, totals: ServedTotals)] = []
        var authFailures: UInt64 = 0
        var revokedKeyRequests: UInt64 = 0
        var repliesDropped: UInt64 = 0
        var heldRequestBytes = 0
        /// Requests at a worker (the broker's count, including those answered and not yet
        /// handed back: see `answeredAtWorker`).
        var requestsAtWorker = 0
        /// Requests a worker has answered (and counted) that the broker has not yet taken back.
        /// Reported running requests leave them out, so one request is never both running and
        /// answered in one snapshot.
        var answeredAtWorker = 0
        var queuedRequests = 0
        /// Requests read from clients (the broker's count): with the replies counted, what is
        /// in the daemon's hands.
        var requestsReceived: UInt64 = 0
        var authorizedKeys = 0
        var keyFilesSkipped = 0
        var maxQueuedBytes = 0

        /// A copy that shares no array storage with `self`, made under the lock. A plain copy
        /// shares the arrays' buffers: the STATS thread would read them after the lock while
        /// a worker, seeing the buffer unique again once the reader lets go, writes into it
        /// in place (ThreadSanitizer reports it; the Swift runtime's reference counts, which
        /// order the two, are not instrumented).
        func detached() -> State {
            var copy = self
            copy.counts = counts.map { $0 }
            copy.latencies = latencies.map { $0.detached() }
            copy.served = served.map { ($0.version, $0.totals.detached()) }
            return copy
        }

        mutating func addServed(_ rows: ServedRows, messages: ServedRows.MessageCounts?, version: UInt64) {
            // The model serving now is nearly always the last one.
            if let last = served.indices.last, served[last].version == version {
                served[last].totals.add(rows, messages: messages)
                return
            }
            if let i = served.firstIndex(where: { $0.version == version }) {
                served[i].totals.add(rows, messages: messages)
                return
            }
            var totals = ServedTotals()
            totals.add(rows, messages: messages)
            served.append((version, totals))
            if served.count > ServedTotals.modelsKept { served.removeFirst() }
        }

        /// Requests a worker is handling now.
        var runningRequests: Int { max(0, requestsAtWorker - answeredAtWorker) }

        mutating func count(op: UInt8, status: Status, rows: Int, nanos: UInt64, served: ServedRows?, messages: ServedRows.MessageCounts?,
                            version: UInt64) {
            let slot = State.opSlot(op)
            counts[slot * State.statusSlots + Int(status.rawValue)] += 1
            latencies[slot].record(nanos: nanos)
            if status == .ok { rowsScored += UInt64(rows) }
            if status == .ok, let served { addServed(served, messages: messages, version: version) }
        }

        static let opSlots = (Operation.allCases.map { Int($0.rawValue) }.max() ?? 0) + 1
        static let statusSlots = (Status.allCases.map { Int($0.rawValue) }.max() ?? 0) + 1

        static func opSlot(_ op: UInt8) -> Int { Operation(rawValue: op) == nil ? 0 : Int(op) }
        static func opName(_ slot: Int) -> String { Operation(rawValue: UInt8(slot)).map(\.name) ?? "UNKNOWN" }

        /// Replies by op name and status name (the non-zero ones), as STATS reports them.
        var byOpStatus: [String: [String: UInt64]] {
            var out: [String: [String: UInt64]] = [:]
            for slot in 0..<State.opSlots {
                for status in Status.allCases {
                    let n = counts[slot * State.statusSlots + Int(status.rawValue)]
                    if n > 0 { out[State.opName(slot), default: [:]][status.name] = n }
                }
            }
            return out
        }

        /// Latency histograms by op name (the ones with samples).
        var latency: [String: LatencyHistogram] {
            var out: [String: LatencyHistogram] = [:]
            for slot in 0..<State.opSlots where latencies[slot].count > 0 { out[State.opName(slot)] = latencies[slot] }
            return out
        }
    }

    private let state = Locked(State())
    /// When the daemon started.
    public let startedAt = Date()

    /// Creates empty statistics.
    public init() {}

    /// Records one reply the broker is about to send itself, with its count of requests
    /// received (this one included), in one step.
    func recordAtBroker(op: UInt8, status: Status, rows: Int, nanos: UInt64, received: UInt64,
                        served: ServedRows? = nil, messages: ServedRows.MessageCounts? = nil, version: UInt64 = 0) {
        state.withLock { s in
            s.count(op: op, status: status, rows: rows, nanos: nanos, served: served, messages: messages, version: version)
            s.requestsReceived = received
        }
    }

    /// Records one reply a worker is about to send: it stops counting as running in the same
    /// step as it starts counting as answered, until the broker takes it back
    /// (``setLoad(atWorker:queued:received:takingBack:)``).
    func recordAtWorker(op: UInt8, status: Status, rows: Int, nanos: UInt64, served: ServedRows? = nil, messages: ServedRows.MessageCounts? = nil,
                        version: UInt64 = 0) {
        state.withLock { s in
            s.count(op: op, status: status, rows: rows, nanos: nanos, served: served, messages: messages, version: version)
            s.answeredAtWorker += 1
        }
    }

    /// Records a client refused by the CURVE authenticator.
    public func recordAuthFailure() { state.withLock { $0.authFailures += 1 } }

    /// The access audit trail whose counts STATS reports (nil: none).
    private let auditLog = Locked<AuditLog?>(nil)

    /// Makes STATS report `log`'s counts.
    func setAudit(_ log: AuditLog) { auditLog.withLock { $0 = log } }

    /// Records a request refused because its connection's key is no longer authorized.
    public func recordRevokedKeyRequest() { state.withLock { $0.revokedKeyRequests += 1 } }

    /// Records a reply dropped because its client's queue was full or the client had gone.
    public func recordReplyDropped() { state.withLock { $0.repliesDropped += 1 } }

    /// Sets the bytes of requests admitted and not yet answered (the broker's count).
    func setHeldRequestBytes(_ bytes: Int) { state.withLock { $0.heldRequestBytes = bytes } }

    /// Sets the count of requests read from clients (the broker's count).
    func setReceived(_ received: UInt64) { state.withLock { $0.requestsReceived = received } }

    /// Sets the requests at workers and waiting for one (the broker's counts), in one step so
    /// that a STATS snapshot never sees a request in both places or in neither;
    /// `takingBack` when the broker has just taken back a request a worker answered.
    func setLoad(atWorker: Int, queued: Int, received: UInt64, takingBack: Bool = false) {
        state.withLock { s in
            s.requestsReceived = received
            s.requestsAtWorker = atWorker
            s.queuedRequests = queued
            if takingBack { s.answeredAtWorker = max(0, s.answeredAtWorker - 1) }
        }
    }

    /// Sets the size of the authorized key set and how many key files were skipped.
    func setKeys(authorized: Int, skipped: Int) { state.withLock { $0.authorizedKeys = authorized; $0.keyFilesSkipped = skipped } }

    /// Sets the admission budget (`--max-queued-bytes`), reported in STATS.
    func setMaxQueuedBytes(_ bytes: Int) { state.withLock { $0.maxQueuedBytes = bytes } }

    /// Requests admitted and not yet answered plus large replies not yet sent: what
    /// `--max-queued-bytes` bounds.
    public var queuedBytes: Int { state.withLock { $0.heldRequestBytes } + OutgoingMemory.current }

    /// Replies dropped so far.
    public var repliesDropped: UInt64 { state.withLock { $0.repliesDropped } }

    /// Replies sent so far.
    public var totalRequests: UInt64 {
        state.withLock { s in s.counts.reduce(0, +) }
    }

    /// Number of refused clients.
    public var authFailures: UInt64 { state.withLock { $0.authFailures } }

    /// The STATS JSON.
    public func json(store: ModelStore, workers: Int) -> String {
        let s = state.withLock { $0.detached() }
        let byOpStatus = s.byOpStatus, latency = s.latency
        let model = store.current()
        var out = "{"
        out += "\"uptime_seconds\": \(String(format: "%.3f", Date().timeIntervalSince(startedAt)))"
        out += ", \"model_version\": \(jsonString(hexVersion(model?.servingVersion ?? 0)))"
        out += ", \"model_id\": \(model.map { jsonString($0.servingID) } ?? "null")"
        out += ", \"workers\": \(workers), \"running\": \(s.runningRequests), \"queued\": \(s.queuedRequests)"
        var total: UInt64 = 0, errors: UInt64 = 0
        var errorsByStatus: [String: UInt64] = [:]
        for (_, statuses) in byOpStatus {
            for (status, n) in statuses {
                total += n
                if status != Status.ok.name { errors += n; errorsByStatus[status, default: 0] += n }
            }
        }
        out += ", \"requests_received\": \(s.requestsReceived), \"requests_total\": \(total), \"errors_total\": \(errors)"
        out += ", \"rows_scored\": \(s.rowsScored), \"auth_failures\": \(s.authFailures)"
        out += ", \"revoked_key_requests\": \(s.revokedKeyRequests), \"authorized_keys\": \(s.authorizedKeys), \"key_files_skipped\": \(s.keyFilesSkipped)"
        out += ", \"queued_bytes\": \(s.heldRequestBytes + OutgoingMemory.current), \"max_queued_bytes\": \(s.maxQueuedBytes)"
        out += ", \"replies_dropped\": \(s.repliesDropped)"
        if let audit = auditLog.current {
            let c = audit.counts
            out += ", \"audit\": {\"path\": \(jsonString(audit.path)), \"entries_written\": \(c.written), \"entries_dropped\": \(c.dropped), \"write_failures\": \(c.writeFailures)}"
        } else {
            out += ", \"audit\": null"
        }
        out += ", \"requests\": {" + byOpStatus.keys.sorted().map { op in
            jsonString(op) + ": {" + (byOpStatus[op] ?? [:]).keys.sorted().map { st in
                "\(jsonString(st)): \(byOpStatus[op]?[st] ?? 0)"
            }.joined(separator: ", ") + "}"
        }.joined(separator: ", ") + "}"
        out += ", \"errors\": {" + errorsByStatus.keys.sorted().map { "\(jsonString($0)): \(errorsByStatus[$0] ?? 0)" }.joined(separator: ", ") + "}"
        var all = LatencyHistogram()
        for h in latency.values { all.merge(h) }
        func latencyJSON(_ h: LatencyHistogram) -> String {
            func us(_ nanos: Double) -> String { String(format: "%.1f", nanos / 1000) }
            return "{\"count\": \(h.count), \"p50_us\": \(us(h.quantile(0.5))), \"p90_us\": \(us(h.quantile(0.9))), \"p99_us\": \(us(h.quantile(0.99))), \"max_us\": \(us(Double(h.maxNanos)))}"
        }
        out += ", \"latency\": {\"ALL\": \(latencyJSON(all))" + latency.keys.sorted().map { ", \(jsonString($0)): \(latencyJSON(latency[$0] ?? LatencyHistogram()))" }.joined() + "}"
        // `served`: the model serving now (nothing served yet: zeros); `served_by_model`: each
        // model kept, oldest first.
        let names = model?.tierNames ?? []
        let current = model.map { m in s.served.first { $0.version == m.servingVersion }?.totals ?? ServedTotals() } ?? ServedTotals()
        out += ", \"served\": " + Self.servedJSON(current, modelVersion: model?.servingVersion, tierNames: names)
        out += ", \"served_by_model\": [" + s.served.map { Self.servedJSON($0.totals, modelVersion: $0.version, tierNames: names) }.joined(separator: ", ") + "]"
        let counts = store.reloadCounts
        out += ", \"reloads\": {\"ok\": \(counts.ok), \"failed\": \(counts.failed)}"
        if let last = store.lastOutcome {
            out += ", \"last_reload\": {\"ok\": \(last.succeeded), \"at\": \(jsonString(ISO8601DateFormatter().string(from: last.at)))"
            out += ", \"path\": \(jsonString(last.path)), \"model_version\": \(jsonString(hexVersion(last.modelVersion)))"
            out += ", \"error\": \(last.error.map(jsonString) ?? "null")}"
        } else {
            out += ", \"last_reload\": null"
        }
        return out + "}"
    }

    /// The STATS Prometheus text exposition.
    public func prometheus(store: ModelStore, workers: Int) -> String {
        let s = state.withLock { $0.detached() }
        let byOpStatus = s.byOpStatus, latency = s.latency
        var lines: [String] = []
        lines.append("# HELP readmitd_requests_total Replies sent, by operation and status.")
        lines.append("# TYPE readmitd_requests_total counter")
        for op in byOpStatus.keys.sorted() {
            for st in (byOpStatus[op] ?? [:]).keys.sorted() {
                lines.append("readmitd_requests_total{op=\"\(op)\",status=\"\(st)\"} \(byOpStatus[op]?[st] ?? 0)")
            }
        }
        lines.append("# HELP readmitd_request_duration_seconds Service time of a request, from receipt to reply.")
        lines.append("# TYPE readmitd_request_duration_seconds summary")
        for op in latency.keys.sorted() {
            guard let h = latency[op] else { continue }
            for q in [0.5, 0.9, 0.99] {
                lines.append("readmitd_request_duration_seconds{op=\"\(op)\",quantile=\"\(q)\"} \(h.quantile(q) / 1e9)")
            }
            lines.append("readmitd_request_duration_seconds_sum{op=\"\(op)\"} \(Double(h.sumNanos) / 1e9)")
            lines.append("readmitd_request_duration_seconds_count{op=\"\(op)\"} \(h.count)")
        }
        lines.append("# HELP readmitd_request_latency_seconds Service time of a request, from receipt to reply (bounds are powers of two nanoseconds; these add up across daemons, the quantiles above do not).")
        lines.append("# TYPE readmitd_request_latency_seconds histogram")
        for op in latency.keys.sorted() {
            guard let h = latency[op] else { continue }
            for exponent in Self.latencyBucketExponents {
                let le = Double(UInt64(1) << UInt64(exponent)) / 1e9
                lines.append("readmitd_request_latency_seconds_bucket{op=\"\(op)\",le=\"\(le)\"} \(h.count(belowPowerOfTwo: exponent))")
            }
            lines.append("readmitd_request_latency_seconds_bucket{op=\"\(op)\",le=\"+Inf\"} \(h.count)")
            lines.append("readmitd_request_latency_seconds_sum{op=\"\(op)\"} \(Double(h.sumNanos) / 1e9)")
            lines.append("readmitd_request_latency_seconds_count{op=\"\(op)\"} \(h.count)")
        }
        let model = store.current()
        let counts = store.reloadCounts
        lines += [
            "# HELP readmitd_requests_received_total Requests read from clients; those not yet in readmitd_requests_total are being handled or queued.",
            "# TYPE readmitd_requests_received_total counter", "readmitd_requests_received_total \(s.requestsReceived)",
            "# HELP readmitd_rows_scored_total Rows scored successfully.", "# TYPE readmitd_rows_scored_total counter",
            "readmitd_rows_scored_total \(s.rowsScored)",
            "# HELP readmitd_auth_failures_total Clients refused by the CURVE authenticator.", "# TYPE readmitd_auth_failures_total counter",
            "readmitd_auth_failures_total \(s.authFailures)",
            "# HELP readmitd_revoked_key_requests_total Requests refused (FORBIDDEN) because their key was revoked.", "# TYPE readmitd_revoked_key_requests_total counter",
            "readmitd_revoked_key_requests_total \(s.revokedKeyRequests)",
            "# HELP readmitd_authorized_keys Client keys authorized now.", "# TYPE readmitd_authorized_keys gauge",
            "readmitd_authorized_keys \(s.authorizedKeys)",
            "# HELP readmitd_key_files_skipped Key files skipped at the last key load (unreadable or malformed).", "# TYPE readmitd_key_files_skipped gauge",
            "readmitd_key_files_skipped \(s.keyFilesSkipped)",
            "# HELP readmitd_queued_bytes Bytes of requests admitted and not answered plus large replies not yet sent.", "# TYPE readmitd_queued_bytes gauge",
            "readmitd_queued_bytes \(s.heldRequestBytes + OutgoingMemory.current)",
            "# HELP readmitd_max_queued_bytes The admission budget (--max-queued-bytes).", "# TYPE readmitd_max_queued_bytes gauge",
            "readmitd_max_queued_bytes \(s.maxQueuedBytes)",
            "# HELP readmitd_replies_dropped_total Replies dropped: the client's reply queue was full or the client had gone.", "# TYPE readmitd_replies_dropped_total counter",
            "readmitd_replies_dropped_total \(s.repliesDropped)",
            "# HELP readmitd_reloads_total Model loads, by result.", "# TYPE readmitd_reloads_total counter",
            "readmitd_reloads_total{result=\"ok\"} \(counts.ok)", "readmitd_reloads_total{result=\"failed\"} \(counts.failed)",
            "# HELP readmitd_last_reload_success Whether the last model load succeeded.", "# TYPE readmitd_last_reload_success gauge",
            "readmitd_last_reload_success \((store.lastOutcome?.succeeded ?? false) ? 1 : 0)",
            "# HELP readmitd_model_info The model serving now (absent: none).", "# TYPE readmitd_model_info gauge",
        ]
        if let model { lines.append("readmitd_model_info{model_id=\"\(model.servingID)\"} 1") }
        lines += Self.servedPrometheus(s.served, tierNames: model?.tierNames ?? [])
        lines += ["# HELP readmitd_model_loaded_timestamp_seconds When the model serving now was swapped in (Unix time; absent: none).",
                  "# TYPE readmitd_model_loaded_timestamp_seconds gauge"]
        if model != nil, let at = store.loadedAt {
            lines.append("readmitd_model_loaded_timestamp_seconds \(at.timeIntervalSince1970)")
        }
        lines += [
            "# HELP readmitd_ready Whether a model is loaded.", "# TYPE readmitd_ready gauge", "readmitd_ready \(model == nil ? 0 : 1)",
            "# HELP readmitd_workers Worker threads.", "# TYPE readmitd_workers gauge", "readmitd_workers \(workers)",
            "# HELP readmitd_running_requests Requests a worker is handling now.", "# TYPE readmitd_running_requests gauge",
            "readmitd_running_requests \(s.runningRequests)",
            "# HELP readmitd_queued_requests Requests waiting for a worker.", "# TYPE readmitd_queued_requests gauge", "readmitd_queued_requests \(s.queuedRequests)",
            "# HELP readmitd_uptime_seconds Seconds since start.", "# TYPE readmitd_uptime_seconds gauge",
            "readmitd_uptime_seconds \(Date().timeIntervalSince(startedAt))",
        ]
        if let audit = auditLog.current {
            let c = audit.counts
            lines += [
                "# HELP readmitd_audit_entries_written_total Lines written to the audit log (--audit-log).", "# TYPE readmitd_audit_entries_written_total counter",
                "readmitd_audit_entries_written_total \(c.written)",
                "# HELP readmitd_audit_entries_dropped_total Audit entries dropped: the log could not be written and its buffer was full.",
                "# TYPE readmitd_audit_entries_dropped_total counter", "readmitd_audit_entries_dropped_total \(c.dropped)",
                "# HELP readmitd_audit_write_failures_total Failed writes of the audit log (retried).", "# TYPE readmitd_audit_write_failures_total counter",
                "readmitd_audit_write_failures_total \(c.writeFailures)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ServerStats {
    /// A tier's name by index, from the model serving now (`tier_N` past its list; the last
    /// slot counts every tier past the seventh).
    static func tierName(_ i: Int, _ names: [String]) -> String { i < names.count ? names[i] : (i == 7 ? "tier_7_and_above" : "tier_\(i)") }

    /// STATS `served`: what was scored since the start, in aggregate.
    static func servedJSON(_ t: ServedTotals, modelVersion: UInt64?, tierNames: [String]) -> String {
        let tiers = (0..<8).filter { t.tiers[$0] > 0 || $0 < tierNames.count }
            .map { "\(jsonString(tierName($0, tierNames))): \(t.tiers[$0])" }.joined(separator: ", ")
        let messages = t.sortedMessages.map {
            "{\"severity\": \(jsonString($0.kind.severity)), \"field\": \(jsonString($0.kind.field)), \"code\": \(jsonString($0.kind.code)), \"count\": \($0.count)}"
        }.joined(separator: ", ")
        return "{\"model_id\": \(modelVersion.map { jsonString(hexVersion($0)) } ?? "null"), \"rows\": \(t.scored), \"error_rows\": \(t.errorRows), \"tiers\": {\(tiers)}"
            + ", \"risk_tenths\": [\((0..<10).map { String(t.riskTenths[$0]) }.joined(separator: ", "))]"
            + ", \"risk_mean\": \(t.scored > 0 ? String(t.riskSum / Double(t.scored)) : "null")"
            + ", \"atypicality_tenths\": [\((0..<10).map { String(t.atypicalityTenths[$0]) }.joined(separator: ", "))]"
            + ", \"atypicality_mean\": \(t.scored > 0 ? String(t.atypicalitySum / Double(t.scored)) : "null")"
            + ", \"messages\": [\(messages)]}"
    }

    /// A Prometheus label value: backslash, double quote and line feed escaped.
    static func labelValue(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// `/metrics`'s `readmitd_served_*`: the same counts as STATS `served_by_model`, one series
    /// per model (label `model_id`), each family declared once.
    static func servedPrometheus(_ all: [(version: UInt64, totals: ServedTotals)], tierNames: [String]) -> [String] {
        let models = all.map { (id: hexVersion($0.version), t: $0.totals) }
        var lines = ["# HELP readmitd_served_rows_total Rows scored, by model and the tier they were given (the cut points are the 70th and 90th percentiles of held-out training patients' risk: on patients like them, about 70% low, 20% medium, 10% high).",
                     "# TYPE readmitd_served_rows_total counter"]
        for (id, t) in models {
            for i in 0..<8 where t.tiers[i] > 0 || i < tierNames.count {
                lines.append("readmitd_served_rows_total{model_id=\"\(id)\",tier=\"\(labelValue(tierName(i, tierNames)))\"} \(t.tiers[i])")
            }
        }
        func histogram(_ name: String, _ help: String, _ tenths: (ServedTotals) -> SIMD16<UInt64>, sum: (ServedTotals) -> Double) {
            lines += ["# HELP \(name) \(help)", "# TYPE \(name) histogram"]
            for (id, t) in models {
                var cumulative: UInt64 = 0
                let counts = tenths(t)
                for k in 0..<9 {
                    cumulative &+= counts[k]
                    lines.append("\(name)_bucket{model_id=\"\(id)\",le=\"0.\(k + 1)\"} \(cumulative)")
                }
                lines.append("\(name)_bucket{model_id=\"\(id)\",le=\"+Inf\"} \(t.scored)")
                lines.append("\(name)_sum{model_id=\"\(id)\"} \(sum(t))")
                lines.append("\(name)_count{model_id=\"\(id)\"} \(t.scored)")
            }
        }
        // The upper bounds are inclusive in Prometheus and exclusive here ([0.1, 0.2) is one
        // tenth): a risk of exactly 0.1 counts under le="0.2". Said in docs/OPERATIONS.md.
        histogram("readmitd_served_risk", "Served risks by model, by tenth ([0, 0.1), [0.1, 0.2), ...); the mean is _sum / _count.", { $0.riskTenths }, sum: { $0.riskSum })
        histogram("readmitd_served_atypicality", "Served atypicality by model (a percentile of the training cohort: each tenth holds about a tenth of rows like it), by tenth.",
                  { $0.atypicalityTenths }, sum: { $0.atypicalitySum })
        lines += ["# HELP readmitd_served_error_rows_total Rows of RECORDS requests not scored (an error of their own), by model.",
                  "# TYPE readmitd_served_error_rows_total counter"]
        for (id, t) in models { lines.append("readmitd_served_error_rows_total{model_id=\"\(id)\"} \(t.errorRows)") }
        lines += ["# HELP readmitd_record_messages_total RECORDS errors and warnings, by model, severity, raw field and code.",
                  "# TYPE readmitd_record_messages_total counter"]
        for (id, t) in models {
            for m in t.sortedMessages {
                lines.append("readmitd_record_messages_total{model_id=\"\(id)\",severity=\"\(m.kind.severity)\",field=\"\(labelValue(m.kind.field))\",code=\"\(labelValue(m.kind.code))\"} \(m.count)")
            }
        }
        return lines
    }

    /// The histogram's bucket bounds, 2^10 ns (about 1 µs) to 2^34 ns (about 17 s), one per
    /// factor of four: 13 buckets and +Inf per op.
    static let latencyBucketExponents = Array(stride(from: 10, through: 34, by: 2))
}

/// A JSON string literal for `s`.
func jsonString(_ s: String) -> String {
    // Most texts (field names, messages) need no escape: copied whole, not scalar by scalar
    // (the per-scalar append was most of a one-row RECORDS reply's JSON cost).
    if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
        return "\"" + s + "\""
    }
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
