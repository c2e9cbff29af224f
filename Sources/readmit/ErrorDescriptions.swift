import ReadmitCore
import ReadmitReport
import ReadmitSpec

extension DataError: DataErrorDescribing { var cliDescription: String { description } }
extension ModelFileError: DataErrorDescribing { var cliDescription: String { "model file: \(message)" } }
extension BoosterError: DataErrorDescribing { var cliDescription: String { description } }
extension FeatureVectorError: DataErrorDescribing { var cliDescription: String { message } }
extension ReportError: DataErrorDescribing { var cliDescription: String { "report: \(message)" } }
extension SpecError: DataErrorDescribing { var cliDescription: String { "dataset spec \(description)" } }
extension OutputFile.Refused: DataErrorDescribing { var cliDescription: String { description } }
