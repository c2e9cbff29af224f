import Foundation
import ReadmitParallel
import XCTest

/// `concurrentMap` and `concurrently`, through which training, the report and the logistic
/// regression hand indexed work to threads.
final class ConcurrentMapTests: XCTestCase {
    struct Failure: Error, Equatable { var index: Int }

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String] = []
        func add(_ s: String) { lock.lock(); entries.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return entries }
    }

    /// Every index runs once, and the results come back in index order, in parallel or not.
    func testResultsInIndexOrderEitherWay() {
        for count in [0, 1, 2, 7, 1000] {
            let ran = Log()
            let parallel = concurrentMap(count) { k -> String in ran.add("\(k)"); return "r\(k)" }
            XCTAssertEqual(parallel, (0..<count).map { "r\($0)" })
            XCTAssertEqual(ran.all.sorted(), (0..<count).map { "\($0)" }.sorted(), "each index once")
            XCTAssertEqual(concurrentMap(count, parallel: false) { "r\($0)" }, parallel)
        }
        // Without `parallel`, the calls run in order on the calling thread.
        let order = Log()
        _ = concurrentMap(50, parallel: false) { k in order.add("\(k)") }
        XCTAssertEqual(order.all, (0..<50).map { "\($0)" })
    }

    /// Work that fails: every index still runs, and the lowest failing index's error is thrown,
    /// whatever the timing.
    func testThrowsTheLowestFailingIndex() {
        for _ in 0..<20 {
            let ran = Log()
            XCTAssertThrowsError(try concurrentMap(64) { k throws(Failure) -> Int in
                ran.add("\(k)")
                if k % 10 == 7 { throw Failure(index: k) }
                return k
            }) { XCTAssertEqual($0 as? Failure, Failure(index: 7)) }
            XCTAssertEqual(ran.all.count, 64)
        }
        XCTAssertEqual(try concurrentMap(3) { k throws(Failure) in k * 2 }, [0, 2, 4])
    }

    func testConcurrentlyReturnsBothResultsAndRunsBoth() throws {
        let ran = Log()
        let (a, b) = try concurrently(
            { () throws(Failure) -> Int in ran.add("first"); return 1 },
            { () throws(Failure) -> String in ran.add("second"); return "two" })
        XCTAssertEqual(a, 1)
        XCTAssertEqual(b, "two")
        XCTAssertEqual(Set(ran.all), ["first", "second"])
    }

    func testConcurrentlyThrowsFirstErrorBeforeSecond() {
        XCTAssertThrowsError(try concurrently(
            { () throws(Failure) -> Int in throw Failure(index: 0) },
            { () throws(Failure) -> Int in throw Failure(index: 1) })) { error in
            XCTAssertEqual(error as? Failure, Failure(index: 0))
        }
        XCTAssertThrowsError(try concurrently(
            { () throws(Failure) -> Int in 1 },
            { () throws(Failure) -> Int in throw Failure(index: 1) })) { error in
            XCTAssertEqual(error as? Failure, Failure(index: 1))
        }
    }
}
