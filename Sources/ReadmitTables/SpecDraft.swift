import Foundation

/// A first dataset spec for a hospital's own encounter extract, read from the data: every
/// column profiled (missing cells, distinct values, numbers, dates, diagnosis codes) and given
/// a role or a feature kind with the evidence in a comment, so that writing a spec for a new
/// extract starts from a file `readmit check` accepts rather than from a blank page.
///
/// It guesses; it does not know what a column means. What only the data's owners can say (a
/// column recorded after discharge leaks the outcome; an id that is a code; who is out of the
/// cohort) is left to them, and the file says so where it matters.
public struct SpecDraft {
    /// What the caller states (the rest is guessed).
    public struct Choices {
        public var name: String
        public var dataFile: String
        /// The file as the spec names it: relative to the spec's folder when it lies under it.
        public var specFileReference: String
        public var label: Label
        public var encounterID: String?, patientID: String?, order: String?

        /// The caller's statements.
        public init(name: String, dataFile: String, specFileReference: String, label: Label, encounterID: String?, patientID: String?, order: String?) {
            self.name = name
            self.dataFile = dataFile
            self.specFileReference = specFileReference
            self.label = label
            self.encounterID = encounterID
            self.patientID = patientID
            self.order = order
        }
    }

    /// The outcome: a column's values, or a readmission derived from the dates.
    public enum Label {
        case column(String, positive: [String])
        case withinDays(Int)
    }

    /// Why no draft could be written (a name the data does not hold, a guess that needs help).
    public struct Refused: Error, CustomStringConvertible {
        /// What was wrong, naming the option and what the data holds.
        public let description: String
    }

    /// One column as the data shows it.
    struct Profile {
        var name: String
        /// Distinct non-missing values with their counts, in first-appearance order.
        var values: [(text: String, count: Int)]
        var missing: Int
        var rows: Int
        var allNumbers: Bool
        var timestampFormat: String?
        var numberRange: (low: Double, high: Double)?

        var distinct: Int { values.count }
        var present: Int { rows - missing }
    }

    /// Texts read as missing when a column holds them (`None` is not one: it is a level in
    /// Diabetes 130, and in many extracts "no such medication").
    static let missingTokens: Set<String> = ["?", "NA", "N/A", "NULL", "null", "NaN", "nan", "#N/A"]

    let table: CSVTable
    let choices: Choices
    private(set) var profiles: [Profile] = []
    private(set) var tokensSeen: [String] = []

    /// Profiles every column of `table`.
    public init(table: CSVTable, choices: Choices) throws {
        self.table = table
        self.choices = choices
        let interned = table.internedColumns(Array(table.header.indices))
        var seen = Set<String>()
        for (c, column) in interned.enumerated() {
            var counts = [Int](repeating: 0, count: column.values.count)
            for code in column.codes where code >= 0 { counts[Int(code)] += 1 }
            var values: [(String, Int)] = [], missing = 0
            for (k, text) in column.values.enumerated() where counts[k] > 0 {
                if text.isEmpty || Self.missingTokens.contains(text) {
                    missing += counts[k]
                    if !text.isEmpty { seen.insert(text) }
                } else {
                    values.append((text, counts[k]))
                }
            }
            missing += column.codes.filter { $0 < 0 }.count
            var low = Double.infinity, high = -Double.infinity
            let numbers = !values.isEmpty && values.allSatisfy { v in
                guard let x = Double(v.0), x.isFinite else { return false }
                low = min(low, x); high = max(high, x)
                return true
            }
            let format = Self.timestampFormat(values.map(\.0))
            profiles.append(Profile(name: table.header[c], values: values, missing: missing, rows: table.rowCount, allNumbers: numbers,
                                    timestampFormat: format, numberRange: numbers ? (low, high) : nil))
        }
        tokensSeen = seen.sorted()
    }

