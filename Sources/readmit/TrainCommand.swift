import ArgumentParser
import Foundation
import ReadmitCore
import ReadmitReport

/// `readmit train`: the main job.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the readmission model and write the report, metrics.json and model.readmit.",
        discussion: """
            Reads the tables a dataset spec declares (docs/DATASET_SPEC.md; default: the shipped Diabetes \
            130 spec), builds the cohort (exclusions, label and split as the spec says), learns the features \
            from the training patients, fits the isolation forest, the per-feature detector and the calibrated \
            XGBoost risk model, evaluates everything on the test patients, and writes DIR/report.html, \
            DIR/plots/, DIR/metrics.json and DIR/model.readmit (which carries the spec). Only a regular \
            file is ever replaced: a link or folder in the place of an output stops the run before training. \
            An earlier run's report.html and plots (DIR/plots/ SVGs and PNGs named as the report names them) \
            that this run does not write (all of them with --no-report) are removed, so the report beside a \
            model is always its own; no other file is touched.
            """
    )

    @OptionGroup var source: DatasetOptions

    @Option(name: .long, help: "Output directory.")
    var out: String = "output"

    @Option(name: .long, help: "Seed of every random choice; the same seed gives the same model.")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Threads for training, 1 to 1024 (default: the machine's cores).")
    var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// The most `--threads`: far past any machine's cores, and well below what breaks a
    /// thread pool.
    static let maxThreads = 1024

    @Option(name: .customLong("history-withheld-share"),
            help: "Share of training encounters added again with their history withheld (unknown history is then a state the model has seen); 0 disables.")
    var historyWithheldShare: Double = TrainingOptions().historyWithheldShare

    @Option(name: .customLong("booster-grid"),
            help: "Booster settings to try on the validation patients instead of the default grid: comma-separated depth:min_child_weight[:eta[:subsample[:colsample_bytree[:lambda]]]].")
    var boosterGrid: String?

    @Flag(name: .long, help: "A fast run (one hyperparameter set, fewer rounds): for tests, not for use.")
    var quick = false

    @Flag(name: .long, help: "Skip the feature-group ablation (the booster retrained without each group the spec's report.ablation declares).")
    var noAblation = false

    @Flag(name: .long, help: "Skip the HTML report and plots (metrics.json and the model are still written).")
    var noReport = false

    @OptionGroup var global: GlobalOptions

    /// Makes `path` and its missing parents (mkdir -p); nil on success, else why not, naming
    /// the part of the path that is in the way. By hand because Foundation's createDirectory
    /// reports only an opaque NSCocoaErrorDomain code for the common cases.
    static func makeFolder(_ path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 {
                let code = errno
                var st = stat()
                if code == EEXIST, stat(prefix, &st) == 0 {
                    if (st.st_mode & S_IFMT) == S_IFDIR { continue }
                    return "Not a directory (\(prefix) is a file)"
                }
                return "\(String(cString: strerror(code))) (\(prefix))"
            }
        }
        return nil
    }

    /// The first of the outputs with a fixed name that could not be written because something
    /// other than a regular file is in its place (a link, a folder, a device), or nil. Checked
    /// before training: the writes refuse such a path anyway, but only after minutes of work
    /// and with the outputs before it already replaced.
    static func blockedOutput(in folder: String, report: Bool) -> String? {
        var st = stat()
        for name in ["model.readmit", "metrics.json"] + (report ? ["report.html"] : [])
        where lstat(folder + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            return "\(folder)/\(name): refusing to replace it: not a regular file (a directory, device or link)"
        }
        if report, lstat(folder + "/plots", &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR {
            return "\(folder)/plots: the plots go in a folder of this name, and something else is there"
        }
        return nil
    }

    /// Removes what an earlier run's report left in `folder` that this run did not write: its
    /// `report.html` (this run has `--no-report`) and plots it no longer draws (another spec's
    /// features, PNG copies not made again). Left there, they described another model beside
    /// this run's model file and metrics. Only regular files of the report's own names go
    /// (`report.html`, and in `plots/` the SVGs and PNGs named as a report's plots are,
    /// ``ReportWriter/isPlotName(_:)``); `plots/` goes too when that empties it.
    /// Returns the paths removed.
    static func removeStaleReport(in folder: String, keeping written: Set<String>) -> [String] {
        var removed: [String] = []
        func removeIfStale(_ path: String) {
            var st = stat()
            guard !written.contains(path), lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, unlink(path) == 0 else { return }
            removed.append(path)
        }
        removeIfStale(folder + "/report.html")
        let plots = folder + "/plots"
        if let names = try? FileManager.default.contentsOfDirectory(atPath: plots) {
            for name in names.sorted() where name.hasSuffix(".svg") || name.hasSuffix(".png") {
                if ReportWriter.isPlotName(String(name.dropLast(4))) { removeIfStale(plots + "/" + name) }
            }
            if (try? FileManager.default.contentsOfDirectory(atPath: plots))?.isEmpty == true { rmdir(plots) }
        }
        return removed
    }

    func run() throws {
        try runReportingErrors {
            let console = Console(label: "readmit.train", level: global.logLevel, totalSteps: 8)
            // The output folder is made (or found) before training, so a bad --out fails at once
            // with its path, not after minutes of work with a Foundation error dump.
            let outDir = URL(fileURLWithPath: out)
            if let problem = Self.makeFolder(outDir.path) {
                throw ValidationError("--out \(out): cannot make the output folder: \(problem)")
            }
            guard access(out, W_OK) == 0 else { throw ValidationError("--out \(out): the output folder is not writable") }
            if let blocked = Self.blockedOutput(in: outDir.path, report: !noReport) {
                throw ValidationError("--out \(out): \(blocked)")
            }
            // Options are checked before the data is read: a typo fails at once.
            guard (0...1).contains(historyWithheldShare) else { throw ValidationError("--history-withheld-share must be between 0 and 1") }
            // 0 was raised to 1 unannounced; 100000 crashed XGBoost's thread pool (SIGSEGV).
            guard (1...Self.maxThreads).contains(threads) else {
                throw ValidationError("--threads must be from 1 to \(Self.maxThreads), not \(threads) (this machine has \(ProcessInfo.processInfo.activeProcessorCount) cores)")
            }
            var grid: [BoosterSetting]?
            if let boosterGrid {
                do {
                    grid = try BoosterSetting.parsedGrid(boosterGrid)
                } catch {
                    throw ValidationError("--booster-grid \(boosterGrid): \(error)")
                }
            }
            let start = ContinuousClock.now
            let (specPath, tables) = try source.load()
            let loading = ContinuousClock.now - start
            var options = TrainingOptions()
            options.seed = seed
            options.quick = quick
            options.ablation = !noAblation
            options.threads = threads
            options.historyWithheldShare = historyWithheldShare
            options.boosterGrid = grid
            console.logger.info("training on \(tables.encounters.file) through \(specPath)")
            let result = try TrainingPipeline.run(tables: tables, options: options, progress: console.progress)
            console.finishProgress()

            let clock = ContinuousClock()
            var mark = clock.now
            var stages = result.stageSeconds
            // The tables were read before the pipeline: their time belongs to its "read" stage.
            if !stages.isEmpty { stages[0].1 += Double(loading.components.seconds) + Double(loading.components.attoseconds) * 1e-18 }
            func stage(_ name: String) {
                let d = clock.now - mark
                stages.append((name, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18))
                mark = clock.now
            }
            let modelPath = outDir.appendingPathComponent("model.readmit").path
            try ModelFile.write(result.modelFile, to: modelPath)
            stage("model file")
            var reportFiles: Set<String> = []
            if !noReport {
                let written = try ReportWriter.write(ReportBuilder.input(result), to: outDir)
                stage("report")
                let (pngs, refused) = PNGExport.convert(written.filter { $0.pathExtension == "svg" })
                for reason in refused { console.logger.warning("PNG copy not written: \(reason)") }
                if pngs.isEmpty && refused.isEmpty { console.logger.info("PNG copies of the plots skipped (rsvg-convert not found; the SVGs are complete)") }
                stage("png copies")
                reportFiles = Set(written.map(\.path) + pngs.map(\.path))
            }
            let stale = Self.removeStaleReport(in: outDir.path, keeping: reportFiles)
            if !stale.isEmpty {
                console.logger.info("removed \(stale.count) file(s) of an earlier run's report that this run did not write: \(stale.prefix(3).joined(separator: ", "))\(stale.count > 3 ? ", ..." : "")")
            }
            let total = ContinuousClock.now - start
            stages.append(("total", Double(total.components.seconds) + Double(total.components.attoseconds) * 1e-18))
            try MetricsJSON.write(result, stages: stages, to: outDir.appendingPathComponent("metrics.json"))

            console.print(Summary.render(result))
            console.print()
            console.print("Stage times (s): " + stages.map { "\($0.0) \(Format.f($0.1, 2))" }.joined(separator: ", "))
            console.print("Wrote \(modelPath) (model id \(result.parameters.metadata.modelID)), "
                + "\(outDir.appendingPathComponent("metrics.json").path)" + (noReport ? "" : ", \(outDir.appendingPathComponent("report.html").path)"))
        }
    }
}
