@testable import ReadmitServer
import ReadmitParallel
import XCTest

/// The hand-written JSON of RECORDS replies gives the bytes the String-based writer gave, and
/// large batches are split into chunks that cover every row once.
final class JSONBytesTests: XCTestCase {
    func testStringsAndIntegersAreWrittenAsBefore() {
        let texts = ["", "plain", "quote \" and backslash \\", "new\nline\r\ttab", "\u{01}\u{1f}\u{7f}", "Zürich 東京 🏥",
                     "'None' is not a level of race learned in training: read as missing; did you mean 'Caucasian'?"]
        for text in texts {
            var out = JSONBytes()
            out.string(text)
            XCTAssertEqual(String(decoding: out.bytes, as: UTF8.self), jsonString(text), text)
        }
        for value in [0, 7, -1, 99_999, Int.max, Int.min] {
            var out = JSONBytes()
            out.int(value)
            XCTAssertEqual(String(decoding: out.bytes, as: UTF8.self), "\(value)")
        }
    }

    func testGuidedChunksCoverEveryRowOnceInOrder() {
        for (rows, threads) in [(0, 2), (1, 2), (16_384, 2), (100_000, 2), (100_003, 3), (50_000, 1), (5_000, 8)] {
            let seen = Locked<[Range<Int>]>([])
            GuidedChunks.forEach(rows: rows, threads: threads) { range in seen.withLock { $0.append(range) } }
            let ranges = seen.current.sorted { $0.lowerBound < $1.lowerBound }
            var next = 0
            for range in ranges {
                XCTAssertEqual(range.lowerBound, next, "rows \(rows), threads \(threads): a gap or overlap at \(range)")
                XCTAssertFalse(range.isEmpty)
                next = range.upperBound
            }
            XCTAssertEqual(next, rows)
            if rows >= 4 * GuidedChunks.minimumRows && threads > 1 {
                XCTAssertGreaterThan(ranges.count, threads, "rows \(rows): the chunks shrink towards the end")
                XCTAssertLessThanOrEqual(ranges.last.map(\.count) ?? 0, GuidedChunks.minimumRows)
            }
        }
    }
}
