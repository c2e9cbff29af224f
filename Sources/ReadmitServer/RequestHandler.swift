import Foundation
import Logging
import ReadmitCore
import ReadmitParallel
import ReadmitWire

#if _endian(big)
#error("readmitd reads float64 frames in place and assumes a little-endian host")
#endif

/// Turns one request (the frames after the delimiter) into reply frames. Used by the worker
/// threads (and by the broker for the cheap HEALTH and OVERLOADED replies); owns no socket.
struct RequestHandler: Sendable {
    let store: ModelStore
    let stats: ServerStats
    let decoder: RequestDecoder
    let allowReloadPath: Bool
    let workers: Int
    let logger: Logger

    /// The outcome of one request, for the reply and the counters.
    struct Outcome {
        /// The reply's header (its first frame).
        var header: ReplyHeader
        /// The frames after the header.
        var frames: [OutgoingFrame]
        var op: UInt8
        var status: Status
        var rows: Int
        /// What a SCORE or RECORDS reply scored, in aggregate (STATS `served`), and a RECORDS
        /// reply's messages by kind.
        var served: ServedRows? = nil
        var servedMessages: ServedRows.MessageCounts? = nil
        /// A RECORDS request's encoded inputs, freed with the outcome after the reply is sent.
        var retired: RetiredInputs? = nil
    }

    /// Handles `body`; never throws: every failure becomes a typed error reply.
    func handle(_ body: ArraySlice<ZMQFrame>) -> Outcome {
        let model = store.current()
        let version = model?.servingVersion ?? 0
        let request: Request
        switch decoder.decode(ZMQFrame.bytes(of: body), expectedColumns: model?.featureCount) {
        case .success(let r): request = r
        case .failure(let e): return errorReply(op: e.op, requestID: e.requestID, version: version, e.error)
        }
        let op = request.header.op, id = request.header.requestID
        func ok(_ frames: [OutgoingFrame], rows: Int = 0, version: UInt64 = version) -> Outcome {
            Outcome(header: ReplyHeader(op: op, status: 0, requestID: id, modelVersion: version), frames: frames,
                    op: op, status: .ok, rows: rows)
        }
        func fail(_ error: WireError) -> Outcome { errorReply(op: op, requestID: id, version: version, error) }
        func text(_ s: String) -> [OutgoingFrame] { [.bytes(Array(s.utf8))] }

        do {
            // The body taken out of the request (consumed), so that a RECORDS request's columns
            // are its own and move on without copies (ReadmitModel.columns(_:)).
            let flags = request.header.flags
            switch (consume request).body {
            case .health:
                return ok(text(healthJSON(model)))
            case .stats(let prometheus):
                return ok(text(prometheus ? stats.prometheus(store: store, workers: workers)
                                          : stats.json(store: store, workers: workers)))
            case .info:
                guard let model else { return fail(Self.notReady) }
                return ok(text(store.info(for: model)))
            case .reload(let path):
                if path != nil && !allowReloadPath {
                    return fail(WireError(.forbidden, "RELOAD with a path needs readmitd --allow-reload-path; send RELOAD without a path to re-read the configured model"))
                }
                // A relative path would be read against the daemon's working directory, which
                // the client neither knows nor chose.
                if let path, !path.hasPrefix("/") {
                    return fail(WireError(.badArgument, "RELOAD path '\(path)' is relative: give an absolute path (the daemon would read it against its own working directory)"))
                }
                switch store.reload(path: path) {
                case .success(let loaded):
                    return ok(text("{\"model_version\": \(jsonString(hexVersion(loaded.servingVersion))), \"model_id\": \(jsonString(loaded.servingID))}"),
                              version: loaded.servingVersion)
                case .failure(let error):
                    return fail(WireError(.reloadFailed, error.message))
                }
            case .score(let rows, _):
                guard let model else { return fail(Self.notReady) }
                let interval = flags & WireFormat.flagInterval != 0
                if interval && !model.hasInterval { return fail(Self.noInterval(model)) }
                return try score(model, body[body.startIndex + Request.matrixFrameIndex], rows: rows, interval: interval, ok: ok)
            case .explain(let rows, _, let k):
                guard let model else { return fail(Self.notReady) }
                return try explain(model, body[body.startIndex + Request.matrixFrameIndex], rows: rows, k: min(k, model.featureCount), ok: ok)
            case .records(let records):
                guard let model else { return fail(Self.notReady) }
                if records.options & RecordsRequest.optionInterval != 0 && !model.hasInterval { return fail(Self.noInterval(model)) }
                let rows = records.rows, k = records.k, options = records.options
                let result: RecordsResult
                // The request is handed over, not copied (see ReadmitModel.columns(_:)).
                do { result = try model.scoreRecords(consume records, memo: nil) } catch {
                    return fail(WireError(.badArgument, error.description))
                }
                return recordsReply(result, rows: rows, k: k, options: options, model: model, ok: ok)
            case .deferredRecords(let records):
                guard let model else { return fail(Self.notReady) }
                if records.options & RecordsRequest.optionInterval != 0 && !model.hasInterval { return fail(Self.noInterval(model)) }
                switch scoreRecordsInChunks(model, records) {
                case .success(let result): return recordsReply(result, rows: records.rows, k: records.k, options: records.options, model: model, ok: ok)
                case .failure(.wire(let error)): return fail(error)
                case .failure(.data(let error)): return fail(WireError(.badArgument, error.description))
                }
            case .history(let records):
                guard let model else { return fail(Self.notReady) }
                // One call over the whole request: a row's history depends on its patient's
                // other rows, so the rows are not split into chunks as RECORDS's are.
                let result: HistoryResult
                do { result = try model.deriveHistory(records) } catch {
                    return fail(WireError(.badArgument, error.description))
                }
                let columns = result.fields.map { HistoryColumn(name: $0.name, values: $0.values) }
                let json = RecordsJSON.render(messages: result.messages)
                return ok(HistoryReply.encode(rows: records.rows, columns: columns, json: json).map { .bytes($0) },
                          rows: records.rows, version: model.servingVersion)
            }
        } catch let error as FeatureVectorError {
            return fail(Self.wireError(error))
        } catch {
            logger.error("request failed unexpectedly", metadata: ["op": "\(op)", "error": "\(error)"])
            return fail(WireError(.internal, "internal error: \(error)"))
        }
    }

