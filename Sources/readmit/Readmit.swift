import ArgumentParser
import Foundation
import Logging

/// `readmit`: train, evaluate and run readmission risk models.
@main
struct Readmit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readmit",
        abstract: "Predict 30-day hospital readmission at discharge: train, evaluate and score models.",
        discussion: """
            `readmit train` with no arguments trains on the shipped UCI Diabetes 130-US hospitals data \
            and writes the report, metrics.json and model.readmit to output/. `readmitd` serves the model file.
            """,
        version: TrainingPipelineVersion.string,
        subcommands: [TrainCommand.self, CheckCommand.self, DraftSpecCommand.self, EvaluateCommand.self, RecalibrateCommand.self, InspectCommand.self, ScoreCommand.self, EncodeCommand.self, HistoryCommand.self, KeysCommand.self, BenchmarkScoringCommand.self]
    )
}

/// The version printed by `--version`.
enum TrainingPipelineVersion {
    static let string = "0.1.0"
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Runs `body`, turning the project's typed errors into one clear line on stderr and exit code 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        let message: String
        switch error {
        case let e as DataErrorDescribing: message = e.cliDescription
        default: message = String(describing: error)
        }
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        throw ExitCode(1)
    }
}

/// Errors that already carry a complete, human-readable description.
protocol DataErrorDescribing { var cliDescription: String { get } }
