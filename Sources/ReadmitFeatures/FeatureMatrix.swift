import ReadmitSpec
import ReadmitTextIndex
import ReadmitTables

/// A dense row-major matrix of `Double`: feature vectors in schema order, NaN for missing.
public struct FeatureMatrix: Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// `rows * columns` values, row-major.
    public var values: [Double]

    /// Creates a matrix from row-major values.
    public init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns, "matrix size mismatch")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// Row `r` as a new array.
    public func row(_ r: Int) -> [Double] { Array(values[(r * columns)..<((r + 1) * columns)]) }

    /// The sub-matrix of the given rows, in that order.
    public func selecting(rows indices: [Int]) -> FeatureMatrix {
        // Runs of consecutive rows are copied whole (a batch keeps most of its rows; a copy
        // per row was 100,000 calls for a 100,000-row request); a selection of every row, in
        // order, is the matrix itself.
        if indices.count == rows && indices.elementsEqual(0..<rows) { return self }
        var out = [Double]()
        out.reserveCapacity(indices.count * columns)
        var i = 0
        while i < indices.count {
            var end = i + 1
            while end < indices.count && indices[end] == indices[end - 1] + 1 { end += 1 }
            out.append(contentsOf: values[(indices[i] * columns)..<((indices[end - 1] + 1) * columns)])
            i = end
        }
        return FeatureMatrix(rows: indices.count, columns: columns, values: out)
    }
}

/// Each feature's level -> index map (empty for a numeric feature), built once per schema: a
/// one-row request would otherwise rebuild hundreds of entries to look up a few texts.
public struct LevelIndex: Sendable {
    let maps: [LevelMap]
    /// Per feature, its ICD category levels by ``ICDChapters/categoryKey(ofCategory:)`` (empty
    /// for other features).
    let categoryKeys: [[UInt64: Double]]
    /// Per feature, the index of the spec's `other` level (NaN: none), when built with the spec.
    let others: [Double]?

    /// The maps of `schema`'s features (a repeated level maps to its last index, as
    /// ``FeatureEncoder`` always read them).
    public init(schema: FeatureSchema) {
        maps = schema.features.map { LevelMap($0.levels) }
        categoryKeys = schema.features.map { Self.categoryKeys($0.levels) }
        others = nil
    }

    /// Only `maps` (a feature's map built on the spot).
    init(maps: [LevelMap]) {
        self.maps = maps
        categoryKeys = []
        others = nil
    }

    /// The maps, and where each feature's `other` level is (``FeatureEncoder/otherLevel(_:_:)``).
    public init(spec: DatasetSpec, schema: FeatureSchema) {
        let plain = LevelIndex(schema: schema)
        maps = plain.maps
        categoryKeys = plain.categoryKeys
        others = schema.features.enumerated().map { j, f in
            j < spec.features.count ? FeatureEncoder.otherLevel(spec.features[j], f) : .nan
        }
    }

    /// The levels that are ICD category texts, by key; a repeated level maps to its last index.
    static func categoryKeys(_ levels: [String]) -> [UInt64: Double] {
        var keys: [UInt64: Double] = [:]
        for (i, level) in levels.enumerated() {
            if let key = ICDChapters.categoryKey(ofCategory: level) { keys[key] = Double(i) }
        }
        return keys
    }

    /// Feature `j`'s map, or nil when not prepared.
    func map(_ j: Int) -> LevelMap? {
        j < maps.count ? maps[j] : nil
    }

    /// Appends to `table` the level of each of `texts` by feature `j`'s map (NaN for a
    /// missing text, `unknownTo` for a text that is not a level) and returns whether any was
    /// unknown; nil (nothing appended) when the map is not prepared. The map is read where it
    /// lies: ``map(_:)`` returns a copy, a retain and a release of each of its four arrays, for
    /// each of a one-row request's few dozen text features.
    func appendLevels(_ j: Int, of texts: [String], isMissing: [Bool], unknownTo: Double, into table: inout [Double]) -> Bool? {
        guard j < maps.count else { return nil }
        return maps.withUnsafeBufferPointer { maps in
            var anyUnknown = false
            for c in texts.indices {
                if isMissing[c] { table.append(.nan); continue }
                if let found = maps[j][texts[c]] { table.append(found) } else { table.append(unknownTo); anyUnknown = true }
            }
            return anyUnknown
        }
    }

