/// The study cohort: which encounters are eligible, their label, and the patient-level split.
///
/// Follows the data set's README: encounters ending in death or hospice cannot be readmitted
/// and are excluded; the label is `readmitted == "<30"`; the split is by patient, fixed by the
/// SplitMix64 finalizer so results compare with outside references.
public struct Cohort: Sendable {
    /// `discharge_disposition_id` codes of death (11, 19, 20) and hospice (13, 14).
    public static let excludedDispositions: Set<String> = ["11", "13", "14", "19", "20"]

    /// Whether `patientNbr` belongs to the test split.
    @inline(__always)
    public static func isTestPatient(_ patientNbr: Int) -> Bool {
        SplitMix64.mix(UInt64(bitPattern: Int64(patientNbr))) % 5 == 0
    }

    /// Row indices of eligible encounters (in file order).
    public let rows: [Int]
    /// Label per eligible encounter (parallel to ``rows``).
    public let labels: [Bool]
    /// Whether each eligible encounter is in the test split (parallel to ``rows``).
    public let isTest: [Bool]
    /// Whether each eligible encounter is its patient's first eligible one (lowest `encounter_id`).
    public let isFirstEncounter: [Bool]
    /// Patient number per eligible encounter (parallel to ``rows``).
    public let patients: [Int]
    /// Number of rows excluded as death or hospice.
    public let excludedCount: Int

    /// Builds the cohort from a labelled table with IDs.
    public init(table: EncounterTable) {
        let disposition = table.categorical["discharge_disposition_id"] ?? .empty
        let ids = table.encounterID ?? Array(0..<table.count)
        let patients = table.patientNbr ?? Array(0..<table.count)
        var rows: [Int] = []
        var excluded = 0
        // Each distinct disposition text is looked up once.
        let isExcluded = disposition.values.map { Self.excludedDispositions.contains($0) }
        rows.reserveCapacity(table.count)
        for r in 0..<table.count {
            if r < disposition.codes.count && isExcluded[Int(disposition.codes[r])] { excluded += 1; continue }
            rows.append(r)
        }
        var firstByPatient: [Int: Int] = [:]
        firstByPatient.reserveCapacity(rows.count)
        for r in rows {
            let p = patients[r]
            if let f = firstByPatient[p], ids[f] <= ids[r] { continue }
            firstByPatient[p] = r
        }
        self.rows = rows
        self.labels = rows.map { table.readmitted?[$0]?.isPositive ?? false }
        self.isTest = rows.map { Self.isTestPatient(patients[$0]) }
        self.isFirstEncounter = rows.map { firstByPatient[patients[$0]] == $0 }
        self.patients = rows.map { patients[$0] }
        self.excludedCount = excluded
    }
}
