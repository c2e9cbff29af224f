import ReadmitModelFile

/// The messages about a whole file of raw records (row -1: an unused column, an absent
/// history field), for the console: one line per code, naming its fields. A file with 200
/// columns of which the model reads 50 printed 150 lines on every run (and one of 10^6 columns,
/// 10^6 lines); `--messages FILE` still lists each.
enum RequestMessages {
    /// How many field names a line shows before "and N more".
    static let shownFields = 8

    /// One line per code of the request-level messages in `messages`, in order of first
    /// appearance: a single message as it is (`code: field: message`), several as
    /// `code for N fields: a, b, ... and M more (a: message of the first; the others alike)`.
    static func lines(_ messages: [RecordMessage]) -> [(severity: RecordMessage.Severity, text: String)] {
        var order: [String] = []
        var byCode: [String: [RecordMessage]] = [:]
        for m in messages where m.row < 0 {
            if byCode[m.code] == nil { order.append(m.code) }
            byCode[m.code, default: []].append(m)
        }
        return order.compactMap { code -> (severity: RecordMessage.Severity, text: String)? in
            guard let group = byCode[code], let first = group.first else { return nil }
            let firstText = (first.field.isEmpty ? "" : "\(first.field): ") + first.message
            guard group.count > 1 else { return (first.severity, "\(code): \(firstText)") }
            let names = group.prefix(shownFields).map { $0.field.isEmpty ? "(the request)" : $0.field }.joined(separator: ", ")
            let more = group.count > shownFields ? " and \(group.count - shownFields) more" : ""
            return (first.severity, "\(code) for \(group.count) fields: \(names)\(more) (\(firstText); the others alike)")
        }
    }
}
