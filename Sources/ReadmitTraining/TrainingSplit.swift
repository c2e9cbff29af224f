import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// Which cohort encounters each training stage uses: the test split, and within the training
/// split the patients who fit the models, choose hyperparameters and calibrate.
struct TrainingSplit: Sendable {
    /// Which patients of the training split each stage uses (hashing the patient key with a
    /// second SplitMix64 round keeps this independent of the test split).
    enum Role { case fit, validation, calibration }

    /// Cohort indices (positions in `cohort.rows`) of the training and test encounters.
    let train: [Int], test: [Int]
    /// Training encounters of fit, validation and calibration patients.
    let fit: [Int], validation: [Int], calibration: [Int]
    /// Label per cohort encounter.
    let labels: [Bool]

    static func role(ofPatient p: Int) -> Role {
        switch SplitMix64.mix(SplitMix64.mix(UInt64(bitPattern: Int64(p)))) % 10 {
        case 0: return .validation
        case 1: return .calibration
        default: return .fit
        }
    }

    init(cohort: Cohort) {
        train = cohort.rows.indices.filter { !cohort.isTest[$0] }
        test = cohort.rows.indices.filter { cohort.isTest[$0] }
        var fit: [Int] = [], validation: [Int] = [], calibration: [Int] = []
        for i in train {
            switch Self.role(ofPatient: cohort.patients[i]) {
            case .fit: fit.append(i)
            case .validation: validation.append(i)
            case .calibration: calibration.append(i)
            }
        }
        (self.fit, self.validation, self.calibration) = (fit, validation, calibration)
        labels = cohort.labels
    }

    /// The labels of cohort indices `idx`.
    func labels(_ idx: [Int]) -> [Bool] { idx.map { labels[$0] } }
}
