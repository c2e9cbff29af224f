import Foundation
import XCTest
import ReadmitCore
@testable import ReadmitModelFile
@testable import ReadmitModels

/// The hand-written JSON and UBJSON readers of XGBoost's model against the `JSONSerialization`
/// reading ``CompiledBooster`` used before.
final class XGBoostTreeJSONTests: XCTestCase {
    /// The trees as the former `JSONSerialization` code read them.
    static func foundationReading(_ json: [UInt8]) throws -> (name: String, baseScore: Double, trees: [XGBoostTreeJSON.Tree]) {
        guard let root = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
              let learner = root["learner"] as? [String: Any],
              let params = learner["learner_model_param"] as? [String: Any],
              let gb = learner["gradient_booster"] as? [String: Any],
              let model = gb["model"] as? [String: Any],
              let treeList = model["trees"] as? [[String: Any]]
        else { throw CompiledBooster.FormatError(message: "layout") }
        func ints(_ any: Any?) -> [Int] { (any as? [Any] ?? []).map { ($0 as? NSNumber)?.intValue ?? (($0 as? Bool) == true ? 1 : 0) } }
        func floats(_ any: Any?) -> [Float] { (any as? [Any] ?? []).map { ($0 as? NSNumber)?.floatValue ?? .nan } }
        let trees = treeList.map { t in
            XGBoostTreeJSON.Tree(left: ints(t["left_children"]), right: ints(t["right_children"]), index: ints(t["split_indices"]),
                                 cond: floats(t["split_conditions"]), defaultLeft: ints(t["default_left"]),
                                 hasCategoricalSplit: ints(t["split_type"]).contains { $0 != 0 })
        }
        return (gb["name"] as? String ?? "", Double(String(describing: params["base_score"] ?? "0.5")) ?? 0.5, trees)
    }

    func testJSONAndUBJSONReadTheSameTreesAsFoundation() throws {
        let (_, model, _) = try TestSupport.smallModel.get()
        let json = try model.booster.jsonModel()
        let expected = try Self.foundationReading(json)
        XCTAssertGreaterThanOrEqual(expected.trees.count, 5, "a model of several trees")
        let ubjson = model.parameters.boosterBytes
        XCTAssertTrue(XGBoostTreeJSON.isUBJSON(ubjson))
        XCTAssertFalse(XGBoostTreeJSON.isUBJSON(json))
        for bytes in [json, ubjson] {
            let read = try XGBoostTreeJSON(json: bytes)
            XCTAssertEqual(read.boosterName, expected.name)
            XCTAssertEqual(read.baseScore, expected.baseScore)
            XCTAssertEqual(read.trees.count, expected.trees.count)
            for (a, b) in zip(read.trees, expected.trees) {
                XCTAssertEqual(a.left, b.left); XCTAssertEqual(a.right, b.right); XCTAssertEqual(a.index, b.index)
                XCTAssertEqual(a.defaultLeft, b.defaultLeft); XCTAssertEqual(a.hasCategoricalSplit, b.hasCategoricalSplit)
                XCTAssertEqual(a.cond.map(\.bitPattern), b.cond.map(\.bitPattern))
            }
        }
        // The compiled scorer reads both to the same margins.
        let x = [Double](repeating: .nan, count: 3 * (model.schema.count + 2)).enumerated().map { $0.offset % 3 == 0 ? Double($0.offset % 7) : $0.element }
        var fromJSON = [Double](repeating: 0, count: 3), fromUBJSON = fromJSON
        try CompiledBooster(json: json).margins(x, count: 3, columns: model.schema.count + 2, into: &fromJSON)
        try CompiledBooster(json: ubjson).margins(x, count: 3, columns: model.schema.count + 2, into: &fromUBJSON)
        XCTAssertEqual(fromJSON, fromUBJSON)
    }

