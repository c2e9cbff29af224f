import Foundation
import ReadmitCore
import ReadmitSpec
import ReadmitTables
import XCTest

/// Features derived from several columns of one row (`count_of`, `sum_of`) and history read
/// from the label of earlier stays (`count` and `previous` with `of: <label>` and `equals`), on
/// a small undated extract written by hand; and the spec errors of their keys.
final class RowDerivationTests: XCTestCase {
    static let encounters = """
        enc,pat,drug_a,drug_b,drug_c,visits_a,visits_b,outcome
        1,7,No,Up,Steady,1,2,>30
        2,7,Down,?,No,0,?,<30
        3,7,?,?,?,3,4,NO
        4,7,Up,Up,Up,0,0,>30
        5,8,Steady,No,No,2,2,NO

        """

    static func spec(extra: String = "") -> String {
        """
        name: rows
        encounters: {file: enc.csv, encounter_id: enc, patient_id: pat, order: enc, missing: ["?"]}
        label: {column: outcome, positive: ["<30"], negative: ["NO", ">30"]}
        split: {method: patient_hash}
        features:
          - {name: drugs_given, kind: derived, derive: count_of, columns: [drug_a, drug_b, drug_c], values: [Steady, Up, Down]}
          - {name: drugs_changed, kind: derived, derive: count_of, columns: [drug_a, drug_b, drug_c], values: [Up, Down]}
          - {name: visits, kind: derived, derive: sum_of, columns: [visits_a, visits_b]}
          - {name: prior_after_30, kind: history, history: count, of: outcome, equals: [">30"]}
          - {name: prev_after_30, kind: history, history: previous, of: outcome, equals: [">30"]}
          - {name: prior, kind: history, history: count}
        \(extra)
        """
    }

    func load(_ specText: String, encounters: String = encounters) throws -> PreparedData {
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.write(encounters, name: "enc.csv", in: dir)
        let spec = try SpecReader.parse(specText, file: "rows.yaml")
        return try PreparedData(tables: DatasetTables(spec: spec, folders: [dir.path]))
    }

    func values(_ data: PreparedData, _ name: String) -> [Double] {
        let schema = FeatureSchemaBuilder.build(spec: data.spec, raw: data.raw, trainingRows: Array(0..<data.records.count))
        let x = FeatureEncoder.encode(raw: data.raw, spec: data.spec, schema: schema)
        let j = schema.index(of: name)!
        return (0..<x.rows).map { x.values[$0 * x.columns + j] }
    }

