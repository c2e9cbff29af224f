/// Strict timestamps in a declared format (`%Y-%m-%d %H:%M:%S`): seconds since 1970-01-01 on
/// the data's own clock (no time zone; MIMIC shifts dates per patient, so only differences mean
/// anything).
///
/// Written by hand: Foundation's `DateFormatter` is locale-dependent, accepts partial input
/// silently and costs microseconds per value; this takes digits where the format says so, checks
/// ranges, and rejects anything else.
public enum TimestampFormat {
    /// Why `format` is not usable, or nil when it is.
    public static func problem(_ format: String) -> String? {
        let chars = Array(format.utf8)
        var i = 0, fields = Set<UInt8>()
        while i < chars.count {
            if chars[i] == UInt8(ascii: "%") {
                guard i + 1 < chars.count, Array("YmdHMS".utf8).contains(chars[i + 1]) else {
                    return "format '\(format)': only %Y %m %d %H %M %S may follow %"
                }
                if !fields.insert(chars[i + 1]).inserted { return "format '\(format)' names a field twice" }
                i += 2
            } else { i += 1 }
        }
        for f in "Ymd".utf8 where !fields.contains(f) { return "format '\(format)' needs %Y, %m and %d" }
        return nil
    }

    /// Seconds since 1970-01-01 00:00:00 of `text` in `format`, or nil when it does not match.
    public static func parse(_ text: String, format: String) -> Int64? {
        var t = text
        return t.withUTF8 { parse($0, format: format) }
    }

    /// As ``parse(_:format:)`` on UTF-8 bytes.
    public static func parse(_ text: UnsafeBufferPointer<UInt8>, format: String) -> Int64? {
        var year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0
        var p = 0
        var f = format
        let ok: Bool = f.withUTF8 { fmt in
            var i = 0
            while i < fmt.count {
                if fmt[i] == UInt8(ascii: "%") && i + 1 < fmt.count {
                    let width = fmt[i + 1] == UInt8(ascii: "Y") ? 4 : 2
                    guard p + width <= text.count else { return false }
                    var v = 0
                    for k in 0..<width {
                        let c = text[p + k]
                        guard c >= 48 && c <= 57 else { return false }
                        v = v * 10 + Int(c - 48)
                    }
                    p += width
                    switch fmt[i + 1] {
                    case UInt8(ascii: "Y"): year = v
                    case UInt8(ascii: "m"): month = v
                    case UInt8(ascii: "d"): day = v
                    case UInt8(ascii: "H"): hour = v
                    case UInt8(ascii: "M"): minute = v
                    default: second = v
                    }
                    i += 2
                } else {
                    guard p < text.count, text[p] == fmt[i] else { return false }
                    p += 1; i += 1
                }
            }
            return p == text.count
        }
        guard ok, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 61 else { return nil }
        return Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The calendar year of seconds since 1970 (for age at admission).
    public static func year(ofSeconds s: Int64) -> Int {
        let days = Int(s >= 0 ? s / 86_400 : (s - 86_399) / 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        return yoe + era * 400 + (month <= 2 ? 1 : 0)
    }
}
