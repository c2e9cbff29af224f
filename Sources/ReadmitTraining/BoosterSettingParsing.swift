/// Why a booster setting's text (`readmit train --booster-grid`) was refused: the item, and the
/// field in it that is malformed or out of range.
public struct BoosterSettingParseError: Error, Equatable, CustomStringConvertible {
    /// What was wrong, naming the item and the field.
    public var message: String
    public var description: String { message }
}

extension BoosterSetting {
    /// The fields of `depth:min_child_weight[:eta[:subsample[:colsample_bytree[:lambda]]]]` in
    /// order: each one's name, and its range.
    private static let fields: [(name: String, range: ClosedRange<Double>, whole: Bool)] = [
        ("depth", 1...16, true), ("min_child_weight", 0...1_000_000, true), ("eta", 0.001...1, false),
        ("subsample", 0.05...1, false), ("colsample_bytree", 0.05...1, false), ("lambda", 0...1000, false),
    ]

    /// Parses `depth:min_child_weight[:eta[:subsample[:colsample_bytree[:lambda]]]]` (omitted
    /// fields: eta 0.02, subsample 0.8, colsample_bytree 0.8, lambda 1); the error names the
    /// field that is malformed or out of range.
    public static func parsed(_ text: Substring) throws(BoosterSettingParseError) -> BoosterSetting {
        let f = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (2...6).contains(f.count) else {
            throw BoosterSettingParseError(message: "'\(text)' has \(f.count) field\(f.count == 1 ? "" : "s"); expected 2 to 6: depth:min_child_weight[:eta[:subsample[:colsample_bytree[:lambda]]]]")
        }
        var values: [Double] = []
        for (i, field) in f.enumerated() {
            let spec = fields[i]
            let range = spec.whole ? "a whole number from \(Int(spec.range.lowerBound)) to \(Int(spec.range.upperBound))"
                                   : "a number from \(spec.range.lowerBound) to \(spec.range.upperBound)"
            guard let v = Double(field), v.isFinite, spec.range.contains(v), !spec.whole || v == v.rounded() else {
                throw BoosterSettingParseError(message: "'\(text)': \(spec.name) '\(field)' is not \(range)")
            }
            values.append(v)
        }
        var s = BoosterSetting(depth: Int(values[0]), minChild: Int(values[1]))
        if values.count > 2 { s.eta = values[2] }
        if values.count > 3 { s.subsample = values[3] }
        if values.count > 4 { s.colsample = values[4] }
        if values.count > 5 { s.lambda = values[5] }
        return s
    }

    /// Parses a comma-separated grid of settings (``parsed(_:)`` for each); the error names the
    /// item (1-based) as well.
    public static func parsedGrid(_ text: String) throws(BoosterSettingParseError) -> [BoosterSetting] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        var grid: [BoosterSetting] = []
        for (i, item) in items.enumerated() {
            do { grid.append(try parsed(item)) } catch {
                throw BoosterSettingParseError(message: "item \(i + 1) of \(items.count): \(error.message)")
            }
        }
        return grid
    }
}
