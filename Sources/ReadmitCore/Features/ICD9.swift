/// ICD-9 diagnosis chapters, the `icd9_chapter` transform of `docs/FEATURES.md`.
public enum ICD9 {
    /// Chapter names in level order.
    public static let chapters = [
        "circulatory", "respiratory", "digestive", "diabetes", "injury",
        "musculoskeletal", "genitourinary", "neoplasms", "other",
    ]

    /// The chapter index of a code, or nil when the code is missing (`?` or empty).
    public static func chapterIndex(of code: String) -> Int? {
        if code.isEmpty || code == "?" { return nil }
        guard let first = code.utf8.first else { return nil }
        if first == UInt8(ascii: "V") || first == UInt8(ascii: "E") { return 8 }
        guard let x = Double(code), x.isFinite else { return 8 }
        let c = Int(x.rounded(.down))
        switch c {
        case 250: return 3
        case 390...459, 785: return 0
        case 460...519, 786: return 1
        case 520...579, 787: return 2
        case 800...999: return 4
        case 710...739: return 5
        case 580...629, 788: return 6
        case 140...239: return 7
        default: return 8
        }
    }
}
