import Foundation
import ReadmitCore
import XCTest

final class IsolationForestTests: XCTestCase {
    /// c(n) = 2 H(n-1) - 2 (n-1)/n with H(i) = ln(i) + 0.5772156649, c(1) = 0, c(2) = 1.
    func testAveragePathLengthByHand() {
        XCTAssertEqual(IsolationForest.averagePathLength(1), 0)
        XCTAssertEqual(IsolationForest.averagePathLength(2), 1)
        // c(3) = 2 (0.6931472 + 0.5772157) - 4/3 = 1.2073924
        XCTAssertEqual(IsolationForest.averagePathLength(3), 1.2073924, accuracy: 1e-6)
        // c(256) = 2 (5.5412635 + 0.5772157) - 510/256 = 10.2447709
        XCTAssertEqual(IsolationForest.averagePathLength(256), 10.2447709, accuracy: 1e-6)
    }

    func testScoreFormulaAndRange() {
        // A single isolated point far from a tight cluster scores higher than cluster points.
        var rng = SplitMix64(seed: 1)
        var values: [Double] = []
        for _ in 0..<1000 { values.append(rng.nextUnit()); values.append(rng.nextUnit()) }
        values += [50, 50]
        let data = FeatureMatrix(rows: 1001, columns: 2, values: values)
        let forest = IsolationForest(data: data, trees: 100, maxSamples: 256, seed: 7)
        let scores = forest.score(data)
        XCTAssertTrue(scores.allSatisfy { $0 > 0 && $0 <= 1 })
        XCTAssertEqual(scores.last!, scores.max()!)
        XCTAssertGreaterThan(scores.last!, 0.7)
        // s = 2^(-E[h]/c(256)) exactly.
        values.withUnsafeBufferPointer { b in
            let h = forest.meanPathLength(b.baseAddress!)
            XCTAssertEqual(forest.score(b.baseAddress!), pow(2, -h / IsolationForest.averagePathLength(256)), accuracy: 1e-15)
        }
        // The depth limit is ceil(log2(256)) = 8: no path is longer than 8 + c(256).
        XCTAssertTrue(scores.allSatisfy { $0 >= pow(2, -(8 + IsolationForest.averagePathLength(256)) / IsolationForest.averagePathLength(256)) })
    }

    func testDeterministicForAFixedSeed() {
        var rng = SplitMix64(seed: 3)
        let data = FeatureMatrix(rows: 500, columns: 3, values: (0..<1500).map { _ in rng.nextUnit() })
        XCTAssertEqual(IsolationForest(data: data, seed: 11), IsolationForest(data: data, seed: 11))
        XCTAssertNotEqual(IsolationForest(data: data, seed: 11), IsolationForest(data: data, seed: 12))
    }

    /// Rankings agree with scikit-learn's IsolationForest on the 9 numeric features of the
    /// training split (Spearman >= 0.9; two scikit-learn seeds agree at about 0.97 here).
    func testRankingAgreesWithScikitLearn() throws {
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = [python, "-c", "import sklearn"]
        check.standardError = FileHandle.nullDevice
        try check.run(); check.waitUntilExit()
        try XCTSkipIf(check.terminationStatus != 0, "scikit-learn is not installed (scripts/setup.sh installs it)")

        // The eight numeric features and the age bracket's index (the spec's first nine features).
        let prepared = try PreparedData(tables: TestSupport.tables(TestSupport.dataPath))
        let cohort = prepared.cohort
        let train = cohort.rows.indices.filter { !cohort.isTest[$0] }.map { cohort.rows[$0] }
        let schema = FeatureSchemaBuilder.build(spec: prepared.spec, raw: prepared.raw, trainingRows: train)
        let x = FeatureEncoder.encode(raw: prepared.raw, spec: prepared.spec, schema: schema)
        XCTAssertEqual(schema.features.prefix(9).map(\.name).last, "age")
        var values: [Double] = []
        for r in train {
            for j in 0..<9 { values.append(x.values[r * x.columns + j]) }
        }
        let data = FeatureMatrix(rows: train.count, columns: 9, values: values)
        let ours = IsolationForest(data: data, trees: 100, maxSamples: 256, seed: 42).score(data)

        let dir = TestSupport.temporaryDirectory()
        let input = dir.appendingPathComponent("x.bin"), output = dir.appendingPathComponent("s.bin")
        try values.withUnsafeBytes { try Data($0).write(to: input) }
        let script = """
            import numpy as np, sys
            from sklearn.ensemble import IsolationForest
            x = np.fromfile(sys.argv[1], dtype='<f8').reshape(-1, 9)
            s = -IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(x).score_samples(x)
            s.astype('<f8').tofile(sys.argv[2])
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-c", script, input.path, output.path]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let theirs = try Data(contentsOf: output).withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        XCTAssertEqual(theirs.count, ours.count)
        let rho = spearman(ours, theirs)
        XCTAssertGreaterThanOrEqual(rho, 0.9, "Spearman correlation with scikit-learn: \(rho)")
    }

    func spearman(_ a: [Double], _ b: [Double]) -> Double {
        func ranks(_ x: [Double]) -> [Double] {
            let order = x.indices.sorted { x[$0] < x[$1] }
            var r = [Double](repeating: 0, count: x.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
                for k in i...j { r[order[k]] = Double(i + j) / 2 }
                i = j + 1
            }
            return r
        }
        let ra = ranks(a), rb = ranks(b)
        let ma = ra.reduce(0, +) / Double(ra.count), mb = rb.reduce(0, +) / Double(rb.count)
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in 0..<ra.count { sab += (ra[i] - ma) * (rb[i] - mb); saa += (ra[i] - ma) * (ra[i] - ma); sbb += (rb[i] - mb) * (rb[i] - mb) }
        return sab / (saa * sbb).squareRoot()
    }
}
