import Foundation
import ReadmitFiles
import ReadmitParallel

/// The files of a report, rendered in memory.
public struct RenderedReport: Sendable, Equatable {
    /// The self-contained `report.html`.
    public var html: String
    /// The charts, in report order; each is written as `plots/<name>.svg`.
    public var plots: [RenderedPlot]
}

/// Writes the training report: `report.html` and `plots/*.svg`.
public enum ReportWriter {
    /// The names (without extension) of the plots a report can hold: these, and `feature_`
    /// followed by a feature's file-safe name. `readmit train` removes an earlier run's plots
    /// by these names only, so that nothing else a user keeps in `plots/` is touched.
    public static let plotNames: Set<String> = [
        "roc", "pr", "calibration", "decision_curve", "subgroups", "risk_distribution", "gain", "lift", "top_factors",
    ]

    /// Whether `name` (without extension) is one a report's plot can have.
    public static func isPlotName(_ name: String) -> Bool {
        plotNames.contains(name) || (name.hasPrefix("feature_") && name.count > "feature_".count)
    }

    /// Validates `input` and renders the page and charts without touching the file system.
    /// Same input, same bytes.
    public static func render(_ input: ReportInput) throws(ReportError) -> RenderedReport {
        try ReportValidation.check(input)
        let plots = ReportPlots.make(input)
        return RenderedReport(html: HTMLReport.render(input, plots: plots), plots: plots)
    }

    /// Renders `input` and writes `directory/report.html` and `directory/plots/<name>.svg`
    /// (roc, pr, calibration, risk_distribution, gain, lift, top_factors, feature_<name>),
    /// creating the directories as needed. Existing files of the same names are replaced;
    /// each file is written atomically. Returns the URLs written, the HTML first.
    @discardableResult
    public static func write(_ input: ReportInput, to directory: URL) throws(ReportError) -> [URL] {
        let report = try render(input)
        let plotsDir = directory.appendingPathComponent("plots", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: plotsDir, withIntermediateDirectories: true)
        } catch {
            throw ReportError(.cannotCreateDirectory, "cannot create \(plotsDir.path): \(error.localizedDescription)")
        }
        let files = [(report.html, directory.appendingPathComponent("report.html"))]
            + report.plots.map { ($0.svg, plotsDir.appendingPathComponent("\($0.name).svg")) }
        // The files are independent: written on all cores; the first failure in file order is reported.
        _ = try concurrentMap(files.count) { k throws(ReportError) in try writeFile(files[k].0, to: files[k].1) }
        return files.map(\.1)
    }

    /// Writes `text` durably (``DurableFile``): readers see the old file or the new one, never a
    /// partial one, and only a regular file is ever replaced.
    private static func writeFile(_ text: String, to url: URL) throws(ReportError) {
        do {
            try DurableFile.write(text.utf8, to: url.path)
        } catch {
            throw ReportError(.cannotWriteFile, "cannot write \(error.message)")
        }
    }
}
