import XCTest
@testable import ReadmitServer

/// The broker's frame pool keeps only frames nothing else references, empties them, and keeps
/// at most its capacity.
final class FramePoolTests: XCTestCase {
    func testKeepsOnlyUnreferencedFramesAndEmptiesThem() throws {
        var pool = FramePool()
        let held = try ZMQFrame.make([1, 2, 3])
        var frames = [held, try ZMQFrame.make([4, 5])]
        let freeID = ObjectIdentifier(frames[1])
        var shared: [ZMQFrame]? = frames  // storage shared with another array: nothing is taken from it
        pool.recycle(&shared!)
        XCTAssertEqual(pool.count, 0)
        XCTAssertEqual(shared?.count, 0)
        shared = nil
        pool.recycle(&frames)
        XCTAssertTrue(frames.isEmpty)
        XCTAssertEqual(pool.count, 1, "the frame still held here is not kept")
        XCTAssertEqual(held.array, [1, 2, 3], "a frame that is not kept is left as it was")
        let taken = pool.take()
        XCTAssertEqual(ObjectIdentifier(taken), freeID)
        XCTAssertEqual(taken.count, 0, "a kept frame is emptied")
        XCTAssertEqual(pool.count, 0)
        XCTAssertNotEqual(ObjectIdentifier(pool.take()), freeID, "an empty pool makes a new frame")
    }

    func testKeepsAtMostItsCapacity() {
        var pool = FramePool()
        var frames = (0..<(FramePool.capacity + 10)).map { _ in ZMQFrame.empty() }
        pool.recycle(&frames)
        XCTAssertEqual(pool.count, FramePool.capacity)
        pool.put(ZMQFrame.empty())
        XCTAssertEqual(pool.count, FramePool.capacity)
    }
}
