/// Fuzz target: the dataset-spec reader (`SpecReader.parse`: Yams/libyaml, the node walk and the
/// validator). The input is a spec file's bytes. Oracles besides "never traps":
/// - the same text parses to the same spec, or fails with the same error, twice;
/// - an error names the file, a message, and a line (when it has one) inside the text;
/// - an accepted spec survives the model file's JSON (the model file stores the spec that way:
///   a spec that did not come back equal would give a model whose spec differs from training's).
/// Deterministic; reads and writes no file. See fuzz/README.md.
import Foundation
import FuzzSupport
import ReadmitModelFile
import ReadmitSpec

@main
enum FuzzSpecMain {
    static func main() {
        #if READMIT_LIBFUZZER
        FuzzEntry.run { data, size in _ = SpecHarness.run(FuzzEntry.bytes(data, size)); return 0 }
        #else
        FuzzEntry.run(SpecHarness.run)
        #endif
    }
}

enum SpecHarness {
    static let file = "fuzz.yaml"

    /// Checks one input; returns its outcome ("accepted", or the error's code).
    static func run(_ bytes: [UInt8]) -> String {
        // `SpecReader.read` refuses a file that is not UTF-8 before parsing: so does the harness.
        guard let text = String(validating: bytes, as: UTF8.self) else { return "not UTF-8" }
        let first = parse(text), second = parse(text)
        switch (first, second) {
        case (.success(let a), .success(let b)):
            guard a == b else { fatalError("the same text parsed to two different specs") }
            checkRoundTrip(a)
            return "accepted"
        case (.failure(let a), .failure(let b)):
            guard a == b else { fatalError("the same text failed twice differently: \(a) / \(b)") }
            check(a, lines: yamlLines(text))
            return "rejected (\(a.code.rawValue))"
        default:
            fatalError("the same text parsed once and failed once")
        }
    }

    static func parse(_ text: String) -> Result<DatasetSpec, SpecError> {
        do throws(SpecError) { return .success(try SpecReader.parse(text, file: file)) } catch { return .failure(error) }
    }

    /// Lines as YAML (libyaml) counts them: a CR LF pair, a lone CR, LF, NEL, LS and PS each
    /// end one (a fuzzer found an error rightly placed on line 99 of a text with 86 LFs).
    static func yamlLines(_ text: String) -> Int {
        var lines = 1, previousWasCR = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": if !previousWasCR { lines += 1 }
            case "\r", "\u{85}", "\u{2028}", "\u{2029}": lines += 1
            default: break
            }
            previousWasCR = scalar == "\r"
        }
        return lines
    }

    static func check(_ error: SpecError, lines: Int) {
        guard error.file == file, !error.message.isEmpty else { fatalError("an error without file or message: \(error)") }
        if let line = error.line {
            guard line >= 1, line <= lines + 1 else { fatalError("error on line \(line) of a \(lines)-line text: \(error)") }
        }
        if let column = error.column, column < 1 { fatalError("error in column \(column): \(error)") }
    }

    static func checkRoundTrip(_ spec: DatasetSpec) {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = ModelFile.nonConformingFloats
        do {
            let json = try ModelFile.jsonEncoder().encode(spec)
            let back = try decoder.decode(DatasetSpec.self, from: json)
            guard back == spec else { fatalError("an accepted spec differs after the model file's JSON round trip") }
        } catch {
            fatalError("an accepted spec cannot be stored in a model file: \(error)")
        }
    }
}
