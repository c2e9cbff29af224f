/// A dataset spec: how a hospital's extract becomes a readmission cohort and its features.
///
/// Read from YAML by ``SpecReader`` (the format is documented in `docs/DATASET_SPEC.md`),
/// stored in the model file as JSON, and read back by `readmit score` and the daemon, so that
/// training and serving interpret raw fields by the same declaration.
public struct DatasetSpec: Codable, Sendable, Equatable {
    /// A short name (`diabetes130`).
    public var name: String
    /// What the extract is, for people.
    public var description: String
    /// Folders (relative to the spec file) where data files are looked up after the spec's own folder.
    public var search: [String]
    /// The encounter-level table: one row per hospital stay.
    public var encounters: EncounterSource
    /// An optional per-patient table joined on the patient id.
    public var patients: PatientSource?
    /// Long-format tables joined on the encounter id.
    public var events: [EventSource]
    /// How the outcome is read or derived.
    public var label: LabelRule
    /// Rows that leave the cohort, each with its reason.
    public var exclusions: [Exclusion]
    /// How encounters are split into training and test.
    public var split: SplitRule
    /// Only each patient's first encounter, when set (applied before the split).
    public var firstEncounterOnly: Bool
    /// The features, in feature-vector order.
    public var features: [FeatureDefinition]
    /// The LACE-like clinical reference, when the data can express it.
    public var lace: LACEDefinition?
    /// Features whose distributions by outcome the report charts.
    public var reportDistributions: [String]
    /// Features by whose values the report breaks down performance and calibration (nil: none
    /// declared; specs stored before subgroups existed read back as nil).
    public var reportSubgroups: [SubgroupDefinition]? = nil
    /// Groups of features the report withholds one at a time to show what each adds (nil: one
    /// group per feature kind that has features).
    public var reportAblation: [AblationGroup]? = nil
    /// What the spec's author states for the model card (nil: nothing stated; specs stored
    /// before model cards existed read back as nil).
    public var modelCard: ModelCardStatement? = nil
    /// Where the extract's follow-up ends, for a label derived from dates: a date `YYYY-MM-DD`
    /// (the last day the extract covers) or `latest_admission` (the latest admission in it).
    /// Stays whose window runs past it leave the cohort: a readmission there cannot be seen,
    /// so "not readmitted" would be a guess. Nil: not declared (every stay is labelled).
    public var labelFollowUpEnd: String? = nil

    /// Whether the encounters carry admission and discharge timestamps.
    public var hasDates: Bool { encounters.admitted != nil && encounters.discharged != nil }

    /// The feature called `name`, if any.
    public func feature(named name: String) -> FeatureDefinition? { features.first { $0.name == name } }

    /// The label's column, when the label is read from one (nil when it is derived from dates).
    public var labelColumn: String? {
        if case .column(let name, _, _) = label { return name }
        return nil
    }

    /// The events table called `name`, if any.
    public func eventSource(named name: String) -> EventSource? { events.first { $0.name == name } }

    enum CodingKeys: String, CodingKey {
        case name, description, search, encounters, patients, events, label, exclusions, split, features, lace
        case firstEncounterOnly = "first_encounter_only", reportDistributions = "report_distributions"
        case reportSubgroups = "report_subgroups", modelCard = "model_card", reportAblation = "report_ablation"
        case labelFollowUpEnd = "label_follow_up_end"
    }

    /// The value of `label.follow_up_end` that takes the latest admission of the extract.
    public static let followUpEndLatestAdmission = "latest_admission"

    /// The ablation groups the report uses: the declared ones, else one per feature kind that
    /// has features (in the order kinds first appear).
    public var ablationGroups: [AblationGroup] {
        if let reportAblation { return reportAblation }
        var kinds: [FeatureDefinition.Kind] = []
        for f in features where !kinds.contains(f.kind) { kinds.append(f.kind) }
        return kinds.map { kind in AblationGroup(name: "\(kind.rawValue) features", features: features.filter { $0.kind == kind }.map(\.name)) }
    }
}