    /// NaN-aware equality of two columns (XCTAssertEqual fails on NaN == NaN).
    func assertSame(_ a: [Double], _ b: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map { $0.isNaN ? "nan" : String($0) }, b.map { $0.isNaN ? "nan" : String($0) }, file: file, line: line)
    }

    func testCountOfCountsMatchingColumnsAndIsMissingOnlyWhenAllAre() throws {
        let data = try load(Self.spec())
        // Row 2: "Down" counts, the missing drug_b counts as no match. Row 3: all missing.
        assertSame(values(data, "drugs_given"), [2, 1, .nan, 3, 1])
        assertSame(values(data, "drugs_changed"), [1, 1, .nan, 3, 0])
    }

    /// A `count_of` term reads a request's text column as it came (no text column is built for
    /// it) by the rules it reads a file's column with: missing tokens, empty texts and absent
    /// codes never count; numbers sent for a text field count as their shortest text.
    func testCountOfReadsRecordsAsItReadsAFile() throws {
        let csv = try CSVTable(bytes: Array("id,d\n1,Up\n2,No\n3,?\n4,\n5,Down\n6,Up\n".utf8), file: "f.csv")
        let file = SourceTable(csv: csv, missing: ["?"])
        let sent = SourceTable(columns: [("d", .texts(values: ["Up", "No", "?", "", "Down"], codes: [0, 1, 2, 3, 4, 0])),
                                         ("absent", .texts(values: ["Up", "No", "Down"], codes: [0, 1, -1, -1, 2, 0])),
                                         ("n", .numbers([1, 2, .nan, .nan, 1, 1.5]))],
                               rows: 6, missing: ["?"])
        func counts(_ table: SourceTable, _ name: String, _ wanted: [String]) throws -> [String] {
            var count = [Double](repeating: 0, count: 6), seen = [Bool](repeating: false, count: 6)
            try table.countMatches(name, in: wanted, key: "features[0].columns[0]", count: &count, seen: &seen)
            return zip(count, seen).map { "\($0.0)/\($0.1)" }
        }
        let expected = try counts(file, "d", ["Up", "Down"])
        XCTAssertEqual(expected, ["1.0/true", "0.0/true", "0.0/false", "0.0/false", "1.0/true", "1.0/true"])
        XCTAssertEqual(try counts(sent, "d", ["Up", "Down"]), expected)
        XCTAssertEqual(try counts(sent, "absent", ["Up", "Down"]), expected)
        XCTAssertEqual(try counts(sent, "n", ["1"]), ["1.0/true", "0.0/true", "0.0/false", "0.0/false", "1.0/true", "0.0/true"])
        // Each row alone (a one-row request takes a path of its own), also onto a count that
        // already holds 2, as the second of several columns does.
        let values = ["Up", "No", "?", "", "Down"], codes: [Int32] = [0, 1, 2, 3, 4, 0, -1]
        for (r, code) in codes.enumerated() {
            let alone = SourceTable(columns: [("d", .texts(values: values, codes: [code]))], rows: 1, missing: ["?"])
            var count: [Double] = [2], seen = [false]
            try alone.countMatches("d", in: ["Up", "Down"], key: "features[0].columns[0]", count: &count, seen: &seen)
            let want = r < 6 ? expected[r] : "0.0/false"
            let wantCount = 2 + (Double(want.split(separator: "/")[0]) ?? -1)
            XCTAssertEqual("\(count[0])/\(seen[0])", "\(wantCount)/\(want.hasSuffix("true"))", "row \(r) alone")
        }
        XCTAssertThrowsError(try counts(sent, "missing_column", ["Up"])) { error in
            XCTAssertTrue("\(error)".contains("features[0].columns[0]"), "\(error)")
        }
    }

    /// A whole `count_of` over a request's columns at once (``SourceTable/countOf(_:in:key:)``)
    /// gives the bits of the column-by-column count (``SourceTable/countMatches(_:in:key:count:seen:)``
    /// then NaN where nothing was seen), for batches of many rows and for each row alone; it
    /// declines a file, a column of numbers and more than 255 columns, and names a missing
    /// column's key.
    func testCountOfAllColumnsAtOnceEqualsColumnByColumn() throws {
        var rng = SplitMix64(seed: 2026)
        let pool = ["Up", "Down", "Steady", "No", "?", "", "up", "Up "]
        func columnByColumn(_ table: SourceTable, _ names: [String], _ wanted: [String], rows: Int) throws -> [UInt64] {
            var count = [Double](repeating: 0, count: rows), seen = [Bool](repeating: false, count: rows)
            for (c, name) in names.enumerated() {
                try table.countMatches(name, in: wanted, key: "features[1].columns[\(c)]", count: &count, seen: &seen)
            }
            return (0..<rows).map { seen[$0] ? count[$0].bitPattern : Double.nan.bitPattern }
        }
        for trial in 0..<200 {
            let rows = trial % 4 == 0 ? 1 : 1 + Int(rng.next() % 300), width = 1 + Int(rng.next() % 6)
            var columns: [(name: String, column: RecordColumn)] = []
            for c in 0..<width {
                let values = (0..<(1 + Int(rng.next() % 6))).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
                let codes = (0..<rows).map { _ in Int32(Int(rng.next() % UInt64(values.count + 1)) - 1) }
                columns.append(("c\(c)", .texts(values: values, codes: codes)))
            }
            let table = SourceTable(columns: columns, rows: rows, missing: ["?"])
            let names = columns.map(\.name).shuffled(using: &rng)
            let wanted = trial % 2 == 0 ? ["Up", "Down"] : ["Steady", "", "?"]
            let expected = try columnByColumn(table, names, wanted, rows: rows)
            let counted = try XCTUnwrap(try table.countOf(names, in: wanted, key: { "features[1].columns[\($0)]" }), "trial \(trial)")
            XCTAssertEqual(counted.map(\.bitPattern), expected, "trial \(trial): \(rows) rows, \(width) columns")
            // Several sets over the same columns at once (one to seven: the general path takes
            // three a pass): each set's counts are its own count's bits.
            let sets = (0..<(1 + trial % 7)).map { _ in pool.filter { _ in rng.next() % 2 == 0 } }
            let together = try XCTUnwrap(try table.countsOf(names, in: sets, key: { "features[1].columns[\($0)]" }), "trial \(trial)")
            XCTAssertEqual(together.count, sets.count, "trial \(trial)")
            for (s, set) in sets.enumerated() {
                XCTAssertEqual(together[s].map(\.bitPattern), try columnByColumn(table, names, set, rows: rows),
                               "trial \(trial): set \(s) \(set) of \(sets.count), \(rows) rows, \(width) columns")
            }
        }
        let sent = SourceTable(columns: [("a", .texts(values: ["Up"], codes: [0, -1])), ("n", .numbers([1, 2]))], rows: 2, missing: [])
        XCTAssertNil(try sent.countOf(["a", "n"], in: ["Up"], key: { "k\($0)" }), "a column of numbers")
        XCTAssertNil(try sent.countOf(Array(repeating: "a", count: 256), in: ["Up"], key: { "k\($0)" }), "256 columns")
        let file = SourceTable(csv: try CSVTable(bytes: Array("a\nUp\n".utf8), file: "f.csv"), missing: [])
        XCTAssertNil(try file.countOf(["a"], in: ["Up"], key: { "k\($0)" }), "a file")
        XCTAssertThrowsError(try sent.countOf(["a", "absent"], in: ["Up"], key: { "features[4].columns[\($0)]" })) { error in
            XCTAssertTrue("\(error)".contains("features[4].columns[1]"), "\(error)")
        }
        // The same outcomes on one row (its own pass): the first column in order that is absent
        // throws, or that holds numbers gives nil.
        let one = SourceTable(columns: [("a", .texts(values: ["Up"], codes: [0])), ("n", .numbers([1]))], rows: 1, missing: [])
        XCTAssertNil(try one.countOf(["a", "n"], in: ["Up"], key: { "k\($0)" }), "one row, a column of numbers")
        XCTAssertNil(try one.countOf(["n", "absent"], in: ["Up"], key: { "k\($0)" }), "one row, numbers before an absent column")
        XCTAssertEqual(try one.countOf(["a", "a"], in: ["Up"], key: { "k\($0)" }), [2])
        for names in [["a", "absent"], ["absent", "n"]] {
            XCTAssertThrowsError(try one.countOf(names, in: ["Up"], key: { "features[4].columns[\($0)]" }), "\(names)") { error in
                XCTAssertTrue("\(error)".contains("features[4].columns[\(names.firstIndex(of: "absent") ?? -1)]"), "\(error)")
            }
            XCTAssertThrowsError(try one.countsOf(names, in: [["Up"], ["Down"]], key: { "features[4].columns[\($0)]" }), "\(names)") { error in
                XCTAssertTrue("\(error)".contains("features[4].columns[\(names.firstIndex(of: "absent") ?? -1)]"), "\(error)")
            }
        }
        XCTAssertNil(try one.countsOf(["a", "n"], in: [["Up"], ["Down"]], key: { "k\($0)" }), "one row, a column of numbers")
        XCTAssertNil(try sent.countsOf(["a", "n"], in: [["Up"], ["Down"]], key: { "k\($0)" }), "a column of numbers")
        XCTAssertNil(try sent.countsOf(["a"], in: [], key: { "k\($0)" }), "no set")
    }

    /// Two `count_of`s over the same columns are counted together from raw records
    /// (``SourceTable/countsOf(_:in:key:)``), and give the bits the file's column-by-column
    /// counts give, for the whole batch and for each row alone; a column the records lack is
    /// named with the first count's spec key, as counting it alone named it.
    func testCountsOverTheSameColumnsReadTogetherFromRecords() throws {
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.write(Self.encounters, name: "enc.csv", in: dir)
        let spec = try SpecReader.parse(Self.spec(), file: "rows.yaml")
        func counts(_ tables: DatasetTables) throws -> [[UInt64]] {
            var errors = RowErrors()
            let records = try EncounterRecords(tables: tables, strict: false, errors: &errors)
            let raw = try RawFeatures(tables: tables, records: records, labels: Array(repeating: nil, count: records.count), strict: false, errors: &errors)
            return try [0, 1].map { i in
                guard case .numbers(let values) = raw.features[i] else { throw XCTSkip("feature \(i) is not numbers") }
                return values.map(\.bitPattern)
            }
        }
        let file = try counts(DatasetTables(spec: spec, folders: [dir.path]))
        XCTAssertEqual(file[0].map(Double.init(bitPattern:)).map { $0.isNaN ? -1 : $0 }, [2, 1, -1, 3, 1])
        let csv = try CSVTable(bytes: Array(Self.encounters.utf8), file: "enc.csv")
        let names = csv.header
        func records(_ rows: [Int], drop: String? = nil) -> SourceTable {
            var columns: [(name: String, column: RecordColumn)] = []
            for (c, name) in names.enumerated() where name != drop {
                var values: [String] = [], codes: [Int32] = []
                for r in rows {
                    let text = csv.string(row: r, column: c)
                    if let at = values.firstIndex(of: text) { codes.append(Int32(at)) } else { codes.append(Int32(values.count)); values.append(text) }
                }
                columns.append((name, .texts(values: values, codes: codes)))
            }
            // History is an input of raw records: sent as unknown.
            for name in ["prior_after_30", "prev_after_30", "prior"] {
                columns.append((name, .texts(values: ["?"], codes: [Int32](repeating: 0, count: rows.count))))
            }
            return SourceTable(columns: columns, rows: rows.count, missing: ["?"])
        }
        let all = Array(0..<csv.rowCount)
        XCTAssertEqual(try counts(DatasetTables(spec: spec, records: records(all))), file)
        for r in all {
            XCTAssertEqual(try counts(DatasetTables(spec: spec, records: records([r]))), file.map { [$0[r]] }, "row \(r) alone")
        }
        for rows in [all, [2]] {
            XCTAssertThrowsError(try counts(DatasetTables(spec: spec, records: records(rows, drop: "drug_b")))) { error in
                XCTAssertEqual((error as? DataError)?.code, .missingColumn)
                XCTAssertTrue("\(error)".contains("features[0].columns[1]"), "\(error)")
            }
        }
    }

    /// A number column read as texts: one text per distinct bit pattern (every NaN missing),
    /// through a table that grows past its first size, each row's text the one its value
    /// gives alone.
    func testNumbersReadAsTextsKeepEveryDistinctValue() throws {
        var numbers: [Double] = []
        for i in 0..<6000 { numbers.append(i % 7 == 0 ? .nan : Double(i % 2500) * 0.25 - 100) }
        numbers += [0.0, -0.0, .infinity, Double(bitPattern: 0x7FF8_0000_0000_0001), 1e300, 6, 0.1]
        let table = SourceTable(columns: [("n", .numbers(numbers))], rows: numbers.count, missing: ["?"])
        let column = try table.texts("n", key: "features[0]")
        XCTAssertEqual(column.count, numbers.count)
        var alone: [UInt64: String?] = [:]
        for (r, v) in numbers.enumerated() {
            let expected = try alone[v.bitPattern] ?? SourceTable(columns: [("n", .numbers([v]))], rows: 1, missing: ["?"])
                .texts("n", key: "features[0]").text(0)
            alone[v.bitPattern] = expected
            XCTAssertEqual(column.text(r), expected, "row \(r)")
            XCTAssertEqual(column.text(r) == nil, v.isNaN, "row \(r)")
        }
        XCTAssertEqual(column.text(numbers.count - 2), "6")
        XCTAssertEqual(column.text(numbers.count - 1), "0.1")
        let distinct = Set(numbers.filter { !$0.isNaN }.map(\.bitPattern)).count + 1  // + the one NaN
        XCTAssertEqual(column.interned.values.count, distinct)
    }

    /// A number sent in a raw-records column is read as its shortest text would be in a file
    /// (as a number sent for a text field already was): where that text is one of the spec's
    /// missing tokens (`-1`, `999`, `0`), the number is missing in a number field too, as the
    /// token is when training reads the file. Checked against the rule written out, for each
    /// value alone, in a batch, sent as texts, and read from a CSV file of the same texts.
    func testANumberWhoseShortestTextIsAMissingTokenIsMissing() throws {
        let tokens = ["?", "-1", "999", "0", "1e3", "-1.0", "0.5", "NA", ""]
        let missing = MissingTexts(tokens)
        // `1e3` and `-1.0` are no number's shortest text (1000 is `1000`, -1 is `-1`).
        XCTAssertEqual(missing.numbers.map(\.bitPattern), [-1.0, 999, 0, 0.5].map(\.bitPattern))
        XCTAssertEqual(MissingTexts(["?", ""]).numbers, [], "the shipped specs' tokens: no number is missing")
        var values: [Double] = [-1, 999, 0, -0.0, 1000, -1.5, 0.5, 7, .nan, 1e15, 999.0000000001, -999, 0.25]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 { values.append(Double(Int.random(in: -3...1001, using: &generator)) * [1, 0.5, 0.1][Int.random(in: 0...2, using: &generator)]) }
        func expected(_ v: Double) -> Double { v.isNaN || missing.contains(SourceTable.shortestText(v)) ? .nan : v }
        func bits(_ column: [Double]) -> [UInt64] { column.map { $0.isNaN ? Double.nan.bitPattern : $0.bitPattern } }
        let want = bits(values.map(expected))
        func check(_ got: [Double], _ what: String, line: UInt = #line) {
            XCTAssertEqual(got.count, want.count, what, line: line)
            if let r = zip(bits(got), want).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                XCTFail("\(what): row \(r) (\(values[r])) reads \(got[r])", line: line)
            }
        }
        XCTAssertTrue(want.contains(Double.nan.bitPattern) && want.contains(7.0.bitPattern))
        var errors = RowErrors()
        let batch = SourceTable(columns: [("n", .numbers(values))], rows: values.count, missing: tokens)
        check(try batch.numbers("n", key: "features[0]", strict: true, errors: &errors), "numbers sent")
        for (r, v) in values.enumerated() {
            let alone = SourceTable(columns: [("n", .numbers([v]))], rows: 1, missing: tokens)
            XCTAssertEqual(bits(try alone.numbers("n", key: "features[0]", strict: true, errors: &errors)), [want[r]], "\(v) alone")
            // The same number in a text field: the text column marks it missing alike.
            XCTAssertEqual(try alone.texts("n", key: "features[0]").text(0) == nil, want[r] == Double.nan.bitPattern, "\(v) as a text")
        }
        // The shortest texts, sent as texts and written in a file, read as numbers alike.
        let texts = values.map { $0.isNaN ? "" : SourceTable.shortestText($0) }
        var distinct: [String] = [], codes: [Int32] = []
        for t in texts {
            if let i = distinct.firstIndex(of: t) { codes.append(Int32(i)) } else { distinct.append(t); codes.append(Int32(distinct.count - 1)) }
        }
        let sent = SourceTable(columns: [("n", .texts(values: distinct, codes: codes))], rows: values.count, missing: tokens)
        check(try sent.numbers("n", key: "features[0]", strict: true, errors: &errors), "texts sent")
        // NaN as `?` in the file (an empty line would be no row at all).
        let lines = texts.map { $0.isEmpty ? "?" : $0 }.joined(separator: "\n")
        let csv = try CSVTable(bytes: Array(("n\n" + lines + "\n").utf8), file: "f.csv")
        check(try SourceTable(csv: csv, missing: tokens).numbers("n", key: "features[0]", strict: true, errors: &errors), "a file")
        XCTAssertTrue(errors.byRow.isEmpty)
    }

    /// Texts sent for a number field, many rows at once, read as each row alone reads (the
    /// one-row path is separate code): the same numbers, bit for bit, and the same rows with a
    /// `bad_number` error (a text that is not a finite number), in row order; strict reading
    /// throws the first of them.
    func testTextsSentForANumberFieldReadAsEachRowAlone() throws {
        let texts = ["5", "three", "?", "", "-2.5", " 7", "1e999", "-1", "0x10", "12", "nan", "7.25"]
        var generator = SystemRandomNumberGenerator()
        let codes = (0..<3000).map { _ in Int32.random(in: -1..<Int32(texts.count), using: &generator) }
        let tokens = ["?", "-1"]
        var lenient = RowErrors()
        let batch = try SourceTable(columns: [("n", .texts(values: texts, codes: codes))], rows: codes.count, missing: tokens)
            .numbers("n", key: "features[0]", strict: false, errors: &lenient)
        XCTAssertEqual(batch.count, codes.count)
        var firstBad: Int?, badRows = 0
        for (r, code) in codes.enumerated() {
            var alone = RowErrors()
            let one = try SourceTable(columns: [("n", .texts(values: texts, codes: [code]))], rows: 1, missing: tokens)
                .numbers("n", key: "features[0]", strict: false, errors: &alone)
            XCTAssertEqual(one.count, 1)
            XCTAssertEqual(batch[r].isNaN ? Double.nan.bitPattern : batch[r].bitPattern,
                           one[0].isNaN ? Double.nan.bitPattern : one[0].bitPattern, "row \(r) (\(code))")
            XCTAssertEqual(lenient.byRow[r]?.message, alone.byRow[0]?.message, "row \(r) (\(code))")
            if alone.byRow[0] != nil {
                badRows += 1
                if firstBad == nil { firstBad = r }
            }
        }
        XCTAssertEqual(lenient.byRow.count, badRows, "the rows read alone with an error, and no other")
        XCTAssertGreaterThan(badRows, 100)
        XCTAssertGreaterThan(batch.filter { !$0.isNaN }.count, 700)  // 4 of the 13 codes are numbers (not 0x10): about 920
        var strict = RowErrors()
        XCTAssertThrowsError(try SourceTable(columns: [("n", .texts(values: texts, codes: codes))], rows: codes.count, missing: tokens)
            .numbers("n", key: "features[0]", strict: true, errors: &strict)) { error in
            XCTAssertEqual((error as? DataError)?.row, firstBad)
        }
    }

    /// The rule above through the encoder: a spec that writes `-1` for missing gives a file's
    /// `-1` and a `-1` sent as a number the same feature (`sum_of` is missing when a term is).
    func testASpecsNumericMissingTokenReadsTheSameFromAFileAndFromNumbers() throws {
        // The features of rows alone (history is a field a request sends, so none here).
        let spec = Self.spec().replacingOccurrences(of: "missing: [\"?\"]", with: "missing: [\"?\", \"-1\"]")
            .split(separator: "\n").filter { !$0.contains("kind: history") }.joined(separator: "\n")
            + "\n  - {name: visits_b, kind: numeric, column: visits_b}\n"
        let encounters = Self.encounters.replacingOccurrences(of: "1,7,No,Up,Steady,1,2,>30", with: "1,7,No,Up,Steady,1,-1,>30")
        let file = try load(spec, encounters: encounters)
        assertSame(values(file, "visits"), [.nan, .nan, 7, 0, 4])
        assertSame(values(file, "visits_b"), [.nan, .nan, 4, 0, 2])
        let parsed = try SpecReader.parse(spec, file: "rows.yaml")
        func text(_ values: [String]) -> RecordColumn {
            var distinct: [String] = [], codes: [Int32] = []
            for v in values {
                if let i = distinct.firstIndex(of: v) { codes.append(Int32(i)) } else { distinct.append(v); codes.append(Int32(distinct.count - 1)) }
            }
            return .texts(values: distinct, codes: codes)
        }
        let columns: [(name: String, column: RecordColumn)] = [
            ("enc", .numbers([1, 2, 3, 4, 5])), ("pat", .numbers([7, 7, 7, 7, 8])),
            ("drug_a", text(["No", "Down", "?", "Up", "Steady"])), ("drug_b", text(["Up", "?", "?", "Up", "No"])),
            ("drug_c", text(["Steady", "No", "?", "Up", "No"])),
            ("visits_a", .numbers([1, 0, 3, 0, 2])), ("visits_b", .numbers([-1, .nan, 4, 0, 2])),
            ("outcome", text([">30", "<30", "NO", ">30", "NO"])),
        ]
        let table = SourceTable(columns: columns, rows: 5, missing: parsed.encounters.missing)
        let sent = try PreparedData(tables: DatasetTables(spec: parsed, encounters: table))
        assertSame(values(sent, "visits"), values(file, "visits"))
        assertSame(values(sent, "visits_b"), values(file, "visits_b"))
    }

    func testSumOfIsMissingWhenATermIs() throws {
        let data = try load(Self.spec())
        assertSame(values(data, "visits"), [3, .nan, 7, 0, 4])
    }

    /// A `sum_of` whose terms overflow (1e308 + 1e308) is a `not_finite` bad value of its row,
    /// naming the feature and its spec key, as an infinite number sent is: an error of that row
    /// alone when reading leniently (the other rows keep their values), missing with a warning
    /// under bad-values-missing, and the first such row thrown when reading strictly (training).
    /// Infinity was left in before, and one such row failed a whole request's scoring.
    func testASumThatOverflowsIsABadValueOfItsRow() throws {
        let encounters = Self.encounters.replacingOccurrences(of: "3,7,?,?,?,3,4,NO", with: "3,7,?,?,?,1e308,1e308,NO")
        XCTAssertThrowsError(try load(Self.spec(), encounters: encounters)) { error in
            let error = error as? DataError
            XCTAssertEqual(error?.code, .notFinite)
            XCTAssertEqual(error?.line, 4)
            XCTAssertEqual(error?.column, "visits")
            XCTAssertTrue(error?.message.contains("the sum of visits_a, visits_b is inf") == true, "\(String(describing: error))")
            XCTAssertTrue(error?.message.contains("features[2]") == true, "\(String(describing: error))")
        }
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.write(encounters, name: "enc.csv", in: dir)
        let spec = try SpecReader.parse(Self.spec(), file: "rows.yaml")
        for missing in [false, true] {
            let tables = try DatasetTables(spec: spec, folders: [dir.path])
            var errors = RowErrors(badValuesMissing: missing)
            let records = try EncounterRecords(tables: tables, strict: false, errors: &errors)
            let raw = try RawFeatures(tables: tables, records: records, labels: Array(repeating: nil, count: records.count), strict: false, errors: &errors)
            guard case .numbers(let visits) = raw.features[2] else { return XCTFail("visits is numbers") }
            assertSame(visits, [3, .nan, .nan, 0, 4])
            if missing {
                XCTAssertTrue(errors.byRow.isEmpty)
                XCTAssertEqual(errors.warnings.count, 1)
            } else {
                XCTAssertEqual(Array(errors.byRow.keys), [2])
                XCTAssertEqual(errors.byRow[2]?.code, .notFinite)
            }
        }
    }

    /// A bad value in a column two features read (a number and a sum over it) is one row error,
    /// or under bad-values-missing one warning, not one per feature.
    func testABadValueReadTwiceIsReportedOnce() {
        let error = DataError(code: .badValue, file: "enc.csv", line: 3, column: "visits_a", message: "'x' is not a number")
        var lenient = RowErrors(badValuesMissing: true)
        lenient.report(error, row: 1)
        lenient.report(error, row: 1)
        lenient.report(error, row: 2)
        XCTAssertEqual(lenient.warnings.map(\.row), [1, 2])
        var strict = RowErrors()
        strict.report(error, row: 1)
        strict.report(error, row: 1)
        XCTAssertEqual(strict.byRow.count, 1)
    }

    func testHistoryOfTheLabelCountsOnlyEarlierMatchingStays() throws {
        let data = try load(Self.spec())
        // Patient 7's stays in order 1, 2, 3, 4 with outcomes >30, <30, NO, >30; the row's own
        // outcome never counts (it is not known at its discharge).
        assertSame(values(data, "prior_after_30"), [0, 1, 1, 1, 0])
        assertSame(values(data, "prev_after_30"), [.nan, 1, 0, 0, .nan])
        assertSame(values(data, "prior"), [0, 1, 2, 3, 0])
        // An earlier stay whose outcome is missing makes the count unknown, not smaller.
        let unknown = Self.encounters.replacingOccurrences(of: "1,7,No,Up,Steady,1,2,>30", with: "1,7,No,Up,Steady,1,2,?")
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.write(unknown, name: "enc.csv", in: dir)
        var errors = RowErrors()
        // As `readmit history` derives it (lenient: the unknown label is not an error there).
        let derived = try DerivedHistory(tables: DatasetTables(spec: SpecReader.parse(Self.spec(), file: "rows.yaml"), folders: [dir.path]), errors: &errors)
        assertSame(derived.fields.first { $0.name == "prior_after_30" }?.values ?? [], [0, .nan, .nan, .nan, 0])
        assertSame(derived.fields.first { $0.name == "prev_after_30" }?.values ?? [], [.nan, .nan, 0, 0, .nan])
    }

    /// A stay whose order is missing has unknown history (not a first encounter's) and hides
    /// no other stay: the rows were sorted with `<`, which NaN breaks, so [3, NaN, 1] stayed
    /// as it was and the stay with order 3 lost its earlier stay (prior 0, not 1).
    func testAStayWithoutItsOrderHasUnknownHistoryAndHidesNoOtherStay() throws {
        let text = """
            enc,pat,seq,drug_a,drug_b,drug_c,visits_a,visits_b,outcome
            1,7,3,No,Up,Steady,1,2,>30
            2,7,?,Down,?,No,0,?,<30
            3,7,1,?,?,?,3,4,>30
            4,8,?,No,No,No,1,1,NO

            """
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.write(text, name: "enc.csv", in: dir)
        let spec = try SpecReader.parse(Self.spec().replacingOccurrences(of: "order: enc", with: "order: seq"), file: "rows.yaml")
        var errors = RowErrors()
        let derived = try DerivedHistory(tables: DatasetTables(spec: spec, folders: [dir.path]), errors: &errors)
        assertSame(derived.fields.first { $0.name == "prior" }?.values ?? [], [1, .nan, 0, .nan])
        assertSame(derived.fields.first { $0.name == "prior_after_30" }?.values ?? [], [1, .nan, 0, .nan])
        assertSame(derived.fields.first { $0.name == "prev_after_30" }?.values ?? [], [1, .nan, .nan, .nan])
    }

    /// Patient ids `0123`, `123` and `+123` are three patients (a medical record number keeps
    /// its leading zeros); read as integers they were one, who shared history.
    func testPatientIdsAreTheirTextsNotTheirIntegers() throws {
        XCTAssertEqual(EncounterRecords.patientKey("123"), 123)
        XCTAssertEqual(EncounterRecords.patientKey("-7"), -7)
        XCTAssertEqual(Set(["0123", "123", "+123", "00123"].map(EncounterRecords.patientKey)).count, 4)
        let text = """
            enc,pat,drug_a,drug_b,drug_c,visits_a,visits_b,outcome
            1,0123,No,Up,Steady,1,2,>30
            2,123,Down,?,No,0,?,<30
            3,+123,?,?,?,3,4,>30
            4,123,No,No,No,1,1,NO

            """
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.write(text, name: "enc.csv", in: dir)
        var errors = RowErrors()
        let derived = try DerivedHistory(tables: DatasetTables(spec: SpecReader.parse(Self.spec(), file: "rows.yaml"), folders: [dir.path]), errors: &errors)
        assertSame(derived.fields.first { $0.name == "prior" }?.values ?? [], [0, 0, 0, 1])
    }

    func testSpecErrorsNameTheKey() {
        func message(_ feature: String) -> String {
            let text = Self.spec().replacingOccurrences(of: "features:\n", with: "features:\n  \(feature)\n")
            do {
                _ = try SpecReader.parse(text, file: "rows.yaml")  // parses and validates
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(message("- {name: x, kind: derived, derive: count_of, columns: [drug_a]}").contains("features[0].values"))
        XCTAssertTrue(message("- {name: x, kind: derived, derive: sum_of}").contains("features[0].columns"))
        XCTAssertTrue(message("- {name: x, kind: derived, derive: sum_of, columns: [a, a]}").contains("listed twice"))
        XCTAssertTrue(message("- {name: x, kind: history, history: count, of: outcome}").contains("features[0].equals"))
        XCTAssertTrue(message("- {name: x, kind: history, history: sum, of: visits_a, equals: [\"1\"]}").contains("features[0].equals"))
        // A derivation that reads no dates needs none.
        XCTAssertEqual(message("- {name: x, kind: derived, derive: sum_of, columns: [visits_a]}"), "no error")
    }
}