    /// The spec's YAML text.
    public func render() throws -> String {
        let byName = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func profile(_ name: String, _ option: String) throws -> Profile {
            guard let p = byName[name] else {
                throw Refused(description: "\(option) \(name): \(choices.dataFile) has no such column (its header: \(table.header.joined(separator: ", ")))")
            }
            return p
        }
        // The stay's id: named, or the first column whose values are all distinct and present,
        // preferring an id-like name.
        let unique = profiles.filter { $0.missing == 0 && $0.distinct == $0.rows && $0.rows > 0 }
        let encounter = try choices.encounterID.map { try profile($0, "--encounter-id") }
            ?? unique.first { Self.named($0.name, ["encounter", "hadm", "visit", "admission", "stay"]) } ?? unique.first
        guard let encounter else {
            throw Refused(description: "no column of \(choices.dataFile) holds a distinct value on every row; name the stay's id with --encounter-id")
        }
        guard encounter.missing == 0, encounter.distinct == encounter.rows else {
            throw Refused(description: "--encounter-id \(encounter.name): \(encounter.rows - encounter.distinct + encounter.missing) rows repeat an id or lack one; a stay's id must be unique")
        }
        let repeated = profiles.filter { $0.name != encounter.name && $0.missing == 0 && $0.distinct < $0.rows && $0.distinct > 1 }
        let patient = try choices.patientID.map { try profile($0, "--patient-id") }
            ?? repeated.first { Self.named($0.name, ["patient", "subject", "mrn", "person", "member"]) }
        guard let patient else {
            throw Refused(description: "no column of \(choices.dataFile) is named like a patient id (patient, subject, mrn, person); name it with --patient-id")
        }
        guard patient.name != encounter.name else {
            throw Refused(description: "--patient-id \(patient.name) is also the stay's id: a patient id is shared by a patient's stays; name the stay's id with --encounter-id if it is another column")
        }
        // Order: named; else admission and discharge times found by name; else a numeric id.
        let stamps = profiles.filter { $0.timestampFormat != nil }
        let admitted = stamps.first { Self.named($0.name, ["admit", "admission"]) }
        let discharged = stamps.first { Self.named($0.name, ["disch"]) }
        var orderColumn: Profile?
        if let name = choices.order {
            orderColumn = try profile(name, "--order")
            guard orderColumn?.allNumbers == true else { throw Refused(description: "--order \(name): its values are not all numbers") }
        } else if admitted == nil || discharged == nil {
            orderColumn = encounter.allNumbers ? encounter : nil
            guard orderColumn != nil else {
                throw Refused(description: "no admission and discharge time columns found (timestamps named like admit... and disch...), and the stay's id \(encounter.name) is not a number; name a column that orders a patient's stays with --order")
            }
        }
        let useTimes = orderColumn == nil
        var used: Set<String> = [encounter.name, patient.name]
        if let orderColumn { used.insert(orderColumn.name) }
        if useTimes, let admitted, let discharged { used.formUnion([admitted.name, discharged.name]) }

        var y = "# Dataset spec drafted by `readmit draft-spec` from \(choices.dataFile) (\(table.rowCount) rows, \(table.header.count) columns).\n"
        y += "# A draft: every role and feature kind below is a guess from the data, its evidence in a comment.\n"
        y += "# Before training, read every feature: a column recorded after discharge (a discharge summary code,\n"
        y += "# a later visit, the outcome under another name) leaks the outcome and makes the model look better\n"
        y += "# than it is. Then `readmit check --dataset THIS_FILE` reads the data through it without training.\n"
        y += "# The format: docs/DATASET_SPEC.md.\n"
        y += "name: \(Self.quote(choices.name))\n"
        y += "description: \(Self.quote("Encounters of \(choices.dataFile); drafted from the data, to be described by its owners."))\n\n"
        y += "encounters:\n  file: \(Self.quote(choices.specFileReference))\n"
        if !tokensSeen.isEmpty {
            y += "  missing: [\(tokensSeen.map(Self.quote).joined(separator: ", "))]   # found in the data; an empty cell is always missing\n"
        }
        y += "  encounter_id: \(Self.quote(encounter.name))   # a distinct value on each of the \(encounter.rows) rows\n"
        y += "  patient_id: \(Self.quote(patient.name))   # \(patient.distinct) patients\n"
        if let orderColumn {
            y += "  order: \(Self.quote(orderColumn.name))   # a lower value is an earlier stay of the patient: check that it is\n"
        } else if let admitted, let discharged, let a = admitted.timestampFormat, let d = discharged.timestampFormat {
            y += "  admitted: {column: \(Self.quote(admitted.name)), format: \(Self.quote(a))}\n"
            y += "  discharged: {column: \(Self.quote(discharged.name)), format: \(Self.quote(d))}\n"
        }

        y += "\nlabel:\n"
        switch choices.label {
        case .column(let name, let positive):
            let column = try profile(name, "--label")
            used.insert(name)
            let present = Set(column.values.map(\.text))
            for value in positive where !present.contains(value) {
                throw Refused(description: "--positive \(value): column \(name) never holds it (it holds: \(column.values.prefix(20).map(\.text).joined(separator: ", "))\(column.distinct > 20 ? ", ..." : ""))")
            }
            let negative = column.values.map(\.text).filter { !positive.contains($0) }
            guard !negative.isEmpty else { throw Refused(description: "--label \(name): every value is a --positive one; the model needs both outcomes") }
            guard negative.count <= 50 else {
                throw Refused(description: "--label \(name) holds \(column.distinct) distinct values: a label column names the outcome in a few texts")
            }
            let events = column.values.filter { positive.contains($0.text) }.reduce(0) { $0 + $1.count }
            y += "  column: \(Self.quote(name))   # \(events) of \(column.rows) rows positive (\(Self.percent(Double(events) / Double(max(column.rows, 1)))))\n"
            y += "  positive: [\(positive.map(Self.quote).joined(separator: ", "))]\n"
            y += "  negative: [\(negative.map(Self.quote).joined(separator: ", "))]\n"
        case .withinDays(let days):
            guard useTimes else {
                throw Refused(description: "--label-within-days needs the stays' admission and discharge times; none were found (timestamps named like admit... and disch...)")
            }
            y += "  readmission_within_days: \(days)   # the patient's next admission starts within \(days) days after this discharge\n"
        }

        // Exclusions: deaths and hospice discharges, where a column says so in words.
        var exclusions: [String] = []
        var excluded: [String: Set<String>] = [:]
        for p in profiles where !used.contains(p.name) {
            let died = p.values.map(\.text).filter { ["DIED", "EXPIRED", "DEAD", "DECEASED"].contains($0.uppercased()) }
            if !died.isEmpty { exclusions.append("  - {reason: died in hospital, column: \(Self.quote(p.name)), values: [\(died.map(Self.quote).joined(separator: ", "))]}") }
            let hospice = p.values.map(\.text).filter { $0.uppercased().contains("HOSPICE") }
            if !hospice.isEmpty { exclusions.append("  - {reason: discharged to hospice, column: \(Self.quote(p.name)), values: [\(hospice.map(Self.quote).joined(separator: ", "))]}") }
            var flag: [String] = []
            if Self.named(p.name, ["expire", "death", "died"]), Set(p.values.map(\.text)) == ["0", "1"] {
                exclusions.append("  - {reason: died in hospital, column: \(Self.quote(p.name)), values: [\"1\"]}")
                flag = ["1"]
            }
            excluded[p.name] = Set(died + hospice + flag)
        }
        y += "\n# Stays the model does not apply to: a patient who died cannot be readmitted, and one discharged\n"
        y += "# to hospice is not a patient transitional care is for. Found where a column says so in words;\n"
        y += "# codes (a discharge disposition of 11) need the code book: add them.\n"
        y += exclusions.isEmpty ? "exclusions: []\n" : "exclusions:\n" + exclusions.joined(separator: "\n") + "\n"
        y += "\nsplit:\n  method: patient_hash   # test patients: splitmix64(patient id) % 5 == 0, never a stay's other stays\n"

        y += "\nfeatures:\n"
        var subgroups: [String] = []
        var featureCount = 0
        var names: Set<String> = ["prior_encounters"]
        for (index, p) in profiles.enumerated() where !used.contains(p.name) {
            // A column the exclusions leave one value in says nothing of the stays kept.
            let kept = p.values.filter { !(excluded[p.name] ?? []).contains($0.text) }
            if let out = excluded[p.name], !out.isEmpty, kept.count == 1 {
                y += "  # \(p.name): \(Self.quote(kept[0].text)) in every stay the exclusions keep: says nothing, left out\n"
                continue
            }
            // A name of its own: letters, digits, `_` and `-`; a column named in other letters
            // (`é`) is `column_N`, N its place in the header; a clash gets `_2`, `_3`, ...
            var name = Self.featureName(p.name)
            if !name.contains(where: { $0.isLetter || $0.isNumber }) { name = "column_\(index + 1)" }
            var unique = name, n = 1
            while names.contains(unique) || names.contains(unique + "_chapter") { n += 1; unique = "\(name)_\(n)" }
            names.insert(unique)
            let (line, subgroup) = feature(p, name: unique)
            y += line
            if line.hasPrefix("  - ") { featureCount += 1 }
            if let subgroup { subgroups.append(subgroup) }
        }
        y += "  # The patient's earlier stays, from the same table (a lower \(orderColumn?.name ?? "admission time") is earlier).\n"
        y += "  - {name: prior_encounters, kind: history, history: count, description: \"number of the patient's earlier encounters\"}\n"
        guard featureCount > 0 else { throw Refused(description: "no column of \(choices.dataFile) could be a feature (every one is an id, the label, always missing or constant)") }
        if !subgroups.isEmpty {
            y += "\nreport:\n  # Performance, calibration and what the tiers flag, by group (columns named like sex, race, age, payer).\n"
            y += "  subgroups:\n" + subgroups.map { "    - \($0)\n" }.joined()
        }
        y += "\n# What only the data's owners can state, for the model card (all optional).\n"
        y += "# model_card:\n#   intended_use: ...\n#   out_of_scope: ...\n#   data_source: ...\n#   period: ...\n#   limitations: [...]\n"
        return y
    }

