import CTreeWalk
import Foundation

/// Which walk scores the compiled trees (``CompiledBooster`` and ``CompiledForest``).
///
/// `scalar` is the Swift walk: the reference, and the fallback on every CPU. `avx2` walks eight
/// rows per vector in C (`Sources/CTreeWalk`), on CPUs that have AVX2, and the rows left over
/// (a one-row request's only row) one at a time in portable C; `avx512` walks sixteen rows per
/// vector (the forest on doubles eight), on CPUs with AVX-512, then the rest as `avx2` does.
/// Every walk gives bit-identical results (the same comparisons, each row's leaves summed in
/// tree order; a test checks every supported walk on test rows and edge rows). The walk is
/// chosen once per process: ``best`` (`avx512` on an Intel CPU that has it, else `avx2` where
/// supported), or the one `READMIT_TREE_WALK` names (`scalar`, `avx2`, `avx512` or `auto`).
public enum TreeWalk: String, Sendable, CaseIterable {
    case scalar
    case avx2
    case avx512

    /// The environment variable that forces a walk.
    public static let environmentVariable = "READMIT_TREE_WALK"

    /// Whether this CPU can run the walk.
    public var isSupported: Bool {
        switch self {
        case .scalar: true
        case .avx2: Self.cpuHasAVX2
        case .avx512: Self.cpuHasAVX2 && Self.cpuHasAVX512
        }
    }

    /// Whether the walk runs the C vector kernels (then the rows they leave go one at a time in C).
    public var isVector: Bool { self != .scalar && isSupported }

    private static let cpuHasAVX2 = rtw_cpu_supports_avx2() != 0
    private static let cpuHasAVX512 = rtw_cpu_supports_avx512() != 0
    private static let cpuIsIntel = rtw_cpu_is_intel() != 0

    /// The walks this CPU supports, the reference first.
    public static var supported: [TreeWalk] { allCases.filter(\.isSupported) }

    /// The walk `auto` takes: AVX-512 on an Intel CPU that has it, else AVX2 where the CPU has
    /// it, else the Swift walk. By vendor, as measured (benchmarks/train/README.md): on an Intel
    /// Xeon (family 6, model 207) the AVX-512 walk scored 1.16-1.17x the AVX2 walk's rows on
    /// the served path (booster 1.12-1.14x, forest 1.22-1.26x); on AMD Zen 4, which runs a
    /// 512-bit gather as two halves, 0.91-0.99x. Elsewhere `READMIT_TREE_WALK=avx512` asks for it.
    public static var best: TreeWalk {
        if cpuIsIntel && TreeWalk.avx512.isSupported { return .avx512 }
        return TreeWalk.avx2.isSupported ? .avx2 : .scalar
    }

    /// An unusable `READMIT_TREE_WALK` value.
    public struct SelectionError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The walk a `READMIT_TREE_WALK` value asks for: nil or `auto` for ``best``.
    public static func resolve(_ value: String?) throws(SelectionError) -> TreeWalk {
        guard let value, !value.isEmpty, value != "auto" else { return best }
        guard let walk = TreeWalk(rawValue: value) else {
            throw SelectionError(description: "\(environmentVariable)=\(value) is not one of auto, \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard walk.isSupported else {
            throw SelectionError(description: "\(environmentVariable)=\(value): this CPU does not support the \(value) walk (supported: \(supported.map(\.rawValue).joined(separator: ", ")))")
        }
        return walk
    }

    private static let selection: (walk: TreeWalk, problem: SelectionError?) = {
        do throws(SelectionError) {
            return (try resolve(ProcessInfo.processInfo.environment[environmentVariable]), nil)
        } catch {
            return (best, error)
        }
    }()

    /// The walk scoring uses unless told otherwise: `READMIT_TREE_WALK`'s, or ``best``.
    public static var selected: TreeWalk { selection.walk }

    /// Why `READMIT_TREE_WALK` was not followed (``selected`` is then ``best``); nil when it
    /// was, or is unset. Executables print it as a warning.
    public static var environmentProblem: SelectionError? { selection.problem }

    /// Rows walked per chunk: each chunk's input stays in cache while every tree walks it.
    /// Measured with `readmit benchmark-scoring --chunk-rows` (benchmarks/train/README.md,
    /// 2026-12-03): rows/s is flat within 1-3% from 64 to 1,024 rows for both walks, falls from
    /// 4,096, and 100,000 rows as one chunk is 5x slower (scalar); 512 sits in the flat part.
    public static let chunkRows = 512
}
