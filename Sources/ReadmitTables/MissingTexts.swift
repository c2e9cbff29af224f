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

    /// The missing texts `tokens` (duplicates dropped).
    public init(_ tokens: [String]) {
        var unique: [String] = []
        unique.reserveCapacity(tokens.count)
        for t in tokens where !unique.contains(t) { unique.append(t) }
        self.tokens = unique
    }

    /// Whether `text` is missing: empty, or one of the tokens.
    @inline(__always)
    public func contains(_ text: String) -> Bool {
        text.isEmpty || tokens.contains(text)
    }
}
