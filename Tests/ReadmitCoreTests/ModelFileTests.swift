import Crypto
import Foundation
import ReadmitCore
@testable import ReadmitModelFile
@testable import ReadmitModels
import XCTest

final class ModelFileTests: XCTestCase {
    func model() throws -> (TrainingResult, ReadmitModel, String) {
        switch TestSupport.smallModel {
        case .success(let m): return m
        case .failure(let e): throw e
        }
    }

    func testRoundTripScoresBitForBit() throws {
        let (result, model, path) = try model()
        let reloaded = try ReadmitModel.load(path: path)
        XCTAssertEqual(reloaded.modelID, model.modelID)
        XCTAssertEqual(reloaded.schema, result.parameters.schema)
        // The summary's `trees` is the booster's tree count (what benchmarks match on), within
        // the rounds the refit was allowed.
        let summary = result.parameters.trainingSummary
        XCTAssertEqual(summary["trees"], String(reloaded.boosterTreeCount))
        XCTAssertLessThanOrEqual(reloaded.boosterTreeCount, Int(summary["rounds"] ?? "") ?? -1)
        let inMemory = try ReadmitModel(parameters: result.parameters)
        let rows = 50
        var rng = SplitMix64(seed: 4)
        let x: [Double] = (0..<rows).flatMap { _ in model.schema.features.map { f -> Double in
            if rng.nextUnit() < 0.2 { return .nan }
            if f.kind == .categorical { return f.levels.isEmpty ? .nan : Double(Int(rng.next() % UInt64(f.levels.count))) }
            return Double(rng.next() % 20)
        } }
        func score(_ m: ReadmitModel) throws -> [Double] {
            var r = [Double](repeating: 0, count: rows), a = r
            var t = [UInt8](repeating: 0, count: rows)
            try x.withUnsafeBufferPointer { f in
                try r.withUnsafeMutableBufferPointer { rb in try a.withUnsafeMutableBufferPointer { ab in
                    try t.withUnsafeMutableBufferPointer { tb in try m.score(f, rows: rows, risk: rb, atypicality: ab, tier: tb) } } }
            }
            return r + a + t.map(Double.init)
        }
        let s1 = try score(reloaded), s2 = try score(inMemory)
        XCTAssertEqual(s1.map(\.bitPattern), s2.map(\.bitPattern))
    }

    /// A model file replaces only a regular file: a directory or a symbolic link at the path is
    /// refused with `writeFailed` naming it, and stays as it was.
    func testWriteReplacesOnlyARegularFile() throws {
        let (result, _, _) = try model()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("modelwrite-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/dir", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("keep".utf8).write(to: URL(fileURLWithPath: folder + "/dir/keep.txt"))
        try Data("target".utf8).write(to: URL(fileURLWithPath: folder + "/target"))
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: folder + "/target")
        for path in [folder + "/dir", folder + "/link"] {
            XCTAssertThrowsError(try ModelFile.write(result.parameters, to: path)) { error in
                XCTAssertEqual((error as? ModelFileError)?.code, .writeFailed)
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: folder + "/dir/keep.txt", encoding: .utf8), "keep")
        XCTAssertEqual(try String(contentsOfFile: folder + "/target", encoding: .utf8), "target")
        try ModelFile.write(result.parameters, to: folder + "/model.readmit")
        XCTAssertNoThrow(try ModelFile.read(path: folder + "/model.readmit"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }, [])
    }

    func testRejectsWrongMagicTruncationCorruptionAndVersion() throws {
        let (_, _, path) = try model()
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        func code(_ bytes: [UInt8]) -> ModelFileError.Code? {
            do { _ = try ModelFile.decode(bytes); return nil } catch { return error.code }
        }
        XCTAssertNil(code(good))
        var magic = good; magic[0] = UInt8(ascii: "X")
        XCTAssertEqual(code(magic), .badMagic)
        XCTAssertEqual(code(Array(good.prefix(good.count / 2))), .truncated)
        XCTAssertEqual(code(Array(good.prefix(10))), .truncated)
        var corrupt = good; corrupt[good.count / 2] ^= 0x40
        XCTAssertEqual(code(corrupt), .checksumMismatch)
        var version = good; version[8] = 9
        XCTAssertEqual(code(version), .unsupportedVersion)
        XCTAssertThrowsError(try ReadmitModel.load(path: "/nonexistent/model.readmit")) { XCTAssertEqual(($0 as? ModelFileError)?.code, .notFound) }
    }

