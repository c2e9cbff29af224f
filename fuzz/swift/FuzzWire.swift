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
    _ = try? ReplyDecoder.decode(frames)
    return 0
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
                                          codeWidth: .perColumn(codeWidths(frames, columns: r.columns.count)))
    case .history(let r):
        expected = RequestEncoder.records(requestID: h.requestID, rows: r.rows, options: r.options, columns: r.columns,
                                          operation: .history, codeWidth: .perColumn(codeWidths(frames, columns: r.columns.count)))
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
