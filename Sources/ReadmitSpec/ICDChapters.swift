/// ICD diagnosis chapters shared by ICD-9 and ICD-10: the `chapter` grouping of
/// `docs/DATASET_SPEC.md`. Both revisions map onto the same nine levels, so a model trained on
/// a mix (MIMIC-IV holds both) reads one feature.
public enum ICDChapters {
    /// Chapter names in level order.
    public static let names = [
        "circulatory", "respiratory", "digestive", "diabetes", "injury",
        "musculoskeletal", "genitourinary", "neoplasms", "other",
    ]

    /// The chapter index of `code` in `system`, or nil when the code is empty.
    public static func chapter(of code: String, system: CodeSystem) -> Int? {
        switch system {
        case .icd9: return icd9(code)
        case .icd10: return icd10(code)
        }
    }

    /// ICD-9-CM by numeric ranges (Strack et al. 2014's grouping); V and E codes are other.
    static func icd9(_ code: String) -> Int? {
        guard let first = code.utf8.first else { return nil }
        if first == UInt8(ascii: "V") || first == UInt8(ascii: "E") { return 8 }
        // MIMIC writes codes without the dot ("4280"): the category is the first three digits.
        let category: Int
        if let whole = plainCategory(code) {
            category = whole
        } else if code.utf8.contains(UInt8(ascii: ".")) || code.count <= 3 {  // a byte scan: Foundation's `contains` cost more
            // Every chapter's categories lie in 0..<1000; a number outside them (a code of 20
            // digits, "1e300") is "other" like any code the grouping does not know. Converting it
            // to Int first trapped past Int.max: one such code stopped the daemon.
            guard let x = Double(code), x >= 0, x < 1000 else { return 8 }
            category = Int(x.rounded(.down))
        } else {
            guard let x = Int(code.prefix(3)) else { return 8 }
            category = x
        }
        switch category {
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

    /// The category of a plain code, as ``icd9(_:)``'s general rule reads it, without its parse:
    /// for digits with a dot and more digits ("250.83", "250."), or at most three digits
    /// ("38"), 15 digits in all at most, the whole part. `Double(code)` rounded down gives the
    /// same (the fraction is at least 10^-m below the next whole number for m fraction digits,
    /// more than half an ulp of a value of 15 significant digits, so it never rounds up to it).
    /// nil for anything else, which takes the general rule. Why: the general rule's `strtod`,
    /// and `String.count` (a count of grapheme clusters), were most of the grouping of each
    /// distinct code of a large request.
    static func plainCategory(_ code: String) -> Int? {
        var whole = 0, wholeDigits = 0, fractionDigits = 0, dot = false
        for byte in code.utf8 {
            if byte == UInt8(ascii: ".") {
                if dot { return nil }
                dot = true
                continue
            }
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            if dot {
                fractionDigits += 1
            } else {
                whole = whole &* 10 &+ Int(digit)
                wholeDigits += 1
            }
            if wholeDigits + fractionDigits > 15 { return nil }
        }
        guard wholeDigits >= 1, dot || wholeDigits <= 3 else { return nil }
        return whole
    }

    /// ICD-10-CM by chapter letters: I circulatory, J respiratory, K digestive, E08-E13
    /// diabetes, S and T injury, M musculoskeletal, N genitourinary, C00-D49 neoplasms.
    static func icd10(_ code: String) -> Int? {
        let u = Array(code.uppercased().utf8)
        guard let letter = u.first else { return nil }
        let number = u.count >= 3 ? Int(String(decoding: u[1..<3], as: UTF8.self)) : nil
        switch letter {
        case UInt8(ascii: "I"): return 0
        case UInt8(ascii: "J"): return 1
        case UInt8(ascii: "K"): return 2
        case UInt8(ascii: "E"): if let n = number, (8...13).contains(n) { return 3 } else { return 8 }
        case UInt8(ascii: "S"), UInt8(ascii: "T"): return 4
        case UInt8(ascii: "M"): return 5
        case UInt8(ascii: "N"): return 6
        case UInt8(ascii: "C"): return 7
        case UInt8(ascii: "D"): if let n = number, n <= 49 { return 7 } else { return 8 }
        default: return 8
        }
    }

    /// The three-character category of `code`, prefixed by its system (`icd9:428`, `icd10:I50`).
    public static func category(of code: String, system: CodeSystem) -> String? {
        if code.isEmpty { return nil }
        if let fast = asciiCategory(of: code, system: system) { return fast }
        let head = code.split(separator: ".").first.map(String.init) ?? code
        return "\(system.rawValue):\(head.prefix(3).uppercased())"
    }

    /// A small key for ``category(of:system:)`` of a code that ``asciiCategory(of:system:)``
    /// reads (printable ASCII, not starting with '.'), computed without building the text: the
    /// system, and the category's one to three uppercased bytes and their count. Two such codes
    /// have the same key exactly when they have the same category, and
    /// ``categoryKey(ofCategory:)`` gives a category text the key of its codes, so a level found
    /// by key is the level found by text. Nil for any other code (it takes the general path).
    /// A large request reads a few thousand distinct codes per part, and building and hashing
    /// each one's category text took about 1,300 instructions.
    public static func categoryKey(of code: String, system: CodeSystem) -> UInt64? {
        // Over the code's contiguous bytes (a short string's are copied to the stack): walking
        // its UTF8View cost about 400 instructions a code.
        var code = code
        return code.withUTF8 { bytes -> UInt64? in
            guard let first = bytes.first, first != UInt8(ascii: ".") else { return nil }
            var printable = true
            for byte in bytes { printable = printable && byte >= 0x20 && byte < 0x7F }
            guard printable else { return nil }
            var key: UInt64 = 0, count: UInt64 = 0
            for byte in bytes.prefix(3) {
                if byte == UInt8(ascii: ".") { break }
                let upper = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
                key |= UInt64(upper) << (8 * count)
                count += 1
            }
            return key | count << 24 | systemNumber(system) << 32
        }
    }

    /// The key (``categoryKey(of:system:)``) of a category text as ``category(of:system:)``
    /// writes it for such a code (`icd9:428`), or nil when no such code has that category.
    public static func categoryKey(ofCategory text: String) -> UInt64? {
        let bytes = text.utf8
        for system in CodeSystem.allCases {
            let prefix = system.rawValue.utf8
            // The system's name and ':' (no name is another's followed by ':').
            guard bytes.starts(with: prefix), bytes.dropFirst(prefix.count).first == UInt8(ascii: ":") else { continue }
            let head = bytes.dropFirst(prefix.count + 1)
            let readable = head.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ".") && !($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) }
            guard (1...3).contains(head.count), readable else { return nil }
            var key: UInt64 = 0, count: UInt64 = 0
            for byte in head {
                key |= UInt64(byte) << (8 * count)
                count += 1
            }
            return key | count << 24 | systemNumber(system) << 32
        }
        return nil
    }

    private static func systemNumber(_ system: CodeSystem) -> UInt64 {
        switch system {
        case .icd9: return 1
        case .icd10: return 2
        }
    }

    /// ``category(of:system:)`` of a printable-ASCII code that does not start with '.' (every
    /// real code), from its bytes: the general path splits, builds and uppercases `String`s,
    /// which showed in large requests' profiles (it runs for each distinct code of each chunk).
    /// Nil for anything else, which takes the general path.
    static func asciiCategory(of code: String, system: CodeSystem) -> String? {
        let bytes = code.utf8
        // Printable ASCII only (the whole code: a combining mark after a '.' would join it into
        // one Character): one byte is one Character, and uppercasing is per byte.
        guard bytes.first != UInt8(ascii: "."), bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        var head: [UInt8] = Array(system.rawValue.utf8)
        head.append(UInt8(ascii: ":"))
        for byte in bytes.prefix(3) {
            if byte == UInt8(ascii: ".") { break }
            head.append(byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte)
        }
        return String(decoding: head, as: UTF8.self)
    }
}
