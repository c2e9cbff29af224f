import ReadmitCore

/// The JSON frame of a `RECORDS` reply: messages and explanations (`docs/PROTOCOL.md`).
/// Feature values appear only as the caller sent them, in the reply to that caller; nothing
/// here is logged.
enum RecordsJSON {
    static func render(_ result: RecordsResult, k: Int) -> [UInt8] {
        var out = JSONBytes()
        out.raw("{")
        messagesMember(result.messages, into: &out)
        if k > 0 {
            out.raw(",\"explanations\":[")
            for (r, terms) in result.explanations.enumerated() {
                if r > 0 { out.raw(",") }
                out.raw("[")
                for (t, term) in terms.enumerated() {
                    if t > 0 { out.raw(",") }
                    out.raw("{\"feature\":")
                    out.string(term.feature)
                    out.raw(",\"contribution\":")
                    out.raw(number(term.contribution))
                    out.raw(",\"value\":")
                    switch term.value {
                    case .number(let v): out.raw(number(v))
                    case .text(let s): out.string(s)
                    case .missing: out.raw("null")
                    }
                    out.raw("}")
                }
                out.raw("]")
            }
            out.raw("]")
        }
        out.raw("}")
        return out.bytes
    }

    /// The JSON frame of a `HISTORY` reply: the messages only.
    static func render(messages: [RecordMessage]) -> String {
        var out = JSONBytes()
        out.raw("{")
        messagesMember(messages, into: &out)
        out.raw("}")
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// `"messages":[...]`.
    static func messagesMember(_ messages: [RecordMessage], into out: inout JSONBytes) {
        out.raw("\"messages\":[")
        for (i, m) in messages.enumerated() {
            out.raw(i > 0 ? ",{\"row\":" : "{\"row\":")
            out.int(m.row)
            out.raw(",\"field\":")
            out.string(m.field)
            switch m.severity {  // the rawValue, as a literal
            case .error: out.raw(",\"severity\":\"error\",\"code\":")
            case .warning: out.raw(",\"severity\":\"warning\",\"code\":")
            }
            out.string(m.code)
            out.raw(",\"message\":")
            out.string(m.message)
            out.raw("}")
        }
        out.raw("]")
    }

    /// A JSON number (the shortest form that reads back to the same double), or null when not finite.
    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
}
