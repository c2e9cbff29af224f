import Foundation
#if READMIT_LIBFUZZER
import CLibFuzzer
#endif

/// The entry of a fuzz target: libFuzzer in a fuzz build, a corpus replayer in a normal one.
///
/// Built with `-D READMIT_LIBFUZZER -sanitize=fuzzer` (fuzz/build.sh), ``run(_:)`` hands the
/// process to libFuzzer's driver, which calls the harness with each input it generates. In the
/// normal `swift build` there is no libFuzzer: ``run(_:)`` passes each file named on the command
/// line (or each file in a named folder) to the same harness, so the committed corpus and any
/// crash input found later are replayed by every build (stage 50 runs it before fuzzing). A trap
/// in the harness is a failure either way; a clean replay prints how many inputs ended in each
/// outcome the harness names (so a corpus whose inputs no longer reach the deep code shows it).
public enum FuzzEntry {
    /// A harness: checks one input (trapping on a violated oracle) and names its outcome.
    public typealias Harness = ([UInt8]) -> String

    #if READMIT_LIBFUZZER
    /// Runs libFuzzer with the process's arguments over `callback` (which calls the harness).
    public static func run(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
    }

    /// The bytes libFuzzer passes (it may pass no pointer for an empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
    #else
    /// Replays the files and folders named on the command line through `harness`; exits 2 on
    /// an unreadable path.
    public static func run(_ harness: Harness) -> Never {
        var files: [String] = []
        for path in CommandLine.arguments.dropFirst() {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                FileHandle.standardError.write(Data("replay: no such file or folder: \(path)\n".utf8)); exit(2)
            }
            if isFolder.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().filter { !$0.hasPrefix(".") }.map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var outcomes: [String: Int] = [:]
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("replay: cannot read \(file)\n".utf8)); exit(2)
            }
            outcomes[harness(Array(data)), default: 0] += 1
        }
        let summary = outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print("replay: \(files.count) inputs, no failure (\(summary))")
        exit(0)
    }
    #endif
}