    /// A column's feature line (or a comment saying why it is not one), and its subgroup entry.
    private func feature(_ p: Profile, name: String) -> (String, String?) {
        let q = Self.quote
        let missingNote = p.missing > 0 ? ", missing in \(Self.percent(Double(p.missing) / Double(max(p.rows, 1))))" : ""
        if p.distinct == 0 { return ("  # \(p.name): missing in every row: left out\n", nil) }
        if p.distinct == 1 { return ("  # \(p.name): \(q(p.values[0].text)) in every row that has it: says nothing, left out\n", nil) }
        let isGroup = Self.named(p.name, ["gender", "sex", "race", "ethnic", "age", "payer", "insurance", "language"])
        if p.allNumbers, let range = p.numberRange {
            if Self.looksLikeCode(p.name) && p.distinct <= 100 {
                return ("  - {name: \(q(name)), kind: categorical, column: \(q(p.name))}   # numbers named like a code: \(p.distinct) levels\(missingNote)\n",
                        isGroup ? "{feature: \(q(name))}" : nil)
            }
            let bands = isGroup && Self.named(p.name, ["age"]) ? "{feature: \(q(name)), bands: [45, 65, 80]}" : nil
            return ("  - {name: \(q(name)), kind: numeric, column: \(q(p.name))}   # numbers \(Self.number(range.low)) to \(Self.number(range.high)), \(p.distinct) distinct\(missingNote)\n", bands)
        }
        if p.timestampFormat != nil {
            return ("  # \(p.name): timestamps (\(p.timestampFormat ?? "")): not a feature as they are; a stay's times are encounters.admitted and .discharged\n", nil)
        }
        let texts = p.values.map(\.text)
        if let system = Self.codeSystem(texts, name: p.name) {
            return ("  - {name: \(q(name + "_chapter")), kind: diagnosis, column: \(q(p.name)), system: \(system), grouping: chapter}   # \(p.distinct) distinct \(system.uppercased()) codes\(missingNote)\n", nil)
        }
        if let levels = Self.orderedBands(texts) {
            return ("  - {name: \(q(name)), kind: ordinal, column: \(q(p.name)), levels: [\(levels.map(q).joined(separator: ", "))]}   # bands in order\(missingNote)\n",
                    isGroup ? "{feature: \(q(name))}" : nil)
        }
        if p.distinct <= 50 {
            return ("  - {name: \(q(name)), kind: categorical, column: \(q(p.name))}   # \(p.distinct) levels\(missingNote)\n", isGroup ? "{feature: \(q(name))}" : nil)
        }
        let minCount = max(5, min(100, p.rows / 1000))
        if p.distinct <= 2000 && p.present >= 20 * p.distinct {
            return ("  - {name: \(q(name)), kind: categorical, column: \(q(p.name)), min_count: \(minCount), other: Other}   # \(p.distinct) levels: those in fewer than \(minCount) training rows become Other\(missingNote)\n", nil)
        }
        return ("  # \(p.name): \(p.distinct) distinct texts in \(p.present) rows: an identifier or free text? left out\n", nil)
    }

