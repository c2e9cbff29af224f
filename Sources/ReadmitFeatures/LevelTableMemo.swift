import ReadmitParallel
import ReadmitSpec

/// The per-distinct-text work of encoding (``FeatureEncoder/features(raw:spec:schema:warnings:warnUnknownLevels:levels:memo:)``:
/// each text's level, or each code's ICD category or chapter) kept for the other parts of one
/// request, which the daemon encodes in parts on several threads.
///
/// Why: a large `RECORDS` request is split into row ranges, and every range carries all the
/// request's distinct texts of a column (its codes index them). Each range looked every one up
/// again: about 1.8 million instructions a range for a 100,000-row request of Diabetes 130
/// (ICD categories and chapters of three diagnosis columns most of it), 22 million of the
/// request's 816 million in its 14 ranges (`benchmarks/daemon/records_batch_instructions.sh`).
///
/// An entry is used only for a column whose distinct texts, missing flags and code systems
/// equal (`==`) those it was made from, so a hit gives the bits the work would give (the
/// ranges of one request share their texts' storage, which `==` finds first). Thread-safe.
public final class LevelTableMemo: Sendable {
    struct Entry {
        let texts: [String]
        let isMissing: [Bool]
        let systems: [CodeSystem]?
        let table: [Double]
        let anyUnknown: Bool
    }

    private let entries = Locked<[Int: Entry]>([:])

    /// An empty memo, for one request.
    public init() {}

    /// Feature `j`'s table for these texts, and whether one was unknown, if made before.
    func lookup(_ j: Int, texts: [String], isMissing: [Bool], systems: [CodeSystem]?) -> (table: [Double], anyUnknown: Bool)? {
        guard let entry = entries.withLock({ $0[j] }),
              entry.texts == texts, entry.isMissing == isMissing, entry.systems == systems else { return nil }
        return (entry.table, entry.anyUnknown)
    }

    /// Keeps feature `j`'s table for these texts (the first one kept stays).
    func keep(_ j: Int, texts: [String], isMissing: [Bool], systems: [CodeSystem]?, table: ArraySlice<Double>, anyUnknown: Bool) {
        let entry = Entry(texts: texts, isMissing: isMissing, systems: systems, table: Array(table), anyUnknown: anyUnknown)
        entries.withLock { if $0[j] == nil { $0[j] = entry } }
    }
}
