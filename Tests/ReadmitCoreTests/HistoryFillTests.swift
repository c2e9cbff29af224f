import ReadmitFeatures
import ReadmitSpec
import ReadmitTables
import XCTest

/// History features from running totals equal the reference (every earlier stay looked at),
/// bit for bit, for every kind, with and without a window, `equals` and unknown values; and
/// the running totals are what serves the usual case (end times that rise with the positions).
final class HistoryFillTests: XCTestCase {
    private struct Case {
        var sorted: [Int]
        var times: History.Times
        var values: History.Values
    }

    /// A random patient of `k` stays: with dates (mostly in sequence, sometimes overlapping or
    /// missing), with an order only, or with neither; ties on purpose (few distinct times).
    private func randomCase(_ k: Int, _ rng: inout SplitMix64) -> Case {
        func pick(_ n: UInt64) -> Int { Int(rng.next() % n) }
        let mode = pick(5)
        var admitted: [Double]? = nil, discharged: [Double]? = nil, order: [Double]? = nil
        var starts = (0..<k).map { _ in Double(pick(UInt64(2 * k + 2))) * 86_400 }
        starts.sort()
        if mode <= 2 {
            var ends: [Double] = []
            var last = -Double.infinity
            for s in starts {
                // In sequence: each ends after the one before (a stay of 0 to 3 days).
                var e = s + Double(pick(4)) * 86_400 * (mode == 2 ? 0.5 : 1)
                if mode != 1 { e = max(e, last) }  // mode 1 lets stays overlap
                ends.append(e)
                last = e
            }
            admitted = starts
            discharged = ends
            for _ in 0..<pick(4) where pick(3) == 0 { discharged?[pick(UInt64(k))] = .nan }
            for _ in 0..<pick(4) where pick(3) == 0 { admitted?[pick(UInt64(k))] = .nan }
        } else if mode == 3 {
            order = starts.map { $0 / 86_400 }
            for _ in 0..<pick(4) where pick(3) == 0 { order?[pick(UInt64(k))] = .nan }
            if pick(3) == 0 { admitted = starts }  // admission without discharge: the order decides
        }
        // Rows of the patient in a shuffled file order, sorted as EncounterRecords sorts them.
        var rows = Array(0..<k)
        for i in stride(from: k - 1, to: 0, by: -1) { rows.swapAt(i, pick(UInt64(i + 1))) }
        var sorted = rows
        EncounterRecords.sortStays(&sorted, keys: (0..<k).map { admitted?[$0] ?? order?[$0] ?? Double($0) })
        // Whole numbers (as counts and days are) half the time: a sum over overlapping stays
        // takes the Fenwick trees only for those.
        let whole = pick(2) == 0
        let numbers: [Double]? = pick(4) == 0 ? nil : (0..<k).map { _ in pick(6) == 0 ? .nan : Double(pick(1000)) / (whole ? 1 : 7) }
        let matches: [Bool?]? = pick(2) == 0 ? nil : (0..<k).map { _ in pick(20) == 0 ? nil : pick(2) == 0 }
        let labels: [Bool?] = (0..<k).map { _ in pick(20) == 0 ? nil : pick(3) == 0 }
        return Case(sorted: sorted, times: History.Times(admitted: admitted, discharged: discharged, order: order),
                    values: History.Values(numbers: numbers, matches: matches, labels: labels))
    }

    func testRunningTotalsEqualTheReferenceBitForBit() {
        var rng = SplitMix64(seed: 20261206)
        var fast = 0, ranked = 0, cases = 0
        for trial in 0..<2_000 {
            let k = 1 + Int(rng.next() % (trial % 10 == 0 ? 200 : 12))
            let c = randomCase(k, &rng)
            if History.PrefixPlan(c.sorted, c.times) != nil {
                fast += 1
            } else {
                var scratch = [Double](repeating: .nan, count: k)
                if History.fillByRanks(.sum, sorted: c.sorted, times: c.times, window: nil, values: c.values, out: &scratch) { ranked += 1 }
            }
            for window in [nil, 86_400.0, 3 * 86_400.0] {
                for kind in FeatureDefinition.HistoryKind.allCases {
                    var expected = [Double](repeating: .nan, count: k), got = expected
                    History.fill(kind, sorted: c.sorted, times: c.times, window: window, values: c.values, reference: true, out: &expected)
                    History.fill(kind, sorted: c.sorted, times: c.times, window: window, values: c.values, out: &got)
                    cases += 1
                    for r in 0..<k where !(expected[r].isNaN && got[r].isNaN) && expected[r].bitPattern != got[r].bitPattern {
                        return XCTFail("trial \(trial), \(kind), window \(window.map { "\($0)" } ?? "none"), row \(r): \(got[r]), reference \(expected[r])")
                    }
                }
            }
        }
        XCTAssertGreaterThan(cases, 25_000)
        XCTAssertGreaterThan(fast, 1_000, "most random patients take the running totals")
        XCTAssertGreaterThan(ranked, 50, "overlapping stays take the Fenwick trees")
    }

    /// Stays whose times are missing sort last, in file order; the rest by time, then file order.
    func testStaysWithoutATimeSortLast() {
        var rows = [0, 1, 2, 3, 4, 5]
        EncounterRecords.sortStays(&rows, keys: [3, .nan, 1, 3, .nan, 2])
        XCTAssertEqual(rows, [2, 5, 0, 3, 1, 4])
    }

    /// A patient whose every stay but one is in sequence, that one without a discharge time
    /// (or an order) in the middle: still the running totals, not the O(k^2) reference.
    func testAStayWithoutATimeKeepsTheRunningTotals() {
        let k = 1_000
        var admitted = (0..<k).map { Double($0) * 86_400 }, discharged = admitted.map { $0 + 3_600 }
        discharged[k / 2] = .nan
        admitted[k / 3] = .nan
        var sorted = Array(0..<k)
        EncounterRecords.sortStays(&sorted, keys: admitted)
        XCTAssertNotNil(History.PrefixPlan(sorted, History.Times(admitted: admitted, discharged: discharged, order: nil)))
        var order = (0..<k).map(Double.init)
        order[7] = .nan
        var byOrder = Array(0..<k)
        EncounterRecords.sortStays(&byOrder, keys: order)
        XCTAssertNotNil(History.PrefixPlan(byOrder, History.Times(admitted: nil, discharged: nil, order: order)))
    }
}
