/// The texts a table reads as missing (its spec's `missing` tokens; an empty field is always
/// missing).
///
/// A spec lists one to a few tokens (`?`, `NA`), so a linear scan of short strings answers
/// faster than a `Set`, which hashes the text with SipHash first: a one-row raw request asks
/// once per distinct value of each of its dozens of columns, and builds the table (and so this)
/// per request.
public struct MissingTexts: Sendable, Equatable {
    /// The tokens, in the spec's order, without duplicates.
    public let tokens: [String]
    /// The numbers whose shortest text is a token (`-1` for the token `-1`, `999` for `999`;
    /// none for `?`, nor for `1e3` or `-1.0`, which no number is written as): a number sent
    /// in a raw-records column is read as its shortest text would be in a file, so these are
    /// missing there as the token is in the file. Usually empty.
    public let numbers: [Double]

    /// The missing texts `tokens` (duplicates dropped).
    public init(_ tokens: [String]) {
        var unique: [String] = []
        unique.reserveCapacity(tokens.count)
        for t in tokens where !unique.contains(t) { unique.append(t) }
        self.tokens = unique
        var numbers: [Double] = []
        // Only a token that starts as a shortest text does (a digit or `-`) is parsed: the
        // daemon builds this per request, and `?` would otherwise cost a strtod call.
        for t in unique {
            guard let first = t.utf8.first, first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")),
                  let v = SourceTable.number(t), SourceTable.shortestText(v) == t else { continue }
            numbers.append(v)
        }
        self.numbers = numbers
    }

    /// Whether `text` is missing: empty, or one of the tokens.
    @inline(__always)
    public func contains(_ text: String) -> Bool {
        text.isEmpty || tokens.contains(text)
    }

    /// Whether the number `v` is missing: NaN, or a number whose shortest text is a token
    /// (`contains(SourceTable.shortestText(v))` for a number, without making the text).
    /// Compared by value, so -0.0 is missing with the token `0`, as its shortest text is `0`.
    @inline(__always)
    public func contains(number v: Double) -> Bool {
        v.isNaN || numbers.contains(v)
    }
}
