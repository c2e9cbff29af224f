/// Decision curve analysis (Vickers and Elkin 2006): the net benefit of treating the patients
/// whose risk is at least a threshold probability `t`, in true positives per patient, with a
/// false positive costing `t / (1 - t)` of a true positive (the odds at which a clinician is
/// indifferent between acting and not). Treat-none has net benefit 0; treat-all has
/// `prevalence - (1 - prevalence) t / (1 - t)`.
public enum DecisionCurve {
    /// The thresholds the report draws: 5% to 50% in steps of 1%.
    public static let thresholds: [Double] = (5...50).map { Double($0) / 100 }

    /// Net benefit of treating rows with `probabilities[i] >= threshold`.
    public static func netBenefit(probabilities: [Double], labels: [Bool], threshold: Double) -> Double {
        precondition(probabilities.count == labels.count)
        guard !probabilities.isEmpty, threshold > 0, threshold < 1 else { return .nan }
        var truePositives = 0, falsePositives = 0
        for (p, y) in zip(probabilities, labels) where p >= threshold {
            if y { truePositives += 1 } else { falsePositives += 1 }
        }
        let n = Double(probabilities.count)
        return Double(truePositives) / n - Double(falsePositives) / n * threshold / (1 - threshold)
    }

    /// Net benefit of treating everyone.
    public static func treatAll(prevalence: Double, threshold: Double) -> Double {
        prevalence - (1 - prevalence) * threshold / (1 - threshold)
    }
}
