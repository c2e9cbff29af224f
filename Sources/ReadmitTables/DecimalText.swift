/// The one rule for what text is a number, shared by the tables (`CSVTable`) and the
/// encoder (`SourceTable`); a file of its own so the CSV fuzz target builds with it.
public enum DecimalText {
    /// Whether `text` is a decimal number as EHR extracts write them: an optional sign, digits
    /// with an optional decimal point (at least one digit), an optional exponent (`2.5e-3`).
    /// `Double(_:)` (`strtod`) also reads hexadecimal (`0x29` as 41, `0x1p3` as 8), which in a
    /// lab count is a garbled field, not a number; it is an error as `three` is.
    public static func isDecimal(_ text: String) -> Bool {
        var bytes = text.utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        func digits() -> Int {
            let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        var mantissa = digits()
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }
}