    /// Feature `j`'s ICD category levels by key, or nil when not prepared.
    func categoryKeys(_ j: Int) -> [UInt64: Double]? {
        j < categoryKeys.count ? categoryKeys[j] : nil
    }

    /// Feature `j`'s `other` level index (NaN: none), or nil when not prepared.
    func other(_ j: Int) -> Double? {
        guard let others, j < others.count else { return nil }
        return others[j]
    }
}

/// One feature's levels by text: a text's level index (a repeated level maps to its last index).
struct LevelMap: Sendable {
    private let texts: TextIndex
    /// Per distinct text of ``texts``, the index of its last occurrence among the levels.
    private let level: [Double]

    init(_ levels: [String]) {
        let (texts, last) = TextIndex.lastOccurrences(levels)
        self.texts = texts
        level = last.map(Double.init)
    }

    /// The level index of `text`, or nil when it is not a level.
    @inline(__always)
    subscript(text: String) -> Double? { texts[text].map { level[$0] } }
}

/// The one encoder: raw features -> feature vectors in schema order, by the spec and what
/// training learned (the schema's levels). Training, `readmit score` and the daemon all call it.
public enum FeatureEncoder {
    /// Encodes every encounter row.
    public static func encode(raw: RawFeatures, spec: DatasetSpec, schema: FeatureSchema) -> FeatureMatrix {
        var ignored = RowErrors()
        return encode(raw: raw, spec: spec, schema: schema, warnings: &ignored, warnUnknownLevels: false)
    }

    /// Encodes every encounter row; a text that is not a level learned in training gets an
    /// `unknown_level` warning for its row (it is missing, or the spec's `other` level).
    /// `levels`, when given, is ``LevelIndex`` of `schema` (built once by a model that encodes
    /// many requests).
    public static func encode(raw: RawFeatures, spec: DatasetSpec, schema: FeatureSchema, warnings: inout RowErrors,
                              warnUnknownLevels: Bool = true, levels: LevelIndex? = nil) -> FeatureMatrix {
        matrix(features(raw: raw, spec: spec, schema: schema, warnings: &warnings, warnUnknownLevels: warnUnknownLevels, levels: levels))
    }

    /// Every row of `encoded` in one matrix.
    public static func matrix(_ encoded: EncodedFeatures) -> FeatureMatrix {
        let n = encoded.rows, m = encoded.columns
        // Every value is written by `write` (a feature without a source as NaN).
        let values = [Double](unsafeUninitializedCapacity: n * m) { buffer, count in
            encoded.write(rows: 0..<n, into: buffer)
            count = n * m
        }
        return FeatureMatrix(rows: n, columns: m, values: values)
    }