    /// What ``answerPlainScore(_:into:pool:)`` answered: for the counters and the audit trail.
    struct PlainScoreAnswer {
        var rows: Int
        var version: UInt64
        var served: ServedRows
    }

    /// Answers a SCORE without flags (the daemon's most common request, usually of one row)
    /// without the general ``Request`` and ``Outcome`` types, whose arrays, enums and
    /// references a lone one-row request noticed: appends the reply's frames after the
    /// envelope in `reply` (header, counts, risk, atypicality, tier, the same bytes as
    /// ``handle(_:)``'s reply), made from `pool`'s kept frames.
    ///
    /// Nil, with `reply` left as it was, for every other request, and for one whose rows fail
    /// validation: ``handle(_:)`` answers those with the reply it always gives (a failing row is
    /// then validated again, which only costs the request that fails). Which requests this
    /// takes is ``RequestDecoder/plainScoreRows(header:counts:matrixBytes:expectedColumns:)``'s
    /// decision, tested to agree with the full decode.
    func answerPlainScore(_ body: ArraySlice<ZMQFrame>, into reply: inout [ZMQFrame], pool: inout FramePool?) -> PlainScoreAnswer? {
        guard body.count == 3, let model = store.current() else { return nil }
        let start = body.startIndex, matrix = body[start + Request.matrixFrameIndex]
        let header = body[start].bytes
        guard let rows = decoder.plainScoreRows(header: header, counts: body[start + 1].bytes, matrixBytes: matrix.count,
                                                expectedColumns: model.featureCount) else { return nil }
        do {
            let replyHeader = try pool?.take(size: WireFormat.replyHeaderSize) ?? ZMQFrame.make(size: WireFormat.replyHeaderSize)
            let counts = try pool?.take(size: 8) ?? ZMQFrame.make(size: 8)
            let risk = try pool?.take(size: rows * 8) ?? ZMQFrame.make(size: rows * 8)
            let atyp = try pool?.take(size: rows * 8) ?? ZMQFrame.make(size: rows * 8)
            let tier = try pool?.take(size: rows) ?? ZMQFrame.make(size: rows)
            let served = try scoreFrames(model, matrix, rows: rows, risk: risk, atypicality: atyp, tier: tier, interval: nil)
            let version = model.servingVersion
            ReplyHeader(op: Operation.score.rawValue, status: 0, requestID: UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                        modelVersion: version)
                .write(to: replyHeader.mutableBytes)
            counts.mutableBytes.storeBytes(of: UInt32(truncatingIfNeeded: rows).littleEndian, toByteOffset: 0, as: UInt32.self)
            counts.mutableBytes.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
            reply.append(replyHeader)
            reply.append(counts)
            reply.append(risk)
            reply.append(atyp)
            reply.append(tier)
            return PlainScoreAnswer(rows: rows, version: version, served: served)
        } catch {
            return nil  // a row that fails validation, or a message libzmq could not make: handle() says which
        }
    }

