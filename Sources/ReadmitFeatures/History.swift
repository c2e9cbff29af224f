import ReadmitSpec
import ReadmitTables

/// History features: what the patient's earlier encounters say, known at discharge.
///
/// "Earlier" is an encounter of the same patient that ended before this one began: with dates,
/// discharged at or before this admission; without, a lower `order` value. Later encounters,
/// and encounters that overlap this one, never feed its features: they would leak the outcome.
/// Every row of the encounter table counts as history, excluded ones included (a stay ending in
/// hospice is still a stay). A first encounter has count 0, sum 0 and count_positive 0; previous
/// and days since the last discharge are missing. A count with `equals` counts the earlier stays
/// whose `of` is one of them, and is unknown when one of those stays has `of` missing. An
/// encounter whose admission time (or order) is missing has unknown history (every history
/// feature missing: not a first encounter's), and one whose times are missing is nobody's
/// earlier stay.
package enum History {
    static func compute(_ f: FeatureDefinition, key: String, tables: DatasetTables, records: EncounterRecords, labels: [Bool?],
                        computed: [RawFeature?], strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        let n = records.count
        guard let kind = f.history else { return Array(repeating: .nan, count: n) }
        // The value `of` names: a feature computed already, else a column of the encounter table.
        var numbers: [Double]?
        var matches: [Bool?]?
        if let of = f.of {
            let source: RawFeature
            if let j = tables.spec.features.firstIndex(where: { $0.name == of }), let raw = computed[j] {
                source = raw
            } else if !f.equals.isEmpty, tables.spec.labelColumn == of, !tables.encounters.has(of) {
                // The label column of earlier stays is optional where history is derived for
                // scoring (as for count_positive): without it the feature is unknown, not 0.
                source = .numbers(Array(repeating: .nan, count: tables.encounters.rowCount))
            } else if !f.equals.isEmpty {
                source = .texts(try tables.encounters.texts(of, key: key + ".of"))
            } else {
                source = .numbers(try tables.encounters.numbers(of, key: key + ".of", strict: strict, errors: &errors))
            }
            switch source {
            case .numbers(let v):
                if f.equals.isEmpty { numbers = v } else { let set = Set(f.equals.compactMap(Double.init)); matches = v.map { $0.isNaN ? nil : set.contains($0) } }
            case .texts(let t), .codes(let t, _):
                let set = Set(f.equals)
                guard !set.isEmpty else {
                    throw DataError(code: .badValue, file: tables.encounters.file, column: of,
                                    message: "history \(kind.rawValue) of the text column '\(of)' needs 'equals' (spec key \(key).equals)")
                }
                let byValue: [Bool?] = t.interned.values.enumerated().map { t.isMissing[$0.offset] ? nil : set.contains($0.element) }
                matches = t.interned.codes.map { byValue[Int($0)] }
            }
        }
        let window = f.windowDays.map { Double($0) * 86_400 }
        var out = [Double](repeating: .nan, count: n)
        let times = Times(admitted: records.admitted, discharged: records.discharged, order: records.order)
        let values = Values(numbers: numbers, matches: matches, labels: labels)
        for sorted in records.patientGroups {
            fill(kind, sorted: sorted, times: times, window: window, values: values, out: &out)
        }
        return out
    }

    /// What says when an encounter began and ended: admission and discharge times (seconds),
    /// or an order (a lower value is an earlier stay); either may be absent.
    package struct Times {
        package var admitted: [Double]?, discharged: [Double]?, order: [Double]?

        package init(admitted: [Double]?, discharged: [Double]?, order: [Double]?) {
            self.admitted = admitted
            self.discharged = discharged
            self.order = order
        }

        /// Whether `p` ended before `r` began (``EncounterRecords/endedBefore(_:_:)``).
        @inline(__always)
        func endedBefore(_ p: Int, _ r: Int) -> Bool {
            if let admitted, let discharged { return discharged[p] <= admitted[r] }
            if let order { return order[p] < order[r] }
            return false
        }

        /// Whether `r`'s place among the patient's stays is known: its admission time (with
        /// dates) or its order; without either, true (no stay is known to be earlier).
        @inline(__always)
        func startKnown(_ r: Int) -> Bool {
            if let admitted, discharged != nil { return !admitted[r].isNaN }
            if let order { return !order[r].isNaN }
            return true
        }

        /// Whether `a` ended after `b` (discharge time, or order; ties by file order).
        @inline(__always)
        func endsLater(_ a: Int, than b: Int) -> Bool {
            let ka = discharged?[a] ?? order?[a] ?? Double(a)
            let kb = discharged?[b] ?? order?[b] ?? Double(b)
            return ka != kb ? ka > kb : a > b
        }
    }

    /// The values a history feature aggregates, per row: the numbers of `of`, whether `of`
    /// matches `equals` (nil: unknown), and the label (nil: unknown).
    package struct Values {
        package var numbers: [Double]?, matches: [Bool?]?, labels: [Bool?]

        package init(numbers: [Double]?, matches: [Bool?]?, labels: [Bool?]) {
            self.numbers = numbers
            self.matches = matches
            self.labels = labels
        }
    }

    /// Writes the history feature of one patient's encounters (`sorted`: by admission time or
    /// order, then file order, missing ones last: ``EncounterRecords/sortStays(_:keys:)``)
    /// into `out`. The earlier encounters of the one at position `i` are those before it that
    /// ended before it began. When, as is usual, the end times (or orders) of the stays whose
    /// times are known rise with the positions, those are the first `m` of them, and each value
    /// comes from running totals in O(1) (with a window, a sum of values that are not whole
    /// numbers adds its stays one by one, in the same order, so every value is the
    /// reference's bit for bit). Otherwise (overlapping
    /// stays), ``fillByRanks`` in O(k log k), except for a sum of values that are not whole
    /// numbers, which takes the reference, ``fillByVisiting``: every earlier position looked
    /// at, O(k^2) for k encounters (a placeholder patient id shared by 50,000 rows took 135 s).
    package static func fill(_ kind: FeatureDefinition.HistoryKind, sorted: [Int], times: Times, window: Double?,
                             values: Values, reference: Bool = false, out: inout [Double]) {
        guard !reference, sorted.count > 1 else {
            return fillByVisiting(kind, sorted: sorted, times: times, window: window, values: values, out: &out)
        }
        guard let plan = PrefixPlan(sorted, times) else {
            if fillByRanks(kind, sorted: sorted, times: times, window: window, values: values, out: &out) { return }
            return fillByVisiting(kind, sorted: sorted, times: times, window: window, values: values, out: &out)
        }
        let known = plan.known, k = known.count
        // A windowed sum is a difference of running totals when they are exact (whole numbers
        // adding up to at most 2^53), else its stays are added one by one as the reference does.
        let wholeSums = kind == .sum && window != nil && Self.wholeNumbers(known, values.numbers)
        // Running totals over the first m known stays: counts as integers (exact), the sum
        // added in position order as the reference adds it, and the last-ending stay so far.
        var matched = [Int](repeating: 0, count: k + 1), unknownMatch = matched, positives = matched, unknownLabel = matched
        var sums = [Double](repeating: 0, count: k + 1)
        var latest = [Int](repeating: -1, count: k + 1)
        for (j, p) in known.enumerated() {
            let match = values.matches?[p]
            matched[j + 1] = matched[j] + (match == true ? 1 : 0)
            unknownMatch[j + 1] = unknownMatch[j] + (values.matches != nil && match == nil ? 1 : 0)
            positives[j + 1] = positives[j] + (values.labels[p] == true ? 1 : 0)
            unknownLabel[j + 1] = unknownLabel[j] + (values.labels[p] == nil ? 1 : 0)
            let x = values.numbers?[p] ?? .nan
            sums[j + 1] = x.isNaN ? sums[j] : sums[j] + x
            let best = latest[j]
            latest[j + 1] = best < 0 || times.endsLater(p, than: best) ? p : best
        }
        for (i, r) in sorted.enumerated() {
            guard times.startKnown(r) else { out[r] = .nan; continue }
            let m = min(plan.knownBefore[i], plan.endedBefore(r))
            // The window (with dates) drops the earliest of them: those that ended more than
            // `window` before this admission, a prefix since end times rise.
            var w = 0
            if let window, let d = times.discharged, let a = times.admitted {
                w = partition(m) { a[r] - d[known[$0]] > window }
            }
            switch kind {
            case .count:
                if values.matches != nil {
                    out[r] = unknownMatch[m] - unknownMatch[w] == 0 ? Double(matched[m] - matched[w]) : .nan
                } else {
                    out[r] = Double(m - w)
                }
            case .sum:
                if w == 0 {
                    out[r] = sums[m]
                } else if wholeSums {
                    out[r] = m > w ? sums[m] - sums[w] : 0  // exact: whole numbers
                } else {
                    var sum = 0.0
                    for j in w..<m { if let x = values.numbers?[known[j]], !x.isNaN { sum += x } }
                    out[r] = sum
                }
            case .countPositive:
                out[r] = unknownLabel[m] - unknownLabel[w] == 0 ? Double(positives[m] - positives[w]) : .nan
            case .previous:
                let previous = latest[m]
                guard previous >= 0 else { continue }
                if let matches = values.matches { out[r] = matches[previous].map { $0 ? 1 : 0 } ?? .nan } else { out[r] = values.numbers?[previous] ?? .nan }
            case .daysSinceLastDischarge:
                let previous = latest[m]
                guard previous >= 0, let d = times.discharged, let a = times.admitted else { continue }
                out[r] = (a[r] - d[previous]) / 86_400
            }
        }
    }

    /// When the stays that ended before each encounter began are a prefix of the stays that
    /// can have ended before any (their times known: `known`, in position order): for each
    /// position, how many known stays come before it, and for a row, how many known stays
    /// ended before it began. Nil when they are not a prefix: end times (or orders) that fall
    /// back (an overlap), or a stay whose place is unknown before one whose place is known
    /// (not the order ``EncounterRecords/sortStays(_:keys:)`` gives).
    package struct PrefixPlan {
        /// The stays that may be someone's earlier stay, in position order.
        package let known: [Int]
        /// Per position, the known stays before it.
        package let knownBefore: [Int]
        /// For a row, the known stays that ended before it began.
        package let endedBefore: (Int) -> Int

        package init?(_ sorted: [Int], _ times: Times) {
            var known: [Int] = [], knownBefore: [Int] = []
            known.reserveCapacity(sorted.count)
            knownBefore.reserveCapacity(sorted.count)
            var previous = -Double.infinity, unknownStartSeen = false
            for p in sorted {
                knownBefore.append(known.count)
                if !times.startKnown(p) { unknownStartSeen = true; continue }
                if unknownStartSeen { return nil }
                // The time that says when p ended, when p can be anyone's earlier stay.
                let end: Double
                if times.admitted != nil, let d = times.discharged {
                    guard !d[p].isNaN else { continue }  // never ended before anything: d <= a is false
                    end = d[p]
                } else if let order = times.order {
                    end = order[p]
                } else {
                    continue  // no times: no stay is known to be earlier
                }
                guard end >= previous else { return nil }
                previous = end
                known.append(p)
            }
            self.known = known
            self.knownBefore = knownBefore
            if let a = times.admitted, let d = times.discharged {
                endedBefore = { r in partition(known.count) { d[known[$0]] <= a[r] } }
            } else if let order = times.order {
                endedBefore = { r in partition(known.count) { order[known[$0]] < order[r] } }
            } else {
                endedBefore = { _ in 0 }
            }
        }
    }

    /// The number of leading positions in 0..<count for which `holds` is true (it holds for a
    /// prefix and then never again).
    private static func partition(_ count: Int, _ holds: (Int) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = low + (high - low) / 2
            if holds(mid) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Overlapping stays (end times that fall back) in O(k log k): the positions are visited in
    /// order, and each stay that may be an earlier one is added to Fenwick trees indexed by its
    /// rank by end time (then file order), after its own row is answered; the earlier stays of
    /// a row are then a range of ranks (those that ended before it began, within the window).
    /// Counts are integers, exact in any order; a sum is too when every value summed is an
    /// integer and their magnitudes add up to at most 2^53, the only case taken here (false
    /// otherwise, and for an order of stays that ``EncounterRecords/sortStays(_:keys:)`` does
    /// not give: the caller then takes the reference).
    package static func fillByRanks(_ kind: FeatureDefinition.HistoryKind, sorted: [Int], times: Times, window: Double?,
                            values: Values, out: inout [Double]) -> Bool {
        // When each stay ended (discharge time, or order), and with dates when each began.
        let ends: [Double], admitted: [Double]?
        if let a = times.admitted, let d = times.discharged {
            ends = d
            admitted = a
        } else if let order = times.order {
            ends = order
            admitted = nil
        } else {
            return false
        }
        // The stays that may be someone's earlier stay.
        var known: [Int] = []
        var unknownStartSeen = false
        for p in sorted {
            if !times.startKnown(p) { unknownStartSeen = true; continue }
            if unknownStartSeen { return false }
            if !ends[p].isNaN { known.append(p) }
        }
        if kind == .sum, !wholeNumbers(known, values.numbers) { return false }
        let byEnd = known.sorted { ends[$0] != ends[$1] ? ends[$0] < ends[$1] : $0 < $1 }
        var rank = [Int: Int](minimumCapacity: byEnd.count)
        for (i, p) in byEnd.enumerated() { rank[p] = i }
        var all = Fenwick<Int>(byEnd.count), matched = all, unknownMatch = all, positives = all, unknownLabel = all
        var sums = Fenwick<Double>(byEnd.count)
        var latest = FenwickMax(byEnd.count)
        for r in sorted {
            if times.startKnown(r) {
                // Ranks [low, high): ended before r began; `low` drops those out of the window.
                let high: Int
                var low = 0
                if let a = admitted {
                    high = partition(byEnd.count) { ends[byEnd[$0]] <= a[r] }
                    if let window { low = partition(high) { a[r] - ends[byEnd[$0]] > window } }
                } else {
                    high = partition(byEnd.count) { ends[byEnd[$0]] < ends[r] }
                }
                switch kind {
                case .count:
                    if values.matches != nil {
                        out[r] = unknownMatch.sum(low, high) == 0 ? Double(matched.sum(low, high)) : .nan
                    } else {
                        out[r] = Double(all.sum(low, high))
                    }
                case .sum:
                    out[r] = sums.sum(low, high)
                case .countPositive:
                    out[r] = unknownLabel.sum(low, high) == 0 ? Double(positives.sum(low, high)) : .nan
                case .previous, .daysSinceLastDischarge:
                    let best = latest.max(high)
                    if best >= 0 {
                        let previous = byEnd[best]
                        if kind == .previous {
                            if let matches = values.matches { out[r] = matches[previous].map { $0 ? 1 : 0 } ?? .nan } else { out[r] = values.numbers?[previous] ?? .nan }
                        } else if let a = admitted {
                            out[r] = (a[r] - ends[previous]) / 86_400
                        }
                    }
                }
            } else {
                out[r] = .nan
            }
            guard let i = rank[r] else { continue }
            all.add(i, 1)
            let match = values.matches?[r]
            if match == true { matched.add(i, 1) }
            if values.matches != nil && match == nil { unknownMatch.add(i, 1) }
            if values.labels[r] == true { positives.add(i, 1) }
            if values.labels[r] == nil { unknownLabel.add(i, 1) }
            if let x = values.numbers?[r], !x.isNaN { sums.add(i, x) }
            latest.insert(i)
        }
        return true
    }

    /// Whether the values of `rows` (NaN aside) are whole numbers whose magnitudes add up to at
    /// most 2^53: then every partial sum is exact, whatever order they are added in.
    static func wholeNumbers(_ rows: [Int], _ numbers: [Double]?) -> Bool {
        guard let numbers else { return true }
        var magnitude = 0.0
        for p in rows where !numbers[p].isNaN {
            guard numbers[p] == numbers[p].rounded() else { return false }
            magnitude += abs(numbers[p])
        }
        return magnitude <= 9_007_199_254_740_992  // 2^53
    }

    /// Totals by rank, with prefix sums in O(log n) (a Fenwick tree): counts, or sums of whole
    /// numbers (exact: ``wholeNumbers(_:_:)`` checked them and their total).
    private struct Fenwick<Value: AdditiveArithmetic> {
        private var tree: [Value]
        init(_ n: Int) { tree = [Value](repeating: .zero, count: n + 1) }
        mutating func add(_ i: Int, _ v: Value) {
            var j = i + 1
            while j < tree.count { tree[j] += v; j += j & -j }
        }
        /// The total over ranks [0, n).
        func prefix(_ n: Int) -> Value {
            var j = n, total = Value.zero
            while j > 0 { total += tree[j]; j -= j & -j }
            return total
        }
        func sum(_ low: Int, _ high: Int) -> Value { high > low ? prefix(high) - prefix(low) : .zero }
    }

    /// The highest rank inserted below a bound (ranks are only ever inserted), -1 for none.
    private struct FenwickMax {
        private var tree: [Int]
        init(_ n: Int) { tree = [Int](repeating: -1, count: n + 1) }
        mutating func insert(_ i: Int) {
            var j = i + 1
            while j < tree.count { tree[j] = Swift.max(tree[j], i); j += j & -j }
        }
        /// The highest inserted rank in [0, n).
        func max(_ n: Int) -> Int {
            var j = n, best = -1
            while j > 0 { best = Swift.max(best, tree[j]); j -= j & -j }
            return best
        }
    }

    /// The reference: for each encounter, every earlier position is looked at.
    static func fillByVisiting(_ kind: FeatureDefinition.HistoryKind, sorted: [Int], times: Times, window: Double?,
                               values: Values, out: inout [Double]) {
        for (i, r) in sorted.enumerated() {
            guard times.startKnown(r) else { out[r] = .nan; continue }
            // Earlier encounters of the patient: sorted by start, only those before position
            // i can have ended before r began (unless they overlap it). The window, when
            // declared, limits count, sum and count_positive; previous and days since the
            // last discharge look at the last stay whatever its age.
            var count = 0.0, sum = 0.0, positives = 0.0, labelKnown = true, matchesKnown = true
            var previous = -1
            for p in sorted[..<i] where times.endedBefore(p, r) {
                if previous < 0 || times.endsLater(p, than: previous) { previous = p }
                if let window, let d = times.discharged, let a = times.admitted, a[r] - d[p] > window { continue }
                if let matches = values.matches {
                    // count with `equals`: only the earlier stays whose value matches.
                    if let m = matches[p] { count += m ? 1 : 0 } else { matchesKnown = false }
                } else {
                    count += 1
                }
                if let numbers = values.numbers, !numbers[p].isNaN { sum += numbers[p] }
                if let label = values.labels[p] { positives += label ? 1 : 0 } else { labelKnown = false }
            }
            switch kind {
            case .count: out[r] = matchesKnown ? count : .nan
            case .sum: out[r] = sum
            case .countPositive: out[r] = labelKnown ? positives : .nan
            case .previous:
                guard previous >= 0 else { continue }
                if let matches = values.matches { out[r] = matches[previous].map { $0 ? 1 : 0 } ?? .nan } else { out[r] = values.numbers?[previous] ?? .nan }
            case .daysSinceLastDischarge:
                guard previous >= 0, let d = times.discharged, let a = times.admitted else { continue }
                out[r] = (a[r] - d[previous]) / 86_400
            }
        }
    }
}

/// Encounters with their history fields derived from the patient's other encounters: what
/// training computes, what `readmit history` writes and what the daemon's `HISTORY` replies.
/// One implementation for all three (``History/compute``, through ``RawFeatures``).
public struct DerivedHistory: Sendable {
    /// One history field: its name (the spec feature's) and its value per row (NaN unknown).
    public struct Field: Sendable, Equatable {
        /// The field's name.
        public var name: String
        /// Its value per row; NaN is unknown.
        public var values: [Double]
    }

    /// The encounters' roles (patient, dates or order).
    public let records: EncounterRecords
    /// Each row's label (nil where the table has no label or the row's is unreadable).
    public let labels: [Bool?]
    /// Every spec feature's raw values, history included.
    public let raw: RawFeatures
    /// The history fields, in spec order.
    public let fields: [Field]

    /// Derives the history of every row of `tables`: an encounters table (with its patients
    /// and events tables), or raw records of one patient file (``DatasetTables/init(spec:historyRecords:)``).
    /// Lenient: a bad value is recorded in `errors` for its row.
    public init(tables: DatasetTables, errors: inout RowErrors) throws(DataError) {
        records = try EncounterRecords(tables: tables, strict: false, errors: &errors)
        labels = try Labels.compute(tables: tables, records: records, required: false, strict: false, errors: &errors)
        raw = try RawFeatures(tables: tables, records: records, labels: labels, strict: false, errors: &errors)
        var fields: [Field] = []
        for (j, f) in tables.spec.features.enumerated() where f.kind == .history {
            guard case .numbers(let values) = raw.features[j] else { continue }
            fields.append(Field(name: f.name, values: values))
        }
        self.fields = fields
    }
}