    /// Does the per-text work of encoding (each distinct text looked up once; the
    /// `unknown_level` warnings as ``encode(raw:spec:schema:warnings:warnUnknownLevels:levels:)``
    /// gives them) and returns the rows ready to be written a block at a time
    /// (``EncodedFeatures/write(rows:into:)``): the daemon scores each block of a large request
    /// while its vectors are still in cache.
    /// With a `memo` (one per request), a column's per-text work done for another part of the
    /// same request is taken from it (the same bits).
    public static func features(raw: RawFeatures, spec: DatasetSpec, schema: FeatureSchema, warnings: inout RowErrors,
                                warnUnknownLevels: Bool = true, levels: LevelIndex? = nil, memo: LevelTableMemo? = nil) -> EncodedFeatures {
        let levels = levels ?? LevelIndex(schema: FeatureSchema(features: []))
        let m = schema.count
        let n = raw.features.first.map(count) ?? 0
        // By index: binding each schema feature and spec definition copied a dozen strings and
        // arrays per feature per request.
        let features = schema.features, definitions = spec.features
        var sources: [EncodedFeatures.Source] = []
        sources.reserveCapacity(m)
        // Every categorical feature's level per distinct text, in one buffer (one allocation: a
        // one-row request encodes dozens of these).
        var table: [Double] = []
        table.reserveCapacity(raw.features.prefix(m).reduce(0) { total, feature in
            switch feature {
            case .numbers: return total
            case .texts(let c), .codes(let c, _): return total + c.interned.values.count
            }
        })
        for j in features.indices {
            guard j < raw.features.count else { sources.append(.missing); continue }
            switch raw.features[j] {
            case .numbers:
                sources.append(.numbers(raw: j))
            case .texts(let column):
                let other = levels.other(j) ?? otherLevel(definitions[j], features[j])
                let unknownTo = definitions[j].kind == .ordinal ? .nan : other
                // Each distinct text is looked up once; rows then copy its level. Unknown texts
                // are only flagged in this pass.
                let start = table.count, count = column.interned.values.count
                let anyUnknown: Bool
                if let known = memo?.lookup(j, texts: column.interned.values, isMissing: column.isMissing, systems: nil) {
                    table += known.table
                    anyUnknown = known.anyUnknown
                } else {
                    anyUnknown = levels.appendLevels(j, of: column.interned.values, isMissing: column.isMissing, unknownTo: unknownTo, into: &table)
                        ?? LevelIndex(maps: [LevelMap(features[j].levels)]).appendLevels(0, of: column.interned.values, isMissing: column.isMissing,
                                                                                         unknownTo: unknownTo, into: &table)
                        ?? false
                    memo?.keep(j, texts: column.interned.values, isMissing: column.isMissing, systems: nil, table: table[start...], anyUnknown: anyUnknown)
                }
                sources.append(EncodedFeatures.levels(start: start, count: count, raw: j, codes: column.interned.codes))
                // A level outside the vocabulary is declared behaviour where the spec has an
                // `other` level (rare values go there); where it becomes missing, say so.
                if anyUnknown && warnUnknownLevels && (definitions[j].kind == .ordinal || other.isNaN) {
                    let index = levels.map(j) ?? LevelMap(features[j].levels)
                    let unknown = column.interned.values.enumerated().map { c, text in !column.isMissing[c] && index[text] == nil }
                    let field = definitions[j].column ?? definitions[j].name
                    let outcome = "read as missing"
                    // One message per distinct text (the near-match search lowercases every
                    // level), shared by its rows.
                    var message = [String?](repeating: nil, count: unknown.count)
                    for r in 0..<n where unknown[Int(column.interned.codes[r])] {
                        let c = Int(column.interned.codes[r])
                        if message[c] == nil {
                            let text = column.interned.values[c], lowered = text.lowercased()
                            let near = features[j].levels.first { $0.lowercased() == lowered }.map { "; did you mean '\($0)'?" } ?? ""
                            message[c] = "'\(text)' is not a level of \(features[j].name) learned in training: \(outcome)\(near)"
                        }
                        warnings.warn(DataWarning(row: r, field: field, code: "unknown_level", message: message[c] ?? ""))
                    }
                }
            case .codes(let column, let systems):
                let start = table.count
                let known = memo?.lookup(j, texts: column.interned.values, isMissing: column.isMissing, systems: systems)
                if let known {
                    table += known.table
                } else if features[j].transform == .icdCategory {
                    let index = levels.map(j) ?? LevelMap(features[j].levels)
                    let keys = levels.categoryKeys(j) ?? LevelIndex.categoryKeys(features[j].levels)
                    let other = Double(features[j].levels.count - 1)
                    // Each distinct code's category level: by key for a printable-ASCII code
                    // (the same level as by text; ICDChapters.categoryKey), else by its text.
                    for (c, text) in column.interned.values.enumerated() {
                        if column.isMissing[c] {
                            table.append(.nan)
                        } else if let key = ICDChapters.categoryKey(of: text, system: systems[c]) {
                            table.append(keys[key] ?? other)
                        } else {
                            table.append(ICDChapters.category(of: text, system: systems[c]).map { index[$0] ?? other } ?? .nan)
                        }
                    }
                } else {
                    table += column.interned.values.enumerated().map { c, text in
                        column.isMissing[c] ? .nan : ICDChapters.chapter(of: text, system: systems[c]).map(Double.init) ?? .nan
                    }
                }
                if let memo, known == nil {
                    memo.keep(j, texts: column.interned.values, isMissing: column.isMissing, systems: systems, table: table[start...], anyUnknown: false)
                }
                sources.append(EncodedFeatures.levels(start: start, count: table.count - start, raw: j, codes: column.interned.codes))
            }
        }
        return EncodedFeatures(rows: n, columns: m, raw: raw.features, sources: sources, table: table)
    }

    /// The level index of the spec's `other` level of a categorical feature, NaN when it has none.
    static func otherLevel(_ definition: FeatureDefinition, _ feature: FeatureSpec) -> Double {
        definition.other.flatMap { feature.levels.firstIndex(of: $0) }.map(Double.init) ?? .nan
    }

    static func count(_ raw: RawFeature) -> Int {
        switch raw {
        case .numbers(let v): return v.count
        case .texts(let c), .codes(let c, _): return c.count
        }
    }
}
