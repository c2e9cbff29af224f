import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// The features stage: the schema learned from training rows, every cohort encounter encoded,
/// and the layout the models read.
struct FeatureStage: Sendable {
    /// The schema (vocabularies from training rows only).
    let schema: FeatureSchema
    /// Feature vectors of the cohort, in cohort order.
    let x: FeatureMatrix
    /// The training encounters' rows of ``x``.
    let xTrain: FeatureMatrix
    /// How schema rows expand into the models' columns.
    let layout: ModelInputLayout

    init(data: PreparedData, split: TrainingSplit) {
        let cohort = data.cohort
        schema = FeatureSchemaBuilder.build(spec: data.spec, raw: data.raw, trainingRows: split.train.map { cohort.rows[$0] })
        x = FeatureEncoder.encode(raw: data.raw, spec: data.spec, schema: schema).selecting(rows: cohort.rows)
        xTrain = x.selecting(rows: split.train)
        layout = ModelInputLayout(schema: schema, training: xTrain, labels: split.labels(split.train))
    }
}
