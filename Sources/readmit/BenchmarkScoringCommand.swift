import ArgumentParser
import Foundation
import ReadmitCore

/// `readmit benchmark-scoring`: in-process scoring throughput, for `benchmarks/`.
struct BenchmarkScoringCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-scoring",
        abstract: "Measure in-process scoring throughput (one thread) and print JSON.",
        discussion: "Rows are the test patients' encounters of the data file, repeated to --rows. Used by benchmarks/train/.",
        shouldDisplay: false
    )

    @Option(name: .long, help: "Model file.")
    var model: String

    @OptionGroup var source: DatasetOptions

    @Option(name: .long, help: "Rows to score per repetition.")
    var rows: Int = 100_000

    @Option(name: .long, help: "Repetitions (the median is reported).")
    var repeats: Int = 5

    func run() throws {
        try runReportingErrors {
            let loaded = try ReadmitModel.load(path: model)
            let (_, tables) = try source.load()
            let data = try PreparedData(tables: tables)
            let cohort = data.cohort
            let test = cohort.rows.indices.filter { cohort.isTest[$0] }.map { cohort.rows[$0] }
            let all = FeatureEncoder.encode(raw: data.raw, spec: tables.spec, schema: loaded.schema)
            let x = all.selecting(rows: (0..<rows).map { test[$0 % test.count] })
            var risk = [Double](repeating: 0, count: rows), atyp = risk
            var tier = [UInt8](repeating: 0, count: rows)
            // Thread CPU time, not wall time: on a shared machine, time spent waiting for a core
            // is not the scorer's cost. (Wall time is reported alongside.)
            func cpuNow() -> Double {
                var t = timespec()
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
                return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
            }
            var wall: [String: [Double]] = [:]
            var key = ""
            func seconds(_ body: () throws -> Void) rethrows -> Double {
                let start = ContinuousClock.now, cpu = cpuNow()
                try body()
                let used = cpuNow() - cpu
                let d = ContinuousClock.now - start
                wall[key, default: []].append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
                return used
            }
            var forestTimes: [Double] = [], modelTimes: [Double] = []
            var checksum = 0.0
            for _ in 0..<max(1, repeats) {
                try x.values.withUnsafeBufferPointer { f in
                    key = "isolation_forest"
                    forestTimes.append(try seconds { checksum += try loaded.isolationForestScores(f, rows: rows).reduce(0, +) })
                    try risk.withUnsafeMutableBufferPointer { r in try atyp.withUnsafeMutableBufferPointer { a in try tier.withUnsafeMutableBufferPointer { t in
                        key = "risk_model"
                        modelTimes.append(try seconds { try loaded.score(f, rows: rows, risk: r, atypicality: a, tier: t) })
                    } } }
                }
                checksum += risk.reduce(0, +)
            }
            func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
            let object: [String: Any] = [
                "rows": rows, "repeats": repeats, "threads": 1, "booster_trees": loaded.boosterTreeCount,
                "clock": "thread CPU time (CLOCK_THREAD_CPUTIME_ID); wall-clock medians alongside",
                "isolation_forest_wall_seconds_median": median(wall["isolation_forest"] ?? [0]),
                "risk_model_wall_seconds_median": median(wall["risk_model"] ?? [0]),
                "isolation_forest_seconds_median": median(forestTimes),
                "isolation_forest_rows_per_second": Double(rows) / median(forestTimes),
                "risk_model_seconds_median": median(modelTimes),
                "risk_model_rows_per_second": Double(rows) / median(modelTimes),
                "checksum": checksum,
            ]
            let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: json, as: UTF8.self))
        }
    }
}