/// Features withheld together in the report's ablation (``DatasetSpec/reportAblation``).
public struct AblationGroup: Codable, Sendable, Equatable {
    /// Name for people.
    public var name: String
    /// The features withheld.
    public var features: [String]

    /// Creates a group.
    public init(name: String, features: [String]) {
        self.name = name
        self.features = features
    }
}

/// The parts of a model card that only the people who know the data can write: what the model
/// is for, where the data comes from and when, and the limits they know of. Training adds the
/// cohort, features, design and figures it measured.
public struct ModelCardStatement: Codable, Sendable, Equatable {
    /// Who the model is for and the decision it supports.
    public var intendedUse: String?
    /// Uses it was not built or evaluated for.
    public var outOfScope: String?
    /// Where the data comes from (source, licence, how it was extracted).
    public var dataSource: String?
    /// The period the data covers.
    public var period: String?
    /// Known limits, one statement each.
    public var limitations: [String]

    /// Creates a statement.
    public init(intendedUse: String? = nil, outOfScope: String? = nil, dataSource: String? = nil, period: String? = nil, limitations: [String] = []) {
        self.intendedUse = intendedUse
        self.outOfScope = outOfScope
        self.dataSource = dataSource
        self.period = period
        self.limitations = limitations
    }

    enum CodingKeys: String, CodingKey {
        case intendedUse = "intended_use", outOfScope = "out_of_scope", dataSource = "data_source", period, limitations
    }
}

/// A subgroup breakdown of the report: the test patients grouped by one feature's value (each
/// level of a categorical feature, or bands of a numeric one), or by the value of a column the
/// model does not read (an audit by race or ethnicity that are deliberately not inputs), plus
/// those missing it. Exactly one of ``feature`` and ``column`` is set.
public struct SubgroupDefinition: Codable, Sendable, Equatable {
    /// The feature (nil for a column subgroup). Optional since column subgroups: a model file
    /// of an earlier version stores only this key.
    public var feature: String?
    /// A column of ``table`` read as it is written (nil for a feature subgroup).
    public var column: String?
    /// The table of ``column`` (nil: the encounter table).
    public var table: TableRole?
    /// Ascending cut points; the groups are `< b1`, `b1 to < b2`, ..., `>= bk`. For a numeric
    /// feature, or a column of numbers. Nil: one group per level (or per distinct text).
    public var bands: [Double]?

    /// The feature's or the column's name, as reports and `metrics.json` show it.
    public var name: String { feature ?? column ?? "" }

    /// A subgroup by a feature of the spec.
    public init(feature: String, bands: [Double]? = nil) {
        self.feature = feature
        self.bands = bands
    }

    /// A subgroup by a column the model need not read.
    public init(column: String, table: TableRole = .encounters, bands: [Double]? = nil) {
        self.column = column
        self.table = table == .encounters ? nil : table
        self.bands = bands
    }
}

/// A timestamp column and its format (`%Y-%m-%d %H:%M:%S`).
public struct TimestampColumn: Codable, Sendable, Equatable {
    /// Column name.
    public var column: String
    /// The format: `%Y %m %d %H %M %S` and literal characters.
    public var format: String
}

/// The encounter-level table.
public struct EncounterSource: Codable, Sendable, Equatable {
    /// File name (CSV or CSV.gz), relative to the data folder.
    public var file: String
    /// Texts read as missing in every column.
    public var missing: [String]
    /// The encounter id column.
    public var encounterID: String
    /// The patient id column.
    public var patientID: String
    /// A numeric column that orders a patient's encounters (data without dates).
    public var order: String?
    /// Admission timestamp.
    public var admitted: TimestampColumn?
    /// Discharge timestamp.
    public var discharged: TimestampColumn?

    enum CodingKeys: String, CodingKey {
        case file, missing, order, admitted, discharged
        case encounterID = "encounter_id", patientID = "patient_id"
    }
}

/// The per-patient table.
public struct PatientSource: Codable, Sendable, Equatable {
    /// File name, relative to the data folder.
    public var file: String
    /// Texts read as missing.
    public var missing: [String]
    /// The patient id column (joined on the encounters' patient id).
    public var patientID: String

