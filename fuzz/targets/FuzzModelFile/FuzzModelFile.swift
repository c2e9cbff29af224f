/// Fuzz target: the model-file loader (`ModelFile.decode`, then `ReadmitModel`'s checks that the
/// parts fit together, the tree reader of the booster section, the compiled forest, and the
/// warm-up score), and the records encoder driven by whatever spec and schema the file holds.
///
/// The input is a model file's bytes. A mutated file would almost never get past the SHA-256
/// trailer, so by default the harness repairs the envelope first: it sets the payload length
/// from the header length and the file's size, and rewrites the trailer. An input whose reserved
/// field (offset 12) has its low bit set is decoded exactly as given, so the envelope checks are
/// fuzzed too. XGBoost itself is left out: the model is built around an untrained booster
/// (scores come from readmit's own compiled trees; only explanations ask XGBoost), so a report
/// is always about readmit's code.
///
/// Oracles besides "never traps": a loaded model scores its warm-up row within [0, 1]; raw
/// records sent through the file's own spec give, per row, a risk in [0, 1] with a tier, or an
/// error for that row. Deterministic; reads and writes no file. See fuzz/README.md.
import Crypto
import Foundation
import FuzzSupport
import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitTables

@main
enum FuzzModelFileMain {
    static func main() {
        #if READMIT_LIBFUZZER
        FuzzEntry.run { data, size in _ = ModelFileHarness.run(FuzzEntry.bytes(data, size)); return 0 }
        #else
        FuzzEntry.run(ModelFileHarness.run)
        #endif
    }
}

enum ModelFileHarness {
    /// One untrained booster for every input (never asked to score).
    static let booster: XGBoostBooster = {
        do { return try XGBoostBooster.untrained() } catch { fatalError("cannot create an XGBoost booster: \(error)") }
    }()

    /// Checks one input; returns how far it got ("scored", or the step that refused it).
    static func run(_ input: [UInt8]) -> String {
        let bytes = repairedEnvelope(input)
        let parameters: ModelParameters
        do throws(ModelFileError) { parameters = try ModelFile.decode(bytes, name: "fuzz.readmit") } catch {
            guard !error.message.isEmpty else { fatalError("a decode error without a message") }
            return "not decoded (\(error.code.rawValue))"
        }
        let model: ReadmitModel
        do throws(ModelFileError) { model = try ReadmitModel(parameters: parameters, booster: booster) } catch {
            guard !error.message.isEmpty else { fatalError("a load error without a message") }
            if ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil { print(error.message) }
            return "not loaded (\(error.code.rawValue))"
        }
        return scoreRecords(model)
    }

    /// The input with a consistent payload length and checksum, unless it asks to be read as is.
    static func repairedEnvelope(_ input: [UInt8]) -> [UInt8] {
        let preamble = 32, trailer = 32
        guard input.count >= preamble + trailer, Array(input[0..<8]) == ModelFile.magic, input[12] & 1 == 0 else { return input }
        var bytes = input
        let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[16 + $1]) << (8 * $1) }
        let room = UInt64(bytes.count - preamble - trailer)
        if headerLength <= room {
            let payloadLength = room - headerLength
            for i in 0..<8 { bytes[24 + i] = UInt8(truncatingIfNeeded: payloadLength >> (8 * i)) }
        }
        let body = bytes.count - trailer
        bytes.replaceSubrange(body..., with: Array(SHA256.hash(data: bytes[0..<body])))
        return bytes
    }

    /// Two rows through the records path: every field the model reads set to a plausible value,
    /// then every field missing.
    static func scoreRecords(_ model: ReadmitModel) -> String {
        let spec = model.parameters.dataset
        var columns: [(name: String, column: RecordColumn)] = []
        var names = Set<String>()
        for field in RecordFields.fields(spec: spec, schema: model.schema) where names.insert(field.name).inserted {
            let column: RecordColumn
            switch field.type {
            case .number: column = .numbers([1, .nan])
            case .text: column = .texts(values: [field.levels?.first ?? "x"], codes: [0, -1])
            case .timestamp: column = .texts(values: ["2020-01-02 03:04:05"], codes: [0, -1])
            case .diagnosisCode: column = .texts(values: ["250.01"], codes: [0, -1])
            }
            columns.append((field.name, column))
        }
        for id in [spec.encounters.encounterID, spec.encounters.patientID] where names.insert(id).inserted {
            columns.append((id, .texts(values: ["a", "b"], codes: [0, 1])))
        }
        let result: RecordsResult
        do throws(DataError) {
            result = try model.scoreRecords(columns: columns, rows: 2, k: 0, options: RecordBatch.Options(missingFieldsOk: true, badValuesMissing: true))
        } catch {
            guard !error.message.isEmpty else { fatalError("a records error without a message") }
            return "records refused (\(error.code.rawValue))"
        }
        let failed = Set(result.messages.filter { $0.severity == .error }.map(\.row))
        let tiers = model.tierNames.count
        for row in 0..<2 {
            if failed.contains(row) {
                guard result.risk[row].isNaN, result.tier[row] == 255 else { fatalError("row \(row) has an error and a score") }
            } else {
                let risk = result.risk[row]
                guard risk >= 0, risk <= 1, Int(result.tier[row]) < tiers else {
                    fatalError("row \(row): risk \(risk), tier \(result.tier[row]) of \(tiers)")
                }
            }
        }
        return "scored (\(2 - failed.count) of 2 rows)"
    }
}
