import Foundation

/// The files of a report, rendered in memory.
public struct RenderedReport: Sendable, Equatable {
    /// The self-contained `report.html`.
    public var html: String
    /// The charts, in report order; each is written as `plots/<name>.svg`.
    public var plots: [RenderedPlot]
}

/// Writes the training report: `report.html` and `plots/*.svg`.
public enum ReportWriter {
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
        var written: [URL] = []
        let html = directory.appendingPathComponent("report.html")
        try writeFile(report.html, to: html)
        written.append(html)
        for p in report.plots {
            let url = plotsDir.appendingPathComponent("\(p.name).svg")
            try writeFile(p.svg, to: url)
            written.append(url)
        }
        return written
    }

    private static func writeFile(_ text: String, to url: URL) throws(ReportError) {
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw ReportError(.cannotWriteFile, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
