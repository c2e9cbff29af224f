/// Escaping for text placed in SVG/HTML content and attribute values.
enum TextEscaping {
    /// Escapes `& < > " '` and replaces characters that XML 1.0 forbids (C0 controls other
    /// than tab/newline/CR) with U+FFFD, so any caller string yields well-formed markup.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Shortens `s` to at most `limit` characters, ending with "…" when cut, so long labels
    /// cannot run over neighbouring chart elements.
    static func truncate(_ s: String, _ limit: Int) -> String {
        s.count <= limit ? s : String(s.prefix(max(1, limit - 1))) + "…"
    }

    /// A file-name-safe form: characters outside `[A-Za-z0-9_-]` become "_".
    static func fileSafe(_ s: String) -> String {
        let mapped = s.unicodeScalars.map { c -> Character in
            switch c {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-": return Character(c)
            default: return "_"
            }
        }
        return mapped.isEmpty ? "_" : String(mapped)
    }
}
