import Foundation
import ReadmitCore
import ReadmitServer
import ReadmitWire
import XCTest

/// `RECORDS` against a real daemon: raw fields encoded by the model's own spec. Each row's
/// result is the same alone or in any batch, equals the numeric SCORE of the encoder's vector
/// (history supplied), and bad values get the documented per-row outcomes.
final class RecordsTests: XCTestCase {
    var daemon: DaemonProcess!
    var model: ReadmitModel!
    var client: WireClient!

    override func setUpWithError() throws {
        let path = try DaemonProcess.fixtureModel()
        model = try ReadmitModel.load(path: path)
        daemon = try DaemonProcess(arguments: ["--model", path, "--workers", "2"])
        client = try WireClient(endpoint: daemon.endpoint)
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    static var dataPath: String {
        let root = DaemonProcess.packageRoot
        let local = root.appendingPathComponent("data/diabetes130/diabetic_data.csv.gz").path
        if FileManager.default.fileExists(atPath: local) { return local }
        return root.deletingLastPathComponent().appendingPathComponent("shared/data/diabetes130/diabetic_data.csv.gz").path
    }

    /// The shipped data's test-split rows, with their history derived from the whole file (what
    /// `readmit history` does), and the encoder's vectors of the same rows.
    struct Sample {
        var rows: [Int]
        var columns: [(name: String, column: RecordsRequest.Column)]
        var matrix: FeatureMatrix
    }

    func sample(count: Int, seed: UInt64, numbersAsText: Bool = false) throws -> Sample {
        let spec = model.parameters.dataset
        let tables = try DatasetTables(spec: spec, folders: [], encountersFile: Self.dataPath)
        let data = try PreparedData(tables: tables)
        let encoded = FeatureEncoder.encode(raw: data.raw, spec: spec, schema: model.schema)
        let test = data.cohort.rows.indices.filter { data.cohort.isTest[$0] }.map { data.cohort.rows[$0] }
        var rng = SplitMix64(seed: seed)
        let rows = (0..<count).map { _ in test[Int(rng.next() % UInt64(test.count))] }
        let csv = try CSVTable(path: Self.dataPath)
        var columns: [(name: String, column: RecordsRequest.Column)] = []
        for field in RecordFields.fields(spec: spec, schema: model.schema) {
            if field.history {
                let j = try XCTUnwrap(model.schema.index(of: field.name))
                columns.append((field.name, .numbers(rows.map { encoded.values[$0 * encoded.columns + j] })))
                continue
            }
            let c = try csv.column(field.name)
            let texts = rows.map { csv.string(row: $0, column: c) }
            if field.type == .number && !numbersAsText {
                columns.append((field.name, .numbers(texts.map { Double($0) ?? .nan })))
            } else {
                columns.append((field.name, RequestEncoder.textColumn(texts)))
            }
        }
        return Sample(rows: rows, columns: columns, matrix: encoded.selecting(rows: rows))
    }

    func records(_ columns: [(name: String, column: RecordsRequest.Column)], rows: Int, k: Int = 0, options: UInt32 = 0) throws
        -> (risk: [Double], atyp: [Double], tier: [UInt8], json: [String: Any])
    {
        let reply = try client.call(RequestEncoder.records(requestID: 3, rows: rows, k: k, options: options, columns: columns))
        guard case .records(let risk, let atyp, let tier, _, let json) = reply.body else {
            throw HarnessError("not a RECORDS reply: \(reply.body)")
        }
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return (risk, atyp, tier, object)
    }

    static func slice(_ columns: [(name: String, column: RecordsRequest.Column)], _ rows: [Int]) -> [(name: String, column: RecordsRequest.Column)] {
        columns.map { name, column in
            switch column {
            case .numbers(let v): return (name, .numbers(rows.map { v[$0] }))
            case .texts(let values, let codes): return (name, .texts(values: values, codes: rows.map { codes[$0] }))
            }
        }
    }

    /// A batch large enough to be split across the daemon's cores (RECORDS and SCORE) gives
    /// each row the bits, messages and explanation that the same rows get in small batches,
    /// which are scored in one call: where the chunks start never shows.
    func testALargeBatchSplitAcrossCoresEqualsSmallBatches() throws {
        let n = 20_000, part = 1_000
        let s = try sample(count: n, seed: 21, numbersAsText: true)
        var columns = s.columns
        func edit(_ field: String, every stride: Int, to text: String) throws {
            let i = try XCTUnwrap(columns.firstIndex { $0.name == field })
            guard case .texts(let values, let codes) = columns[i].column else { return XCTFail("\(field) is not a text column") }
            var texts: [String?] = codes.map { $0 < 0 ? nil : values[Int($0)] }
            for r in Swift.stride(from: 5, to: n, by: stride) { texts[r] = text }
            columns[i].column = RequestEncoder.textColumn(texts)
        }
        try edit("discharge_disposition_id", every: 997, to: "11")  // excluded: an error row
        try edit("race", every: 1_009, to: "caucasian")             // an unknown level: a warning
        try edit("num_lab_procedures", every: 2_003, to: "many")    // a bad number: an error row
        typealias Message = [String]
        func messages(_ json: [String: Any], offset: Int) throws -> [Message] {
            try XCTUnwrap(json["messages"] as? [[String: Any]]).map { m in
                [String((m["row"] as? Int).map { $0 < 0 ? $0 : $0 + offset } ?? -2), "\(m["field"] ?? "")", "\(m["severity"] ?? "")",
                 "\(m["code"] ?? "")", "\(m["message"] ?? "")"]
            }
        }
        let whole = try records(columns, rows: n, k: 2)
        var risk: [UInt64] = [], atyp: [UInt64] = [], tier: [UInt8] = [], rowMessages: [Message] = [], explanations: [String] = []
        for start in Swift.stride(from: 0, to: n, by: part) {
            let small = try records(Self.slice(columns, Array(start..<(start + part))), rows: part, k: 2)
            risk += small.risk.map(\.bitPattern); atyp += small.atyp.map(\.bitPattern); tier += small.tier
            rowMessages += try messages(small.json, offset: start).filter { $0[0] != "-1" }
            explanations += try Self.explanationTexts(small.json)
        }
        // The first difference, not two 20,000-element arrays.
        func same<T: Equatable>(_ a: [T], _ b: [T], _ what: String) {
            XCTAssertEqual(a.count, b.count, what)
            if let i = (0..<min(a.count, b.count)).first(where: { a[$0] != b[$0] }) { XCTFail("\(what) differ first at \(i): \(a[i]) vs \(b[i])") }
        }
        same(whole.risk.map(\.bitPattern), risk, "risks")
        same(whole.atyp.map(\.bitPattern), atyp, "atypicalities")
        same(whole.tier, tier, "tiers")
        let wholeMessages = try messages(whole.json, offset: 0)
        same(wholeMessages.filter { $0[0] != "-1" }, rowMessages, "row messages")
        XCTAssertEqual(Set(wholeMessages.filter { $0[0] == "-1" }.map { $0[3] }).count, wholeMessages.filter { $0[0] == "-1" }.count,
                       "a request-level message is kept once, not once per chunk")
        same(try Self.explanationTexts(whole.json), explanations, "explanations")
        XCTAssertEqual(whole.risk.filter(\.isNaN).count, (n - 5 + 996) / 997 + (n - 5 + 2_002) / 2_003 - 1, "the error rows, and only they, are not scored")
        XCTAssertTrue(rowMessages.contains { $0[3] == "unknown_level" })
        // SCORE: the encoder's vectors of the same rows, whole and in small batches.
        let x = s.matrix.values, m = model.schema.count
        let numeric = try client.call(RequestEncoder.score(requestID: 11, rows: n, columns: m, matrix: x))
        guard case .score(let wholeRisk, let wholeAtyp, let wholeTier) = numeric.body else { return XCTFail("\(numeric.body)") }
        var smallRisk: [UInt64] = [], smallAtyp: [UInt64] = [], smallTier: [UInt8] = []
        for start in Swift.stride(from: 0, to: n, by: part) {
            let reply = try client.call(RequestEncoder.score(requestID: 12, rows: part, columns: m, matrix: Array(x[(start * m)..<((start + part) * m)])))
            guard case .score(let r, let a, let t) = reply.body else { return XCTFail("\(reply.body)") }
            smallRisk += r.map(\.bitPattern); smallAtyp += a.map(\.bitPattern); smallTier += t
        }
        same(wholeRisk.map(\.bitPattern), smallRisk, "SCORE risks")
        same(wholeAtyp.map(\.bitPattern), smallAtyp, "SCORE atypicalities")
        same(wholeTier, smallTier, "SCORE tiers")
    }

    /// A request large enough to be decoded a part per core (each core reads the rows it
    /// scores) with malformed codes is refused as a whole request decoded at once would be: the
    /// first bad column in request order, at its first bad row, whichever part met it first,
    /// and nothing scored. Here the first column's bad row lies in the last part and the second
    /// column's in the first.
    func testALargeRequestWithABadCodeIsRefusedAsDecodedWhole() throws {
        let n = 20_000
        func texts(badAt row: Int) -> RecordsRequest.Column {
            var codes = (0..<n).map { Int32($0 % 3) - 1 }
            codes[row] = 7
            return .texts(values: ["Female", "Male"], codes: codes)
        }
        let columns: [(name: String, column: RecordsRequest.Column)] = [
            ("time_in_hospital", .numbers((0..<n).map { Double($0 % 14 + 1) })),
            ("race", texts(badAt: 19_500)), ("gender", texts(badAt: 3)),
        ]
        let frames = RequestEncoder.records(requestID: 9, rows: n, columns: columns, codeWidth: .wide)
        guard case .failure(let whole) = RequestDecoder(maxRows: n).decode(frames) else { return XCTFail("decoded") }
        XCTAssertEqual(whole.error.message, "column 'race': row 19500: code 7 is not -1 (missing) or an index below 2")
        let reply = try client.call(frames)
        guard case .error(let refused) = reply.body else { return XCTFail("accepted: \(reply.body)") }
        XCTAssertEqual(refused.status, .badPayloadSize)
        XCTAssertEqual(refused.message, whole.error.message)
        // The daemon still serves: the same request without the bad codes is decoded and read
        // (and refused by the model for the fields it lacks, a request-level error).
        let sound = RequestEncoder.records(requestID: 10, rows: n, columns: columns.map { name, column in
            guard case .texts(let values, let codes) = column else { return (name, column) }
            return (name, .texts(values: values, codes: codes.map { $0 > 1 ? -1 : $0 }))
        }, codeWidth: .wide)
        guard case .error(let absent) = try client.call(sound).body else { return XCTFail("scored without its fields") }
        XCTAssertEqual(absent.status, .badArgument)
        XCTAssertTrue(absent.message.contains("absent"), absent.message)
    }

    /// Each row's explanation as one comparable text (feature, contribution bits, raw value).
    static func explanationTexts(_ json: [String: Any]) throws -> [String] {
        try XCTUnwrap(json["explanations"] as? [[[String: Any]]]).map { terms in
            terms.map { t in
                let contribution = (t["contribution"] as? Double)?.bitPattern ?? 0
                return "\(t["feature"] ?? "?")|\(contribution)|\(t["value"].map { "\($0)" } ?? "?")"
            }.joined(separator: ";")
        }
    }

    /// Raw fields with history supplied give exactly the numeric SCORE of the encoder's vectors;
    /// numbers sent as texts give the same; every row alone equals the row in the batch.
    func testRecordsEqualScoreAndEveryRowStandsAlone() throws {
        let s = try sample(count: 300, seed: 7)
        let numeric = try client.call(RequestEncoder.score(requestID: 1, rows: s.rows.count, columns: model.schema.count, matrix: s.matrix.values))
        guard case .score(let risk, let atyp, let tier) = numeric.body else { return XCTFail("\(numeric.body)") }
        let batch = try records(s.columns, rows: s.rows.count)
        XCTAssertEqual(batch.risk.map(\.bitPattern), risk.map(\.bitPattern))
        XCTAssertEqual(batch.atyp.map(\.bitPattern), atyp.map(\.bitPattern))
        XCTAssertEqual(batch.tier, tier)
        XCTAssertEqual((batch.json["messages"] as? [Any])?.count, 0, "\(batch.json)")
        let asText = try records(try sample(count: 300, seed: 7, numbersAsText: true).columns, rows: 300)
        XCTAssertEqual(asText.risk.map(\.bitPattern), risk.map(\.bitPattern))
        // Row independence: random subsets and single rows, bit for bit.
        var rng = SplitMix64(seed: 11)
        for size in [1, 1, 1, 2, 17, 64] {
            let pick = (0..<size).map { _ in Int(rng.next() % 300) }
            let part = try records(Self.slice(s.columns, pick), rows: size)
            XCTAssertEqual(part.risk.map(\.bitPattern), pick.map { risk[$0].bitPattern }, "subset of \(size)")
            XCTAssertEqual(part.tier, pick.map { tier[$0] })
        }
    }

    /// Risk intervals over the wire: SCORE (flag bit 1) and RECORDS (option bit 2) return the
    /// in-process Venn-Abers interval bit for bit, the same for a row alone or in a batch, with
    /// low <= high in [0, 1]; a row with an error gets NaN; without the flag or option the
    /// replies are as before; a model without intervals refuses the flag with BAD_ARGUMENT.
    func testIntervalsOverTheWireEqualInProcessAndStandAlone() throws {
        let s = try sample(count: 200, seed: 21)
        let local = try model.score(s.matrix)
        XCTAssertTrue(model.hasInterval)
        let numeric = try client.call(RequestEncoder.score(requestID: 1, rows: 200, columns: model.schema.count, matrix: s.matrix.values, interval: true))
        XCTAssertEqual(numeric.intervalLow?.map(\.bitPattern), local.intervalLow.map(\.bitPattern))
        XCTAssertEqual(numeric.intervalHigh?.map(\.bitPattern), local.intervalHigh.map(\.bitPattern))
        for (lo, hi) in zip(local.intervalLow, local.intervalHigh) { XCTAssertTrue(0 <= lo && lo <= hi && hi <= 1, "\(lo) \(hi)") }
        XCTAssertGreaterThan(zip(local.intervalLow, local.intervalHigh).filter { $0 < $1 }.count, 0, "some interval has a width")
        let plain = try client.call(RequestEncoder.score(requestID: 2, rows: 200, columns: model.schema.count, matrix: s.matrix.values))
        XCTAssertNil(plain.intervalLow)
        let batch = try client.call(RequestEncoder.records(requestID: 3, rows: 200, options: RecordsRequest.optionInterval, columns: s.columns))
        XCTAssertEqual(batch.intervalLow?.map(\.bitPattern), local.intervalLow.map(\.bitPattern))
        XCTAssertEqual(batch.intervalHigh?.map(\.bitPattern), local.intervalHigh.map(\.bitPattern))
        XCTAssertNil(try client.call(RequestEncoder.records(requestID: 4, rows: 200, columns: s.columns)).intervalLow)
        for r in [0, 57, 199] {
            let one = try client.call(RequestEncoder.records(requestID: 5, rows: 1, options: RecordsRequest.optionInterval, columns: Self.slice(s.columns, [r])))
            XCTAssertEqual(one.intervalLow?.map(\.bitPattern), [local.intervalLow[r].bitPattern])
            XCTAssertEqual(one.intervalHigh?.map(\.bitPattern), [local.intervalHigh[r].bitPattern])
        }
        // A row with an error: NaN interval.
        var bad = Self.slice(s.columns, [0, 1])
        let numberField = try XCTUnwrap(RecordFields.fields(spec: model.parameters.dataset, schema: model.schema).first { $0.type == .number && !$0.history })
        let j = try XCTUnwrap(bad.firstIndex { $0.name == numberField.name })
        bad[j].column = .texts(values: ["three", "4"], codes: [0, 1])
        let mixed = try client.call(RequestEncoder.records(requestID: 6, rows: 2, options: RecordsRequest.optionInterval, columns: bad))
        XCTAssertTrue(mixed.intervalLow?[0].isNaN ?? false, "\(String(describing: mixed.intervalLow))")
        XCTAssertFalse(mixed.intervalLow?[1].isNaN ?? true)
        // INFO says the model has one.
        guard case .text(let info) = try client.call(RequestEncoder.simple(.info, requestID: 7)).body else { return XCTFail() }
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any])
        XCTAssertEqual((object["interval"] as? [String: Any])?["method"] as? String, "venn_abers")
    }

    /// A model file written without intervals (as before they existed) still serves, and says
    /// BAD_ARGUMENT, naming the model, to a request for one.
    func testAModelWithoutIntervalsRefusesToGiveOne() throws {
        var p = model.parameters
        p.vennAbers = nil
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nointerval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("old.readmit").path
        try ModelFile.write(p, to: path)
        let old = try DaemonProcess(arguments: ["--model", path, "--workers", "1"])
        defer { old.stop() }
        let c = try WireClient(endpoint: old.endpoint)
        let x = TestRows.make(model.schema, rows: 2)
        XCTAssertEqual(try c.call(RequestEncoder.score(requestID: 1, rows: 2, columns: model.schema.count, matrix: x)).header.status, 0)
        let refused = try c.call(RequestEncoder.score(requestID: 2, rows: 2, columns: model.schema.count, matrix: x, interval: true))
        guard case .error(let e) = refused.body else { return XCTFail("\(refused.body)") }
        XCTAssertEqual(e.status, .badArgument)
        XCTAssertTrue(e.message.contains("no risk interval"), e.message)
        guard case .text(let info) = try c.call(RequestEncoder.simple(.info, requestID: 3)).body else { return XCTFail() }
        XCTAssertTrue(info.contains("\"interval\":null"), info)
    }

    /// The model's ``RecordPlan`` (prepared once at load: fields by name, level and `other`
    /// indices) gives the vectors and messages of the unprepared path (everything rebuilt from
    /// the spec and schema on each call, the encoder without a level index), bit for bit: on
    /// test-split rows sent as numbers and as texts, with an unknown level, a bad number, an
    /// unused field and an absent history field.
    func testPreparedPlanEncodesAsTheUnpreparedPath() throws {
        let spec = model.parameters.dataset, schema = model.schema
        let fields = RecordFields.fields(spec: spec, schema: schema)
        // A text field whose unknown level is missing with a warning (no `other` level).
        let text = try XCTUnwrap(fields.first { f in
            f.type == .text && !(f.levels ?? []).isEmpty && f.feature.flatMap { schema.index(of: $0) }.map { schema.features[$0].transform == .level } == true
        }).name
        let number = try XCTUnwrap(fields.first { $0.type == .number && !$0.history }).name
        let history = try XCTUnwrap(fields.first { $0.history }).name
        for asText in [false, true] {
            let n = 200
            var columns: [(name: String, column: RecordColumn)] = try sample(count: n, seed: 5, numbersAsText: asText).columns.compactMap { name, c in
                if name == history { return nil }
                switch c {
                case .numbers(let v): return (name, .numbers(v))
                case .texts(var values, var codes):
                    if name == text { values.append("Martian"); codes[3] = Int32(values.count - 1) }
                    if name == number { values.append("three"); codes[5] = Int32(values.count - 1) }
                    return (name, .texts(values: values, codes: codes))
                }
            }
            if !asText, let i = columns.firstIndex(where: { $0.name == number }), case .numbers(var v) = columns[i].column {
                v[7] = .infinity
                columns[i].column = .numbers(v)
            }
            columns.append(("not_a_field", .numbers([Double](repeating: 1, count: n))))

            var problems = RowErrors()
            let table = try RecordBatch.table(columns: columns, rows: n, spec: spec, schema: schema, options: .init(), warnings: &problems)
            let tables = DatasetTables(spec: spec, records: table)
            let records = try EncounterRecords(tables: tables, strict: false, errors: &problems)
            let raw = try RawFeatures(tables: tables, records: records, labels: Array(repeating: nil, count: n), strict: false, errors: &problems)
            let unprepared = FeatureEncoder.encode(raw: raw, spec: spec, schema: schema, warnings: &problems)
            let prepared = try model.encodeRecords(columns: columns, rows: n, options: .init())

            XCTAssertFalse(problems.byRow.isEmpty, "the dirty values must give row errors")
            for r in 0..<n where problems.byRow[r] == nil {
                XCTAssertEqual(prepared.matrix.row(r).map(\.bitPattern), unprepared.row(r).map(\.bitPattern), "row \(r), numbers as text: \(asText)")
            }
            let expected = problems.warnings.map { "\($0.row ?? -1) \($0.field) \($0.code)" }
                + problems.byRow.map { "\($0.key) \($0.value.column ?? "") \($0.value.code.rawValue)" }
            XCTAssertEqual(prepared.messages.map { "\($0.row) \($0.field) \($0.code)" }.sorted(), expected.sorted())
            XCTAssertTrue(expected.contains { $0.hasSuffix("unknown_level") } && expected.contains { $0.hasSuffix("history_unknown") }
                          && expected.contains { $0.hasSuffix("unused_field") }, "\(expected)")
        }
    }

    /// Bad values: the documented outcome per row, the other rows scored, rows and fields named.
    func testDirtyValuesHaveOneDocumentedOutcome() throws {
        let s = try sample(count: 6, seed: 3, numbersAsText: true)
        var columns = s.columns
        func setText(_ field: String, row: Int, _ text: String?) throws {
            let i = try XCTUnwrap(columns.firstIndex { $0.name == field })
            guard case .texts(let values, let codes) = columns[i].column else { return XCTFail("\(field) is not a text column") }
            var texts: [String?] = codes.map { $0 < 0 ? nil : values[Int($0)] }
            texts[row] = text
            columns[i].column = RequestEncoder.textColumn(texts)
        }
        try setText("time_in_hospital", row: 1, "three")
        try setText("race", row: 2, "caucasian")
        try setText("num_lab_procedures", row: 3, "2026-12-02")
        let all = try records(columns, rows: 6, k: 3)
        let messages = try XCTUnwrap(all.json["messages"] as? [[String: Any]])
        func message(row: Int) -> [String: Any]? { messages.first { $0["row"] as? Int == row } }
        XCTAssertEqual(message(row: 1)?["severity"] as? String, "error")
        XCTAssertEqual(message(row: 1)?["field"] as? String, "time_in_hospital")
        XCTAssertEqual(message(row: 1)?["code"] as? String, "bad_number")
        XCTAssertTrue(all.risk[1].isNaN)
        XCTAssertEqual(all.tier[1], 255)
        XCTAssertEqual(message(row: 2)?["severity"] as? String, "warning")
        XCTAssertEqual(message(row: 2)?["code"] as? String, "unknown_level")
        XCTAssertTrue((message(row: 2)?["message"] as? String)?.contains("did you mean 'Caucasian'") ?? false, "\(messages)")
        XCTAssertFalse(all.risk[2].isNaN)
        XCTAssertEqual(message(row: 3)?["code"] as? String, "bad_number")
        for r in [0, 4, 5] { XCTAssertFalse(all.risk[r].isNaN) }
        // The clean rows equal those rows sent alone; explanations name features and raw values.
        let alone = try records(Self.slice(columns, [4]), rows: 1)
        XCTAssertEqual(alone.risk[0].bitPattern, all.risk[4].bitPattern)
        let explanations = try XCTUnwrap(all.json["explanations"] as? [[[String: Any]]])
        XCTAssertEqual(explanations[1].count, 0)
        XCTAssertEqual(explanations[0].count, 3)
        XCTAssertNotNil(explanations[0][0]["feature"] as? String)
        // Under bad_values_missing the bad numbers are missing with a warning and the rows scored.
        let lenient = try records(columns, rows: 6, options: RecordsRequest.optionBadValuesMissing)
        XCTAssertFalse(lenient.risk[1].isNaN)
        let lenientMessages = try XCTUnwrap(lenient.json["messages"] as? [[String: Any]])
        XCTAssertTrue(lenientMessages.allSatisfy { $0["severity"] as? String == "warning" }, "\(lenientMessages)")
        // An infinite number is not finite.
        var infinite = s.columns
        let i = try XCTUnwrap(infinite.firstIndex { $0.name == "num_medications" })
        infinite[i].column = .numbers([1, .infinity, 3, 4, 5, 6])
        let inf = try records(infinite, rows: 6)
        XCTAssertEqual((inf.json["messages"] as? [[String: Any]])?.first?["code"] as? String, "not_finite")
        XCTAssertTrue(inf.risk[1].isNaN)
    }

    /// Diagnosis codes that are numbers past every ICD-9 category (20 digits, an exponent)
    /// are the chapter "other", as any code the grouping does not know: the rows are scored,
    /// each as it is alone, and the daemon goes on serving. One such code stopped the daemon
    /// (a conversion to Int trapped).
    func testDiagnosisCodesPastEveryCategoryAreOther() throws {
        let s = try sample(count: 4, seed: 21, numbersAsText: true)
        var columns = s.columns
        let huge = ["99999999999999999999.5", "1e300", "-1e300", "9223372036854775808.0"]
        for field in ["diag_1", "diag_2", "diag_3"] {
            let i = try XCTUnwrap(columns.firstIndex { $0.name == field })
            columns[i].column = RequestEncoder.textColumn(huge)
        }
        let all = try records(columns, rows: 4)
        for r in 0..<4 {
            XCTAssertFalse(all.risk[r].isNaN, "row \(r)")
            let alone = try records(Self.slice(columns, [r]), rows: 1)
            XCTAssertEqual(alone.risk[0].bitPattern, all.risk[r].bitPattern, "row \(r)")
        }
        // The daemon still serves the rows as they were.
        XCTAssertEqual(try records(s.columns, rows: 4).risk.count, 4)
    }

    /// A stay the spec's cohort excludes (Diabetes 130: discharged to hospice, died) is not
    /// scored: an `excluded` error naming the field and the reason, under every option, and no
    /// warning about its values; the other rows are as they are alone.
    func testStaysOutOfTheCohortAreNotScored() throws {
        let s = try sample(count: 5, seed: 9, numbersAsText: true)
        var columns = s.columns
        let i = try XCTUnwrap(columns.firstIndex { $0.name == "discharge_disposition_id" })
        guard case .texts(let values, let codes) = columns[i].column else { return XCTFail("not a text column") }
        var texts: [String?] = codes.map { $0 < 0 ? nil : values[Int($0)] }
        texts[1] = "11"  // expired
        texts[3] = "13"  // hospice
        columns[i].column = RequestEncoder.textColumn(texts)
        let clean = try records(s.columns, rows: 5)
        for options in [UInt32(0), RecordsRequest.optionBadValuesMissing] {
            let out = try records(columns, rows: 5, k: 2, options: options)
            let messages = try XCTUnwrap(out.json["messages"] as? [[String: Any]])
            XCTAssertEqual(messages.map { $0["row"] as? Int }, [1, 3], "\(messages)")
            for m in messages {
                XCTAssertEqual(m["severity"] as? String, "error")
                XCTAssertEqual(m["code"] as? String, "excluded")
                XCTAssertEqual(m["field"] as? String, "discharge_disposition_id")
            }
            XCTAssertTrue((messages[0]["message"] as? String)?.contains("died in hospital") ?? false, "\(messages)")
            XCTAssertTrue((messages[1]["message"] as? String)?.contains("hospice") ?? false, "\(messages)")
            XCTAssertTrue(out.risk[1].isNaN && out.risk[3].isNaN)
            XCTAssertEqual([out.tier[1], out.tier[3]], [255, 255])
            for r in [0, 2, 4] { XCTAssertEqual(out.risk[r].bitPattern, clean.risk[r].bitPattern) }
        }
    }

    /// An exclusion column that no feature reads (as MIMIC-IV's hospital_expire_flag) is read by
    /// the cohort check: it is not an unused field, while a column nothing reads is.
    func testAnExclusionColumnIsReadNotUnused() throws {
        var spec = model.parameters.dataset
        let rule = #"{"reason": "left against advice", "column": "against_advice", "table": "encounters", "values": ["1"]}"#
        spec.exclusions.append(try JSONDecoder().decode(Exclusion.self, from: Data(rule.utf8)))
        let s = try sample(count: 3, seed: 4)
        let columns: [(name: String, column: RecordColumn)] = s.columns.map { name, c in
            switch c {
            case .numbers(let v): return (name, .numbers(v))
            case .texts(let values, let codes): return (name, .texts(values: values, codes: codes))
            }
        } + [("against_advice", .texts(values: ["0", "1"], codes: [0, 1, -1])), ("shoe_size", .numbers([1, 2, 3]))]
        for spec in [model.parameters.dataset, spec] {
            var warnings = RowErrors()
            _ = try RecordBatch.table(columns: columns, rows: 3, spec: spec, schema: model.schema, options: .init(), warnings: &warnings)
            let unused = warnings.warnings.filter { $0.code == "unused_field" }.map(\.field)
            XCTAssertEqual(unused, spec.exclusions.contains { $0.column == "against_advice" } ? ["shoe_size"] : ["against_advice", "shoe_size"])
        }
    }

    /// Absent fields: a required one fails the request unless the caller opts in; absent history
    /// is unknown history (a warning), never a first encounter; unknown fields are ignored with a warning.
    func testAbsentFieldsAndHistory() throws {
        let s = try sample(count: 4, seed: 5)
        let withoutAge = s.columns.filter { $0.name != "age" }
        let refused = try client.call(RequestEncoder.records(requestID: 9, rows: 4, columns: withoutAge))
        guard case .error(let error) = refused.body else { return XCTFail("accepted without a required field: \(refused.body)") }
        XCTAssertEqual(error.status, .badArgument)
        XCTAssertTrue(error.message.contains("'age'"), error.message)
        let optedIn = try records(withoutAge, rows: 4, options: RecordsRequest.optionMissingFieldsOk)
        XCTAssertTrue(optedIn.risk.allSatisfy { !$0.isNaN })
        XCTAssertTrue((optedIn.json["messages"] as? [[String: Any]])?.contains { $0["code"] as? String == "missing_field" } ?? false)

        let historyNames = Set(RecordFields.fields(spec: model.parameters.dataset, schema: model.schema).filter(\.history).map(\.name))
        // A name that JSON must escape (quote, backslash, control characters) comes back as sent.
        let oddName = "shoe \"size\"\\\n\t\u{1}é"
        let noHistory = s.columns.filter { !historyNames.contains($0.name) } + [("shoe_size", .numbers([1, 2, 3, 4])), (oddName, .numbers([1, 2, 3, 4]))]
        let unknown = try records(noHistory, rows: 4)
        let messages = try XCTUnwrap(unknown.json["messages"] as? [[String: Any]])
        XCTAssertTrue(messages.contains { $0["code"] as? String == "history_unknown" && $0["row"] as? Int == -1 }, "\(messages)")
        XCTAssertTrue(messages.contains { $0["code"] as? String == "unused_field" && $0["field"] as? String == "shoe_size" })
        XCTAssertTrue(messages.contains { $0["code"] as? String == "unused_field" && $0["field"] as? String == oddName }, "\(messages)")
        // Unknown history is scored as NaN history, not as a first encounter's zeros.
        var nanHistory = s.matrix
        for r in 0..<4 { for name in historyNames { nanHistory.values[r * nanHistory.columns + model.schema.index(of: name)!] = .nan } }
        XCTAssertEqual(unknown.risk.map(\.bitPattern), try model.score(nanHistory).risk.map(\.bitPattern))
    }

    /// A request of several scoring blocks (``EncodedFeatures``: written and scored 512 rows at
    /// a time, in process) gives every row what the whole encoded matrix gives, bit for bit:
    /// risk, atypicality, tier, interval and explanation, with error rows on either side of
    /// each block boundary and in the last, partial block; and every message.
    func testScoringBlocksGiveTheWholeMatrixResults() throws {
        let n = 1_300, k = 3
        let blocks = [511, 512, 1_023, 1_024, 1_025]
        var columns: [(name: String, column: RecordColumn)] = try sample(count: n, seed: 17, numbersAsText: true).columns.map { name, c in
            switch c {
            case .numbers(let v): return (name, .numbers(v))
            case .texts(var values, var codes):
                if name == "num_lab_procedures" {
                    values.append("many")  // a bad number: an error row
                    for r in [0] + blocks + [n - 1] { codes[r] = Int32(values.count - 1) }
                }
                if name == "num_medications" {
                    // Sent as numbers, two infinite: error rows whose vectors must not reach the trees.
                    var v = codes.map { $0 < 0 ? Double.nan : Double(values[Int($0)]) ?? .nan }
                    v[700] = .infinity; v[n - 1] = -.infinity
                    return (name, .numbers(v))
                }
                if name == "race" {
                    values.append("Martian")  // an unknown level: a warning, the row scored
                    for r in [510, 513, n - 2] { codes[r] = Int32(values.count - 1) }
                }
                return (name, .texts(values: values, codes: codes))
            }
        }
        columns.append(("not_a_field", .numbers([Double](repeating: 1, count: n))))
        let options = RecordBatch.Options(interval: true)
        let result = try model.scoreRecords(columns: columns, rows: n, k: k, options: options)
        XCTAssertNotNil(result.retired, "the encoded inputs are held for the server to free after its reply")
        // The whole matrix, as the encoder gives it (error rows NaN), scored and explained at once.
        let whole = try model.encodeRecords(columns: columns, rows: n, options: options)
        let scores = try model.score(whole.matrix, interval: true)
        var index = [Int32](repeating: -1, count: n * k), contribution = [Double](repeating: 0, count: n * k)
        try whole.matrix.values.withUnsafeBufferPointer { x in
            try index.withUnsafeMutableBufferPointer { i in
                try contribution.withUnsafeMutableBufferPointer { c in try model.explain(x, rows: n, k: k, featureIndex: i, contribution: c) }
            }
        }
        let failed = Set(whole.messages.filter { $0.severity == .error }.map(\.row))
        XCTAssertEqual(failed, Set([0, 700] + blocks + [n - 1]), "the bad numbers, and only they, are error rows")
        XCTAssertTrue(whole.messages.contains { $0.code == "unknown_level" && $0.row == 513 }, "\(whole.messages)")
        XCTAssertEqual(result.messages, whole.messages)
        for r in 0..<n {
            if failed.contains(r) {
                XCTAssertTrue(result.risk[r].isNaN && result.atypicality[r].isNaN && result.tier[r] == 255, "error row \(r)")
                XCTAssertTrue(result.intervalLow[r].isNaN && result.intervalHigh[r].isNaN && result.explanations[r].isEmpty, "error row \(r)")
                continue
            }
            let same = result.risk[r].bitPattern == scores.risk[r].bitPattern && result.atypicality[r].bitPattern == scores.atypicality[r].bitPattern
                && result.tier[r] == scores.tier[r] && result.intervalLow[r].bitPattern == scores.intervalLow[r].bitPattern
                && result.intervalHigh[r].bitPattern == scores.intervalHigh[r].bitPattern
            let terms = (0..<k).filter { index[r * k + $0] >= 0 }
            let explained = result.explanations[r].map { "\($0.feature) \($0.contribution.bitPattern)" }
                == terms.map { "\(model.schema.features[Int(index[r * k + $0])].name) \(contribution[r * k + $0].bitPattern)" }
            if !same || !explained { return XCTFail("row \(r) differs from the whole matrix's (scores \(same), explanation \(explained))") }
        }
    }

    /// A batch large enough to be split across cores gives every row the result it has alone,
    /// and an error in its last row names that row of the whole request.
    func testLargeBatchSplitAcrossCoresIsBitIdentical() throws {
        let s = try sample(count: 300, seed: 13, numbersAsText: true)
        let alone = try records(s.columns, rows: 300)
        let copies = 67, rows = 300 * copies  // 20,100 rows: split across cores (GuidedChunks)
        var tiled = Self.slice(s.columns, (0..<rows).map { $0 % 300 })
        let i = try XCTUnwrap(tiled.firstIndex { $0.name == "num_medications" })
        guard case .texts(var values, var codes) = tiled[i].column else { return XCTFail("num_medications is not a text column") }
        values.append("many")
        codes[rows - 1] = Int32(values.count - 1)
        tiled[i].column = .texts(values: values, codes: codes)
        let big = try records(tiled, rows: rows)
        XCTAssertEqual(big.risk.count, rows)
        for r in 0..<(rows - 1) where big.risk[r].bitPattern != alone.risk[r % 300].bitPattern {
            return XCTFail("row \(r) differs from the same row sent alone")
        }
        let messages = try XCTUnwrap(big.json["messages"] as? [[String: Any]])
        XCTAssertEqual(messages.filter { $0["severity"] as? String == "error" }.map { $0["row"] as? Int }, [rows - 1])
        XCTAssertEqual(big.tier[rows - 1], 255)
    }
}
