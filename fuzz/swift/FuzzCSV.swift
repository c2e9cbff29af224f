/// libFuzzer target: the CSV reader (Sources/ReadmitTables/CSVTable.swift), compiled with its
/// sources (see fuzz/README.md). The input is a CSV file's bytes. Oracles besides "never
/// traps": the parse on two threads equals the parse on one (errors included), and every
/// field of every row can be read as text, number, integer and interned code without trapping.
/// Deterministic; writes no file (the table is parsed from memory).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let single: Result<CSVTable, DataError>
    do throws(DataError) { single = .success(try CSVTable(bytes: bytes, file: "fuzz.csv", parallel: false)) } catch { single = .failure(error) }
    let parallel: Result<CSVTable, DataError>
    do throws(DataError) { parallel = .success(try CSVTable(bytes: bytes, file: "fuzz.csv", parallel: true)) } catch { parallel = .failure(error) }
    switch (single, parallel) {
    case (.failure(let a), .failure(let b)):
        guard a == b else { fatalError("parallel parse error \(b) differs from \(a)") }
    case (.success(let table), .success(let other)):
        guard table.header == other.header, table.rowCount == other.rowCount else { fatalError("parallel parse differs") }
        let columns = Array(0..<table.header.count)
        for row in 0..<table.rowCount {
            guard table.line(ofRow: row) >= 2 else { fatalError("row \(row) on line \(table.line(ofRow: row))") }
            for column in columns {
                guard table.string(row: row, column: column) == other.string(row: row, column: column) else {
                    fatalError("parallel parse differs at row \(row) column \(column)")
                }
                _ = try? table.double(row: row, column: column)
                _ = try? table.integer(row: row, column: column)
            }
        }
        let interned = table.internedColumns(columns)
        for (column, values) in interned.enumerated() {
            guard values.codes.count == table.rowCount else { fatalError("interned column \(column) has \(values.codes.count) codes") }
            for row in 0..<table.rowCount { _ = values[row] }
        }
        _ = table.doubleColumns(columns)
        _ = table.integerColumns(columns)
    default:
        fatalError("one parse failed and the other did not")
    }
    return 0
}
