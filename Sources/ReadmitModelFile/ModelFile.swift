import Crypto
import Foundation
import ReadmitFeatures
import ReadmitFiles
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// The versioned model file: a fixed binary preamble, a JSON header, binary sections, and a
/// SHA-256 trailer. The layout is documented in `docs/MODEL_FORMAT.md`.
///
/// ```
/// 0   8 bytes  magic "RDMTMODL"
/// 8   u32      format version (2)
/// 12  u32      reserved (0)
/// 16  u64      header length H
/// 24  u64      payload length P
/// 32  H bytes  header JSON (UTF-8)
/// ..  P bytes  payload: the binary sections the header points into
/// ..  32 bytes SHA-256 of every byte before it
/// ```
public enum ModelFile {
    /// The magic bytes every model file starts with.
    public static let magic: [UInt8] = Array("RDMTMODL".utf8)
    /// The format version this build writes and reads.
    public static let formatVersion: UInt32 = 2
    static let preambleSize = 32
    static let checksumSize = 32

    /// Where a binary section lies in the payload.
    struct Section: Codable, Sendable { var offset: Int; var length: Int }

    /// The JSON header.
    struct Header: Codable {
        var metadata: ModelParameters.Metadata
        var dataset: DatasetSpec
        var schema: FeatureSchema
        var layout: ModelInputLayout
        var detector: HistogramDetector
        var calibrator: PlattCalibrator
        var tiers: [RiskTier]
        var forest: ForestHeader
        var trainingSummary: [String: String]
        var sections: [String: Section]
        /// Absent in files written before model cards existed, and while the id is hashed.
        var modelCard: ModelCard?
        /// Absent for a model as trained (and in files written before recalibration existed).
        var recalibration: Recalibration?

        enum CodingKeys: String, CodingKey {
            case metadata, dataset, schema, layout, detector, calibrator, tiers, forest, sections, recalibration
            case trainingSummary = "training_summary", modelCard = "model_card"
        }
    }

    struct ForestHeader: Codable {
        var columns: Int
        var maxSamples: Int
        var trees: Int
        var nodes: Int
        enum CodingKeys: String, CodingKey { case columns, maxSamples = "max_samples", trees, nodes }
    }

    /// The model id of a parameter set: the first 8 bytes of the SHA-256 of everything fitted
    /// (see ``EncodedModel/modelID()``).
    public static func modelID(of p: ModelParameters) throws(ModelFileError) -> String {
        try EncodedModel(p).modelID()
    }

    /// The SHA-256 of `bytes`, in hex.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { DatasetTables.sha256Hex(bytes) }

    static func payloadAndSections(_ p: ModelParameters) -> ([UInt8], [String: Section]) {
        var payload: [UInt8] = []
        var sections: [String: Section] = [:]
        func add(_ name: String, _ bytes: [UInt8]) {
            while payload.count % 8 != 0 { payload.append(0) }
            sections[name] = Section(offset: payload.count, length: bytes.count)
            payload.append(contentsOf: bytes)
        }
        add("forest.feature", LittleEndian.bytes(p.forest.feature))
        add("forest.left", LittleEndian.bytes(p.forest.left))
        add("forest.value", LittleEndian.bytes(p.forest.value))
        add("forest.roots", LittleEndian.bytes(p.forest.roots))
        add("atypicality_reference", LittleEndian.bytes(p.atypicalityReference))
        add("booster.ubj", p.boosterBytes)
        if let va = p.vennAbers {
            add("venn_abers.margins", LittleEndian.bytes(va.margins))
            add("venn_abers.low", LittleEndian.bytes(va.low))
            add("venn_abers.high", LittleEndian.bytes(va.high))
        }
        return (payload, sections)
    }

    /// JSON has no NaN: the header spells it (and infinities) as strings.
    package static let nonConformingFloats = JSONDecoder.NonConformingFloatDecodingStrategy.convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    /// The encoder of the header and its members: sorted keys (so the same parameters give the
    /// same bytes), non-finite numbers as strings.
    package static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// The header encoded whole: the reference that ``EncodedModel``'s splice of separately
    /// encoded members must equal (a test checks it).
    static func headerJSON(_ p: ModelParameters, sections: [String: Section]) throws -> [UInt8] {
        let header = Header(metadata: p.metadata, dataset: p.dataset, schema: p.schema, layout: p.layout, detector: p.detector, calibrator: p.calibrator,
                            tiers: p.tiers,
                            forest: ForestHeader(columns: p.forest.columns, maxSamples: p.forest.maxSamples, trees: p.forest.treeCount, nodes: p.forest.feature.count),
                            trainingSummary: p.trainingSummary, sections: sections, modelCard: p.modelCard, recalibration: p.recalibration)
        return Array(try jsonEncoder().encode(header))
    }

    /// The complete file contents of a parameter set.
    public static func encode(_ p: ModelParameters) throws(ModelFileError) -> [UInt8] {
        try EncodedModel(p).fileBytes()
    }

