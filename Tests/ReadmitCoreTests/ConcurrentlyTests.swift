import Foundation
import XCTest
import ReadmitCore
@testable import ReadmitTraining

/// `TrainingPipeline.concurrently`, which model assembly uses to overlap independent steps.
final class ConcurrentlyTests: XCTestCase {
    struct Failure: Error, Equatable { var which: String }

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String] = []
        func add(_ s: String) { lock.lock(); entries.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return entries }
    }

    func testReturnsBothResultsAndRunsBoth() throws {
        let ran = Log()
        let (a, b) = try TrainingPipeline.concurrently(
            { () throws(Failure) -> Int in ran.add("first"); return 1 },
            { () throws(Failure) -> String in ran.add("second"); return "two" })
        XCTAssertEqual(a, 1)
        XCTAssertEqual(b, "two")
        XCTAssertEqual(Set(ran.all), ["first", "second"])
    }

    func testThrowsFirstErrorBeforeSecond() {
        XCTAssertThrowsError(try TrainingPipeline.concurrently(
            { () throws(Failure) -> Int in throw Failure(which: "first") },
            { () throws(Failure) -> Int in throw Failure(which: "second") })) { error in
            XCTAssertEqual(error as? Failure, Failure(which: "first"))
        }
        XCTAssertThrowsError(try TrainingPipeline.concurrently(
            { () throws(Failure) -> Int in 1 },
            { () throws(Failure) -> Int in throw Failure(which: "second") })) { error in
            XCTAssertEqual(error as? Failure, Failure(which: "second"))
        }
    }
}
