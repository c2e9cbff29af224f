/// One part of the model card the report shows first: a title and its statements (written by
/// training into the model file; the report only lays them out).
public struct ModelCardSection: Sendable, Codable, Equatable {
    /// The title ("Intended use", "Known limits", ...).
    public var title: String
    /// Its statements, one list item each.
    public var items: [String]

    /// Creates a section.
    public init(title: String, items: [String]) {
        self.title = title
        self.items = items
    }
}