    /// Writes the model file of a parameter set (atomically, as the `EncodedModel` overload).
    public static func write(_ p: ModelParameters, to path: String) throws(ModelFileError) {
        try write(EncodedModel(p), to: path)
    }

    /// Writes the file durably (``DurableFile``): to a temporary file beside `path`, fsynced,
    /// then renamed, so that no partial or empty model file is ever left at `path`, even after a
    /// power cut; anything at `path` that is not a regular file is refused.
    public static func write(_ encoded: EncodedModel, to path: String) throws(ModelFileError) {
        let bytes = try encoded.fileBytes()
        do {
            try DurableFile.write(bytes, to: path)
        } catch {
            throw ModelFileError(code: .writeFailed, message: "cannot write model file \(error.message)")
        }
    }

    /// Reads and validates a model file.
    public static func read(path: String) throws(ModelFileError) -> ModelParameters {
        try decode(readBytes(path: path), name: path)
    }

    /// The bytes of the file at `path`, for ``decode(_:name:)``. Only a regular file is read (a
    /// FIFO would block, a device never end), and one that does not start with ``magic`` only as
    /// far as its first bytes: `RELOAD` may name any path (with `--allow-reload-path`), and a
    /// large file that is not a model must not be read into the daemon's memory to find that out.
    /// Errors say why: Foundation's read said "does it exist?" for a missing file, a directory
    /// and a permission error alike.
    static func readBytes(path: String) throws(ModelFileError) -> [UInt8] {
        func failure(_ what: String) -> ModelFileError {
            ModelFileError(code: .notFound, message: "cannot read model file \(path): \(what)")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw failure("not a regular file (a directory, device or pipe)") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(0, Int(info.st_size)))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        // The magic first, then the preamble and as many bytes as a checksum (what decode
        // needs to name a wrong version), then the rest.
        let head = preambleSize + checksumSize
        var announced = UInt64.max
        while true {
            let want = bytes.count < magic.count ? magic.count - bytes.count : (bytes.count < head ? head - bytes.count : chunk.count)
            let got = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, want) }
            if got < 0 {
                if errno == EINTR { continue }
                throw failure(String(cString: strerror(errno)))
            }
            if got == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<got])
            if bytes.count == magic.count && bytes != magic { return bytes }  // decode names it
            if bytes.count == head {
                // A file of another version is named by decode; one of this version whose size is
                // not the one its preamble announces is refused here, before the rest is read (a
                // model with gigabytes appended, or a sparse file, filled the daemon's memory).
                guard LittleEndian.read(bytes, at: 8) as UInt32 == formatVersion else { return bytes }
                let (sum1, o1) = UInt64(preambleSize).addingReportingOverflow(LittleEndian.read(bytes, at: 16) as UInt64)
                let (sum2, o2) = sum1.addingReportingOverflow(LittleEndian.read(bytes, at: 24) as UInt64)
                let (total, o3) = sum2.addingReportingOverflow(UInt64(checksumSize))
                let size = UInt64(max(0, info.st_size))
                if o1 || o2 || o3 || total > size {
                    throw ModelFileError(code: .truncated, message: "\(path) is truncated: its header announces "
                                            + (o1 || o2 || o3 ? "more than 2^64" : "\(total)") + " bytes, the file has \(size)")
                }
                if total < size {
                    throw ModelFileError(code: .malformed, message: "\(path) has \(size - total) unexpected trailing bytes")
                }
                announced = total
            }
            if UInt64(bytes.count) > announced { return bytes }  // grown while read: decode names it
        }
    }

    /// Decodes and validates file contents; `name` is used in messages.
    public static func decode(_ bytes: [UInt8], name: String = "model file") throws(ModelFileError) -> ModelParameters {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw ModelFileError(code: .badMagic, message: "\(name) is not a readmit model file (wrong magic bytes)")
        }
        guard bytes.count >= preambleSize + checksumSize else {
            throw ModelFileError(code: .truncated, message: "\(name) is truncated (\(bytes.count) bytes)")
        }
        let version: UInt32 = LittleEndian.read(bytes, at: 8)
        guard version == formatVersion else {
            let advice = version < formatVersion
                ? ": it was written before models carried their dataset spec; retrain it with this version (readmit train --dataset SPEC)"
                : ": it was written by a newer readmit"
            throw ModelFileError(code: .unsupportedVersion, message: "\(name) has format version \(version); this readmit reads version \(formatVersion)" + advice)
        }
        let headerLength: UInt64 = LittleEndian.read(bytes, at: 16)
        let payloadLength: UInt64 = LittleEndian.read(bytes, at: 24)
        let (sum1, o1) = UInt64(preambleSize).addingReportingOverflow(headerLength)
        let (sum2, o2) = sum1.addingReportingOverflow(payloadLength)
        let (total, o3) = sum2.addingReportingOverflow(UInt64(checksumSize))
        guard !o1, !o2, !o3, total <= UInt64(bytes.count) else {
            throw ModelFileError(code: .truncated, message: "\(name) is truncated: its header announces \(total) bytes, the file has \(bytes.count)")
        }
        guard total == UInt64(bytes.count) else {
            throw ModelFileError(code: .malformed, message: "\(name) has \(UInt64(bytes.count) - total) unexpected trailing bytes")
        }
        let body = Int(sum2)
        guard Array(SHA256.hash(data: bytes[0..<body])) == Array(bytes[body...]) else {
            throw ModelFileError(code: .checksumMismatch, message: "\(name) is corrupted: its SHA-256 checksum does not match its contents")
        }
        let header: Header
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = nonConformingFloats
            header = try decoder.decode(Header.self, from: Data(bytes[preambleSize..<(preambleSize + Int(headerLength))]))
        } catch {
            throw ModelFileError(code: .malformed, message: "\(name) has an unreadable header: \(error)")
        }
        let payloadStart = preambleSize + Int(headerLength)
        func section(_ key: String) throws(ModelFileError) -> ArraySlice<UInt8> {
            // The offsets come from the file: checked without arithmetic that could overflow.
            guard let s = header.sections[key], s.offset >= 0, s.length >= 0, s.offset <= Int(payloadLength),
                  s.length <= Int(payloadLength) - s.offset else {
                throw ModelFileError(code: .malformed, message: "\(name) lacks a valid section '\(key)'")
            }
            return bytes[(payloadStart + s.offset)..<(payloadStart + s.offset + s.length)]
        }
        let forest = IsolationForest(columns: header.forest.columns, maxSamples: header.forest.maxSamples,
                                     feature: LittleEndian.array(try section("forest.feature")),
                                     value: LittleEndian.array(try section("forest.value")),
                                     left: LittleEndian.array(try section("forest.left")),
                                     roots: LittleEndian.array(try section("forest.roots")))
        // Optional: files written before intervals existed have none of the three sections.
        var vennAbers: VennAbersCalibrator?
        if header.sections["venn_abers.margins"] != nil || header.sections["venn_abers.low"] != nil || header.sections["venn_abers.high"] != nil {
            guard let va = VennAbersCalibrator(margins: LittleEndian.array(try section("venn_abers.margins")),
                                               low: LittleEndian.array(try section("venn_abers.low")),
                                               high: LittleEndian.array(try section("venn_abers.high"))) else {
                throw ModelFileError(code: .malformed, message: "\(name) has Venn-Abers sections that do not fit together (lengths, order or values outside [0, 1])")
            }
            vennAbers = va
        }
        return ModelParameters(metadata: header.metadata, dataset: header.dataset, schema: header.schema, layout: header.layout, forest: forest,
                               atypicalityReference: LittleEndian.array(try section("atypicality_reference")),
                               detector: header.detector, boosterBytes: Array(try section("booster.ubj")),
                               calibrator: header.calibrator, tiers: header.tiers, trainingSummary: header.trainingSummary,
                               modelCard: header.modelCard, vennAbers: vennAbers, recalibration: header.recalibration)
    }
}