    // MARK: Reading values

    /// The spec format of timestamps when every value is one (`%Y-%m-%d %H:%M:%S`, `%Y-%m-%d`).
    static func timestampFormat(_ values: [String]) -> String? {
        guard !values.isEmpty else { return nil }
        func shape(_ s: String) -> String {
            String(s.unicodeScalars.map { CharacterSet.decimalDigits.contains($0) ? "9" : Character($0) })
        }
        let shapes = Set(values.prefix(5000).map(shape))
        if shapes == ["9999-99-99 99:99:99"] { return "%Y-%m-%d %H:%M:%S" }
        if shapes == ["9999-99-99"] { return "%Y-%m-%d" }
        if shapes == ["9999-99-99T99:99:99"] { return "%Y-%m-%dT%H:%M:%S" }
        return nil
    }

    /// `icd9` or `icd10` when the column is named like a diagnosis and at least 90% of its
    /// distinct texts are codes of one system (the name is needed: a provider id such as
    /// `P49AFC` has the shape of an ICD-10 code).
    static func codeSystem(_ texts: [String], name: String) -> String? {
        guard named(name, ["diag", "icd", "dx"]) else { return nil }
        let icd9 = texts.filter(isICD9).count, icd10 = texts.filter(isICD10).count
        if Double(icd9) >= 0.9 * Double(texts.count) { return "icd9" }
        if Double(icd10) >= 0.9 * Double(texts.count) { return "icd10" }
        return nil
    }

