// ReadmitCore gathers the pure modules of training and serving, so that the executables, the
// daemon and the tests need one import. Each module has one job (data flows down the list):
//   ReadmitSpec       the dataset spec and its YAML reader
//   ReadmitTables     reading tables through a spec; the cohort, its label and its split
//   ReadmitFeatures   raw features and the one encoder (training, `readmit score`, the daemon)
//   ReadmitModels     the detectors, the booster and its compiled scorer, references, metrics
//   ReadmitModelFile  the versioned model file and the served model it loads
//   ReadmitTraining   the training stages
@_exported import ReadmitFeatures
@_exported import ReadmitModelFile
@_exported import ReadmitModels
@_exported import ReadmitSpec
@_exported import ReadmitTables
@_exported import ReadmitTraining