    enum CodingKeys: String, CodingKey { case file, missing, patientID = "patient_id" }
}

/// Which ICD revision the codes of a column are in.
public enum CodeSystem: String, Codable, Sendable, Equatable, CaseIterable {
    /// ICD-9-CM.
    case icd9
    /// ICD-10-CM.
    case icd10
}

/// A long-format table joined on the encounter id (labs, diagnoses).
public struct EventSource: Codable, Sendable, Equatable {
    /// The name features refer to.
    public var name: String
    /// File name, relative to the data folder.
    public var file: String
    /// Texts read as missing.
    public var missing: [String]
    /// The encounter id column.
    public var encounterID: String
    /// The item or diagnosis code column.
    public var code: String
    /// The numeric value column (labs).
    public var value: String?
    /// The event time (orders events for first and last).
    public var time: TimestampColumn?
    /// The sequence column (orders diagnoses; the lowest is the principal one).
    public var sequence: String?
    /// A fixed code system for every row.
    public var codeSystem: CodeSystem?
    /// A column naming each row's code system, and the texts that mean each system.
    public var codeSystemColumn: String?
    /// Texts of ``codeSystemColumn`` meaning ICD-9.
    public var icd9Values: [String]
    /// Texts of ``codeSystemColumn`` meaning ICD-10.
    public var icd10Values: [String]

    enum CodingKeys: String, CodingKey {
        case name, file, missing, code, value, time, sequence
        case encounterID = "encounter_id", codeSystem = "code_system", codeSystemColumn = "code_system_column"
        case icd9Values = "icd9_values", icd10Values = "icd10_values"
    }
}

/// How the outcome is read or derived.
public enum LabelRule: Codable, Sendable, Equatable {
    /// A label column: positive and negative values (any other value is an error).
    case column(name: String, positive: [String], negative: [String])
    /// Derived from dates: the patient's next admission starts more than 0 and at most `days`
    /// days after this discharge.
    case readmissionWithinDays(Int)
}

/// A reason for leaving the cohort.
public struct Exclusion: Codable, Sendable, Equatable {
    /// Why (counted under this name).
    public var reason: String
    /// The column tested.
    public var column: String
    /// The table the column is in.
    public var table: TableRole
    /// Values that exclude the row.
    public var values: [String]
}

/// The table a column is read from.
public enum TableRole: String, Codable, Sendable, Equatable, CaseIterable {
    /// The encounter table.
    case encounters
    /// The per-patient table.
    case patients
}

/// How encounters are split into training and test.
public enum SplitRule: Codable, Sendable, Equatable {
    /// Test when `splitmix64(patient id) % 5 == 0` (text ids hashed with FNV-1a first).
    case patientHash
    /// A column names each row's side.
    case column(name: String, test: [String], train: [String])
    /// Train on stays that ended before the date (`YYYY-MM-DD`), test on stays that began on or after it.
    case date(String)
}

/// One declared feature.
public struct FeatureDefinition: Codable, Sendable, Equatable {
    /// What a feature is computed from.
    public enum Kind: String, Codable, Sendable, Equatable, CaseIterable {
        case numeric, categorical, ordinal, diagnosis, derived, event, history
    }
    /// How a diagnosis code is grouped.
    public enum Grouping: String, Codable, Sendable, Equatable, CaseIterable {
        /// ICD chapters (the same nine levels for ICD-9 and ICD-10).
        case chapter
        /// The first three characters, with a minimum count.
        case category
    }
    /// A derived field.
    public enum Derivation: String, Codable, Sendable, Equatable, CaseIterable {
        case lengthOfStayDays = "length_of_stay_days"
        case ageAtAdmission = "age_at_admission"
        /// How many of ``FeatureDefinition/columns`` hold one of ``FeatureDefinition/values``.
        case countOf = "count_of"
        /// The sum of the numeric ``FeatureDefinition/columns``.
        case sumOf = "sum_of"

