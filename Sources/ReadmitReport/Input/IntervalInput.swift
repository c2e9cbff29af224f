/// What the report shows of the per-patient risk intervals: coverage within tenths of
/// predicted risk, and calibration error by thirds of interval width.
public struct IntervalInput: Sendable, Codable, Equatable {
    /// One tenth of the evaluated patients by predicted risk.
    public struct RiskBin: Sendable, Codable, Equatable {
        public var count: Int, events: Int
        public var observedRate: Double, meanPredicted: Double, meanLow: Double, meanHigh: Double
        /// Share of the bin's patients whose interval holds the bin's observed rate.
        public var coverage: Double

        /// Creates a row.
        public init(count: Int, events: Int, observedRate: Double, meanPredicted: Double, meanLow: Double, meanHigh: Double, coverage: Double) {
            (self.count, self.events, self.observedRate, self.meanPredicted) = (count, events, observedRate, meanPredicted)
            (self.meanLow, self.meanHigh, self.coverage) = (meanLow, meanHigh, coverage)
        }
    }

    /// One third of the evaluated patients by interval width.
    public struct WidthGroup: Sendable, Codable, Equatable {
        public var name: String
        public var narrowest: Double, widest: Double, meanWidth: Double
        public var count: Int, events: Int
        public var observedRate: Double, meanPredicted: Double, calibrationError: Double, brier: Double

        /// Creates a row.
        public init(name: String, narrowest: Double, widest: Double, meanWidth: Double, count: Int, events: Int,
                    observedRate: Double, meanPredicted: Double, calibrationError: Double, brier: Double) {
            (self.name, self.narrowest, self.widest, self.meanWidth) = (name, narrowest, widest, meanWidth)
            (self.count, self.events, self.observedRate, self.meanPredicted) = (count, events, observedRate, meanPredicted)
            (self.calibrationError, self.brier) = (calibrationError, brier)
        }
    }

    /// Share of all evaluated patients whose interval holds their tenth's observed rate.
    public var coverage: Double
    /// The tenths, lowest risk first.
    public var bins: [RiskBin]
    /// The thirds by width, narrowest first.
    public var widthGroups: [WidthGroup]
    /// The findings in words.
    public var verdict: String

    /// Creates the section's input.
    public init(coverage: Double, bins: [RiskBin], widthGroups: [WidthGroup], verdict: String) {
        self.coverage = coverage
        self.bins = bins
        self.widthGroups = widthGroups
        self.verdict = verdict
    }
}