    /// Only a regular file is read, and one that is not a model only as far as its magic bytes
    /// (`RELOAD` may name any path); each refusal says why.
    func testOnlyARegularModelFileIsRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("modelfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(mkfifo(dir + "/fifo", 0o600), 0)
        let cases = [(dir + "/missing", "No such file or directory"), (dir, "not a regular file"),
                     (dir + "/fifo", "not a regular file"), ("/dev/zero", "not a regular file")]
        for (path, why) in cases {
            XCTAssertThrowsError(try ModelFile.read(path: path), path) {
                let e = $0 as? ModelFileError
                XCTAssertEqual(e?.code, .notFound, path)
                XCTAssertEqual(e?.message, "cannot read model file \(path): \(why)" + (why.hasPrefix("not") ? " (a directory, device or pipe)" : ""))
            }
        }
        // A large file that is not a model: eight bytes read, then refused by its magic.
        let big = dir + "/data.csv"
        try Data(repeating: UInt8(ascii: "x"), count: 3 << 20).write(to: URL(fileURLWithPath: big))
        XCTAssertEqual(try ModelFile.readBytes(path: big).count, ModelFile.magic.count)
        XCTAssertThrowsError(try ModelFile.read(path: big)) { XCTAssertEqual(($0 as? ModelFileError)?.code, .badMagic) }
        // A model is read whole, byte for byte.
        let (_, _, path) = try model()
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(try ModelFile.readBytes(path: path), good)
        // A model whose size is not the one its preamble announces is refused after its first
        // 64 bytes: 8 GiB appended (a sparse file) was read into memory to find that out.
        let grown = dir + "/grown.readmit"
        try Data(good).write(to: URL(fileURLWithPath: grown))
        XCTAssertEqual(truncate(grown, off_t(8) << 30), 0)
        XCTAssertThrowsError(try ModelFile.readBytes(path: grown)) {
            XCTAssertEqual(($0 as? ModelFileError)?.code, .malformed)
            XCTAssertEqual(($0 as? ModelFileError)?.message, "\(grown) has \((UInt64(8) << 30) - UInt64(good.count)) unexpected trailing bytes")
        }
        let cut = dir + "/cut.readmit"
        try Data(good.prefix(good.count - 1)).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try ModelFile.read(path: cut)) {
            XCTAssertEqual(($0 as? ModelFileError)?.code, .truncated)
            XCTAssertEqual(($0 as? ModelFileError)?.message, "\(cut) is truncated: its header announces \(good.count) bytes, the file has \(good.count - 1)")
        }
        // Another version is still named by the version, not by its size.
        var older = good
        older[8] = 1
        let old = dir + "/old.readmit"
        try Data(older + [0, 0, 0]).write(to: URL(fileURLWithPath: old))
        XCTAssertThrowsError(try ModelFile.read(path: old)) { XCTAssertEqual(($0 as? ModelFileError)?.code, .unsupportedVersion) }
    }

    /// Found by the model-file fuzz target (fuzz/README.md): parts of a checksum-valid file that
    /// do not fit together trapped while the model was built (a layout offset past the input
    /// width) instead of being refused; each is now a `malformed` error naming the part.
    func testRefusesPartsThatDoNotFitTogether() throws {
        let (result, _, _) = try model()
        func message(_ change: (inout ModelParameters) -> Void) -> String? {
            var p = result.parameters
            change(&p)
            do { _ = try ReadmitModel(parameters: p); return nil } catch {
                XCTAssertEqual(error.code, .malformed)
                return error.message
            }
        }
        XCTAssertNil(message { _ in })
        XCTAssertEqual(message { $0.layout.slots[1].offset += 1000 }, "model parts do not fit together: the input layout does not fit the feature schema")
        XCTAssertEqual(message { $0.layout.slots[0].levelRank = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] },
                       "model parts do not fit together: the input layout does not fit the feature schema")
        XCTAssertEqual(message { $0.detector.histograms[0].width = .nan },
                       "model parts do not fit together: the per-feature detector does not fit the feature schema")
        XCTAssertEqual(message { $0.detector.histograms[0] = .init(low: .infinity, width: 1, cost: [1], missingCost: 0, outsideCost: 1) },
                       "model parts do not fit together: the per-feature detector does not fit the feature schema")
        XCTAssertEqual(message { $0.tiers = [] }, "model parts do not fit together: the model has no risk tiers")
    }

    /// A forest read from a file may not be deeper than fitting makes one: the compiled trees are
    /// complete binary trees of that depth, so a deep chain would ask for 2^depth nodes per tree.
    func testForestDeeperThanFittingIsInvalid() {
        // A chain of 40 splits, each leaf's sibling splitting again (limit for 4 samples: 2).
        let depth = 40, n = 2 * depth + 1
        var feature = [Int32](repeating: -1, count: n), left = [Int32](repeating: -1, count: n)
        for d in 0..<depth { feature[2 * d] = 0; left[2 * d] = Int32(2 * d + 1) }
        let deep = IsolationForest(columns: 1, maxSamples: 4, feature: feature, value: [Double](repeating: 0.5, count: n), left: left, roots: [0])
        XCTAssertFalse(deep.isStructurallyValid())
        let shallow = IsolationForest(columns: 1, maxSamples: 4, feature: [0, -1, -1], value: [0.5, 1, 1], left: [1, -1, -1], roots: [0])
        XCTAssertTrue(shallow.isStructurallyValid())
        let tooManySamples = IsolationForest(columns: 1, maxSamples: IsolationForest.maxSamplesLimit + 1, feature: [-1], value: [1], left: [-1], roots: [0])
        XCTAssertFalse(tooManySamples.isStructurallyValid())
    }

    /// A section whose offset plus length overflows is refused (the sum was computed unchecked).
    func testSectionOffsetsThatOverflowAreRefused() throws {
        let (_, _, path) = try model()
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        func u64(at offset: Int) -> Int { (0..<8).reduce(0) { $0 | Int(good[offset + $1]) << (8 * $1) } }
        let headerLength = u64(at: 16), payloadLength = u64(at: 24)
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(good[32..<(32 + headerLength)])) as? [String: Any])
        var sections = try XCTUnwrap(header["sections"] as? [String: [String: Int]])
        sections["forest.roots"] = ["offset": 8, "length": Int.max]
        header["sections"] = sections
        let newHeader = Array(try JSONSerialization.data(withJSONObject: header))
        var body = Array(good[0..<16])
        for value in [UInt64(newHeader.count), UInt64(payloadLength)] { withUnsafeBytes(of: value.littleEndian) { body += $0 } }
        body += newHeader + good[(32 + headerLength)..<(32 + headerLength + payloadLength)]
        body += Array(SHA256.hash(data: body))
        XCTAssertThrowsError(try ModelFile.decode(body)) { error in
            XCTAssertEqual((error as? ModelFileError)?.code, .malformed)
            XCTAssertEqual((error as? ModelFileError)?.message, "model file lacks a valid section 'forest.roots'")
        }
    }

    func testAllMissingRowIsValidAndBadValuesNameRowAndFeature() throws {
        let (_, model, _) = try model()
        let m = model.schema.count
        var x = [Double](repeating: .nan, count: 3 * m)
        var r = [Double](repeating: 0, count: 3), a = r
        var t = [UInt8](repeating: 0, count: 3)
        func run() throws(FeatureVectorError) {
            try x.withUnsafeBufferPointer { f throws(FeatureVectorError) in
                try r.withUnsafeMutableBufferPointer { rb throws(FeatureVectorError) in try a.withUnsafeMutableBufferPointer { ab throws(FeatureVectorError) in
                    try t.withUnsafeMutableBufferPointer { tb throws(FeatureVectorError) in try model.score(f, rows: 3, risk: rb, atypicality: ab, tier: tb) } } }
            }
        }
        try run()
        XCTAssertTrue(r.allSatisfy { $0 > 0 && $0 < 1 })
        XCTAssertTrue(a.allSatisfy { $0 >= 0 && $0 <= 1 })
        let numeric = model.schema.index(of: "time_in_hospital")!, race = model.schema.index(of: "race")!
        x[1 * m + numeric] = .infinity
        XCTAssertThrowsError(try run()) { error in
            let e = error as? FeatureVectorError
            XCTAssertEqual(e?.code, .notFinite); XCTAssertEqual(e?.row, 1); XCTAssertEqual(e?.feature, numeric)
            XCTAssertTrue(e?.message.contains("time_in_hospital") ?? false)
        }
        x[1 * m + numeric] = 3
        x[2 * m + race] = 99
        XCTAssertThrowsError(try run()) { error in
            let e = error as? FeatureVectorError
            XCTAssertEqual(e?.code, .badCategory); XCTAssertEqual(e?.row, 2); XCTAssertEqual(e?.feature, race)
        }
        x[2 * m + race] = 0.5
        XCTAssertThrowsError(try run()) { XCTAssertEqual(($0 as? FeatureVectorError)?.code, .badCategory) }
    }

    func testExplainReturnsTopFeaturesByContribution() throws {
        let (_, model, _) = try model()
        let m = model.schema.count
        let dir = TestSupport.temporaryDirectory()
        let x = try TestSupport.encode(try TestSupport.subsetCSV(rows: 20, in: dir), schema: model.schema)
        let k = 5
        var idx = [Int32](repeating: 0, count: 20 * k), c = [Double](repeating: 0, count: 20 * k)
        try x.values.withUnsafeBufferPointer { f in
            try idx.withUnsafeMutableBufferPointer { i in try c.withUnsafeMutableBufferPointer { cb in try model.explain(f, rows: 20, k: k, featureIndex: i, contribution: cb) } }
        }
        for r in 0..<20 {
            let row = (0..<k).map { abs(c[r * k + $0]) }
            XCTAssertEqual(row, row.sorted(by: >))
            XCTAssertTrue(idx[(r * k)..<(r * k + k)].allSatisfy { $0 >= -1 && $0 < Int32(m) })
            XCTAssertGreaterThanOrEqual(idx[r * k], 0)
        }
    }

    func testSameSeedGivesTheSameModel() throws {
        let (result, _, _) = try model()
        let dir = TestSupport.temporaryDirectory()
        var options = TrainingOptions()
        options.quick = true
        options.bootstrapReplicates = 20
        let again = try TrainingPipeline.run(tables: TestSupport.tables(try TestSupport.subsetCSV(rows: 6000, in: dir)), options: options)
        XCTAssertEqual(again.parameters.metadata.modelID, result.parameters.metadata.modelID)
        XCTAssertEqual(again.parameters.boosterBytes, result.parameters.boosterBytes)
    }

    func testWriteLeavesNoTemporaryFiles() throws {
        let (result, _, _) = try model()
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("m.readmit").path
        try ModelFile.write(result.parameters, to: path)
        try ModelFile.write(result.parameters, to: path)  // replaces atomically
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["m.readmit"])
    }
}