        /// Whether the derivation reads the encounter's dates.
        public var needsDates: Bool { self == .lengthOfStayDays || self == .ageAtAdmission }
    }
    /// How an events table is aggregated within a stay.
    public enum Aggregate: String, Codable, Sendable, Equatable, CaseIterable {
        case first, last, min, max, mean, count, any, principal
    }
    /// What a history feature computes over earlier encounters.
    public enum HistoryKind: String, Codable, Sendable, Equatable, CaseIterable {
        case count, sum, previous
        case daysSinceLastDischarge = "days_since_last_discharge"
        case countPositive = "count_positive"
    }

    /// Unique name.
    public var name: String
    /// Kind.
    public var kind: Kind
    /// For people.
    public var description: String
    /// The source column (numeric, categorical, ordinal, diagnosis by column).
    public var column: String?
    /// The table of ``column``.
    public var table: TableRole
    /// Categorical: levels seen in fewer training rows are not kept. Diagnosis categories: the same.
    public var minCount: Int
    /// Categorical: keep only the most frequent levels.
    public var maxLevels: Int?
    /// Categorical: the level rare and unseen values map to (missing without it).
    public var other: String?
    /// Ordinal: the levels in order.
    public var levels: [String]
    /// Diagnosis by column: its code system.
    public var system: CodeSystem?
    /// Diagnosis: the grouping.
    public var grouping: Grouping?
    /// Derived: what.
    public var derive: Derivation?
    /// Derived age: the patient-table columns of the anchor age and year.
    public var ageColumn: String?, yearColumn: String?
    /// Derived `count_of` / `sum_of`: the columns read (of ``table``); nil for other kinds.
    public var columns: [String]?
    /// Derived `count_of`: the texts counted.
    public var values: [String]?
    /// Event and diagnosis-by-events: the events table.
    public var events: String?
    /// Event: the aggregation.
    public var aggregate: Aggregate?
    /// Event: item codes kept (empty: all).
    public var codes: [String]
    /// Event `any` over diagnoses: the chapter.
    public var group: String?
    /// History: what.
    public var history: HistoryKind?
    /// History sum / previous: the column or feature.
    public var of: String?
    /// History previous over text: 1 if the previous value is one of these, else 0.
    public var equals: [String]
    /// History count / sum: only encounters that ended within this many days before the admission.
    public var windowDays: Int?

    /// Whether the feature is a category (sent as a level index) rather than a number.
    public var isCategorical: Bool { kind == .categorical || kind == .ordinal || kind == .diagnosis }

    /// A feature of `kind` with every option at its default.
    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
        description = name
        table = .encounters
        minCount = kind == .diagnosis ? 20 : 1
        levels = []
        codes = []
        equals = []
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, description, column, table, other, levels, system, grouping, derive, events, aggregate, codes, group, history, of, equals
        case columns, values
        case minCount = "min_count", maxLevels = "max_levels", ageColumn = "age_column", yearColumn = "year_column", windowDays = "window_days"
    }
}

/// The LACE-like index (van Walraven et al. 2010) from declared features.
public struct LACEDefinition: Codable, Sendable, Equatable {
    /// L: length of stay in days.
    public var lengthOfStay: String?
    /// A: an acute (emergent) admission: the feature and its acute levels.
    public var acuteFeature: String?
    /// Levels of ``acuteFeature`` that count as acute.
    public var acuteLevels: [String]
    /// C: features each worth a point when their level is in ``comorbidityLevels`` (at most 5).
    public var comorbidityFeatures: [String]
    /// Levels (or numeric values as text) that count.
    public var comorbidityLevels: [String]
    /// E: emergency visits in the previous year (at most 4 points).
    public var emergencyVisits: String?

    enum CodingKeys: String, CodingKey {
        case lengthOfStay = "length_of_stay", acuteFeature = "acute_feature", acuteLevels = "acute_levels"
        case comorbidityFeatures = "comorbidity_features", comorbidityLevels = "comorbidity_levels", emergencyVisits = "emergency_visits"
    }
}