    /// The HEALTH JSON.
    func healthJSON(_ model: (any ServingModel)?) -> String {
        let reason = model.map { "serving model \($0.servingID)" } ?? "no model loaded"
        return "{\"live\": true, \"ready\": \(model != nil), \"model_version\": \(jsonString(hexVersion(model?.servingVersion ?? 0))), \"reason\": \(jsonString(reason))}"
    }

    /// The reply to a `RECORDS` request that `model` scored.
    private func recordsReply(_ result: RecordsResult, rows: Int, k: Int, options: UInt32, model: any ServingModel,
                              ok: ([OutgoingFrame], Int, UInt64) -> Outcome) -> Outcome {
        var frames: [OutgoingFrame] = [.counts(UInt32(truncatingIfNeeded: rows), UInt32(truncatingIfNeeded: k)), .bytes(RequestEncoder.matrixBytes(result.risk)), .bytes(RequestEncoder.matrixBytes(result.atypicality)),
                                       .bytes(result.tier), .bytes(RecordsJSON.render(result, k: k))]
        if options & RecordsRequest.optionInterval != 0 {
            frames += [.bytes(RequestEncoder.matrixBytes(result.intervalLow)), .bytes(RequestEncoder.matrixBytes(result.intervalHigh))]
        }
        var outcome = ok(frames, rows, model.servingVersion)
        var served = ServedRows()
        result.risk.withUnsafeBufferPointer { r in
            result.atypicality.withUnsafeBufferPointer { a in
                result.tier.withUnsafeBufferPointer { t in served.add(risk: r, atypicality: a, tier: t) }
            }
        }
        if !result.messages.isEmpty { outcome.servedMessages = ServedRows.count(result.messages) }
        outcome.served = served
        outcome.retired = result.retired
        return outcome
    }

    /// An error reply.
    func errorReply(op: UInt8, requestID: UInt64, version: UInt64, _ error: WireError) -> Outcome {
        let header = ReplyHeader(op: op, status: error.status.rawValue, requestID: requestID, modelVersion: version)
        return Outcome(header: header, frames: [.bytes(error.locationFrame()), .bytes(error.messageFrame())],
                       op: op, status: error.status, rows: 0)
    }

    static let notReady = WireError(.notReady, "no model is loaded (start readmitd with --model, or RELOAD one)")

    static func noInterval(_ model: any ServingModel) -> WireError {
        WireError(.badArgument, "model \(model.servingID) has no risk interval (it was trained before intervals existed); retrain it, or ask without the interval")
    }

    /// Maps the core's validation error to the wire's typed error, keeping row and feature.
    static func wireError(_ error: FeatureVectorError) -> WireError {
        let status: Status = switch error.code {
        case .shape: .badColumns
        case .notFinite: .badValue
        case .badCategory: .badCategory
        case .badArgument: .badArgument
        }
        return WireError(status, row: Int32(clamping: error.row ?? -1), feature: Int32(clamping: error.feature ?? -1), error.message)
    }

    private func score(_ model: any ServingModel, _ matrix: ZMQFrame, rows: Int, interval: Bool,
                       ok: ([OutgoingFrame], Int, UInt64) -> Outcome) throws -> Outcome {
        let risk = try ZMQFrame.make(size: rows * 8), atyp = try ZMQFrame.make(size: rows * 8), tier = try ZMQFrame.make(size: rows)
        let range = interval ? (low: try ZMQFrame.make(size: rows * 8), high: try ZMQFrame.make(size: rows * 8)) : nil
        let served = try scoreFrames(model, matrix, rows: rows, risk: risk, atypicality: atyp, tier: tier, interval: range)
        var frames: [OutgoingFrame] = [.counts(UInt32(truncatingIfNeeded: rows), 0), .message(risk), .message(atyp), .message(tier)]
        if let range { frames += [.message(range.low), .message(range.high)] }
        var outcome = ok(frames, rows, model.servingVersion)
        outcome.served = served
        return outcome
    }

    private func explain(_ model: any ServingModel, _ matrix: ZMQFrame, rows: Int, k: Int,
                         ok: ([OutgoingFrame], Int, UInt64) -> Outcome) throws -> Outcome {
        let index = try ZMQFrame.make(size: rows * k * 4), contribution = try ZMQFrame.make(size: rows * k * 8)
        if rows > 0 {
            try withDoubles(matrix) { x throws(FeatureVectorError) in
                try withOutput(index, Int32.self) { i throws(FeatureVectorError) in
                    try withOutput(contribution, Double.self) { c throws(FeatureVectorError) in
                        try model.explainRows(x, rows: rows, k: k, featureIndex: i, contribution: c)
                    }
                }
            }
        }
        return ok([.counts(UInt32(truncatingIfNeeded: rows), UInt32(truncatingIfNeeded: k)), .message(index), .message(contribution)], rows, model.servingVersion)
    }
}