final class EncodedModelTests: XCTestCase {
    /// The header spliced from separately encoded members is byte for byte the header encoded
    /// whole, and the model id is the documented hash of the payload and the anonymous header:
    /// the splice changes neither the file nor the id.
    func testSplicedHeaderAndModelIDEqualTheWholeEncoding() throws {
        let (result, _, path) = try TestSupport.smallModel.get()
        let p = result.parameters
        let encoded = try EncodedModel(p)
        XCTAssertEqual(try encoded.header(metadata: p.metadata, sections: encoded.sections), try ModelFile.headerJSON(p, sections: encoded.sections))

        XCTAssertNotNil(p.modelCard, "training writes a model card")
        var anonymous = p
        anonymous.metadata.modelID = ""
        anonymous.metadata.createdAt = ""
        anonymous.modelCard = nil  // the card describes the model; the id names what was fitted
        var hasher = SHA256()
        hasher.update(data: encoded.payload)
        hasher.update(data: try ModelFile.headerJSON(anonymous, sections: [:]))
        let expectedID = hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(try encoded.modelID(), expectedID)
        XCTAssertEqual(p.metadata.modelID, expectedID, "training names the model by the same hash")
        XCTAssertEqual(try ModelFile.modelID(of: p), expectedID)

        // The training result's own encoding is the file training writes.
        XCTAssertEqual(try result.modelFile.fileBytes(), try ModelFile.encode(p))
        XCTAssertEqual(try ModelFile.decode(try result.modelFile.fileBytes()).metadata, p.metadata)
        XCTAssertEqual(try ModelFile.read(path: path).metadata, p.metadata)

        // Another id changes the metadata only.
        let renamed = encoded.withModelID("00000000000000ff")
        XCTAssertEqual(try ModelFile.decode(try renamed.fileBytes()).metadata.modelID, "00000000000000ff")
        XCTAssertEqual(try renamed.modelID(), expectedID, "the id does not depend on the id")

        // A recalibration record goes in its sorted place, is read back, and is part of the id.
        var recalibrated = p
        recalibrated.calibrator.b += 0.5
        recalibrated.recalibration = Recalibration(
            fromModelID: p.metadata.modelID, previousCalibrator: p.calibrator, previousTiers: p.tiers, method: .intercept, tiers: .kept,
            dataFile: "local \"extract\".csv", dataSHA256: String(repeating: "ab", count: 32),
            update: .init(encounters: 800, patients: 600, events: 90), check: .init(encounters: 200, patients: 150, events: 20))
        let withRecord = try EncodedModel(recalibrated)
        XCTAssertEqual(try withRecord.header(metadata: recalibrated.metadata, sections: withRecord.sections),
                       try ModelFile.headerJSON(recalibrated, sections: withRecord.sections))
        let read = try ModelFile.decode(try withRecord.fileBytes())
        XCTAssertEqual(read.recalibration, recalibrated.recalibration)
        XCTAssertEqual(read.calibrator, recalibrated.calibrator)
        var recordOnly = recalibrated
        recordOnly.recalibration?.dataFile = "another.csv"
        XCTAssertNotEqual(try EncodedModel(recordOnly).modelID(), try withRecord.modelID())
        XCTAssertNil(try ModelFile.decode(try encoded.fileBytes()).recalibration, "a model as trained has none")
    }
}

