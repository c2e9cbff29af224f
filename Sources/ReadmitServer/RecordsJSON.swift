import ReadmitCore

/// The JSON frame of a `RECORDS` reply: messages and explanations (`docs/PROTOCOL.md`).
/// Feature values appear only as the caller sent them, in the reply to that caller; nothing
/// here is logged.
enum RecordsJSON {
    static func render(_ result: RecordsResult, k: Int) -> String {
        var out = "{" + messagesMember(result.messages)
        if k > 0 {
            out += ",\"explanations\":["
            for (r, terms) in result.explanations.enumerated() {
                if r > 0 { out += "," }
                out += "["
                for (t, term) in terms.enumerated() {
                    if t > 0 { out += "," }
                    out += "{\"feature\":\(jsonString(term.feature)),\"contribution\":\(number(term.contribution)),\"value\":"
                    switch term.value {
                    case .number(let v): out += number(v)
                    case .text(let s): out += jsonString(s)
                    case .missing: out += "null"
                    }
                    out += "}"
                }
                out += "]"
            }
            out += "]"
        }
        return out + "}"
    }

    /// The JSON frame of a `HISTORY` reply: the messages only.
    static func render(messages: [RecordMessage]) -> String { "{" + messagesMember(messages) + "}" }

    /// `"messages":[...]`.
    static func messagesMember(_ messages: [RecordMessage]) -> String {
        var out = "\"messages\":["
        for (i, m) in messages.enumerated() {
            if i > 0 { out += "," }
            out += "{\"row\":\(m.row),\"field\":\(jsonString(m.field)),\"severity\":\"\(m.severity.rawValue)\",\"code\":\(jsonString(m.code)),\"message\":\(jsonString(m.message))}"
        }
        return out + "]"
    }

    /// A JSON number (the shortest form that reads back to the same double), or null when not finite.
    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
}