/// Little-endian encoding of fixed-width numbers for the model file's binary sections.
enum LittleEndian {
    // On a little-endian host (every platform this builds for; checked at compile time) the
    // in-memory bytes of an array are its file bytes: copy them in bulk rather than value by
    // value, which cost milliseconds for the forest's arrays on every save and load.
    static func bytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        #if _endian(little)
        return values.withUnsafeBytes { Array($0) }
        #else
        var out = [UInt8](); out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
        #endif
    }
    static func bytes(_ values: [Double]) -> [UInt8] { bytes(values.map(\.bitPattern)) }

    static func read<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size { v |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
        return v
    }
    static func array<T: FixedWidthInteger>(_ slice: ArraySlice<UInt8>) -> [T] {
        let size = MemoryLayout<T>.size
        let n = slice.count / size
        // Never Array(unsafeUninitializedCapacity: 0): see XGBoostTreeJSON's typedNumbers.
        guard n > 0 else { return [] }
        #if _endian(little)
        return [T](unsafeUninitializedCapacity: n) { out, initialized in
            slice.withUnsafeBytes { raw in
                if n > 0, let base = raw.baseAddress, let dst = out.baseAddress {
                    UnsafeMutableRawPointer(dst).copyMemory(from: base, byteCount: n * size)
                }
            }
            initialized = n
        }
        #else
        let base = slice.startIndex
        return (0..<n).map { k in
            var v: T = 0
            for i in 0..<size { v |= T(truncatingIfNeeded: slice[base + k * size + i]) << (8 * i) }
            return v
        }
        #endif
    }
    static func array(_ slice: ArraySlice<UInt8>) -> [Double] { (array(slice) as [UInt64]).map(Double.init(bitPattern:)) }
}
