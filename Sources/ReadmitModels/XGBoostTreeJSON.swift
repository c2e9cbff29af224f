import Foundation
import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// The parts of XGBoost's model (`XGBoosterSaveModelToBuffer`, format json or ubj) that
/// ``CompiledBooster`` needs: the booster kind, the base score and each tree's node arrays.
///
/// Read by a small JSON parser written for this document instead of `JSONSerialization`, which
/// builds an `NSNumber` per array element (about half a million for a 300-tree model) and took
/// most of the model-assembly stage. Numbers are converted as `JSONSerialization` did: to the
/// nearest `Double` (decimal mantissas of up to 15 digits with small exponents exactly by
/// Clinger's fast path, others through Swift's correctly rounded parser), then `Float` for the
/// split conditions. A test checks the result against the `JSONSerialization` reading.
package struct XGBoostTreeJSON {
    /// One tree's node arrays, as XGBoost stores them (node 0 is the root; -1 marks no child).
    struct Tree: Equatable {
        var left: [Int], right: [Int], index: [Int]
        var cond: [Float]
        var defaultLeft: [Int]
        /// Whether any node has a categorical split (`split_type` != 0).
        var hasCategoricalSplit: Bool
    }

    /// `learner.gradient_booster.name` ("gbtree", "gblinear", ...).
    let boosterName: String
    /// `learner.learner_model_param.base_score` (0.5 when absent or unreadable).
    let baseScore: Double
    /// The trees, in model order.
    let trees: [Tree]

    /// Whether `bytes` look like UBJSON (XGBoost's `ubj` format, what model files store) rather
    /// than JSON text: both open with `{`, but UBJSON follows it with a typed length.
    package static func isUBJSON(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == UInt8(ascii: "{") && "iUIlL$#}".utf8.contains(bytes[1])
    }

    /// Reads `json`: XGBoost's JSON text or its UBJSON (see ``isUBJSON(_:)``).
    init(json: [UInt8]) throws(CompiledBooster.FormatError) {
        let root: JSONValue
        if Self.isUBJSON(json) {
            var parser = UBJSONParser(bytes: json)
            root = try parser.document()
        } else {
            var parser = Parser(bytes: json)
            root = try parser.document()
        }
        guard case .object(let top) = root, case .object(let learner)? = top["learner"],
              case .object(let params)? = learner["learner_model_param"],
              case .object(let gb)? = learner["gradient_booster"],
              case .object(let model)? = gb["model"],
              case .array(let treeList)? = model["trees"]
        else { throw CompiledBooster.FormatError(message: "unexpected XGBoost model JSON layout") }
        if case .string(let name)? = gb["name"] { boosterName = name } else { boosterName = "" }
        switch params["base_score"] {
        case .string(let text)?: baseScore = Double(text) ?? 0.5
        case .number(let value)?: baseScore = value
        default: baseScore = 0.5
        }
        var trees: [Tree] = []
        trees.reserveCapacity(treeList.count)
        for value in treeList {
            guard case .object(let t) = value else { throw CompiledBooster.FormatError(message: "a tree is not a JSON object") }
            let types = Self.numbers(t["split_type"])
            trees.append(Tree(left: Self.numbers(t["left_children"]).map(Self.int), right: Self.numbers(t["right_children"]).map(Self.int),
                              index: Self.numbers(t["split_indices"]).map(Self.int), cond: Self.numbers(t["split_conditions"]).map { Float($0) },
                              defaultLeft: Self.numbers(t["default_left"]).map(Self.int),
                              hasCategoricalSplit: types.contains { Self.int($0) != 0 }))
        }
        self.trees = trees
    }

    /// An array's elements as numbers (true = 1, false = 0, anything else NaN); empty when the
    /// value is absent or not an array.
    static func numbers(_ value: JSONValue?) -> [Double] {
        switch value {
        case .numbers(let values)?: return values
        case .array(let items)?:
            return items.map {
                switch $0 {
                case .number(let v): return v
                case .bool(let b): return b ? 1 : 0
                default: return .nan
                }
            }
        default: return []
        }
    }

    /// An integer node field (as `NSNumber.intValue`: truncated; 0 for NaN or out of range).
    static func int(_ v: Double) -> Int { v.isFinite && abs(v) < 9e18 ? Int(v) : 0 }

    /// A parsed JSON value. Arrays whose elements are all numbers are kept as `[Double]`.
    enum JSONValue {
        case object([String: JSONValue])
        case array([JSONValue])
        case numbers([Double])
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
    }

    /// A recursive-descent JSON parser (RFC 8259) over UTF-8 bytes.
    struct Parser {
        let bytes: [UInt8]
        var i = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ what: String) -> CompiledBooster.FormatError {
            CompiledBooster.FormatError(message: "invalid XGBoost model JSON at byte \(i): \(what)")
        }

        mutating func document() throws(CompiledBooster.FormatError) -> JSONValue {
            let v = try value()
            skipSpace()
            guard i == bytes.count else { throw fail("trailing characters") }
            return v
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0a || bytes[i] == 0x0d || bytes[i] == 0x09 { i += 1 }
        }

        mutating func value() throws(CompiledBooster.FormatError) -> JSONValue {
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default: return .number(try number())
            }
        }

        mutating func literal(_ word: String) throws(CompiledBooster.FormatError) {
            for c in word.utf8 {
                guard i < bytes.count, bytes[i] == c else { throw fail("expected \(word)") }
                i += 1
            }
        }

        mutating func object() throws(CompiledBooster.FormatError) -> JSONValue {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { throw fail("nested too deeply") }
            i += 1  // {
            var members: [String: JSONValue] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                members[key] = try value()
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end in an object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func array() throws(CompiledBooster.FormatError) -> JSONValue {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { throw fail("nested too deeply") }
            i += 1  // [
            var numbers: [Double] = []
            var items: [JSONValue]?  // set once an element is not a number
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .numbers([]) }
            while true {
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end in an array") }
                let c = bytes[i]
                if items == nil && (c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))) {
                    numbers.append(try number())
                } else {
                    if items == nil { items = numbers.map { .number($0) } }
                    items?.append(try value())
                }
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end in an array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                throw fail("expected ',' or ']'")
            }
            if let items { return .array(items) }
            return .numbers(numbers)
        }

        mutating func string() throws(CompiledBooster.FormatError) -> String {
            i += 1  // opening quote
            let start = i
            var plain = true
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { plain = false; i += 1 }
                i += 1
            }
            guard i < bytes.count else { throw fail("unterminated string") }
            let raw = bytes[start..<i]
            i += 1  // closing quote
            if plain { return String(decoding: raw, as: UTF8.self) }
            // Rare here (names and numbers only): let Foundation unescape it.
            let quoted = Data([UInt8(ascii: "["), UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\""), UInt8(ascii: "]")])
            guard let decoded = (try? JSONSerialization.jsonObject(with: quoted)) as? [String], let text = decoded.first else {
                throw fail("invalid string escape")
            }
            return text
        }

        /// A JSON number, to the nearest Double.
        mutating func number() throws(CompiledBooster.FormatError) -> Double {
            let start = i
            var negative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            var mantissa: UInt64 = 0, digits = 0, exponent = 0
            var sawDigit = false
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                sawDigit = true
                if mantissa == 0 && bytes[i] == 48 { i += 1; continue }  // leading zeros
                if digits < 19 { mantissa = mantissa * 10 + UInt64(bytes[i] - 48); digits += 1 } else { exponent += 1 }
                i += 1
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                    sawDigit = true
                    if !(mantissa == 0 && bytes[i] == 48) {
                        if digits < 19 { mantissa = mantissa * 10 + UInt64(bytes[i] - 48); digits += 1; exponent -= 1 }
                    } else {
                        exponent -= 1
                    }
                    i += 1
                }
            }
            guard sawDigit else { throw fail("expected a value") }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                var expNegative = false
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { expNegative = bytes[i] == UInt8(ascii: "-"); i += 1 }
                var e = 0, expDigits = false
                while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { e = min(e * 10 + Int(bytes[i] - 48), 100_000); expDigits = true; i += 1 }
                guard expDigits else { throw fail("malformed exponent") }
                exponent += expNegative ? -e : e
            }
            // Clinger's fast path: an exact mantissa below 2^53 times an exact power of ten is
            // correctly rounded by one IEEE multiplication or division.
            if mantissa == 0 { return negative ? -0.0 : 0.0 }
            if mantissa < 1 << 53 && abs(exponent) <= 22 {
                let m = Double(mantissa)
                let v = exponent >= 0 ? m * Self.powersOfTen[exponent] : m / Self.powersOfTen[-exponent]
                return negative ? -v : v
            }
            guard let v = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw fail("malformed number") }
            return v
        }

        static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { r, _ in r * 10 } }
    }

    /// A UBJSON parser (the Universal Binary JSON draft 12 subset XGBoost writes: big-endian
    /// numbers, optimised containers with `$` type and `#` count). Typed numeric arrays (the
    /// node arrays) are read straight into `[Double]`; every value converts exactly (32-bit
    /// floats and integers), so the trees equal those read from XGBoost's JSON dump.
    struct UBJSONParser {
        let bytes: [UInt8]
        var i = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ what: String) -> CompiledBooster.FormatError {
            CompiledBooster.FormatError(message: "invalid XGBoost UBJSON model at byte \(i): \(what)")
        }

        mutating func document() throws(CompiledBooster.FormatError) -> JSONValue {
            let v = try value()
            guard i == bytes.count else { throw fail("trailing bytes") }
            return v
        }

        mutating func marker() throws(CompiledBooster.FormatError) -> UInt8 {
            while i < bytes.count, bytes[i] == UInt8(ascii: "N") { i += 1 }  // no-op markers
            guard i < bytes.count else { throw fail("unexpected end") }
            i += 1
            return bytes[i - 1]
        }

        /// `n` bytes as a big-endian unsigned integer.
        mutating func bigEndian(_ n: Int) throws(CompiledBooster.FormatError) -> UInt64 {
            guard i + n <= bytes.count else { throw fail("unexpected end") }
            var v: UInt64 = 0
            for k in 0..<n { v = v << 8 | UInt64(bytes[i + k]) }
            i += n
            return v
        }

        /// A number of type `type`, or nil when `type` is not a numeric marker.
        mutating func number(_ type: UInt8) throws(CompiledBooster.FormatError) -> Double? {
            switch type {
            case UInt8(ascii: "i"): return Double(Int8(truncatingIfNeeded: try bigEndian(1)))
            case UInt8(ascii: "U"): return Double(try bigEndian(1))
            case UInt8(ascii: "I"): return Double(Int16(truncatingIfNeeded: try bigEndian(2)))
            case UInt8(ascii: "l"): return Double(Int32(truncatingIfNeeded: try bigEndian(4)))
            case UInt8(ascii: "L"): return Double(Int64(bitPattern: try bigEndian(8)))
            case UInt8(ascii: "d"): return Double(Float(bitPattern: UInt32(try bigEndian(4))))
            case UInt8(ascii: "D"): return Double(bitPattern: try bigEndian(8))
            default: return nil
            }
        }

        /// A length or count: an integer value with its own marker.
        mutating func count() throws(CompiledBooster.FormatError) -> Int {
            let type = try marker()
            guard let n = try number(type), type != UInt8(ascii: "d"), type != UInt8(ascii: "D"), n >= 0, n <= Double(bytes.count) * 8 + 8 else {
                throw fail("invalid length")
            }
            return Int(n)
        }

        mutating func text(_ n: Int) throws(CompiledBooster.FormatError) -> String {
            guard i + n <= bytes.count else { throw fail("unexpected end") }
            defer { i += n }
            return String(decoding: bytes[i..<(i + n)], as: UTF8.self)
        }

        mutating func value() throws(CompiledBooster.FormatError) -> JSONValue {
            try value(of: try marker())
        }

        mutating func value(of type: UInt8) throws(CompiledBooster.FormatError) -> JSONValue {
            if let v = try number(type) { return .number(v) }
            switch type {
            case UInt8(ascii: "Z"): return .null
            case UInt8(ascii: "T"): return .bool(true)
            case UInt8(ascii: "F"): return .bool(false)
            case UInt8(ascii: "C"): return .string(try text(1))
            case UInt8(ascii: "S"), UInt8(ascii: "H"): return .string(try text(try count()))
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                defer { depth -= 1 }
                guard depth < 64 else { throw fail("nested too deeply") }
                return type == UInt8(ascii: "{") ? try object() : try array()
            default: throw fail("unknown marker \(type)")
            }
        }

        /// The optional `$type` and `#count` of a container.
        mutating func containerHeader() throws(CompiledBooster.FormatError) -> (type: UInt8?, count: Int?) {
            var type: UInt8?, n: Int?
            if i < bytes.count, bytes[i] == UInt8(ascii: "$") {
                i += 1
                guard i < bytes.count else { throw fail("unexpected end") }
                type = bytes[i]; i += 1
                guard i < bytes.count, bytes[i] == UInt8(ascii: "#") else { throw fail("a typed container needs a count") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "#") { i += 1; n = try count() }
            return (type, n)
        }

        mutating func object() throws(CompiledBooster.FormatError) -> JSONValue {
            let (type, n) = try containerHeader()
            var members: [String: JSONValue] = [:]
            var k = 0
            while true {
                if let n { if k == n { break } } else {
                    while i < bytes.count, bytes[i] == UInt8(ascii: "N") { i += 1 }
                    guard i < bytes.count else { throw fail("unexpected end in an object") }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                }
                let key = try text(try count())
                let valueType: UInt8
                if let type { valueType = type } else { valueType = try marker() }
                if Self.unreadKeys.contains(key) { try skip(valueType) } else { members[key] = try value(of: valueType) }
                k += 1
            }
            return .object(members)
        }

        /// Tree members ``CompiledBooster`` does not use: skipped without converting their numbers
        /// (they are over half of the model's bytes).
        static let unreadKeys: Set<String> = ["base_weights", "loss_changes", "sum_hessian", "parents"]

        /// The byte width of a numeric marker, nil for any other marker.
        static func width(of type: UInt8) -> Int? {
            switch type {
            case UInt8(ascii: "i"), UInt8(ascii: "U"): return 1
            case UInt8(ascii: "I"): return 2
            case UInt8(ascii: "l"), UInt8(ascii: "d"): return 4
            case UInt8(ascii: "L"), UInt8(ascii: "D"): return 8
            default: return nil
            }
        }

        /// The `n` elements of a typed numeric array, converted in one loop per type (the node
        /// arrays are most of the model: a per-element `number(_:)` call was most of the parse).
        mutating func typedNumbers(_ type: UInt8, width: Int, count n: Int) throws(CompiledBooster.FormatError) -> [Double] {
            guard n <= (bytes.count - i) / width else { throw fail("unexpected end") }
            // Array(unsafeUninitializedCapacity: 0) writes a count into the empty-array
            // singleton that every thread shares: ThreadSanitizer reports it when a reload parses
            // a model while other threads read empty arrays.
            guard n > 0 else { return [] }
            let start = i
            let numbers = [Double](unsafeUninitializedCapacity: n) { out, initialized in
                bytes.withUnsafeBytes { raw in
                    let p = raw.baseAddress.map { $0 + start }
                    guard let p else { return }
                    switch type {
                    case UInt8(ascii: "i"): for k in 0..<n { out[k] = Double(Int8(bitPattern: p.load(fromByteOffset: k, as: UInt8.self))) }
                    case UInt8(ascii: "U"): for k in 0..<n { out[k] = Double(p.load(fromByteOffset: k, as: UInt8.self)) }
                    case UInt8(ascii: "I"): for k in 0..<n { out[k] = Double(Int16(bigEndian: p.loadUnaligned(fromByteOffset: 2 * k, as: Int16.self))) }
                    case UInt8(ascii: "l"): for k in 0..<n { out[k] = Double(Int32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self))) }
                    case UInt8(ascii: "L"): for k in 0..<n { out[k] = Double(Int64(bigEndian: p.loadUnaligned(fromByteOffset: 8 * k, as: Int64.self))) }
                    case UInt8(ascii: "d"):
                        for k in 0..<n { out[k] = Double(Float(bitPattern: UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))) }
                    default:
                        for k in 0..<n { out[k] = Double(bitPattern: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))) }
                    }
                }
                initialized = n
            }
            i += n * width
            return numbers
        }

        /// Steps over one value of type `type` without building it.
        mutating func skip(_ type: UInt8) throws(CompiledBooster.FormatError) {
            if type == UInt8(ascii: "["), i < bytes.count, bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count, let width = Self.width(of: bytes[i + 1]) {
                let mark = i
                i += 2
                guard i < bytes.count, bytes[i] == UInt8(ascii: "#") else { i = mark; _ = try value(of: type); return }
                i += 1
                let n = try count()
                guard n <= (bytes.count - i) / width else { throw fail("unexpected end") }
                i += n * width
                return
            }
            _ = try value(of: type)
        }

        mutating func array() throws(CompiledBooster.FormatError) -> JSONValue {
            let (type, n) = try containerHeader()
            if let type, let n, let width = Self.width(of: type) {
                return .numbers(try typedNumbers(type, width: width, count: n))
            }
            var numbers: [Double] = []
            var items: [JSONValue]?
            var k = 0
            while true {
                if let n { if k == n { break } } else {
                    while i < bytes.count, bytes[i] == UInt8(ascii: "N") { i += 1 }
                    guard i < bytes.count else { throw fail("unexpected end in an array") }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                }
                let v: JSONValue
                if let type { v = try value(of: type) } else { v = try value() }
                if items == nil, case .number(let x) = v { numbers.append(x) } else {
                    if items == nil { items = numbers.map { .number($0) } }
                    items?.append(v)
                }
                k += 1
            }
            if let items { return .array(items) }
            return .numbers(numbers)
        }
    }
}
