import Foundation
import ReadmitCore
import ReadmitSpec
import XCTest

/// Runs the real `readmit` executable (READMIT_BIN, or the release/debug build in .build).
final class CLITests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The Diabetes 130 data: a user's copy in data/diabetes130/, else ../shared/data/diabetes130/.
    static let dataPath: String = {
        let local = root.appendingPathComponent("data/diabetes130/diabetic_data.csv.gz").path
        if FileManager.default.fileExists(atPath: local) { return local }
        return root.deletingLastPathComponent().appendingPathComponent("shared/data/diabetes130/diabetic_data.csv.gz").path
    }()
    static let specPath = root.appendingPathComponent("data/diabetes130/dataset.yaml").path
    static let mimicSpecPath = root.appendingPathComponent("data/mimic-iv-demo/dataset.yaml").path

    static var binary: String? {
        // READMIT_BIN wins (the test stage sets it to the release build it just made).
        if let env = ProcessInfo.processInfo.environment["READMIT_BIN"], FileManager.default.isExecutableFile(atPath: env) { return env }
        // The newer of the two builds, so that a stale release binary is not tested by mistake.
        let built = ["release", "debug"].map { root.appendingPathComponent(".build/\($0)/readmit").path }
            .filter { FileManager.default.isExecutableFile(atPath: $0) }
        func modified(_ p: String) -> Date { ((try? FileManager.default.attributesOfItem(atPath: p))?[.modificationDate] as? Date) ?? .distantPast }
        return built.max { modified($0) < modified($1) }
    }

    struct Run { var status: Int32; var stdout: String; var stderr: String }

    func run(_ args: [String], standardInput: Data? = nil) throws -> Run {
        let bin = try XCTUnwrap(Self.binary, "build the readmit executable first (swift build)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        let input = standardInput.map { _ in Pipe() }
        if let input { p.standardInput = input }
        try p.run()
        if let input, let standardInput {
            DispatchQueue.global().async {
                input.fileHandleForWriting.write(standardInput)
                try? input.fileHandleForWriting.close()
            }
        }
        // Both pipes at once: a large stderr (an error quoting a huge field) must not block the child.
        nonisolated(unsafe) var e = Data()
        let errorRead = DispatchGroup()
        errorRead.enter()
        DispatchQueue.global().async { e = err.fileHandleForReading.readDataToEndOfFile(); errorRead.leave() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        errorRead.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("readmit-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The header plus the first `rows` data lines of the shipped data (CRLF kept).
    func subset(_ rows: Int) throws -> [String] {
        let text = String(decoding: try CompressedFile.readAll(path: Self.dataPath), as: UTF8.self)
        return Array(text.components(separatedBy: "\r\n").prefix(rows + 1))
    }

    /// The shipped Diabetes 130 spec with one edit, its `search` pointing at the data, written
    /// as `dir/name`; returns its path.
    func editedSpec(replacing target: String, with replacement: String, as name: String, in dir: URL) throws -> String {
        var text = try String(contentsOfFile: Self.specPath, encoding: .utf8)
        text = text.replacingOccurrences(of: target, with: replacement)
        text = text.replacingOccurrences(of: #"search: ["../../../shared/data/diabetes130"]"#,
                                         with: "search: [\"\(URL(fileURLWithPath: Self.dataPath).deletingLastPathComponent().path)\"]")
        let spec = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: spec))
        return spec
    }

    /// The fixture model file: env `READMIT_TEST_MODEL`, else `.build/fixtures/model.readmit`.
    func fixtureModel() throws -> String {
        try XCTUnwrap(ProcessInfo.processInfo.environment["READMIT_TEST_MODEL"].flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            ?? { () -> String? in
                let p = Self.root.appendingPathComponent(".build/fixtures/model.readmit").path
                return FileManager.default.fileExists(atPath: p) ? p : nil
            }(), "no fixture model (scripts/tests/00-build.sh trains one)")
    }

    func write(_ lines: [String], _ name: String, _ dir: URL) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data((lines.joined(separator: "\r\n") + "\r\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Training on bad input fails with the file, line and column, a non-zero status, and no model file.
    /// A run's outputs are one set: an earlier run's report.html and plots this run did not
    /// write are removed (a --no-report run left the old report beside the new model), and
    /// nothing else in the folder is touched.
    func testAnEarlierReportDoesNotOutliveItsRun() throws {
        let dir = temporaryDirectory()
        let data = try write(try subset(300), "train.csv", dir)
        let out = dir.appendingPathComponent("out").path
        XCTAssertEqual(try run(["train", "--data", data, "--out", out, "--quick", "--no-ablation"]).status, 0)
        let fm = FileManager.default
        XCTAssertTrue(fm.fileExists(atPath: out + "/plots/roc.svg"))
        try "<svg/>".write(toFile: out + "/plots/feature_gone.svg", atomically: true, encoding: .utf8)
        try "mine".write(toFile: out + "/plots/notes.txt", atomically: true, encoding: .utf8)
        try "<svg/>".write(toFile: out + "/plots/my_sketch.svg", atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(["train", "--data", data, "--out", out, "--quick", "--no-ablation"]).status, 0)
        XCTAssertFalse(fm.fileExists(atPath: out + "/plots/feature_gone.svg"))
        XCTAssertTrue(fm.fileExists(atPath: out + "/plots/roc.svg") && fm.fileExists(atPath: out + "/report.html"))
        let bare = try run(["train", "--data", data, "--out", out, "--quick", "--no-ablation", "--no-report"])
        XCTAssertEqual(bare.status, 0)
        XCTAssertTrue(bare.stderr.contains("removed") && bare.stderr.contains("earlier run's report"), bare.stderr)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out).sorted(), ["metrics.json", "model.readmit", "plots"])
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out + "/plots").sorted(), ["my_sketch.svg", "notes.txt"])
    }

    func testTrainRejectsBadInputClearly() throws {
        let dir = temporaryDirectory()
        var lines = try subset(50)
        let out = dir.appendingPathComponent("out").path
        func assertFails(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try run(["train", "--data", path, "--out", out, "--quick"])
            XCTAssertNotEqual(r.status, 0, file: file, line: line)
            XCTAssertTrue(r.stderr.contains(expected), "stderr: \(r.stderr)", file: file, line: line)
            XCTAssertFalse(r.stderr.contains("Fatal error"), file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model.readmit"), file: file, line: line)
        }
        try assertFails(dir.appendingPathComponent("missing.csv").path, "missing.csv: data file not found")
        // The name people type for the shipped `diabetic_data.csv.gz`: the file that is there is named.
        let gz = try write([lines[0], lines[1]], "extract.csv.gz", dir)
        try assertFails(dir.appendingPathComponent("extract.csv").path, "extract.csv: data file not found; there is '\(gz)': give that path")
        let scored = try run(["score", "--model", try fixtureModel(), "--records", dir.appendingPathComponent("extract.csv").path, "--out", "-"])
        XCTAssertEqual(scored.status, 1)
        XCTAssertTrue(scored.stderr.contains("extract.csv: cannot open file (does it exist and is it readable?); there is '\(gz)': give that path"), scored.stderr)
        try assertFails(try write([], "empty.csv", dir), "empty.csv: file is empty")
        try assertFails(try write([lines[0]], "header-only.csv", dir), "header-only.csv: file has a header but no data rows")
        let noLabel = lines.map { $0.components(separatedBy: ",").dropLast().joined(separator: ",") }
        try assertFails(try write(noLabel, "nolabel.csv", dir), "nolabel.csv:1: column 'readmitted': column 'readmitted' (spec key label.column) is not in the header")
        var fields = lines[3].components(separatedBy: ",")
        fields[9] = "three"  // time_in_hospital
        lines[3] = fields.joined(separator: ",")
        try assertFails(try write(lines, "badnumber.csv", dir), "badnumber.csv:4: column 'time_in_hospital': 'three' is not a number")
        lines = try subset(50)
        fields = lines[5].components(separatedBy: ",")
        fields[49] = "soon"
        lines[5] = fields.joined(separator: ",")
        try assertFails(try write(lines, "badlabel.csv", dir), "badlabel.csv:6: column 'readmitted': label value 'soon' is neither positive (<30) nor negative (NO, >30)")
        // A cohort too small for each stage to see both outcomes: training wrote a model whose
        // risk was one constant (test ROC AUC 0.5000, interval 0.5000-0.5000); now it refuses,
        // naming the stage, and `check` says the same.
        let small = try write(try subset(200), "small.csv", dir)
        let tooSmall = "small.csv: the cohort is too small to train on: the validation patients of the training split hold 15 encounters, none readmitted; both outcomes are needed to choose the booster's rounds (cohort: 193 encounters, 16 readmitted;"
        try assertFails(small, tooSmall)
        let smallCheck = try run(["check", "--data", small])
        XCTAssertEqual(smallCheck.status, 1, smallCheck.stderr)
        XCTAssertTrue(smallCheck.stdout.contains(tooSmall), smallCheck.stdout)
        // An --out that cannot be a folder fails before training, naming it (not a Foundation dump).
        let blocker = try write(["x"], "a-file", dir)
        let r = try run(["train", "--data", try write(try subset(50), "ok.csv", dir), "--out", blocker + "/sub", "--quick"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--out \(blocker)/sub: cannot make the output folder: Not a directory (\(blocker) is a file)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain") || r.stderr.contains("training on"), r.stderr)
        // An output that is not a regular file (here a link) stops the run before training,
        // with nothing replaced: it used to fail after the model and the report were written.
        let linked = dir.appendingPathComponent("linked").path
        try FileManager.default.createDirectory(atPath: linked, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: linked + "/metrics.json", withDestinationPath: blocker)
        let link = try run(["train", "--data", try write(try subset(50), "ok.csv", dir), "--out", linked, "--quick"])
        XCTAssertNotEqual(link.status, 0)
        XCTAssertTrue(link.stderr.contains("--out \(linked): \(linked)/metrics.json: refusing to replace it: not a regular file"), link.stderr)
        XCTAssertFalse(link.stderr.contains("training on"), link.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: linked), ["metrics.json"])
        // A bad --booster-grid names the item and the field, before anything is read.
        let grid = try run(["train", "--data", try write(try subset(50), "ok.csv", dir), "--out", out, "--booster-grid", "4:5,5:x"])
        XCTAssertNotEqual(grid.status, 0)
        XCTAssertTrue(grid.stderr.contains("--booster-grid 4:5,5:x: item 2 of 2: '5:x': min_child_weight 'x' is not a whole number"), grid.stderr)
        XCTAssertFalse(grid.stderr.contains("training on"), grid.stderr)
        // --threads out of range (100000 crashed XGBoost's thread pool; 0 became 1 unannounced).
        for threads in ["0", "100000"] {
            let r = try run(["train", "--data", try write(try subset(50), "ok.csv", dir), "--out", out, "--threads", threads])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("--threads must be from 1 to 1024, not \(threads)"), r.stderr)
            XCTAssertFalse(r.stderr.contains("training on"), r.stderr)
        }
    }

    func testEveryCommandHasHelp() throws {
        for command in ["train", "check", "evaluate", "recalibrate", "inspect", "score", "encode", "history", "keys", "benchmark-scoring"] {
            let r = try run([command, "--help"])
            XCTAssertEqual(r.status, 0, command)
            XCTAssertTrue(r.stdout.contains("USAGE"), command)
            // A discussion's line breaks are Swift's `\` continuations; a doubled one printed a
            // literal backslash mid-sentence (check, encode and history did).
            XCTAssertFalse(r.stdout.contains("\\"), "\(command) --help prints a backslash:\n\(r.stdout)")
        }
    }

    /// `readmit score` writes numbers that read back to the in-process scores exactly, puts a bad
    /// row's message in `error`, and scores the others.
    func testScoreWritesExactNumbersAndPerRowErrors() throws {
        let dir = temporaryDirectory()
        let modelPath: String
        if let fixture = ProcessInfo.processInfo.environment["READMIT_TEST_MODEL"], FileManager.default.fileExists(atPath: fixture) {
            modelPath = fixture
        } else {
            let train = try run(["train", "--data", try write(try subset(6000), "train.csv", dir), "--out", dir.path, "--quick", "--no-report"])
            XCTAssertEqual(train.status, 0, train.stderr)
            modelPath = dir.appendingPathComponent("model.readmit").path
        }
        var lines = try subset(200)
        var fields = lines[7].components(separatedBy: ",")
        fields[12] = "12x"  // num_lab_procedures
        lines[7] = fields.joined(separator: ",")
        let input = try write(lines, "score.csv", dir)
        let output = dir.appendingPathComponent("scores.csv").path
        let r = try run(["score", "--model", modelPath, "--data", input, "--history", "derive", "--out", output])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { $0.components(separatedBy: ",") }
        XCTAssertEqual(rows[0], ["encounter_id", "risk", "atypicality", "tier", "unusual_features", "error"])
        XCTAssertEqual(rows.count, 201)
        XCTAssertTrue(rows[7][5].contains("line 8") && rows[7][5].contains("num_lab_procedures"), rows[7].joined(separator: ","))
        XCTAssertEqual(rows[7][1], "")

        // In-process scores of the same rows (the bad row's value is missing there, so compare the others).
        let model = try ReadmitModel.load(path: modelPath)
        let tables = try DatasetTables(spec: model.parameters.dataset, folders: [], encountersFile: input)
        let x = try EncodedRows(tables: tables, schema: model.schema, requireLabel: false, strict: false).matrix
        let scores = try model.score(x)
        let (risk, atyp, tier) = (scores.risk, scores.atypicality, scores.tier)
        // Stays the cohort excludes (died, hospice: discharge_disposition_id, column 7) are not
        // scored: an `excluded` error naming the line, the column and the reason.
        let excluded = Set((0..<200).filter { ["11", "13", "14", "19", "20"].contains(lines[$0 + 1].components(separatedBy: ",")[7]) })
        XCTAssertFalse(excluded.isEmpty, "the first 200 rows hold stays the cohort excludes")
        for i in excluded {
            XCTAssertEqual(rows[i + 1][1], "")
            XCTAssertTrue(rows[i + 1][5].contains("line \(i + 2): column 'discharge_disposition_id'")
                          && rows[i + 1][5].contains("is excluded from the model's cohort"), rows[i + 1].joined(separator: ","))
        }
        for i in 0..<200 where i != 6 && !excluded.contains(i) {
            XCTAssertEqual(Double(rows[i + 1][1])?.bitPattern, risk[i].bitPattern, "row \(i)")
            XCTAssertEqual(Double(rows[i + 1][2])?.bitPattern, atyp[i].bitPattern, "row \(i)")
            XCTAssertEqual(rows[i + 1][3], model.tierNames[Int(tier[i])])
            XCTAssertEqual(rows[i + 1][4].split(separator: ";").count, 3)
            XCTAssertTrue(rows[i + 1][4].split(separator: ";").allSatisfy { model.schema.index(of: String($0)) != nil })
            XCTAssertEqual(rows[i + 1][5], "")
        }
        // Without the label column, history derived by the CLI says what HISTORY says
        // (label_absent): count_positive is unknown after a patient's first stay. It said nothing.
        let unlabelled = try write(lines.map { $0.components(separatedBy: ",").dropLast().joined(separator: ",") }, "unlabelled.csv", dir)
        let says = "label field 'readmitted' is absent: the history features read from it (count_positive"
        let scored = try run(["score", "--model", modelPath, "--data", unlabelled, "--history", "derive", "--out", output])
        XCTAssertEqual(scored.status, 0, scored.stderr)
        XCTAssertTrue(scored.stderr.contains(says), scored.stderr)
        let derived = try run(["history", "--model", modelPath, "--data", unlabelled, "--out", dir.appendingPathComponent("flat.csv").path])
        XCTAssertEqual(derived.status, 0, derived.stderr)
        XCTAssertTrue(derived.stderr.contains("warning: " + says), derived.stderr)
        XCTAssertFalse(r.stderr.contains(says), r.stderr)
    }

    /// A subgroup by a column the model does not read: a misnamed column, or one of ids, stops
    /// `check` and `train` before anything is trained, naming the spec key; a patients-table
    /// column is read through the patient; `evaluate` breaks its figures down the same way.
    /// `draft-spec` reads an extract into a spec `check` accepts: on Diabetes 130 the roles,
    /// label, kinds and the columns left out that the shipped spec has by hand; on the MIMIC
    /// demo's admissions the times, the label from them, the exclusions a column states in
    /// words, a provider id left out, and a model trained on it. Bad names are refused naming
    /// what the data holds, and the output is never one of the inputs.
    func testDraftSpecReadsAnExtractIntoASpecCheckAccepts() throws {
        let dir = temporaryDirectory()
        let diabetes = dir.appendingPathComponent("diabetes.yaml").path
        let drafted = try run(["draft-spec", "--data", Self.dataPath, "--label", "readmitted", "--positive", "<30", "--out", diabetes])
        XCTAssertEqual(drafted.status, 0, drafted.stderr)
        let text = try String(contentsOfFile: diabetes, encoding: .utf8)
        for line in ["  missing: [\"?\"]", "  encounter_id: \"encounter_id\"", "  patient_id: \"patient_nbr\"", "  order: \"encounter_id\"",
                     "  negative: [\"NO\", \">30\"]",
                     "  - {name: \"age\", kind: ordinal, column: \"age\", levels: [\"[0-10)\", \"[10-20)\", \"[20-30)\"",
                     "  - {name: \"admission_type_id\", kind: categorical, column: \"admission_type_id\"}",
                     "  - {name: \"time_in_hospital\", kind: numeric, column: \"time_in_hospital\"}",
                     "  - {name: \"diag_1_chapter\", kind: diagnosis, column: \"diag_1\", system: icd9, grouping: chapter}",
                     "  - {name: \"medical_specialty\", kind: categorical, column: \"medical_specialty\", min_count: 100, other: Other}",
                     "  # examide: \"No\" in every row that has it: says nothing, left out",
                     "    - {feature: \"gender\"}"] {
            XCTAssertTrue(text.contains(line), "\(line) not in:\n\(text)")
        }
        XCTAssertFalse(text.contains("column: \"readmitted\"}"), "the label is not a feature")
        let checked = try run(["check", "--dataset", diabetes])
        XCTAssertEqual(checked.status, 0, checked.stdout + checked.stderr)
        XCTAssertTrue(checked.stdout.contains("No problems found"), checked.stdout)

        let mimicData = Self.root.deletingLastPathComponent().appendingPathComponent("shared/data/mimic-iv-demo").path
        let mimic = dir.appendingPathComponent("mimic.yaml").path
        XCTAssertEqual(try run(["draft-spec", "--data", mimicData + "/hosp/admissions.csv.gz", "--label-within-days", "30", "--out", mimic]).status, 0)
        let mimicText = try String(contentsOfFile: mimic, encoding: .utf8)
        for line in ["  admitted: {column: \"admittime\", format: \"%Y-%m-%d %H:%M:%S\"}", "  readmission_within_days: 30",
                     "  - {reason: died in hospital, column: \"discharge_location\", values: [\"DIED\"]}",
                     "  - {reason: discharged to hospice, column: \"discharge_location\", values: [\"HOSPICE\"]}",
                     "  # admit_provider_id: 170 distinct texts in 275 rows: an identifier or free text? left out",
                     "  # hospital_expire_flag: \"0\" in every stay the exclusions keep: says nothing, left out",
                     "  # deathtime: timestamps"] {
            XCTAssertTrue(mimicText.contains(line), "\(line) not in:\n\(mimicText)")
        }
        let out = dir.appendingPathComponent("mimic-out")
        let trained = try run(["train", "--dataset", mimic, "--out", out.path, "--quick", "--no-ablation", "--no-report"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.readmit").path))

        // Names YAML must quote, a doubled quote in a quoted header, letters outside ASCII, and
        // two columns whose feature names would clash: a spec check reads back, column for column.
        var rows = ["encounter_id,patient_id,outcome,a: b,\"x\"\"y\",é,a_b,- [z] #1"]
        for i in 0..<120 { rows.append("\(i + 1),\(i / 2 + 1),\(i % 3 == 0 ? "yes" : "no"),\(i % 2),\(i % 3 == 1 ? "\"u\"\"v\"" : "w"),\(i % 4 == 0 ? "ü" : "ß"),g\(i % 2),\(i % 5 == 0 ? "- a" : "[b]")") }
        let weird = try write(rows, "weird.csv", dir)
        let weirdSpec = dir.appendingPathComponent("weird.yaml").path
        XCTAssertEqual(try run(["draft-spec", "--data", weird, "--label", "outcome", "--positive", "yes", "--out", weirdSpec]).status, 0)
        let weirdText = try String(contentsOfFile: weirdSpec, encoding: .utf8)
        for line in ["{name: \"a__b\", kind: numeric, column: \"a: b\"}", "{name: \"x_y\", kind: categorical, column: \"x\\\"y\"}",
                     "{name: \"column_6\", kind: categorical, column: \"é\"}", "{name: \"a_b\", kind: categorical, column: \"a_b\"}",
                     "{name: \"-__z___1\", kind: categorical, column: \"- [z] #1\"}"] {
            XCTAssertTrue(weirdText.contains(line), "\(line) not in:\n\(weirdText)")
        }
        let weirdCheck = try run(["check", "--dataset", weirdSpec])
        XCTAssertEqual(weirdCheck.status, 0, weirdCheck.stdout + weirdCheck.stderr)

        // Refusals, each naming what the data holds; nothing written.
        let refused = dir.appendingPathComponent("refused.yaml").path
        for (args, says) in [(["--label", "readmitted", "--positive", "<31"], "--positive <31: column readmitted never holds it (it holds: NO, >30, <30)"),
                             (["--label", "readmited", "--positive", "<30"], "--label readmited: diabetic_data.csv.gz has no such column (its header: encounter_id, patient_nbr,"),
                             (["--label", "readmitted", "--positive", "<30", "--patient-id", "encounter_id"], "--patient-id encounter_id is also the stay's id"),
                             (["--label-within-days", "30"], "--label-within-days needs the stays' admission and discharge times")] {
            let r = try run(["draft-spec", "--data", Self.dataPath, "--out", refused] + args)
            XCTAssertEqual(r.status, 1, "\(args)")
            XCTAssertTrue(r.stderr.contains(says), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: refused))
        }
        XCTAssertNotEqual(try run(["draft-spec", "--data", Self.dataPath, "--out", refused]).status, 0, "no label")
        let overInput = try run(["draft-spec", "--data", Self.dataPath, "--label", "readmitted", "--positive", "<30", "--out", Self.dataPath])
        XCTAssertEqual(overInput.status, 1)
        XCTAssertTrue(overInput.stderr.contains("writing it would replace that"), overInput.stderr)
        let folder = try run(["draft-spec", "--data", Self.dataPath, "--label", "readmitted", "--positive", "<30", "--out", dir.path])
        XCTAssertEqual(folder.status, 1)
        XCTAssertTrue(folder.stderr.contains("not a regular file"), folder.stderr)
    }

    func testSubgroupColumnsAreReadAsWrittenAndChecked() throws {
        let dir = temporaryDirectory()
        let mimicData = Self.root.deletingLastPathComponent().appendingPathComponent("shared/data/mimic-iv-demo").path
        let shipped = try String(contentsOfFile: Self.mimicSpecPath, encoding: .utf8)
        XCTAssertTrue(shipped.contains("    - {column: race}\n"))
        func spec(_ entry: String, _ name: String, renamingGender: Bool = false) throws -> String {
            let path = dir.appendingPathComponent(name).path
            var text = shipped.replacingOccurrences(of: "    - {column: race}\n", with: "    - \(entry)\n")
            if renamingGender {  // a feature and a column of one name would be one table twice
                text = text.replacingOccurrences(of: "{name: gender, kind: categorical", with: "{name: sex, kind: categorical")
                    .replacingOccurrences(of: "{feature: gender}", with: "{feature: sex}")
            }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let misnamed = try spec("{column: ethnicity}", "misnamed.yaml")
        for command in ["check", "train"] {
            let out = dir.appendingPathComponent("out-\(command)")
            let r = try run([command, "--dataset", misnamed, "--data-dir", mimicData] + (command == "train" ? ["--out", out.path, "--quick"] : []))
            XCTAssertEqual(r.status, 1, command)
            XCTAssertTrue((r.stdout + r.stderr).contains("admissions.csv.gz:1: column 'ethnicity': column 'ethnicity' (spec key report.subgroups[3].column) is not in the header"),
                          command + ": " + r.stdout + r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.readmit").path))
        }
        let ids = try run(["check", "--dataset", try spec("{column: hadm_id}", "ids.yaml"), "--data-dir", mimicData])
        XCTAssertEqual(ids.status, 1)
        XCTAssertTrue((ids.stdout + ids.stderr).contains("column 'hadm_id' (spec key report.subgroups[3].column) holds 275 distinct values; a subgroup column may hold at most 50"),
                      ids.stdout + ids.stderr)
        XCTAssertTrue((try run(["check", "--dataset", try spec("{column: gender, table: patients}", "twice.yaml"), "--data-dir", mimicData])).stderr
            .contains("key 'report.subgroups[3]': 'gender' is listed twice"))
        // The patients table's gender, through each admission's patient: the feature's groups.
        let out = dir.appendingPathComponent("patients")
        let trained = try run(["train", "--dataset", try spec("{column: gender, table: patients}\n    - {column: race}", "patients.yaml", renamingGender: true),
                               "--data-dir", mimicData, "--out", out.path, "--quick", "--no-ablation"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [String: Any]
        let subgroups = metrics?["subgroups"] as? [[String: Any]] ?? []
        XCTAssertEqual(subgroups.count, 5)
        func groups(_ s: [String: Any]) -> [String] { (s["groups"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? ""):\($0["n"] ?? ""):\($0["events"] ?? "")" } }
        XCTAssertEqual(subgroups.count > 3 ? subgroups[3]["table"] as? String : nil, "patients")
        XCTAssertEqual(subgroups.count > 3 ? groups(subgroups[3]) : [], groups(subgroups[0]))  // gender column == gender feature
        // `evaluate` on the same tables, test split: the same groups, printed and in its JSON.
        let json = dir.appendingPathComponent("evaluate.json").path
        let evaluated = try run(["evaluate", "--model", out.appendingPathComponent("model.readmit").path,
                                 "--data", mimicData + "/hosp/admissions.csv.gz", "--data-dir", mimicData, "--test-split", "--replicates", "50", "--json", json])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertTrue(evaluated.stdout.contains("by race (column): BLACK/AFRICAN AMERICAN n 12,"), evaluated.stdout)
        let external = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        let externalRace = (external?["subgroups"] as? [[String: Any]])?.first { $0["column"] as? String == "race" }
        XCTAssertEqual(externalRace.map(groups), subgroups.last.map(groups))
        // What each tier flags: every subgroup partitions the same test stays, so its groups'
        // flagged stays and flagged readmissions sum to the same totals; evaluate's are training's.
        func flags(_ s: [String: Any]) -> [[Int]] {
            (s["groups"] as? [[String: Any]] ?? []).map { g in
                (g["at_tiers"] as? [[String: Any]] ?? []).flatMap { t -> [Int] in
                    let events = g["events"] as? Int ?? 0, sensitivity = t["sensitivity"] as? Double ?? 0
                    return [t["flagged"] as? Int ?? -1, events == 0 ? 0 : Int((sensitivity * Double(events)).rounded())]
                }
            }
        }
        let totals = subgroups.map { s in flags(s).reduce([Int](repeating: 0, count: 4)) { zip($0, $1).map(+) } }
        XCTAssertEqual(flags(subgroups[0]).first?.count, 4, "medium and high, flagged and flagged readmissions")
        XCTAssertTrue(totals.allSatisfy { $0 == totals[0] } && totals[0][0] >= totals[0][2] && totals[0][2] > 0, "\(totals)")
        XCTAssertEqual(externalRace.map(flags), subgroups.last.map(flags))
        XCTAssertTrue(evaluated.stdout.contains("  flagged at high and above (risk >= "), evaluated.stdout)
        // An extract without the column (another hospital's): evaluated all the same, the
        // breakdown left out with a note naming the column.
        let admissions = String(decoding: try CompressedFile.readAll(path: mimicData + "/hosp/admissions.csv.gz"), as: UTF8.self)
        let lines = admissions.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let race = try XCTUnwrap(lines.first?.firstIndex(of: "race"))
        let noRace = try write(lines.map { fields in fields.enumerated().filter { $0.offset != race }.map { String($0.element) }.joined(separator: ",") },
                               "admissions.csv", dir)
        let noRaceJSON = dir.appendingPathComponent("no-race.json").path
        let without = try run(["evaluate", "--model", out.appendingPathComponent("model.readmit").path, "--data", noRace, "--data-dir", mimicData,
                               "--test-split", "--replicates", "20", "--json", noRaceJSON])
        XCTAssertEqual(without.status, 0, without.stderr)
        XCTAssertTrue(without.stdout.contains("note: no breakdown by this column: \(noRace):1: column 'race': column 'race' (spec key report.subgroups[4].column) is not in the header"),
                      without.stdout)
        XCTAssertTrue(without.stdout.contains("by gender (column): F n 48,") && !without.stdout.contains("by race"), without.stdout)
        let leftOut = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: noRaceJSON))) as? [String: Any])?["subgroups_left_out"] as? [[String: Any]]
        XCTAssertEqual(leftOut?.map { $0["column"] as? String }, ["race"])
        XCTAssertEqual((external?["subgroups_left_out"] as? [Any])?.count, 0)
    }

    /// `readmit check` reads both shipped specs without training and reports the cohort.
    func testCheckReportsBothShippedDatasets() throws {
        let diabetes = try run(["check", "--dataset", Self.specPath])
        XCTAssertEqual(diabetes.status, 0, diabetes.stderr)
        XCTAssertTrue(diabetes.stdout.contains("79,746 / 19,597"), diabetes.stdout)
        XCTAssertTrue(diabetes.stdout.contains("excluded: died in hospital"), diabetes.stdout)
        XCTAssertTrue(diabetes.stdout.contains("No problems found"), diabetes.stdout)
        let mimic = try run(["check", "--dataset", Self.mimicSpecPath])
        XCTAssertEqual(mimic.status, 0, mimic.stderr)
        XCTAssertTrue(mimic.stdout.contains("255 / 93"), mimic.stdout)
        // The report's subgroups over the test encounters, before training: a column's texts,
        // a feature's levels, and a note for the groups too small to say much.
        func row(_ out: String, _ name: String, _ of: String, _ groups: String) -> Bool {
            out.split(separator: "\n").contains { $0.hasPrefix(name + " ") && $0.contains(" \(of)  ") && $0.contains(groups) }
        }
        XCTAssertTrue(row(mimic.stdout, "race", "column", "BLACK/AFRICAN AMERICAN 12/4, HISPANIC/LATINO - SALVADORAN 1/0, OTHER 1/0, UNABLE TO OBTAIN 2/0, UNKNOWN 9/4, WHITE 40/12"), mimic.stdout)
        XCTAssertTrue(mimic.stdout.contains("note: subgroup 'race': 6 of its 6 groups have fewer than 20 readmissions among the test encounters (BLACK/AFRICAN AMERICAN, HISPANIC/LATINO - SALVADORAN, OTHER, UNABLE TO OBTAIN, UNKNOWN, ...)"), mimic.stdout)
        XCTAssertTrue(row(diabetes.stdout, "gender", "feature", "Female 10,558/1,182, Male 9,038/1,046, Unknown/Invalid 1/0"), diabetes.stdout)
        XCTAssertTrue(diabetes.stdout.contains("note: subgroup 'gender': 1 of its 3 groups has fewer than 20 readmissions among the test encounters (Unknown/Invalid); the report shows it with wide intervals"), diabetes.stdout)
        XCTAssertTrue(mimic.stdout.contains("match no encounter"), mimic.stdout)
        XCTAssertTrue(mimic.stdout.contains("note: 199 rows of") && mimic.stdout.contains("are timed after their stay's discharge"), mimic.stdout)
        // A label from dates without a declared end of follow-up: the stays it may mislabel are counted.
        XCTAssertTrue(mimic.stdout.contains("note: 2 cohort stays' 30-day label windows run past the latest admission in the extract (2201-12-11)"), mimic.stdout)
        XCTAssertFalse(diabetes.stdout.contains("label window"), diabetes.stdout)
        // MIMIC-IV's text result column instead of `valuenum`: its redacted `___` results are
        // counted and left out (the first one stopped the read); glucose, every result of which
        // is redacted there, is an error naming the feature.
        let textDir = temporaryDirectory()
        let mimicData = Self.root.deletingLastPathComponent().appendingPathComponent("shared/data/mimic-iv-demo").path
        let shipped = try String(contentsOfFile: Self.mimicSpecPath, encoding: .utf8).replacingOccurrences(of: "value: valuenum", with: "value: value")
        let textSpec = textDir.appendingPathComponent("text-values.yaml").path
        try shipped.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("name: glucose_last") }
            .joined(separator: "\n").write(toFile: textSpec, atomically: true, encoding: .utf8)
        let texts = try run(["check", "--dataset", textSpec, "--data-dir", mimicData])
        XCTAssertEqual(texts.status, 0, texts.stdout + texts.stderr)
        XCTAssertTrue(texts.stdout.contains("note: 646 rows of") && texts.stdout.contains("that features read have a value that is not a number (the first: line 20, '___' is not a number"), texts.stdout)
        try shipped.write(toFile: textSpec, atomically: true, encoding: .utf8)
        let glucose = try run(["check", "--dataset", textSpec, "--data-dir", mimicData])
        XCTAssertEqual(glucose.status, 1)
        XCTAssertTrue((glucose.stdout + glucose.stderr).contains("no event that feature 'glucose_last' (features[18]) reads has a number in this column (spec key events[1].value)"), glucose.stdout + glucose.stderr)
        XCTAssertFalse(diabetes.stdout.contains("no value in any cohort encounter"), diabetes.stdout)
        // A categorical feature whose min_count keeps no level: named, as a note.
        let dir = temporaryDirectory()
        let spec = try editedSpec(replacing: "{name: payer_code, kind: categorical, column: payer_code",
                                  with: "{name: payer_code, kind: categorical, column: payer_code, min_count: 1000000", as: "rare.yaml", in: dir)
        let rare = try run(["check", "--dataset", spec, "--data", try write(try subset(300), "d.csv", dir)])
        XCTAssertEqual(rare.status, 0, rare.stderr)
        XCTAssertTrue(rare.stdout.contains("note: feature 'payer_code' has no value in any cohort encounter"), rare.stdout)
        XCTAssertFalse(rare.stdout.contains("references.lace"), rare.stdout)
        // A LACE level the extract does not write never scores: named, as a note.
        let typo = try editedSpec(replacing: #"acute: {feature: admission_type_id, levels: ["1"]}"#,
                                  with: #"acute: {feature: admission_type_id, levels: ["Emergency", "1"]}"#, as: "typo.yaml", in: dir)
        let typoCheck = try run(["check", "--dataset", typo, "--data", try write(try subset(300), "d.csv", dir)])
        XCTAssertEqual(typoCheck.status, 0, typoCheck.stderr)
        XCTAssertTrue(typoCheck.stdout.contains("note: references.lace.acute.levels: 'Emergency' is not a level of 'admission_type_id' in the training split, so no stay scores points for it (its levels: 1, "), typoCheck.stdout)
        // An `other` text that is also a real value merges the rare levels into it, unannounced.
        let merged = try editedSpec(replacing: "    other: Other            #", with: "    other: Cardiology       #", as: "merged.yaml", in: dir)
        let mergedCheck = try run(["check", "--dataset", merged, "--data", try write(try subset(3000), "d3k.csv", dir)])
        XCTAssertEqual(mergedCheck.status, 0, mergedCheck.stderr)
        XCTAssertTrue(mergedCheck.stdout.contains("note: feature 'medical_specialty': other: 'Cardiology' is also a value of its column in 299 training rows, so the rare levels are merged with that level"), mergedCheck.stdout)
        XCTAssertFalse(typoCheck.stdout.contains("is also a value of its column"), typoCheck.stdout)
        let negative = try run(["check", "--dataset", spec, "--problems=-1"])
        XCTAssertNotEqual(negative.status, 0)
        XCTAssertTrue(negative.stderr.contains("--problems must be 0 or more, not -1"), negative.stderr)
    }

    /// A wrong spec fails in `check` and `train` with the spec file, line, column and key, exit
    /// code 1, and no model file; a data problem found by `check` names its file, line and column.
    func testBadSpecFailsClearlyEverywhere() throws {
        let dir = temporaryDirectory()
        let spec = try editedSpec(replacing: "  order: encounter_id", with: "  oder: encounter_id", as: "typo.yaml", in: dir)
        let out = dir.appendingPathComponent("out").path
        for args in [["check", "--dataset", spec], ["train", "--dataset", spec, "--out", out, "--quick"]] {
            let r = try run(args)
            XCTAssertEqual(r.status, 1, args[0])
            XCTAssertTrue(r.stderr.contains("typo.yaml:17:3: key 'encounters.oder': unknown key 'oder'"), r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model.readmit"))

        // A spec that is right, over data with a bad timestamp-free value: check lists the place.
        var lines = try subset(50)
        var fields = lines[3].components(separatedBy: ",")
        fields[9] = "three"
        lines[3] = fields.joined(separator: ",")
        let data = try write(lines, "bad.csv", dir)
        let r = try run(["check", "--dataset", Self.specPath, "--data", data])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("bad.csv:4: column 'time_in_hospital': 'three' is not a number"), r.stdout)
    }

    /// The second declared dataset trains end to end from the command line.
    func testMIMICDemoTrainsThroughItsSpec() throws {
        let dir = temporaryDirectory()
        let r = try run(["train", "--dataset", Self.mimicSpecPath, "--out", dir.path, "--quick"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("every figure above is uncertain"), r.stdout)
        for name in ["model.readmit", "metrics.json", "report.html"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), name)
        }
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("metrics.json"))) as? [String: Any]
        let cohort = metrics?["cohort"] as? [String: Any]
        XCTAssertEqual(cohort?["dataset"] as? String, "mimic-iv-demo")
        XCTAssertEqual(cohort?["test_encounters"] as? Int, 65)
        let ci = (metrics?["risk_model"] as? [String: Any])?["roc_auc_ci95"] as? [Double]
        XCTAssertEqual(ci?.count, 2)
        // The clinical sections are generic: the second dataset has them too.
        let risk = metrics?["risk_model"] as? [String: Any]
        XCTAssertNotNil(risk?["calibration_slope"] as? Double)
        XCTAssertEqual((risk?["calibration_slope_ci95"] as? [Any])?.count, 2)
        let curve = metrics?["decision_curve"] as? [String: Any]
        XCTAssertEqual((curve?["thresholds"] as? [Double])?.count, 46)
        XCTAssertEqual(((curve?["models"] as? [String: Any])?["risk_model"] as? [Double])?.count, 46)
        let atypicality = metrics?["atypicality_validation"] as? [String: Any]
        XCTAssertEqual((atypicality?["groups"] as? [[String: Any]])?.map { $0["n"] as? Int ?? 0 }.reduce(0, +), 65)
        XCTAssertNotNil(atypicality?["verdict"] as? String)
        // Subgroups as the spec declares them: every test encounter in one group of each.
        let subgroups = metrics?["subgroups"] as? [[String: Any]]
        // Race is not a feature of this spec: its subgroup reads the admissions table's column.
        XCTAssertEqual(subgroups?.map { ($0["feature"] ?? $0["column"]) as? String ?? "" }, ["gender", "insurance", "age", "race"])
        XCTAssertEqual(subgroups?.last?["column"] as? String, "race")
        XCTAssertEqual(subgroups?.last?["table"] as? String, "encounters")
        XCTAssertNil(subgroups?.last?["feature"])
        for s in subgroups ?? [] {
            let groups = s["groups"] as? [[String: Any]] ?? []
            XCTAssertEqual(groups.map { $0["n"] as? Int ?? 0 }.reduce(0, +), 65, "\(s["feature"] ?? s["column"] ?? "")")
            XCTAssertTrue(groups.allSatisfy { ($0["roc_auc_ci95"] as? [Any])?.count == 2 })
        }
        XCTAssertEqual((subgroups?[2]["groups"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.first, "< 45")
        // The column's texts as written, in order; the demo's test admissions hold these six.
        XCTAssertEqual((subgroups?.last?["groups"] as? [[String: Any]])?.compactMap { $0["name"] as? String },
                       ["BLACK/AFRICAN AMERICAN", "HISPANIC/LATINO - SALVADORAN", "OTHER", "UNABLE TO OBTAIN", "UNKNOWN", "WHITE"])
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h3>By race <span class=\"small\">(grouped by the encounters table's column as written)</span></h3>"))
        XCTAssertTrue(html.contains("id=\"clinical\"") && html.contains("id=\"fig-decision_curve\"") && html.contains("id=\"fig-subgroups\""))
        // The ablation: without report.ablation in its spec, one group per feature kind, each a
        // real refit (its own figures, the difference from the served model stated).
        let ablation = (metrics?["ablation"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        let spec = try SpecReader.read(path: Self.mimicSpecPath)
        XCTAssertEqual(ablation.compactMap { $0["group"] as? String }, spec.ablationGroups.map(\.name))
        let served = (risk?["roc_auc"] as? Double) ?? .nan
        for g in ablation {
            let auc = g["roc_auc"] as? Double ?? .nan, added = g["roc_auc_added"] as? Double ?? .nan
            XCTAssertTrue(auc.isFinite && (served - auc - added).magnitude < 1e-12, "\(g)")
        }
        XCTAssertTrue(html.contains("id=\"ablation\"") && html.contains("Without history features"), "ablation section")
    }

    /// A model file of format 1 (before models carried their spec) is refused with advice.
    func testVersionOneModelFileSaysRetrain() throws {
        let dir = temporaryDirectory()
        let source = try fixtureModel()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        bytes[8] = 1
        let old = dir.appendingPathComponent("old.readmit").path
        try bytes.write(to: URL(fileURLWithPath: old))
        let r = try run(["score", "--model", old, "--data", Self.dataPath, "--history", "derive", "--out", dir.appendingPathComponent("s.csv").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("format version 1") && r.stderr.contains("retrain it with this version"), r.stderr)
    }

    /// A row `readmit history` cannot place (no patient id; an encounter id on two rows) keeps
    /// its own columns and has every derived field empty, unknown, as the daemon's HISTORY
    /// gives it. The CLI wrote them as computed: a stay without its patient id as a first
    /// encounter (prior_encounters 0), which `score --records` then scored as one.
    func testHistoryLeavesTheDerivedFieldsOfARowInErrorUnknown() throws {
        let dir = temporaryDirectory()
        let model = try fixtureModel()
        var lines = try subset(100)
        let header = lines[0].components(separatedBy: ",")
        let patient = try XCTUnwrap(header.firstIndex(of: "patient_nbr"))
        var cells = lines[5].components(separatedBy: ",")
        cells[patient] = "?"
        lines[5] = cells.joined(separator: ",")
        lines.append(lines[9])  // row 9's encounter id again, on line 102
        let flat = dir.appendingPathComponent("flat.csv").path
        let r = try run(["history", "--model", model, "--data", try write(lines, "s.csv", dir), "--out", flat])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: row 5: ") && r.stderr.contains("the id is missing; its derived fields are written empty (unknown)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: row 101: ") && r.stderr.contains("appears on more than one row (also line 10)"), r.stderr)
        let written = try String(contentsOfFile: flat, encoding: .utf8).split(separator: "\n").map { $0.components(separatedBy: ",") }
        XCTAssertEqual(written[0].prefix(header.count).joined(separator: ","), lines[0])
        let derived = written[0].count - header.count
        XCTAssertGreaterThan(derived, 5)
        for row in [5, 9, 101] {
            XCTAssertEqual(written[row].prefix(header.count).joined(separator: ","), lines[row], "row \(row)'s own columns as read")
            XCTAssertEqual(Array(written[row].suffix(derived)), Array(repeating: "", count: derived), "row \(row)")
        }
        let prior = try XCTUnwrap(written[0].firstIndex(of: "prior_encounters"))
        XCTAssertEqual(written[4][prior], "0")  // a first encounter next to them is still one
    }

    /// `readmit history --test-split` writes the rows `readmit evaluate --test-split` evaluates
    /// (the eligible stays of test patients), each as the full output writes it: its history
    /// derived from every encounter, the training patients' included.
    func testHistoryTestSplitWritesTheTestPatientsStays() throws {
        let dir = temporaryDirectory()
        let model = try fixtureModel()
        let data = try write(try subset(3000), "s.csv", dir)
        let all = dir.appendingPathComponent("all.csv").path, test = dir.appendingPathComponent("test.csv").path
        XCTAssertEqual(try run(["history", "--model", model, "--data", data, "--out", all]).status, 0)
        var r = try run(["history", "--model", model, "--data", data, "--test-split", "--out", test])
        XCTAssertEqual(r.status, 0, r.stderr)
        let allLines = try String(contentsOfFile: all, encoding: .utf8).split(separator: "\n").map(String.init)
        let testLines = try String(contentsOfFile: test, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(testLines.first, allLines.first)
        let header = allLines[0].components(separatedBy: ",")
        let patient = try XCTUnwrap(header.firstIndex(of: "patient_nbr"))
        let prior = try XCTUnwrap(header.firstIndex(of: "prior_encounters"))
        // Every written row is its line of the full output, in file order, of a test patient.
        var at = allLines.startIndex
        for line in testLines.dropFirst() {
            guard let found = allLines[at...].firstIndex(of: line) else { return XCTFail("not in the full output, in order: \(line)") }
            at = found + 1
            let key = try XCTUnwrap(Int(line.components(separatedBy: ",")[patient]))
            XCTAssertTrue(Cohort.isTestPatient(key), line)
        }
        // As many as evaluate's test patients' stays; some with earlier stays counted.
        let json = dir.appendingPathComponent("e.json").path
        r = try run(["evaluate", "--model", model, "--data", data, "--test-split", "--json", json])
        XCTAssertEqual(r.status, 0, r.stderr)
        let evaluated = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        let n = try XCTUnwrap((evaluated?["risk_model"] as? [String: Any])?["n"] as? Int)
        XCTAssertEqual(testLines.count - 1, n)
        XCTAssertGreaterThan(n, 300)
        XCTAssertLessThan(n, allLines.count - 1 - 1000)
        XCTAssertTrue(testLines.dropFirst().contains { ($0.components(separatedBy: ",")[prior] as String) != "0" })
        // Tables without the label have no cohort to split: an error that says so.
        let unlabelled = try write(try subset(50).map { $0.components(separatedBy: ",").dropLast().joined(separator: ",") }, "u.csv", dir)
        r = try run(["history", "--model", model, "--data", unlabelled, "--test-split", "--out", dir.appendingPathComponent("u-out.csv").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("test patient") && r.stderr.contains("--test-split"), r.stderr)
    }

    /// `readmit history` then `readmit score --records` (each row alone, history as an input)
    /// gives `readmit score --data`'s scores bit for bit, for both declared datasets.
    func testHistoryThenRecordsEqualsTableScoring() throws {
        let dir = temporaryDirectory()
        let d130 = dir.appendingPathComponent("d130")
        XCTAssertEqual(try run(["train", "--data", try write(try subset(3000), "train.csv", dir), "--out", d130.path, "--quick", "--no-report"]).status, 0)
        let mimic = dir.appendingPathComponent("mimic")
        XCTAssertEqual(try run(["train", "--dataset", Self.mimicSpecPath, "--out", mimic.path, "--quick", "--no-report"]).status, 0)
        let mimicData = URL(fileURLWithPath: Self.root.deletingLastPathComponent().path).appendingPathComponent("shared/data/mimic-iv-demo").path
        let cases: [(String, [String])] = [
            (d130.appendingPathComponent("model.readmit").path, ["--data", try write(try subset(400), "score.csv", dir)]),
            (mimic.appendingPathComponent("model.readmit").path, ["--data-dir", mimicData]),
        ]
        for (model, source) in cases {
            let flat = dir.appendingPathComponent("flat.csv").path, viaRecords = dir.appendingPathComponent("r.csv").path
            let viaTables = dir.appendingPathComponent("t.csv").path
            var r = try run(["history", "--model", model] + source + ["--out", flat])
            XCTAssertEqual(r.status, 0, r.stderr)
            r = try run(["score", "--model", model, "--records", flat, "--out", viaRecords])
            XCTAssertEqual(r.status, 0, r.stderr)
            r = try run(["score", "--model", model] + source + ["--history", "derive", "--out", viaTables])
            XCTAssertEqual(r.status, 0, r.stderr)
            func risks(_ path: String) throws -> [String] {
                try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",")[1] }
            }
            let a = try risks(viaRecords), b = try risks(viaTables)
            XCTAssertGreaterThan(a.count, 200)
            XCTAssertEqual(a, b)
            // --interval adds risk_low and risk_high after tier, the same through both paths.
            r = try run(["score", "--model", model, "--records", flat, "--interval", "--out", viaRecords])
            XCTAssertEqual(r.status, 0, r.stderr)
            r = try run(["score", "--model", model] + source + ["--history", "derive", "--interval", "--out", viaTables])
            XCTAssertEqual(r.status, 0, r.stderr)
            func intervals(_ path: String) throws -> [[String]] {
                let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                XCTAssertTrue(lines.first?.contains(",risk,atypicality,tier,risk_low,risk_high,") ?? false, "\(lines.first ?? "")")
                return lines.dropFirst().map { Array($0.components(separatedBy: ",")[1...5]) }
            }
            let ia = try intervals(viaRecords), ib = try intervals(viaTables)
            XCTAssertEqual(ia, ib)
            for row in ia where !row[0].isEmpty {
                let (low, high) = (Double(row[3]) ?? .nan, Double(row[4]) ?? .nan)
                XCTAssertTrue(0 <= low && low <= high && high <= 1, "\(row)")
            }
        }
    }

    /// `readmit encode` writes the vectors the daemon scores: SCORE of them (in process here)
    /// gives `score --records`' risks bit for bit, and a row with an error is all missing.
    func testEncodeWritesTheVectorsRecordsScores() throws {
        let dir = temporaryDirectory()
        let model = try fixtureModel()
        let flat = dir.appendingPathComponent("flat.csv").path
        XCTAssertEqual(try run(["history", "--model", model, "--data", try write(try subset(300), "s.csv", dir), "--out", flat]).status, 0)
        // Row 3 gets a non-number in its first numeric field.
        var lines = try String(contentsOfFile: flat, encoding: .utf8).split(separator: "\n").map(String.init)
        let loaded = try ReadmitModel.load(path: model)
        let numeric = try XCTUnwrap(RecordFields.fields(spec: loaded.parameters.dataset, schema: loaded.schema).first { $0.type == .number && !$0.history })
        let header = lines[0].components(separatedBy: ",")
        let column = try XCTUnwrap(header.firstIndex(of: numeric.name))
        var cells = lines[3].components(separatedBy: ",")
        cells[column] = "three"
        lines[3] = cells.joined(separator: ",")
        try (lines.joined(separator: "\n") + "\n").write(toFile: flat, atomically: true, encoding: .utf8)
        let vectors = dir.appendingPathComponent("x.f64").path, scores = dir.appendingPathComponent("r.csv").path
        let encoded = try run(["encode", "--model", model, "--records", flat, "--format", "f64", "--out", vectors])
        XCTAssertEqual(encoded.status, 0, encoded.stderr)
        XCTAssertTrue(encoded.stderr.contains("line 4") && encoded.stderr.contains(numeric.name), encoded.stderr)
        XCTAssertEqual(try run(["score", "--model", model, "--records", flat, "--out", scores]).status, 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: vectors))
        let n = loaded.schema.count, rows = lines.count - 1
        XCTAssertEqual(bytes.count, rows * n * 8)
        let x = (0..<(rows * n)).map { i in Double(bitPattern: bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }) }
        XCTAssertTrue(x[(2 * n)..<(3 * n)].allSatisfy(\.isNaN), "the row with an error is all missing")
        // Stays the cohort excludes are errors too (all missing, no risk).
        let disposition = try XCTUnwrap(header.firstIndex(of: "discharge_disposition_id"))
        let excluded = (0..<rows).filter { ["11", "13", "14", "19", "20"].contains(lines[$0 + 1].components(separatedBy: ",")[disposition]) }
        XCTAssertFalse(excluded.isEmpty)
        for r in excluded { XCTAssertTrue(x[(r * n)..<((r + 1) * n)].allSatisfy(\.isNaN), "excluded row \(r + 1)") }
        let good = (0..<rows).filter { $0 != 2 && !excluded.contains($0) }
        let scored = try loaded.score(FeatureMatrix(rows: rows, columns: n, values: x).selecting(rows: good))
        let viaRecords = try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",")[1] }
        XCTAssertEqual(viaRecords[2], "")
        for r in excluded { XCTAssertEqual(viaRecords[r], "", "excluded row \(r + 1)") }
        for (k, r) in good.enumerated() { XCTAssertEqual(viaRecords[r], "\(scored.risk[k])", "row \(r + 1)") }
        // `--records -` reads standard input, as `--out -` writes standard output: the same scores.
        let piped = try run(["score", "--model", model, "--records", "-", "--out", "-"], standardInput: try Data(contentsOf: URL(fileURLWithPath: flat)))
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.stdout, try String(contentsOfFile: scores, encoding: .utf8))
        // A header without rows is an empty batch, as RECORDS takes it (and encode did): the
        // result's header and a warning; score alone called it an error.
        let empty = try write([lines[0]], "empty.csv", dir)
        let none = try run(["score", "--model", model, "--records", empty, "--out", "-"])
        XCTAssertEqual(none.status, 0, none.stderr)
        XCTAssertEqual(none.stdout, try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n")[0] + "\n")
        XCTAssertTrue(none.stderr.contains("has a header but no data rows: nothing to score"), none.stderr)
        let noVectors = try run(["encode", "--model", model, "--records", empty, "--format", "f64", "--out", "-"])
        XCTAssertEqual(noVectors.status, 0, noVectors.stderr)
        XCTAssertEqual(noVectors.stdout, "")
        XCTAssertTrue(noVectors.stderr.contains("has a header but no data rows: nothing to encode"), noVectors.stderr)

        // A field absent from the whole file is the file's problem, worded for the CLI (the
        // daemon's "absent from the request ... set the option" named neither).
        let dropped = lines.map { $0.components(separatedBy: ",").enumerated().filter { $0.offset != column }.map(\.element).joined(separator: ",") }
        let narrow = try write(dropped, "narrow.csv", dir)
        for command in [["score", "--out", scores], ["encode", "--out", vectors]] {
            let r = try run([command[0], "--model", model, "--records", narrow] + command.dropFirst())
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("error: \(narrow):1: column '\(numeric.name)': field '\(numeric.name)', which the model reads, is not in the header (add the column, or pass --missing-fields-ok"), r.stderr)
            XCTAssertEqual(try run([command[0], "--model", model, "--records", narrow, "--missing-fields-ok"] + command.dropFirst()).status, 0)
        }
        // Columns the model does not read: one console line naming them (150 unread columns
        // printed 150 lines on every run), and `--messages` still lists each.
        let extra = (0..<20).map { "extra\($0)" }
        let wide = try write(lines.enumerated().map { $0.element + "," + ($0.offset == 0 ? extra : extra.map { _ in "x" }).joined(separator: ",") },
                             "wide.csv", dir)
        let messagesFile = dir.appendingPathComponent("messages.csv").path
        let widely = try run(["score", "--model", model, "--records", wide, "--out", scores, "--messages", messagesFile])
        XCTAssertEqual(widely.status, 0, widely.stderr)
        let listed = try String(contentsOfFile: messagesFile, encoding: .utf8).split(separator: "\n").filter { $0.contains(",unused_field,") }
        XCTAssertGreaterThanOrEqual(listed.count, 20)
        XCTAssertEqual(widely.stderr.components(separatedBy: "unused_field").count - 1, 1, widely.stderr)
        XCTAssertTrue(widely.stderr.contains("unused_field for \(listed.count) fields: ") && widely.stderr.contains(" and \(listed.count - 8) more ("),
                      widely.stderr)
        let encodedWide = try run(["encode", "--model", model, "--records", wide, "--out", vectors])
        XCTAssertEqual(encodedWide.stderr.components(separatedBy: "unused_field").count - 1, 1, encodedWide.stderr)
    }

    /// History is never derived unasked: `score --data` without `--history` is refused, and
    /// `--history unknown` gives the scores of the same rows sent as raw records without their
    /// history fields (the daemon's rule), bit for bit.
    func testScoreDataNeverDerivesHistoryUnasked() throws {
        let dir = temporaryDirectory()
        let model = try fixtureModel()
        let input = try write(try subset(300), "s.csv", dir)
        let refused = try run(["score", "--model", model, "--data", input, "--out", dir.appendingPathComponent("x.csv").path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("--history derive") && refused.stderr.contains("--history unknown"), refused.stderr)
        let flat = dir.appendingPathComponent("flat.csv").path
        XCTAssertEqual(try run(["history", "--model", model, "--data", input, "--out", flat]).status, 0)
        // The flat rows without their history columns.
        let loaded = try ReadmitModel.load(path: model)
        let historyNames = Set(loaded.parameters.dataset.features.filter { $0.kind == .history }.map(\.name))
        XCTAssertFalse(historyNames.isEmpty)
        let lines = try String(contentsOfFile: flat, encoding: .utf8).split(separator: "\n").map { $0.components(separatedBy: ",") }
        let keep = lines[0].indices.filter { !historyNames.contains(lines[0][$0]) }
        XCTAssertEqual(keep.count, lines[0].count - historyNames.count)
        let withoutHistory = dir.appendingPathComponent("nohistory.csv").path
        try (lines.map { l in keep.map { l[$0] }.joined(separator: ",") }.joined(separator: "\n") + "\n").write(toFile: withoutHistory, atomically: true, encoding: .utf8)
        let viaRecords = dir.appendingPathComponent("r.csv").path, viaTables = dir.appendingPathComponent("t.csv").path
        XCTAssertEqual(try run(["score", "--model", model, "--records", withoutHistory, "--out", viaRecords]).status, 0)
        let unknown = try run(["score", "--model", model, "--data", input, "--history", "unknown", "--out", viaTables])
        XCTAssertEqual(unknown.status, 0, unknown.stderr)
        func risks(_ path: String) throws -> [String] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",")[1] }
        }
        XCTAssertEqual(try risks(viaRecords), try risks(viaTables))
        let derived = dir.appendingPathComponent("d.csv").path
        XCTAssertEqual(try run(["score", "--model", model, "--data", input, "--history", "derive", "--out", derived]).status, 0)
        XCTAssertNotEqual(try risks(derived), try risks(viaTables), "history changes some risks")
    }

    /// LF, CRLF and a byte-order mark before CRLF give the same models, metrics, scores and
    /// raw-record scores (docs/DATASET_SPEC.md, "CSV files"): the encoding of the file is not data.
    func testLineEndingsAndByteOrderMarkGiveIdenticalResults() throws {
        let dir = temporaryDirectory()
        let rows = try subset(2500)
        let variants: [(name: String, encode: ([String]) -> String)] = [
            ("lf", { $0.joined(separator: "\n") + "\n" }),
            ("crlf", { $0.joined(separator: "\r\n") + "\r\n" }),
            ("bom-crlf", { "\u{FEFF}" + $0.joined(separator: "\r\n") + "\r\n" }),
        ]
        var outputs: [[String: String]] = []
        for v in variants {
            let data = dir.appendingPathComponent("\(v.name).csv").path
            try Data(v.encode(rows).utf8).write(to: URL(fileURLWithPath: data))
            let out = dir.appendingPathComponent(v.name)
            var r = try run(["train", "--data", data, "--out", out.path, "--quick", "--no-report", "--threads", "1"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let model = out.appendingPathComponent("model.readmit").path
            func file(_ name: String) throws -> String { try String(contentsOfFile: dir.appendingPathComponent(name).path, encoding: .utf8) }
            var result: [String: String] = [:]
            // The metrics, less what names the input file's bytes (its path, its hash and the model
            // id derived from it), the time and the stage timings.
            let varying: Set<String> = ["model_id", "training_data_sha256", "created_at", "stage_seconds", "data"]
            func json(_ data: Data) throws -> String {
                let object = try JSONSerialization.jsonObject(with: data)
                return String(decoding: try JSONSerialization.data(withJSONObject: Self.dropping(object, varying), options: [.sortedKeys]), as: UTF8.self)
            }
            result["metrics"] = try json(Data(contentsOf: out.appendingPathComponent("metrics.json")))
            let evalJSON = dir.appendingPathComponent("\(v.name)-eval.json")
            r = try run(["evaluate", "--model", model, "--data", data, "--json", evalJSON.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            result["evaluate"] = r.stdout.split(separator: "\n").dropFirst().joined(separator: "\n")  // after "Model ID on FILE"
            result["evaluate.json"] = try json(Data(contentsOf: evalJSON))
            r = try run(["score", "--model", model, "--data", data, "--history", "derive", "--out", dir.appendingPathComponent("\(v.name)-score.csv").path])
            XCTAssertEqual(r.status, 0, r.stderr)
            result["score"] = try file("\(v.name)-score.csv")
            // Raw records: `readmit history` writes LF; the same records are re-encoded like the table.
            let flat = dir.appendingPathComponent("\(v.name)-flat.csv").path
            r = try run(["history", "--model", model, "--data", data, "--out", flat])
            XCTAssertEqual(r.status, 0, r.stderr)
            let flatRows = try String(contentsOfFile: flat, encoding: .utf8).split(separator: "\n").map(String.init)
            try Data(v.encode(flatRows).utf8).write(to: URL(fileURLWithPath: flat))
            r = try run(["score", "--model", model, "--records", flat, "--out", dir.appendingPathComponent("\(v.name)-records.csv").path])
            XCTAssertEqual(r.status, 0, r.stderr)
            result["records"] = try file("\(v.name)-records.csv")
            outputs.append(result)
        }
        XCTAssertTrue(outputs[0]["records"]?.hasPrefix("encounter_id,risk,") == true, outputs[0]["records"]?.prefix(80).description ?? "")
        XCTAssertGreaterThan(outputs[0]["score"]?.split(separator: "\n").count ?? 0, 2000)
        // External validation reports calibration, net benefit, atypicality, intervals and subgroups like training.
        for key in ["\"calibration_slope\"", "\"calibration_intercept_ci95\"", "\"decision_curve\"", "\"atypicality_validation\"", "\"verdict\"",
                    "\"interval_validation\"", "\"coverage\"", "\"subgroups\"", "\"gender\"", "\"roc_auc_ci95\""] {
            XCTAssertTrue(outputs[0]["evaluate.json"]?.contains(key) == true, key)
        }
        XCTAssertTrue(outputs[0]["evaluate"]?.contains("calibration: intercept") == true, outputs[0]["evaluate"] ?? "")
        XCTAssertTrue(outputs[0]["evaluate"]?.contains("by payer_code: ") == true, outputs[0]["evaluate"] ?? "")
        for k in 1..<outputs.count {
            for key in outputs[0].keys.sorted() {
                XCTAssertEqual(outputs[k][key], outputs[0][key], "\(variants[k].name) vs lf: \(key)")
            }
        }
    }

    /// `json` without the keys `keys`, at any depth.
    static func dropping(_ json: Any, _ keys: Set<String>) -> Any {
        if let d = json as? [String: Any] {
            return d.filter { !keys.contains($0.key) }.mapValues { dropping($0, keys) }
        }
        if let a = json as? [Any] { return a.map { dropping($0, keys) } }
        return json
    }

    /// Invalid UTF-8 and a field over 1 MiB fail `train` and `score --records` with the file,
    /// the first bad line and the column; nothing is written.
    func testInvalidUTF8AndOversizedFieldsNameFileLineAndColumn() throws {
        let dir = temporaryDirectory()
        let rows = try subset(300)
        let header = rows[0].components(separatedBy: ",")
        func replaced(_ line: Int, _ column: Int, _ value: [UInt8]) -> [UInt8] {
            var bytes: [UInt8] = []
            for (k, row) in rows.enumerated() {
                if k + 1 == line {
                    var fields = row.components(separatedBy: ",").map { Array($0.utf8) }
                    fields[column] = value
                    bytes += Array(fields.joined(separator: [UInt8(ascii: ",")]))
                } else {
                    bytes += Array(row.utf8)
                }
                bytes += [13, 10]
            }
            return bytes
        }
        let big = [UInt8](repeating: UInt8(ascii: "7"), count: (1 << 20) + 1)
        let cases: [(name: String, bytes: [UInt8], expected: String)] = [
            ("latin1.csv", replaced(7, 2, Array("Cauc".utf8) + [0xE1] + Array("sian".utf8)),
             "latin1.csv:7: column '\(header[2])': field 3 is not valid UTF-8 (byte 0xE1 at byte 5 of the field)"),
            ("big.csv", replaced(12, 9, big),
             "big.csv:12: column '\(header[9])': field 10 is \(big.count) bytes long, over the limit of 1048576 bytes (1 MiB)"),
        ]
        let modelDir = dir.appendingPathComponent("model")
        XCTAssertEqual(try run(["train", "--data", try write(try subset(2500), "train.csv", dir), "--out", modelDir.path, "--quick", "--no-report"]).status, 0)
        for c in cases {
            let path = dir.appendingPathComponent(c.name).path
            try Data(c.bytes).write(to: URL(fileURLWithPath: path))
            let out = dir.appendingPathComponent("out-\(c.name)").path
            for args in [["train", "--data", path, "--out", out, "--quick", "--no-report"],
                         ["score", "--model", modelDir.appendingPathComponent("model.readmit").path, "--records", path, "--out", out + ".csv"]] {
                let r = try run(args)
                XCTAssertNotEqual(r.status, 0, args[0])
                XCTAssertTrue(r.stderr.contains(dir.appendingPathComponent(c.expected).path), "\(args[0]) stderr: \(r.stderr)")
                XCTAssertFalse(r.stderr.contains("Fatal error"))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model.readmit"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".csv"))
        }
    }

    /// An output is only ever a regular file: a directory is refused and kept; `-` is standard output.
    func testOutputNeverReplacesADirectory() throws {
        let dir = temporaryDirectory()
        let model = try fixtureModel()
        let input = try write(try subset(20), "s.csv", dir)
        let keep = dir.appendingPathComponent("keep")
        try FileManager.default.createDirectory(at: keep, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: keep.appendingPathComponent("inside.txt"))
        let refused = try run(["score", "--model", model, "--data", input, "--history", "derive", "--out", keep.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("not a regular file"), refused.stderr)
        XCTAssertEqual(try String(contentsOf: keep.appendingPathComponent("inside.txt"), encoding: .utf8), "precious")
        let stdout = try run(["score", "--model", model, "--data", input, "--history", "derive", "--out", "-", "--log-level", "error"])
        XCTAssertEqual(stdout.status, 0, stdout.stderr)
        XCTAssertEqual(stdout.stdout.split(separator: "\n").count, 21)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "-"))
    }

    /// An output path that names an input (however written) is refused before anything is read
    /// or written: `score --records x.csv --out x.csv` replaced the records with their scores.
    func testAnOutputNeverReplacesAnInput() throws {
        let dir = temporaryDirectory()
        let data = try write(try subset(30), "enc.csv", dir)
        let model = dir.appendingPathComponent("model.readmit").path
        try "not read: the refusal comes first".write(toFile: model, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link.csv").path, withDestinationPath: data)
        let before = try Data(contentsOf: URL(fileURLWithPath: data))
        let cases: [([String], String)] = [
            (["score", "--model", model, "--records", data, "--out", data], "--out \(data) is the file of --records \(data)"),
            (["score", "--model", model, "--records", data, "--out", dir.appendingPathComponent("link.csv").path], "is the file of --records \(data)"),
            (["score", "--model", model, "--records", data, "--out", "s.csv", "--messages", "./s.csv"], "--messages ./s.csv is the file of --out s.csv"),
            (["score", "--model", model, "--data", data, "--history", "unknown", "--out", model], "--out \(model) is the file of --model \(model)"),
            (["encode", "--model", model, "--records", data, "--out", data], "--out \(data) is the file of --records \(data)"),
            (["history", "--model", model, "--data", data, "--out", data], "--out \(data) is the file of --data \(data)"),
            (["evaluate", "--model", model, "--data", data, "--json", data], "--json \(data) is the file of --data \(data)"),
        ]
        for (arguments, says) in cases {
            let r = try run(arguments)
            XCTAssertEqual(r.status, 64, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(says) && r.stderr.contains("writing it would replace that"), r.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: data)), before)
    }

    /// `evaluate --test-split` on an extract of training patients only says so (it said "no
    /// eligible encounters", as if the cohort rules had left none), and points at the way out.
    func testEvaluateSaysWhenNoTestPatientIsInTheExtract() throws {
        let dir = temporaryDirectory()
        let model = try fixtureModel()
        let lines = try subset(300)
        let patient = try XCTUnwrap(lines[0].components(separatedBy: ",").firstIndex(of: "patient_nbr"))
        let training = lines.dropFirst().filter { line in
            Int(line.components(separatedBy: ",")[patient]).map { !Cohort.isTestPatient($0) } ?? false
        }
        XCTAssertGreaterThan(training.count, 100)
        let data = try write([lines[0]] + training, "training-patients.csv", dir)
        let r = try run(["evaluate", "--model", model, "--data", data, "--test-split"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("none of the ") && r.stderr.contains(" eligible encounters in \(data) belongs"), r.stderr)
        XCTAssertTrue(r.stderr.contains("belongs to a test patient of the spec's split; leave out --test-split"), r.stderr)
        XCTAssertEqual(try run(["evaluate", "--model", model, "--data", data]).status, 0)
    }

    /// Another hospital, made from the shipped data by the README's example script
    /// (`data/diabetes130/other_hospital.py`): the fixture model's test patients only (it never
    /// trained on them), under other patient numbers (so the spec's split divides them anew),
    /// with `keep` of the stays not readmitted within 30 days (a higher rate).
    func otherHospital(keep: Double, in dir: URL) throws -> String {
        let out = dir.appendingPathComponent("other-hospital.csv").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.root.appendingPathComponent("data/diabetes130/other_hospital.py").path,
                       "--data", Self.dataPath, "--keep", String(keep), "--out", out]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "other_hospital.py failed")
        return out
    }

    /// `recalibrate` refits the calibration on another hospital's training-side patients, checks
    /// it on its test-side patients (the figures `evaluate --test-split` gives for the file it
    /// writes, to the bit), keeps everything else of the model, records what it did, and refuses
    /// the model's own training data, too few readmissions and an output that is an input.
    func testRecalibrateFitsOnOneSideAndChecksOnTheOther() throws {
        let dir = temporaryDirectory()
        let model = try fixtureModel()
        let data = try otherHospital(keep: 0.5, in: dir)
        let out = dir.appendingPathComponent("local.readmit").path, json = dir.appendingPathComponent("recalibrate.json").path
        let r = try run(["recalibrate", "--model", model, "--data", data, "--out", out, "--json", json, "--replicates", "200"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("recalibrated (logistic)") && r.stdout.contains("tiers (local): medium from "), r.stdout)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let before = try XCTUnwrap(report["before"] as? [String: Any]), after = try XCTUnwrap(report["after"] as? [String: Any])
        // Half the stays without a readmission dropped: the risks were far too low there.
        let interceptBefore = try XCTUnwrap(before["calibration_intercept"] as? Double)
        let interceptAfter = try XCTUnwrap(after["calibration_intercept"] as? Double)
        XCTAssertGreaterThan(interceptBefore, 0.4)
        XCTAssertLessThan(abs(interceptAfter), 0.15)
        let ci = try XCTUnwrap(after["calibration_intercept_ci95"] as? [Double])
        XCTAssertTrue(ci[0] < 0 && 0 < ci[1], "\(ci)")
        XCTAssertLessThan(try XCTUnwrap(after["brier"] as? Double), try XCTUnwrap(before["brier"] as? Double))
        XCTAssertEqual(before["roc_auc"] as? Double, after["roc_auc"] as? Double, "a recalibration keeps the ranking")

        // The file written: only the calibration and the tiers changed, and it says so.
        let original = try ModelFile.read(path: model), local = try ModelFile.read(path: out)
        XCTAssertNotEqual(local.metadata.modelID, original.metadata.modelID)
        XCTAssertEqual(report["model_id"] as? String, local.metadata.modelID)
        XCTAssertEqual(local.boosterBytes, original.boosterBytes)
        XCTAssertEqual(local.forest.feature, original.forest.feature)
        XCTAssertEqual(local.atypicalityReference, original.atypicalityReference)
        XCTAssertEqual(local.schema, original.schema)
        XCTAssertNotEqual(local.calibrator, original.calibrator)
        XCTAssertNotEqual(local.vennAbers, original.vennAbers)
        let record = try XCTUnwrap(local.recalibration)
        XCTAssertEqual(record.fromModelID, original.metadata.modelID)
        XCTAssertEqual(record.previousCalibrator, original.calibrator)
        XCTAssertEqual(record.previousTiers, original.tiers)
        XCTAssertEqual(record.dataFile, "other-hospital.csv")
        XCTAssertGreaterThan(record.update.events, 2 * record.check.events)
        XCTAssertGreaterThan(local.tiers[1].minRisk, original.tiers[1].minRisk)
        XCTAssertEqual(local.modelCard?.sections.last?.title, "Local recalibration")
        let inspected = try run(["inspect", "--model", out])
        XCTAssertEqual(inspected.status, 0, inspected.stderr)
        XCTAssertTrue(inspected.stdout.contains("recalibrated from model \(original.metadata.modelID) (logistic, tiers local) on other-hospital.csv"), inspected.stdout)
        XCTAssertTrue(inspected.stdout.contains("## Local recalibration"), inspected.stdout)
        XCTAssertTrue(try run(["inspect", "--model", model]).stdout.contains("recalibrated: no"))
        let notAModel = try run(["inspect", "--model", data])
        XCTAssertEqual(notAModel.status, 1)
        XCTAssertTrue(notAModel.stderr.contains("is not a readmit model file"), notAModel.stderr)

        // `evaluate --test-split` of the file written gives the check figures, to the bit.
        let evalJSON = dir.appendingPathComponent("evaluate.json").path
        let e = try run(["evaluate", "--model", out, "--data", data, "--test-split", "--json", evalJSON, "--replicates", "200"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertFalse(e.stdout.contains("interval excludes 0"), e.stdout)
        // The original, evaluated there, is said to be off, with the way to fix it.
        let o = try run(["evaluate", "--model", model, "--data", data, "--test-split", "--replicates", "200"])
        XCTAssertTrue(o.stdout.contains("note: the calibration intercept's interval excludes 0: the risks are too low on average here")
                      && o.stdout.contains("`readmit recalibrate` refits"), o.stdout)
        let evaluated = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: evalJSON))) as? [String: Any])
        let riskModel = try XCTUnwrap(evaluated["risk_model"] as? [String: Any])
        for key in ["calibration_intercept", "calibration_slope", "brier", "roc_auc", "ece"] {
            XCTAssertEqual((riskModel[key] as? Double)?.bitPattern, (after[key] as? Double)?.bitPattern, key)
        }

        // The two compared pair by pair on the check patients: the same ranking, better risks.
        let compareJSON = dir.appendingPathComponent("compare.json").path
        let c = try run(["evaluate", "--model", model, "--data", data, "--test-split", "--compare", out, "--json", compareJSON, "--replicates", "200"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("Compared with model \(local.metadata.modelID) (\(out)) on the \(record.check.encounters.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))) encounters"), c.stdout)
        XCTAssertTrue(c.stdout.contains("verdict: ROC AUC: no difference these encounters can show; Brier score: the --compare model's risks are nearer the outcomes"), c.stdout)
        let compared = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: compareJSON))) as? [String: Any])?["compare"] as? [String: Any])
        let difference = try XCTUnwrap(compared["difference"] as? [String: [String: Any]])
        XCTAssertEqual(difference["roc_auc"]?["value"] as? Double ?? .nan, 0, accuracy: 1e-9)
        XCTAssertLessThan(try XCTUnwrap((difference["brier"]?["ci95"] as? [Double])?.last), 0)
        XCTAssertEqual(((compared["compare"] as? [String: Any])?["brier"] as? Double)?.bitPattern, (after["brier"] as? Double)?.bitPattern)
        // Where each encounter's tier would go: every shared encounter counted once; the
        // recalibrated risks are higher and their tiers are cut at the same percentiles, so the
        // low tier keeps its encounters and some medium and high ones move down a tier.
        let tiers = try XCTUnwrap(compared["tiers"] as? [String: Any])
        let counts = try XCTUnwrap(tiers["counts"] as? [[Int]])
        XCTAssertEqual(counts.joined().reduce(0, +), record.check.encounters)
        XCTAssertEqual(counts[0][1] + counts[0][2], 0)
        XCTAssertTrue(c.stdout.contains("encounters whose tier would change: "), c.stdout)
        // The same comparison as an HTML report: both models' curves on the check patients.
        let reportDir = dir.appendingPathComponent("evaluation")
        let withReport = try run(["evaluate", "--model", model, "--data", data, "--test-split", "--compare", out, "--replicates", "50", "--report", reportDir.path])
        XCTAssertEqual(withReport.status, 0, withReport.stderr)
        let html = try String(contentsOf: reportDir.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Model performance on the evaluated test patients</h2>") && html.contains("--compare \(local.metadata.modelID.prefix(8))"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: reportDir.appendingPathComponent("plots/decision_curve.svg").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: reportDir.appendingPathComponent("plots/top_factors.svg").path))
        XCTAssertFalse(html.contains("id=\"ablation\""), "an ablation needs a training")
        // A report.html that is not a regular file is refused before any work, and kept.
        let blocked = dir.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("report.html"), withIntermediateDirectories: true)
        let refusedReport = try run(["evaluate", "--model", model, "--data", data, "--report", blocked.path])
        XCTAssertEqual(refusedReport.status, 1)
        XCTAssertEqual(refusedReport.stdout, "")
        XCTAssertTrue(refusedReport.stderr.contains("report.html: refusing to replace it: not a regular file"), refusedReport.stderr)
        // A second model that cannot be read fails the command before anything is printed.
        let unreadable = try run(["evaluate", "--model", model, "--data", data, "--compare", data])
        XCTAssertEqual(unreadable.status, 1)
        XCTAssertEqual(unreadable.stdout, "")
        XCTAssertTrue(unreadable.stderr.hasPrefix("error: --compare \(data): model file: ") && unreadable.stderr.contains("is not a readmit model file"), unreadable.stderr)
        // A spec that labels the outcome otherwise (any readmission) cannot be compared with.
        var relabelled = try ModelFile.read(path: model)
        relabelled.dataset.label = .column(name: "readmitted", positive: ["<30", ">30"], negative: ["NO"])
        relabelled.metadata.modelID = try ModelFile.modelID(of: relabelled)
        let relabelledPath = dir.appendingPathComponent("any-readmission.readmit").path
        try ModelFile.write(relabelled, to: relabelledPath)
        let mismatch = try run(["evaluate", "--model", model, "--data", data, "--compare", relabelledPath])
        XCTAssertEqual(mismatch.status, 1)
        XCTAssertTrue(mismatch.stderr.contains("the two models' specs label ") && mismatch.stderr.contains("shared encounters differently: a comparison needs one outcome"), mismatch.stderr)

        // The intercept alone, tiers kept: the slope and the thresholds are the model's.
        let kept = dir.appendingPathComponent("intercept.readmit").path
        let i = try run(["recalibrate", "--model", model, "--data", data, "--out", kept, "--method", "intercept", "--tiers", "kept", "--replicates", "50"])
        XCTAssertEqual(i.status, 0, i.stderr)
        let interceptOnly = try ModelFile.read(path: kept)
        XCTAssertEqual(interceptOnly.calibrator.a, original.calibrator.a)
        XCTAssertGreaterThan(interceptOnly.calibrator.b, original.calibrator.b)
        XCTAssertEqual(interceptOnly.tiers, original.tiers)
        XCTAssertEqual(interceptOnly.recalibration?.method, .intercept)

        // Refusals, each naming what was wrong; nothing written.
        let refused = dir.appendingPathComponent("refused.readmit").path
        let own = try run(["recalibrate", "--model", model, "--data", Self.dataPath, "--out", refused])
        XCTAssertEqual(own.status, 1)
        XCTAssertTrue(own.stderr.contains("are those model \(original.metadata.modelID) was trained on"), own.stderr)
        let few = try write(Array(try String(contentsOfFile: data, encoding: .utf8).components(separatedBy: "\r\n").prefix(201)), "few.csv", dir)
        let small = try run(["recalibrate", "--model", model, "--data", few, "--out", refused])
        XCTAssertEqual(small.status, 1)
        XCTAssertTrue(small.stderr.contains("readmissions; at least 10 readmitted and 10 not are needed"), small.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: refused))
        let overwrite = try run(["recalibrate", "--model", out, "--data", data, "--out", out])
        XCTAssertNotEqual(overwrite.status, 0)
        XCTAssertTrue(overwrite.stderr.contains("--out \(out) is the file of --model"), overwrite.stderr)
        XCTAssertEqual(try ModelFile.read(path: out).metadata.modelID, local.metadata.modelID)
    }

    /// The options of `score --records` given with `--data` are refused, not ignored.
    func testRecordsOptionsAreRefusedWithoutRecords() throws {
        let dir = temporaryDirectory()
        let data = try write(try subset(30), "enc.csv", dir)
        for option in [["--explain", "3"], ["--bad-values-missing"], ["--missing-fields-ok"], ["--messages", "m.csv"]] {
            let r = try run(["score", "--model", "unread.readmit", "--data", data, "--history", "unknown", "--out", "-"] + option)
            XCTAssertEqual(r.status, 64, "\(option): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("\(option[0]) goes with --records"), r.stderr)
        }
    }

    func testKeysWritesAPairAndNeverOverwrites() throws {
        let dir = temporaryDirectory()
        let r = try run(["keys", "--out", dir.path, "--name", "server"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("server.key").path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("server.pub").path))
        XCTAssertNotEqual(try run(["keys", "--out", dir.path, "--name", "server"]).status, 0)

        // A failed run leaves nothing: with only `client.pub` in the way, no lone `client.key`.
        try "someone else's key\n".write(to: dir.appendingPathComponent("client.pub"), atomically: false, encoding: .utf8)
        let blocked = try run(["keys", "--out", dir.path, "--name", "client"])
        XCTAssertNotEqual(blocked.status, 0)
        XCTAssertTrue(blocked.stderr.contains("client.pub: File exists"), blocked.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("client.key").path))
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("client.pub"), encoding: .utf8), "someone else's key\n")

        // The name is a file name: an empty one wrote `<out>.pub` beside the folder, a path
        // wrote elsewhere, and a hidden one is never read from --authorized-keys.
        let nested = dir.appendingPathComponent("keys")
        for name in ["", "../server2", "a/b", ".hidden"] {
            let bad = try run(["keys", "--out", nested.path, "--name", name])
            XCTAssertEqual(bad.status, 64, "--name '\(name)': \(bad.stderr)")
            XCTAssertTrue(bad.stderr.contains("--name '\(name)': a file name is needed"), bad.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: nested.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: nested.path + ".pub"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("server2.key").path))
    }
}