    func testNumbersAndErrors() throws {
        var p = XGBoostTreeJSON.Parser(bytes: Array(#"[0.1, -2.5E-3, 1e400, 123456789012345678901, 0, -0.0, 7]"#.utf8))
        guard case .numbers(let v) = try p.document() else { return XCTFail("expected numbers") }
        XCTAssertEqual(v, [0.1, -2.5e-3, .infinity, 123456789012345678901.0, 0, 0, 7])
        for bad in [#"{"a": }"#, #"[1, 2"#, #"{"a": 1} x"#, "", #"[1e]"#] {
            var q = XGBoostTreeJSON.Parser(bytes: Array(bad.utf8))
            XCTAssertThrowsError(try q.document(), bad)
        }
        XCTAssertThrowsError(try XGBoostTreeJSON(json: Array(#"{"learner": {}}"#.utf8)))
        XCTAssertThrowsError(try XGBoostTreeJSON(json: [UInt8(ascii: "{"), UInt8(ascii: "L"), 0, 0]))
    }

    /// Typed UBJSON arrays of every numeric width convert exactly, and the tree members the
    /// scorer does not use are stepped over without disturbing what follows them.
    func testUBJSONTypedArraysAndSkippedMembers() throws {
        func key(_ k: String) -> [UInt8] { [UInt8(ascii: "U"), UInt8(k.utf8.count)] + Array(k.utf8) }
        func typed(_ type: Unicode.Scalar, _ elements: [[UInt8]]) -> [UInt8] {
            [UInt8(ascii: "["), UInt8(ascii: "$"), UInt8(ascii: type), UInt8(ascii: "#"), UInt8(ascii: "U"), UInt8(elements.count)] + elements.flatMap { $0 }
        }
        func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        var doc: [UInt8] = [UInt8(ascii: "{")]
        doc += key("i") + typed("i", [[0xFF], [0x05]])
        doc += key("U") + typed("U", [[0xFF], [0x00]])
        doc += key("I") + typed("I", [be(Int16(-300)), be(Int16(7))])
        doc += key("l") + typed("l", [be(Int32(-70_000)), be(Int32(1))])
        doc += key("L") + typed("L", [be(Int64(-(1 << 40))), be(Int64(2))])
        doc += key("d") + typed("d", [be(Float(0.1).bitPattern), be(Float(-2.5).bitPattern)])
        doc += key("D") + typed("D", [be((0.1).bitPattern), be((-1e300).bitPattern)])
        doc += key("loss_changes") + typed("d", [be(Float(1).bitPattern), be(Float(2).bitPattern)])
        doc += key("parents") + [UInt8(ascii: "["), UInt8(ascii: "U"), 1, UInt8(ascii: "]")]  // untyped: parsed, then dropped
        doc += key("after") + [UInt8(ascii: "U"), 42]
        doc.append(UInt8(ascii: "}"))
        var parser = XGBoostTreeJSON.UBJSONParser(bytes: doc)
        guard case .object(let o) = try parser.document() else { return XCTFail("expected an object") }
        XCTAssertEqual(XGBoostTreeJSON.numbers(o["i"]), [-1, 5])
        XCTAssertEqual(XGBoostTreeJSON.numbers(o["U"]), [255, 0])
        XCTAssertEqual(XGBoostTreeJSON.numbers(o["I"]), [-300, 7])
        XCTAssertEqual(XGBoostTreeJSON.numbers(o["l"]), [-70_000, 1])
        XCTAssertEqual(XGBoostTreeJSON.numbers(o["L"]), [-Double(1 << 40), 2])
        XCTAssertEqual(XGBoostTreeJSON.numbers(o["d"]), [Double(Float(0.1)), -2.5])
        XCTAssertEqual(XGBoostTreeJSON.numbers(o["D"]), [0.1, -1e300])
        XCTAssertNil(o["loss_changes"])
        XCTAssertNil(o["parents"])
        guard case .number(42)? = o["after"] else { return XCTFail("the member after the skipped ones is lost") }

        // A typed array announcing more elements than the bytes hold is an error, read or skipped.
        for name in ["split_conditions", "sum_hessian"] {
            var truncated: [UInt8] = [UInt8(ascii: "{")] + key(name)
            truncated += [UInt8(ascii: "["), UInt8(ascii: "$"), UInt8(ascii: "d"), UInt8(ascii: "#"), UInt8(ascii: "U"), 200, 0, 0, 0, 0]
            var q = XGBoostTreeJSON.UBJSONParser(bytes: truncated)
            XCTAssertThrowsError(try q.document(), name)
        }
    }

    func testUTCTimestampMatchesISO8601DateFormatter() {
        let formatter = ISO8601DateFormatter()
        for seconds in [0, 951_782_400, 1_700_000_000, 1_795_000_000, 4_102_444_799, 1_709_164_800] {
            XCTAssertEqual(utcTimestamp(seconds), formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
    }
}