final class CompiledForestTests: XCTestCase {
    /// The compiled forest (testing schema rows) gives bit-identical scores to the fitted forest
    /// on the expanded, imputed rows, including missing values.
    func testCompiledScoresEqualTheFittedForest() throws {
        let (result, model, _) = try TestSupport.smallModel.get()
        let p = result.parameters
        let dir = TestSupport.temporaryDirectory()
        var x = try TestSupport.encode(try TestSupport.subsetCSV(rows: 500, in: dir), schema: p.schema)
        for i in stride(from: 0, to: x.values.count, by: 7) { x.values[i] = .nan }
        let reference = p.forest.score(p.layout.expand(x, imputed: true))
        let compiled = try x.values.withUnsafeBufferPointer { try model.isolationForestScores($0, rows: x.rows) }
        XCTAssertEqual(compiled.map(\.bitPattern), reference.map(\.bitPattern))
    }
}

final class CompiledBoosterTests: XCTestCase {
    /// The natively walked trees give XGBoost's own margins (to float32 rounding), missing values included.
    func testMarginsMatchXGBoost() throws {
        let (result, _, _) = try TestSupport.smallModel.get()
        let booster = try XGBoostBooster(serialized: result.parameters.boosterBytes)
        let compiled = try CompiledBooster(json: try booster.jsonModel())
        let columns = result.parameters.schema.count + 2
        var rng = SplitMix64(seed: 8)
        let rows = 300
        let x: [Double] = (0..<(rows * columns)).map { _ in rng.nextUnit() < 0.3 ? .nan : Double(rng.next() % 12) + rng.nextUnit() }
        let expected = try booster.predict(FeatureMatrix(rows: rows, columns: columns, values: x), kind: .margin)
        var got = [Double](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xb in got.withUnsafeMutableBufferPointer { compiled.margins(xb.baseAddress!, count: rows, columns: columns, into: $0.baseAddress!) } }
        for i in 0..<rows { XCTAssertEqual(got[i], expected[i], accuracy: 1e-5, "row \(i)") }
    }

