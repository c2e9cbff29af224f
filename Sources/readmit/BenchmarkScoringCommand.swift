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

    @Option(name: .customLong("chunk-rows"), help: "Rows per scoring chunk (default: the built-in choice).")
    var chunkRows: Int = TreeWalk.chunkRows

    @Option(name: .customLong("evict-kb"), help: "Write this many KiB of other memory before each timed call, to time it with cold caches (default 0: warm).")
    var evictKB: Int = 0

    @Option(name: .customLong("export-booster"), help: ArgumentHelp(
        "Also write the booster and its input rows to this folder, for other scorers to time on the same trees and rows.",
        discussion: "booster.ubj (XGBoost's UBJSON, as the model file stores it), booster_input.f64 (the rows' booster columns, row-major little-endian doubles), booster_margins.f64 (this walk's margins) and booster_export.json (their shapes). Used by benchmarks/train/booster_references.py."))
    var exportBooster: String?

    func validate() throws {
        guard (0...(1 << 20)).contains(evictKB) else { throw ValidationError("--evict-kb must be 0 to 1048576 KiB (1 GiB), not \(evictKB)") }
        // 0 rows wrote inf rows/s into the JSON (a Foundation error), 0 repeats or chunk rows
        // an empty result, and 10^11 rows a crash allocating 800 GB.
        guard (1...10_000_000).contains(rows) else { throw ValidationError("--rows must be 1 to 10000000, not \(rows)") }
        guard (1...1_000_000).contains(repeats) else { throw ValidationError("--repeats must be 1 to 1000000, not \(repeats)") }
        guard (1...1_000_000).contains(chunkRows) else { throw ValidationError("--chunk-rows must be 1 to 1000000, not \(chunkRows)") }
        var isFolder: ObjCBool = false
        if let exportBooster, FileManager.default.fileExists(atPath: exportBooster, isDirectory: &isFolder), !isFolder.boolValue {
            throw ValidationError("--export-booster \(exportBooster) is not a folder: name a folder (it is made if missing)")
        }
    }

    func run() throws {
        try runReportingErrors {
            if let problem = TreeWalk.environmentProblem { FileHandle.standardError.write(Data("warning: \(problem); using \(TreeWalk.selected.rawValue)\n".utf8)) }
            let loaded = try ReadmitModel.load(path: model)
            let (_, tables) = try source.load()
            let data = try PreparedData(tables: tables)
            let cohort = data.cohort
            let test = cohort.rows.indices.filter { cohort.isTest[$0] }.map { cohort.rows[$0] }
            guard !test.isEmpty else { throw ValidationError("the data has no encounter in the test split to score") }
            let all = FeatureEncoder.encode(raw: data.raw, spec: tables.spec, schema: loaded.schema)
            let x = all.selecting(rows: (0..<rows).map { test[$0 % test.count] })
            let boosterInput = try x.values.withUnsafeBufferPointer { f in try loaded.boosterInput(f, rows: rows) }
            if let exportBooster { try export(loaded, boosterInput, rows: rows, to: exportBooster) }
            var risk = [Double](repeating: 0, count: rows), atyp = risk
            var tier = [UInt8](repeating: 0, count: rows)
            // Thread CPU time, not wall time: on a shared machine, time spent waiting for a core
            // is not the scorer's cost. (Wall time is reported alongside.)
            func cpuNow() -> Double {
                var t = timespec()
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
                return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
            }
            // A buffer written before each timed call when --evict-kb asks for cold caches (a
            // lone request's daemon has slept, and other processes have run, since its last one).
            var evict = [UInt8](repeating: 1, count: evictKB * 1024)
            var evicted = 0
            func evictCaches() {
                evict.withUnsafeMutableBufferPointer { p in
                    var i = 0
                    while i < p.count { p[i] &+= 1; evicted &+= Int(p[i]); i += 64 }
                }
            }
            // Each interval reads the wall clock inside the thread-CPU one: reading the thread's
            // CPU clock is a system call (0.6 us on this VM, against 23 ns for the wall clock),
            // which a one-row figure would otherwise include. What an empty interval measures
            // (the timers' own cost) is taken off every interval and reported.
            func interval(_ body: () throws -> Void) rethrows -> (cpu: Double, wall: Double) {
                let c = cpuNow()
                let start = ContinuousClock.now
                try body()
                let d = ContinuousClock.now - start
                let cpu = cpuNow() - c
                return (cpu, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
            }
            let empty = (0..<1001).map { _ in interval {} }
            let timerCPU = empty.map(\.cpu).sorted()[500], timerWall = empty.map(\.wall).sorted()[500]
            var cpu: [String: [Double]] = [:], wall: [String: [Double]] = [:]
            func time(_ key: String, _ body: () throws -> Void) rethrows {
                if !evict.isEmpty { evictCaches() }
                let taken = try interval(body)
                cpu[key, default: []].append(taken.cpu - timerCPU)
                wall[key, default: []].append(taken.wall - timerWall)
            }
            // Every walk the CPU supports, alternated (the order reversed every other repeat),
            // on the same rows; their outputs must agree to the bit.
            let walks = TreeWalk.supported
            var reference: (forest: [Double], margins: [Double], risk: [Double])? = nil
            var identical = true
            var checksum = 0.0
            for repeatIndex in 0..<max(1, repeats) {
                for walk in repeatIndex % 2 == 0 ? walks : walks.reversed() {
                    let name = walk.rawValue
                    var forest: [Double] = [], margins: [Double] = []
                    try x.values.withUnsafeBufferPointer { f in
                        try time("isolation_forest.\(name)") { forest = try loaded.isolationForestScores(f, rows: rows, walk: walk, chunkRows: chunkRows) }
                        boosterInput.withUnsafeBufferPointer { input in
                            time("booster.\(name)") { margins = loaded.treeMargins(input, rows: rows, walk: walk, chunkRows: chunkRows) }
                        }
                        try risk.withUnsafeMutableBufferPointer { r in try atyp.withUnsafeMutableBufferPointer { a in try tier.withUnsafeMutableBufferPointer { t in
                            try time("risk_model.\(name)") { try loaded.score(f, rows: rows, risk: r, atypicality: a, tier: t, walk: walk, chunkRows: chunkRows) }
                        } } }
                    }
                    checksum += forest.reduce(0, +) + risk.reduce(0, +)
                    if let reference {
                        let same = zip(reference.forest, forest).allSatisfy { $0.bitPattern == $1.bitPattern }
                            && zip(reference.margins, margins).allSatisfy { $0.bitPattern == $1.bitPattern }
                            && zip(reference.risk, risk).allSatisfy { $0.bitPattern == $1.bitPattern }
                        identical = identical && same
                    } else {
                        reference = (forest, margins, risk)
                    }
                }
            }
            func median(_ v: [Double]?) -> Double { guard let v, !v.isEmpty else { return .nan }; let s = v.sorted(); return s[s.count / 2] }
            let boosterTrees = loaded.boosterTreeCount, forestTrees = loaded.parameters.forest.treeCount
            var perWalk: [String: Any] = [:]
            for walk in walks {
                let name = walk.rawValue
                let f = median(cpu["isolation_forest.\(name)"]), b = median(cpu["booster.\(name)"]), m = median(cpu["risk_model.\(name)"])
                perWalk[name] = [
                    "isolation_forest_seconds_median": f, "isolation_forest_rows_per_second": Double(rows) / f,
                    "isolation_forest_ns_per_row_per_tree": f / Double(rows) / Double(forestTrees) * 1e9,
                    "booster_seconds_median": b, "booster_rows_per_second": Double(rows) / b,
                    "booster_ns_per_row_per_tree": b / Double(rows) / Double(boosterTrees) * 1e9,
                    "risk_model_seconds_median": m, "risk_model_rows_per_second": Double(rows) / m,
                    "risk_model_wall_seconds_median": median(wall["risk_model.\(name)"]),
                ] as [String: Any]
            }
            let selected = TreeWalk.selected.rawValue
            let object: [String: Any] = [
                "rows": rows, "repeats": repeats, "threads": 1, "booster_trees": boosterTrees, "isolation_forest_trees": forestTrees,
                "chunk_rows": chunkRows, "evict_kb": evictKB,
                "timer_overhead_seconds": ["thread_cpu": timerCPU, "wall": timerWall] as [String: Any],
                "clock": "thread CPU time (CLOCK_THREAD_CPUTIME_ID); wall-clock medians alongside; each less the median of an empty interval (timer_overhead_seconds)",
                "tree_walk": selected, "tree_walks": perWalk, "tree_walks_bit_identical": identical,
                "isolation_forest_wall_seconds_median": median(wall["isolation_forest.\(selected)"]),
                "risk_model_wall_seconds_median": median(wall["risk_model.\(selected)"]),
                "isolation_forest_seconds_median": median(cpu["isolation_forest.\(selected)"]),
                "isolation_forest_rows_per_second": Double(rows) / median(cpu["isolation_forest.\(selected)"]),
                "risk_model_seconds_median": median(cpu["risk_model.\(selected)"]),
                "risk_model_rows_per_second": Double(rows) / median(cpu["risk_model.\(selected)"]),
                "checksum": checksum, "evict_sum": evicted,  // the sum keeps the eviction writes from being optimised away
            ]
            let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: json, as: UTF8.self))
            guard identical else { throw ValidationError("the tree walks disagree (\(walks.map(\.rawValue).joined(separator: ", "))): a bug") }
        }
    }

    /// Writes the booster (the model file's own bytes), its input rows and the selected walk's
    /// margins of them, so XGBoost and tl2cgen are timed on the same trees and rows and checked
    /// against the same margins (`benchmarks/train/booster_references.py`).
    private func export(_ loaded: ReadmitModel, _ input: [Double], rows: Int, to folder: String) throws {
        let width = loaded.boosterWidth
        let margins = input.withUnsafeBufferPointer { loaded.treeMargins($0, rows: rows, walk: .selected) }
        func littleEndianBytes(_ values: [Double]) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(values.count * 8)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            return bytes
        }
        let shapes: [String: Any] = [
            "rows": rows, "columns": width, "booster_trees": loaded.boosterTreeCount, "tree_walk": TreeWalk.selected.rawValue,
            "files": ["booster": "booster.ubj", "input": "booster_input.f64", "margins": "booster_margins.f64"],
        ]
        let folderURL = URL(fileURLWithPath: folder)
        do {
            try FileManager.default.createDirectory(at: folderURL, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--export-booster \(folder): the folder cannot be made (\(error.localizedDescription))")
        }
        try OutputFile.write(bytes: loaded.parameters.boosterBytes, to: folderURL.appendingPathComponent("booster.ubj").path)
        try OutputFile.write(bytes: littleEndianBytes(input), to: folderURL.appendingPathComponent("booster_input.f64").path)
        try OutputFile.write(bytes: littleEndianBytes(margins), to: folderURL.appendingPathComponent("booster_margins.f64").path)
        let json = try JSONSerialization.data(withJSONObject: shapes, options: [.prettyPrinted, .sortedKeys])
        try OutputFile.write(bytes: Array(json), to: folderURL.appendingPathComponent("booster_export.json").path)
    }
}