/// Scores the `rows` rows of a SCORE's matrix frame into its reply's messages (and the
/// interval's, when given); returns what they served, for STATS.
private func scoreFrames(_ model: any ServingModel, _ matrix: ZMQFrame, rows: Int, risk: ZMQFrame, atypicality: ZMQFrame,
                         tier: ZMQFrame, interval: (low: ZMQFrame, high: ZMQFrame)?) throws(FeatureVectorError) -> ServedRows {
    var served = ServedRows()
    guard rows > 0 else { return served }
    try withDoubles(matrix) { x throws(FeatureVectorError) in
        try withOutput(risk, Double.self) { r throws(FeatureVectorError) in
            try withOutput(atypicality, Double.self) { a throws(FeatureVectorError) in
                try withOutput(tier, UInt8.self) { t throws(FeatureVectorError) in
                    if let interval {
                        try withOutput(interval.low, Double.self) { lo throws(FeatureVectorError) in
                            try withOutput(interval.high, Double.self) { hi throws(FeatureVectorError) in
                                try scoreInChunks(model, x, rows: rows, risk: r, atypicality: a, tier: t, interval: (lo, hi))
                            }
                        }
                    } else {
                        try scoreInChunks(model, x, rows: rows, risk: r, atypicality: a, tier: t, interval: nil)
                    }
                    served.add(risk: UnsafeBufferPointer(r), atypicality: UnsafeBufferPointer(a), tier: UnsafeBufferPointer(t))
                }
            }
        }
    }
    return served
}

/// Read once: on Linux, Foundation's `activeProcessorCount` reads cgroup files on every call,
/// which would cost a one-row request more than its scoring.
private let availableCores = ProcessInfo.processInfo.activeProcessorCount

/// Scores a large batch in chunks on all cores (``GuidedChunks``; rows are independent, so the
/// results are bit-identical to one call); small batches in one call on this thread. Each chunk
/// validates its own rows; if one fails, the whole matrix is validated again on this thread so
/// that the error names the first bad row of the full request (not of its chunk).
private func scoreInChunks(_ model: any ServingModel, _ x: UnsafeBufferPointer<Double>, rows: Int,
                           risk: UnsafeMutableBufferPointer<Double>, atypicality: UnsafeMutableBufferPointer<Double>,
                           tier: UnsafeMutableBufferPointer<UInt8>,
                           interval: (low: UnsafeMutableBufferPointer<Double>, high: UnsafeMutableBufferPointer<Double>)?) throws(FeatureVectorError) {
    guard rows >= GuidedChunks.parallelThreshold, availableCores > 1, let base = x.baseAddress else {
        return try model.scoreRows(x, rows: rows, risk: risk, atypicality: atypicality, tier: tier, interval: interval)
    }
    let columns = x.count / rows
    let failure = Locked<FeatureVectorError?>(nil)
    nonisolated(unsafe) let (r, a, t) = (risk, atypicality, tier)
    nonisolated(unsafe) let range = interval
    nonisolated(unsafe) let input = base
    GuidedChunks.forEach(rows: rows, threads: availableCores) { rows in
        let start = rows.lowerBound, count = rows.count
        do throws(FeatureVectorError) {
            try model.scoreRows(UnsafeBufferPointer(start: input + start * columns, count: count * columns), rows: count,
                                risk: UnsafeMutableBufferPointer(rebasing: r[rows]),
                                atypicality: UnsafeMutableBufferPointer(rebasing: a[rows]),
                                tier: UnsafeMutableBufferPointer(rebasing: t[rows]),
                                interval: range.map { (UnsafeMutableBufferPointer(rebasing: $0.low[rows]),
                                                       UnsafeMutableBufferPointer(rebasing: $0.high[rows])) })
        } catch {
            failure.withLock { $0 = $0 ?? error }
        }
    }
    if let error = failure.current {
        try model.validateRows(x, rows: rows)
        throw error
    }
}

