/// Writes the seed corpus of the wire target (fuzz/corpus/wire/) with the project's own
/// ``RequestEncoder``: one valid request of every operation, RECORDS and HISTORY with number,
/// text and missing values. Run by fuzz/make-seeds.sh; the seeds are committed.
import Foundation

@main
enum WireSeeds {
    static func main() throws {
        let dir = CommandLine.arguments[1]
        let matrix: [Double] = [1, 0, .nan, 2.5, 0, 3]
        let columns: [(name: String, column: RecordsRequest.Column)] = [
            ("n1", .numbers([61, .nan, 40])),
            ("t1", RequestEncoder.textColumn(["a", nil, "bé"])),
            ("t2", RequestEncoder.textColumn(["2100-01-01 00:00:00", "2100-02-01 00:00:00", nil])),
        ]
        let seeds: [(String, [[UInt8]])] = [
            ("score", RequestEncoder.score(requestID: 1, rows: 2, columns: 3, matrix: matrix)),
            ("explain", RequestEncoder.explain(requestID: 2, rows: 2, columns: 3, k: 2, matrix: matrix)),
            ("info", RequestEncoder.simple(.info, requestID: 3)),
            ("health", RequestEncoder.simple(.health, requestID: 4)),
            ("stats-prometheus", RequestEncoder.simple(.stats, requestID: 5, flags: WireFormat.flagPrometheus)),
            ("reload", RequestEncoder.reload(requestID: 6, path: "/tmp/model.readmit")),
            ("records", RequestEncoder.records(requestID: 7, rows: 3, k: 2, options: 3, columns: columns)),
            ("history", RequestEncoder.history(requestID: 8, rows: 3, options: 1, columns: columns)),
            // Number columns as 8-, 16- and 32-bit integers (value types 5-7), as libreadmit sends them.
            ("records-integers", RequestEncoder.records(requestID: 9, rows: 3, columns: columns + [
                ("i16", .numbers([-300, .nan, 32767])), ("i32", .numbers([70_000, -2_147_483_647, .nan])),
            ], numberWidth: .narrowest)),
        ]
        for (name, frames) in seeds {
            try Data(FuzzFrames.join(frames)).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        }
    }
}
