import Foundation
import Logging
import ReadmitFiles
import ReadmitCore
import ReadmitParallel

/// Holds the model that serves requests and swaps in a new one atomically.
///
/// A request takes a strong reference to the current model once, at its start, so it finishes
/// on that model even if a reload swaps in another meanwhile. Reloads are serialised; a new
/// model is loaded, then warmed up (one all-missing row scored) before the swap, so a file
/// that fails either step leaves the old model serving.
public final class ModelStore: @unchecked Sendable {
    /// The outcome of the last load or reload, reported by STATS.
    public struct ReloadOutcome: Sendable {
        /// When it finished.
        public var at: Date
        /// Whether the new model now serves.
        public var succeeded: Bool
        /// The path that was loaded.
        public var path: String
        /// The version now serving (0: none).
        public var modelVersion: UInt64
        /// Why it failed, if it did.
        public var error: String?
    }

    /// Why a reload failed.
    public struct ReloadError: Error, Sendable, CustomStringConvertible {
        /// The message (path and cause).
        public var message: String
        /// The message.
        public var description: String { message }
    }

    private let model = Locked<(any ServingModel)?>(nil)
    private let infoCache = Locked<(model: any ServingModel, json: String)?>(nil)
    private let reloadLock = NSLock()
    private let outcome = Locked<ReloadOutcome?>(nil)
    private let reloadCount = Locked<(ok: Int, failed: Int)>((0, 0))
    private let swappedInAt = Locked<Date?>(nil)
    /// The model path SIGHUP and a path-less RELOAD re-read (nil: none configured).
    public let configuredPath: String?
    private let loader: ModelLoader
    private let logger: Logger
    /// The access audit trail, told of every load (set by the server before the first).
    let audit = Locked<AuditLog?>(nil)

    /// Creates an empty store; call ``reload(path:)`` to load the configured model.
    public init(configuredPath: String?, loader: @escaping ModelLoader, logger: Logger) {
        self.configuredPath = configuredPath
        self.loader = loader
        self.logger = logger
    }

    /// The model serving now, if any.
    public func current() -> (any ServingModel)? { model.current }

    /// The INFO JSON of `served`, built once per model (it is large and costly to render).
    public func info(for served: any ServingModel) -> String {
        // Holds the model itself, so its address cannot be reused by another while cached.
        if let cached = infoCache.current, cached.model === served { return cached.json }
        let json = served.infoJSON()
        infoCache.withLock { $0 = (served, json) }
        return json
    }

    /// The last load's outcome.
    public var lastOutcome: ReloadOutcome? { outcome.current }

    /// When the model serving now was swapped in (nil: none serves).
    public var loadedAt: Date? { swappedInAt.current }

    /// Successful and failed reloads since start.
    public var reloadCounts: (ok: Int, failed: Int) { reloadCount.current }

    /// Loads `path` (default: the configured path), warms it up and swaps it in.
    @discardableResult
    public func reload(path: String? = nil) -> Result<any ServingModel, ReloadError> {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        guard let path = path ?? configuredPath else {
            return record(.failure(ReloadError(message: "no model path configured (start readmitd with --model)")), path: "")
        }
        let started = Date()
        let loaded: any ServingModel
        do {
            loaded = try loader(path)
        } catch {
            return record(.failure(ReloadError(message: "cannot load model file \(path): \(error)")), path: path)
        }
        do {
            try warmUp(loaded)
        } catch {
            return record(.failure(ReloadError(message: "model file \(path) loaded but failed its warm-up: \(error)")), path: path)
        }
        _ = info(for: loaded)   // render INFO before the swap, off the request path
        let previous = model.withLock { current -> (any ServingModel)? in
            let old = current
            current = loaded
            swappedInAt.withLock { $0 = Date() }
            return old
        }
        logger.info("model loaded", metadata: [
            "path": "\(path)", "model_id": "\(loaded.servingID)",
            "previous_model_id": "\(previous?.servingID ?? "none")",
            "seconds": "\(String(format: "%.3f", Date().timeIntervalSince(started)))",
        ])
        if let exposure = Self.openToOtherUsers(path) {
            logger.warning("\(exposure): any user of this host could replace the model served from the next reload on (chmod o-w)", metadata: ["path": "\(path)"])
        }
        // Loading parses the booster's JSON and warms the model up; hand the freed memory back
        // to the OS so that the daemon's resident size reflects the model, not the load.
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
        return record(.success(loaded), path: path)
    }

    /// `path` against the working directory when relative (what the audit trail names).
    static func absolute(_ path: String) -> String {
        path.isEmpty || path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Whether other users may change the model file or replace it in its folder (a folder
    /// they may write to without the sticky bit), said in words; nil when neither. Only warned
    /// about: the risks served are the file's, and the key files' checks refuse outright.
    static func openToOtherUsers(_ path: String) -> String? {
        if let file = FileExposure(path: path), file.othersWrite {
            return "the model file can be changed by other users (mode \(file.octal))"
        }
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        if let exposure = FileExposure(path: folder), exposure.othersWrite, !exposure.sticky {
            return "the model file's folder \(folder) can be written by other users (mode \(exposure.octal))"
        }
        return nil
    }

    /// Scores one all-missing row (valid for every schema) through both entry points.
    private func warmUp(_ candidate: any ServingModel) throws {
        let row = [Double](repeating: .nan, count: candidate.featureCount)
        var risk = [0.0], atyp = [0.0], tier: [UInt8] = [0]
        try row.withUnsafeBufferPointer { x throws(FeatureVectorError) in
            try risk.withUnsafeMutableBufferPointer { r throws(FeatureVectorError) in
                try atyp.withUnsafeMutableBufferPointer { a throws(FeatureVectorError) in
                    try tier.withUnsafeMutableBufferPointer { t throws(FeatureVectorError) in
                        try candidate.scoreRows(x, rows: 1, risk: r, atypicality: a, tier: t, interval: nil)
                    }
                }
            }
        }
        guard risk[0].isFinite, risk[0] >= 0, risk[0] <= 1 else {
            throw ReloadError(message: "warm-up risk \(risk[0]) is not a probability")
        }
    }

    private func record(_ result: Result<any ServingModel, ReloadError>, path: String) -> Result<any ServingModel, ReloadError> {
        let serving = current()?.servingVersion ?? 0
        switch result {
        case .success(let loaded):
            audit.current?.event("model_loaded", [("path", .text(Self.absolute(path))), ("model_id", .text(loaded.servingID)),
                                                  ("model_version", .text(hexVersion(serving)))])
            reloadCount.withLock { $0.ok += 1 }
            outcome.withLock { $0 = ReloadOutcome(at: Date(), succeeded: true, path: path, modelVersion: serving, error: nil) }
        case .failure(let error):
            audit.current?.event("model_load_failed", [("path", .text(Self.absolute(path))), ("error", .text(error.message)),
                                                       ("serving_model_version", .text(hexVersion(serving)))])
            reloadCount.withLock { $0.failed += 1 }
            outcome.withLock { $0 = ReloadOutcome(at: Date(), succeeded: false, path: path, modelVersion: serving, error: error.message) }
            // At start there is no previous model: the daemon stops (Readmitd says why).
            logger.error(current() == nil ? "model load failed" : "model load failed; the previous model keeps serving", metadata: [
                "error": "\(error.message)", "serving_model_version": "\(hexVersion(serving))",
            ])
        }
        return result
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
