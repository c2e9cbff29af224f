/// A model card (Mitchell et al. 2019; the items TRIPOD+AI asks a prediction model's report to
/// state): intended use, cohort and exclusions, data source and dates, features, training and
/// evaluation design, the figures measured on the test patients, and known limits. Training
/// writes it into the model file; the report shows it and `INFO` returns it as text, so the
/// served model carries its own description.
public struct ModelCard: Codable, Sendable, Equatable {
    /// One part of the card: a title and its statements, in order.
    public struct Section: Codable, Sendable, Equatable {
        /// The title ("Intended use", "Cohort", ...).
        public var title: String
        /// Its statements, one paragraph or list item each.
        public var items: [String]

        /// Creates a section.
        public init(title: String, items: [String]) {
            self.title = title
            self.items = items
        }
    }

    /// The sections, in reading order.
    public var sections: [Section]

    /// Creates a card.
    public init(sections: [Section]) { self.sections = sections }

    /// The card as Markdown text: a `##` heading per section, its items as a bulleted list.
    public func markdown(title: String) -> String {
        var out = "# \(title)\n"
        for s in sections {
            out += "\n## \(s.title)\n\n"
            for item in s.items { out += "- \(item)\n" }
        }
        return out
    }
}
