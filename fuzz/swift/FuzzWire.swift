/// libFuzzer target: the wire codec of readmitd (Sources/ReadmitWire), compiled with its
/// sources (see fuzz/README.md). The input is a list of frames (``FuzzFrames``); they go to
/// ``RequestDecoder`` (with and without a model's column count) and to ``ReplyDecoder``.
///
/// Oracles besides "never traps": a request that decodes re-encodes, with the project's
/// ``RequestEncoder``, to exactly the frames sent (so the decoder reads every byte the way
/// the encoder wrote it), and a decode failure always echoes the header's op and id when
/// the header could be read. Deterministic; writes no file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let frames = FuzzFrames.split(UnsafeRawBufferPointer(start: data, count: size))
    let decoder = RequestDecoder(maxRows: 1000)
    switch decoder.decode(frames) {
    case .success(let request): checkRoundTrip(request, frames)
    case .failure(let error):
        if let first = frames.first, let header = first.withUnsafeBytes({ RequestHeader.peek($0) }) {
            guard error.op == header.op, error.requestID == header.requestID else {
                fatalError("decode error echoes op \(error.op) id \(error.requestID), header has \(header.op) \(header.requestID)")
            }
        }
    }
    _ = decoder.decode(frames, expectedColumns: 3)
    checkDeferred(frames, whole: decoder.decode(frames))
    _ = try? ReplyDecoder.decode(frames)
    return 0
}

/// A RECORDS request decoded with its rows left in the frames (readmitd's path for a large
/// one, here from 1 row) reads as the whole request: its halves and its whole range give the
/// rows the whole decoding gives; a request the whole decoding refuses is refused with the
/// same error when decoded, or when its whole range is read.
private func checkDeferred(_ frames: [[UInt8]], whole: Result<Request, RequestDecodeError>) {
    var deferring = RequestDecoder(maxRows: 1000)
    deferring.deferredRecordsRows = 1
    withFrameBytes(of: frames) { bytes in
        let result = deferring.decode(bytes)
        switch (whole, result) {
        case (.success(let w), .success(let d)):
            guard case .deferredRecords(let records) = d.body else {
                if case .records(let r) = w.body, r.rows >= 1 { fatalError("RECORDS of \(r.rows) rows was not deferred") }
                return
            }
            guard case .records(let expected) = w.body else { fatalError("a deferred request that is not RECORDS") }
            let half = records.rows / 2
            for range in [0..<records.rows, 0..<half, half..<records.rows] {
                guard case .success(let part) = records.request(rows: range) else { fatalError("rows \(range) of a sound request refused") }
                let want = RequestEncoder.records(requestID: 0, rows: range.count, k: expected.k, options: expected.options,
                                                  columns: expected.columns.map { name, column in
                                                      switch column {
                                                      case .numbers(let v): return (name, .numbers(Array(v[range])))
                                                      case .texts(let values, let codes): return (name, .texts(values: values, codes: Array(codes[range])))
                                                      }
                                                  }, codeWidth: .wide)
                guard RequestEncoder.records(requestID: 0, rows: part.rows, k: part.k, options: part.options, columns: part.columns,
                                             codeWidth: .wide) == want else { fatalError("rows \(range) read differently") }
            }
        case (.failure(let w), .failure(let d)):
            guard w == d else { fatalError("deferred decoding refused with another error: \(d.error) vs \(w.error)") }
        case (.failure(let w), .success(let d)):
            guard case .deferredRecords(let records) = d.body, case .failure(let e) = records.request(rows: 0..<records.rows),
                  e == w.error else { fatalError("deferred decoding accepted what the whole decoding refuses: \(w.error)") }
        case (.success, .failure(let d)):
            fatalError("deferred decoding refused a sound request: \(d.error)")
        }
    }
}

private func checkRoundTrip(_ request: Request, _ frames: [[UInt8]]) {
    let h = request.header
    var expected: [[UInt8]]
    switch request.body {
    case .score(let rows, let columns):
        // Flag bit 1 (interval) is SCORE's only flag; the decoder refuses any other.
        guard h.flags & ~WireFormat.flagInterval == 0 else { fatalError("SCORE flags 0x\(String(h.flags, radix: 16)) not checked") }
        expected = RequestEncoder.score(requestID: h.requestID, rows: rows, columns: columns, matrix: [],
                                        interval: h.flags & WireFormat.flagInterval != 0)
        expected[2] = frames[2]
        guard frames[2].count == rows * columns * 8 else { fatalError("SCORE matrix size not checked") }
    case .explain(let rows, let columns, let k):
        expected = RequestEncoder.explain(requestID: h.requestID, rows: rows, columns: columns, k: k, matrix: [])
        expected[2] = frames[2]
        guard frames[2].count == rows * columns * 8 else { fatalError("EXPLAIN matrix size not checked") }
    case .info, .health, .stats:
        expected = RequestEncoder.simple(request.operation, requestID: h.requestID, flags: h.flags)
    case .reload(let path):
        expected = path.map { RequestEncoder.reload(requestID: h.requestID, path: $0) }
            ?? RequestEncoder.simple(.reload, requestID: h.requestID)
    case .records(let r):
        expected = RequestEncoder.records(requestID: h.requestID, rows: r.rows, k: r.k, options: r.options, columns: r.columns,
                                          codeWidth: .perColumn(codeWidths(frames, columns: r.columns.count)),
                                          numberWidth: .perColumn(numberWidths(frames, columns: r.columns.count)))
    case .deferredRecords:
        fatalError("the whole decoder deferred a request")
    case .history(let r):
        expected = RequestEncoder.records(requestID: h.requestID, rows: r.rows, options: r.options, columns: r.columns,
                                          operation: .history, codeWidth: .perColumn(codeWidths(frames, columns: r.columns.count)),
                                          numberWidth: .perColumn(numberWidths(frames, columns: r.columns.count)))
    }
    guard expected == frames else {
        fatalError("decoded \(request.operation) does not re-encode to the frames sent")
    }
}

/// Each column's code width in bytes as the request sent it (value type 3: 1, 4: 2, else 4):
/// a column of few texts may come with wider codes than the encoder would pick.
private func codeWidths(_ frames: [[UInt8]], columns: Int) -> [Int] {
    (0..<columns).map { c in
        let frame = frames[3 + 2 * c]
        return frame.first == 3 ? 1 : (frame.first == 4 ? 2 : 4)
    }
}

/// Each number column's width in bytes as the request sent it (value type 5: 1, 6: 2, 7: 4,
/// else 8, float64): the decoder reads integers of any width the values fit.
private func numberWidths(_ frames: [[UInt8]], columns: Int) -> [Int] {
    (0..<columns).map { c in
        switch frames[3 + 2 * c].first {
        case 5: 1
        case 6: 2
        case 7: 4
        default: 8
        }
    }
}
