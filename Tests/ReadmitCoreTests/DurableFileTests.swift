import Foundation
import ReadmitFiles
import XCTest

/// `DurableFile`: every output of readmit (model file, report, metrics, scores) goes through it.
final class DurableFileTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("durable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }
    }

    func testWritesAndReplacesARegularFile() throws {
        let path = folder + "/out.bin"
        try DurableFile.write([1, 2, 3], to: path)
        XCTAssertEqual(FileManager.default.contents(atPath: path).map(Array.init), [1, 2, 3])
        try DurableFile.write("replaced".utf8, to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "replaced")
        try DurableFile.write([UInt8](), to: path)
        XCTAssertEqual(FileManager.default.contents(atPath: path)?.count, 0)
        XCTAssertEqual(try leftovers(), [])
    }

    func testRefusesADirectoryAndKeepsItsContents() throws {
        let dir = folder + "/keep"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: dir + "/inside.txt"))
        XCTAssertThrowsError(try DurableFile.write([1], to: dir)) { error in
            let e = error as? DurableFileError
            XCTAssertEqual(e?.code, .notARegularFile)
            XCTAssertTrue(e?.message.contains(dir) ?? false, "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: dir + "/inside.txt", encoding: .utf8), "precious")
        XCTAssertEqual(try leftovers(), [])
    }

    func testRefusesASymbolicLinkAndLeavesItsTargetAlone() throws {
        let target = folder + "/target.txt"
        try Data("target".utf8).write(to: URL(fileURLWithPath: target))
        let link = folder + "/link.txt"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertThrowsError(try DurableFile.write([1], to: link)) { error in
            XCTAssertEqual((error as? DurableFileError)?.code, .notARegularFile)
        }
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "target")
    }

    func testAMissingFolderIsNamed() throws {
        let path = folder + "/no/such/out.bin"
        XCTAssertThrowsError(try DurableFile.write([1], to: path)) { error in
            let e = error as? DurableFileError
            XCTAssertEqual(e?.code, .noFolder)
            XCTAssertTrue(e?.message.contains(folder + "/no/such") ?? false, "\(error)")
        }
    }

    func testARelativePathIsWrittenInTheWorkingFolder() throws {
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(folder))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try DurableFile.write("here".utf8, to: "relative.txt")
        XCTAssertEqual(try String(contentsOfFile: folder + "/relative.txt", encoding: .utf8), "here")
        XCTAssertEqual(try leftovers(), [])
    }
}