/// The frame's float64 values in place when aligned (the common case), else a copy.
private func withDoubles<T>(_ frame: ZMQFrame, _ body: (UnsafeBufferPointer<Double>) throws(FeatureVectorError) -> T)
    throws(FeatureVectorError) -> T
{
    let raw = frame.bytes
    let n = raw.count / 8
    if let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Double>.alignment == 0 {
        return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Double.self), count: n))
    }
    // A frame that arrived unaligned (libzmq's decoder places small messages anywhere in its
    // buffer): copied, on the stack when small.
    return try withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { (copy) throws(FeatureVectorError) -> T in
        UnsafeMutableRawBufferPointer(copy).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(n * 8)]))
        return try body(UnsafeBufferPointer(copy))
    }
}

/// Lets the model write straight into the reply message when aligned, else through a copy.
private func withOutput<E, T>(_ frame: ZMQFrame, _ type: E.Type,
                              _ body: (UnsafeMutableBufferPointer<E>) throws(FeatureVectorError) -> T) throws(FeatureVectorError) -> T
{
    let raw = frame.mutableBytes
    let n = raw.count / MemoryLayout<E>.stride
    if let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<E>.alignment == 0 {
        return try body(UnsafeMutableBufferPointer(start: base.bindMemory(to: E.self, capacity: n), count: n))
    }
    let temp = UnsafeMutableBufferPointer<E>.allocate(capacity: n)
    defer { temp.deallocate() }
    let result = try body(temp)
    raw.copyMemory(from: UnsafeRawBufferPointer(temp))
    return result
}

/// Why a large `RECORDS` request was not scored: a malformed column (the request's first, as
/// decoding it whole names it) or the model's error.
private enum RecordsFailure: Error {
    case wire(WireError)
    case data(DataError)
}

/// The rows from which the decoder leaves a `RECORDS` request's values in its frames for
/// ``scoreRecordsInChunks`` to read a part per core; nil with one core (nothing to split).
let deferredRecordsRows: Int? = availableCores > 1 ? GuidedChunks.parallelThreshold : nil

/// Scores a large `RECORDS` request in row chunks on all cores, as ``scoreInChunks`` does for
/// SCORE: each chunk decodes its own rows from the request's frames and encodes and scores
/// them, each row on its own, so the results are bit-identical to one call over the whole
/// request. Messages about the whole request are the same in every chunk and kept once (the
/// first chunk's); row messages get their chunk's offset. A request-level error is the first
/// chunk's (by row) that has one; a malformed column fails the request with the error that
/// decoding it whole gives (its first bad row), whatever the chunk that met it.
private func scoreRecordsInChunks(_ model: any ServingModel, _ whole: DeferredRecords) -> Result<RecordsResult, RecordsFailure> {
    let rows = whole.rows
    let results = Locked<[Int: Result<RecordsResult, RecordsFailure>]>([:])
    // Every part carries the request's distinct texts: each is looked up once, not per part.
    let memo = LevelTableMemo()
    GuidedChunks.forEach(rows: rows, threads: availableCores) { range in
        let outcome: Result<RecordsResult, RecordsFailure>
        switch whole.request(rows: range) {
        case .success(let part):
            // A part's encoded inputs are freed here, on its thread, as each part ends: kept
            // until the merge, every part's would be in memory at once.
            outcome = Result { () throws(DataError) -> RecordsResult in
                var result = try model.scoreRecords(part, memo: memo)
                result.retired = nil
                return result
            }.mapError { .data($0) }
        case .failure(let error):
            outcome = .failure(.wire(error))
        }
        results.withLock { $0[range.lowerBound] = outcome }
    }
    let all = results.current
    for outcome in all.values {
        if case .failure(.wire(let error)) = outcome {
            guard case .failure(let first) = whole.request(rows: 0..<rows) else { return .failure(.wire(error)) }
            return .failure(.wire(first))
        }
    }
    var merged = RecordsResult(risk: [], atypicality: [], tier: [], messages: [], explanations: [])
    merged.risk.reserveCapacity(rows); merged.atypicality.reserveCapacity(rows); merged.tier.reserveCapacity(rows)
    for offset in all.keys.sorted() {
        guard let outcome = all[offset] else { preconditionFailure("a chunk's own key") }
        let part: RecordsResult
        switch outcome {
        case .success(let result): part = result
        case .failure(let error): return .failure(error)
        }
        merged.risk += part.risk
        merged.atypicality += part.atypicality
        merged.tier += part.tier
        merged.explanations += part.explanations
        merged.intervalLow += part.intervalLow
        merged.intervalHigh += part.intervalHigh
        for var m in part.messages {
            if m.row < 0 {
                if offset == 0 { merged.messages.append(m) }
            } else {
                m.row += offset
                merged.messages.append(m)
            }
        }
    }
    precondition(merged.risk.count == rows, "the chunks cover every row once")
    return .success(merged)
}
