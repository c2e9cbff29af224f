import XCTest
@testable import ReadmitTextIndex

/// `TextIndex` must answer exactly as a `Dictionary` of the same texts would: its hash only
/// places texts, so texts that share words, differ in their last byte, or are not ASCII must
/// still be told apart.
final class TextIndexTests: XCTestCase {
    func testPositionsAreInFirstInsertOrderAndRepeatsKeepTheirs() {
        var index = TextIndex()
        XCTAssertEqual(index.insert("b").position, 0)
        XCTAssertEqual(index.insert("a").position, 1)
        let again = index.insert("b")
        XCTAssertEqual(again.position, 0)
        XCTAssertFalse(again.inserted)
        XCTAssertEqual(index.count, 2)
        XCTAssertEqual(index["a"], 1)
        XCTAssertEqual(index["b"], 0)
        XCTAssertNil(index["c"])
        XCTAssertNil(index[""])
        XCTAssertEqual(TextIndex(["x", "y", "x"]).keys, ["x", "y"])
    }

    func testLastOccurrencesResolveARepeatToItsLastPosition() {
        let (index, last) = TextIndex.lastOccurrences(["a", "b", "a", "c", "b", "a"])
        XCTAssertEqual(index.keys, ["a", "b", "c"])
        XCTAssertEqual(last, [5, 4, 3])
        let empty = TextIndex.lastOccurrences([])
        XCTAssertEqual(empty.index.count, 0)
        XCTAssertEqual(empty.last, [])
    }

    func testTextsOfEveryLengthAndTheirOneByteNeighboursAreDistinct() {
        // Lengths 0 to 40 cross the hash's 4- and 8-byte reads and the overlapping last word;
        // each text also appears with its last byte changed, and with a byte changed in the middle.
        var texts: [String] = []
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for length in 0...40 {
            let base = String(letters.prefix(length))
            texts.append(base)
            if length > 0 {
                texts.append(String(base.dropLast()) + "#")
                let middle = base.index(base.startIndex, offsetBy: length / 2)
                texts.append(base.replacingCharacters(in: middle...middle, with: "%"))
            }
        }
        texts += ["é", "e\u{301}", "日本語のテキスト", "ICD-9 250.83", "250.8", "250.83 ", "\u{0}", "\u{0}\u{0}"]
        var index = TextIndex(capacity: 2)  // grows many times
        var model: [String: Int] = [:]
        for t in texts {
            let (position, inserted) = index.insert(t)
            if let known = model[t] {
                XCTAssertFalse(inserted, "\(t.debugDescription) inserted twice")
                XCTAssertEqual(position, known)
            } else {
                XCTAssertTrue(inserted, "\(t.debugDescription) taken for another text")
                model[t] = position
            }
        }
        XCTAssertEqual(index.count, model.count)
        for (t, position) in model { XCTAssertEqual(index[t], position, t.debugDescription) }
        for t in texts where !t.isEmpty { XCTAssertNil(index[t + "!"], "\(t.debugDescription)! found") }
    }

    func testRandomTextsAgreeWithADictionary() {
        var generator = SystemRandomNumberGenerator()
        var index = TextIndex()
        var model: [String: Int] = [:]
        let alphabet = Array("ab\u{e9}0")  // few letters: many texts share prefixes and lengths
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...24, using: &generator)
            let t = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            let (position, inserted) = index.insert(t)
            XCTAssertEqual(inserted, model[t] == nil)
            if inserted { model[t] = position } else { XCTAssertEqual(model[t], position) }
        }
        for (t, position) in model { XCTAssertEqual(index[t], position) }
        XCTAssertEqual(index.keys.count, model.count)
    }

    func testBridgedAndSubstringBackedTextsHashAsNativeOnes() {
        // A text that is not stored contiguously (from a Substring, or lowercased) must find the
        // same entry as its native twin.
        var index = TextIndex()
        index.insert("discharge_disposition_id")
        let long = "xx discharge_disposition_id yy"
        let slice = long.dropFirst(3).dropLast(3)
        XCTAssertEqual(index[String(slice)], 0)
        XCTAssertEqual(index["DISCHARGE_DISPOSITION_ID".lowercased()], 0)
    }
}