    static func isICD9(_ s: String) -> Bool {
        let body = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let head = body.first, body.count == 1 || body[1].allSatisfy(\.isNumber) && !body[1].isEmpty else { return false }
        if head.count == 3 && head.allSatisfy(\.isNumber) { return true }
        if head.first == "V" && head.count == 3 && head.dropFirst().allSatisfy(\.isNumber) { return true }
        if head.first == "E" && head.count == 4 && head.dropFirst().allSatisfy(\.isNumber) { return true }
        return false
    }

    static func isICD10(_ s: String) -> Bool {
        let plain = s.replacingOccurrences(of: ".", with: "")
        let chars = Array(plain)
        guard (3...7).contains(chars.count), let first = chars.first, first.isLetter, first.isUppercase, first != "U" else { return false }
        return chars[1].isNumber && (chars[2].isNumber || chars[2].isUppercase) && chars.dropFirst(3).allSatisfy { $0.isNumber || ($0.isLetter && $0.isUppercase) }
    }

    /// Levels like `[0-10)`, `[10-20)` in the order of their lower bounds, when every text is one.
    static func orderedBands(_ texts: [String]) -> [String]? {
        var keyed: [(Double, String)] = []
        for t in texts {
            guard t.hasPrefix("["), t.hasSuffix(")") || t.hasSuffix("]") else { return nil }
            let inner = t.dropFirst().dropLast().split(separator: "-", maxSplits: 1)
            guard inner.count == 2, let low = Double(inner[0]), Double(inner[1]) != nil else { return nil }
            keyed.append((low, t))
        }
        return keyed.sorted { $0.0 < $1.0 }.map(\.1)
    }

    // MARK: Names and text

    static func named(_ name: String, _ words: [String]) -> Bool {
        let lower = name.lowercased()
        return words.contains { lower.contains($0) }
    }

    static func looksLikeCode(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix("_id") || lower.hasSuffix("id") && lower.count > 2 || lower.contains("code") || lower.hasSuffix("_type")
    }

    /// A feature name from a column name: letters, digits, `_` and `-` kept, others `_`.
    static func featureName(_ column: String) -> String {
        String(column.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" })
    }

    /// A YAML double-quoted scalar (JSON's string syntax, which YAML reads the same).
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    static func percent(_ x: Double) -> String { x > 0 && x < 0.0005 ? "under 0.1%" : String(format: "%.1f%%", 100 * x) }

    static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }
}