    /// A row scored alone (eight trees walked at a time) gets the same margin to the bit as in a
    /// batch (eight rows walked at a time), so a one-row request over the wire equals batch scoring.
    func testOneRowAtATimeEqualsTheBatch() throws {
        let (result, _, _) = try TestSupport.smallModel.get()
        let compiled = try CompiledBooster(json: try XGBoostBooster(serialized: result.parameters.boosterBytes).jsonModel())
        let columns = result.parameters.schema.count + 2
        var rng = SplitMix64(seed: 9)
        let rows = 64
        let x: [Double] = (0..<(rows * columns)).map { _ in rng.nextUnit() < 0.3 ? .nan : Double(rng.next() % 12) + rng.nextUnit() }
        var batch = [Double](repeating: 0, count: rows), single = [Double](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xb in
            guard let base = xb.baseAddress else { return XCTFail("empty matrix") }
            batch.withUnsafeMutableBufferPointer { out in compiled.margins(base, count: rows, columns: columns, into: out.baseAddress!) }
            single.withUnsafeMutableBufferPointer { out in
                for r in 0..<rows { compiled.margins(base + r * columns, count: 1, columns: columns, into: out.baseAddress! + r) }
            }
        }
        XCTAssertEqual(single.map(\.bitPattern), batch.map(\.bitPattern))
        // Random rows through a few shallow trees can share a leaf path: most must differ.
        XCTAssertGreaterThan(Set(batch).count, rows / 2, "the rows should not all share a margin")
    }
}

final class ModelRowOrderTests: XCTestCase {
    /// The whole served result of each row is the same to the bit whether it is scored alone or
    /// in a batch (the forest and the booster walk trees differently in the two cases).
    func testOneRowAtATimeEqualsTheBatch() throws {
        let (result, model, _) = try TestSupport.smallModel.get()
        let dir = TestSupport.temporaryDirectory()
        var x = try TestSupport.encode(try TestSupport.subsetCSV(rows: 100, in: dir), schema: result.parameters.schema)
        for i in stride(from: 0, to: x.values.count, by: 11) { x.values[i] = .nan }
        let batch = try model.score(x)
        for r in 0..<x.rows {
            let row = FeatureMatrix(rows: 1, columns: x.columns, values: Array(x.values[(r * x.columns)..<((r + 1) * x.columns)]))
            let alone = try model.score(row)
            XCTAssertEqual(alone.risk[0].bitPattern, batch.risk[r].bitPattern, "row \(r) risk")
            XCTAssertEqual(alone.atypicality[0].bitPattern, batch.atypicality[r].bitPattern, "row \(r) atypicality")
            XCTAssertEqual(alone.tier[0], batch.tier[r], "row \(r) tier")
        }
    }
}
