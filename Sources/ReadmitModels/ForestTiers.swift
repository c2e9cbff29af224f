import CTreeWalk

/// The isolation forest's nodes laid out for the one-row walk (`rtw_forest_tiers` in
/// CTreeWalk.h): a few cache lines per tree on a row's path, in memory aligned to a cache line.
///
/// A one-row request usually finds the trees out of cache; its walk through the breadth-first
/// arrays reads about 11 lines a tree (depth 8), through this copy 3. Immutable once filled.
final class ForestTiers: @unchecked Sendable {
    /// The filled slots; deallocated with the object.
    private let slots: UnsafeMutablePointer<UInt64>
    private let trees: Int32, depth: Int32

    /// Copies `forest`'s nodes, or returns nil where the C walk has no tiered plan for its depth
    /// and trees (see `rtw_forest_tiers_slots`); the caller keeps `forest`'s arrays alive.
    init?(_ forest: rtw_forest_float) {
        let count = rtw_forest_tiers_slots(forest.depth, forest.trees)
        guard count > 0 else { return nil }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<UInt64>.stride, alignment: 64)
        slots = raw.bindMemory(to: UInt64.self, capacity: count)
        trees = forest.trees
        depth = forest.depth
        var source = forest
        guard rtw_forest_tiers_fill(&source, slots, count) == 1 else {
            raw.deallocate()
            return nil
        }
    }

    deinit { UnsafeMutableRawPointer(slots).deallocate() }

    /// Adds the forest's path lengths for one row of `columns` exact floats onto `sum`; false
    /// (nothing done) without AVX2.
    func addRow(_ row: UnsafePointer<Float>, columns: Int, onto sum: UnsafeMutablePointer<Double>) -> Bool {
        var tiers = rtw_forest_tiers(slots: slots, trees: trees, depth: depth)
        return rtw_forest_tiers_row_avx2(&tiers, row, columns, sum) == 1
    }
}
