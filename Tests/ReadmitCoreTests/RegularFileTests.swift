import Foundation
import ReadmitFiles
import XCTest

/// `RegularFile`: config files, dataset specs and key files are read only when they are regular
/// files of a plausible size, and a refusal says what the path is.
final class RegularFileTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("regular-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func reason(_ path: String, maxBytes: Int = 1 << 20) -> String? {
        do {
            _ = try RegularFile.readText(path: path, maxBytes: maxBytes)
            return nil
        } catch {
            return error.reason
        }
    }

    func testReadsARegularFileWhole() throws {
        let path = folder + "/readmitd.conf"
        let text = String(repeating: "workers = 2 # ü\n", count: 10_000)  // several read chunks
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try RegularFile.readText(path: path, maxBytes: 1 << 20), text)
        XCTAssertEqual(try RegularFile.read(path: path, maxBytes: text.utf8.count).count, text.utf8.count, "exactly the limit")
        XCTAssertEqual(reason(path, maxBytes: text.utf8.count - 1), "larger than \(text.utf8.count - 1) bytes, more than such a file holds")
        let empty = folder + "/empty"
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        XCTAssertEqual(try RegularFile.readText(path: empty, maxBytes: 10), "")
    }

    func testRefusalsSayWhatThePathIs() throws {
        XCTAssertEqual(reason(folder + "/absent"), "No such file or directory")
        XCTAssertEqual(reason(folder), "not a regular file (a directory)")
        XCTAssertEqual(reason("/dev/zero"), "not a regular file (a device)")
        let fifo = folder + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(reason(fifo), "not a regular file (a pipe)", "refused at once: a pipe without a writer would block")
        let link = folder + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: folder)
        XCTAssertEqual(reason(link), "not a regular file (a directory)", "a link is followed to what it names")
        let latin1 = folder + "/latin1"
        try Data([0x43, 0x61, 0x66, 0xE9]).write(to: URL(fileURLWithPath: latin1))
        XCTAssertEqual(reason(latin1), "not UTF-8 text")
    }
}
