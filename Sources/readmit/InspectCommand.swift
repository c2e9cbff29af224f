import ArgumentParser
import Foundation
import ReadmitCore
import ReadmitModelInfo

/// `readmit inspect`: what a model file is, without starting a daemon.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a model file: id, provenance, dataset spec, tiers, recalibration and model card.",
        discussion: """
            Loads and validates the file as readmitd does (a file this command reads is one the daemon \
            serves). --json prints the JSON readmitd's INFO returns for it, byte for byte \
            (docs/PROTOCOL.md), so a file can be checked before it is deployed.
            """
    )

    @Option(name: .long, help: "Model file.")
    var model: String

    @Flag(name: .long, help: "Print INFO's JSON instead of the summary.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReportingErrors {
            let loaded = try ReadmitModel.load(path: model)
            let text = loaded.infoJSON()
            if json {
                print(text)
                return
            }
            let p = loaded.parameters, meta = p.metadata
            print("model \(meta.modelID) (\(model)): format \(ModelFile.formatVersion), written \(meta.createdAt) by readmit \(meta.readmitVersion), seed \(meta.seed)")
            print("dataset: \(p.dataset.name): \(p.dataset.description)")
            print("trained on: \(meta.trainingDataFile) (SHA-256 \(meta.trainingDataSHA256))")
            let fields = RecordFields.fields(spec: p.dataset, schema: p.schema)
            print("features: \(p.schema.count); raw fields of an encounter: \(fields.count) (\(fields.filter(\.required).count) required, \(fields.filter(\.history).count) history)")
            var parts = ["booster \(loaded.boosterTreeCount) trees", "isolation forest \(p.forest.treeCount) trees"]
            if let va = p.vennAbers { parts.append("risk intervals: Venn-Abers on \(va.margins.count) distinct calibration margins") }
            print("models: " + parts.joined(separator: "; "))
            print("calibration: risk = 1 / (1 + exp(-(\(p.calibrator.a) * margin + \(p.calibrator.b))))")
            print("tiers: " + p.tiers.map { "\($0.name) from \(Format.f($0.minRisk, 4))" }.joined(separator: ", "))
            if let r = p.recalibration {
                print("recalibrated from model \(r.fromModelID) (\(r.method.rawValue), tiers \(r.tiers.rawValue)) on \(r.dataFile): "
                      + "update \(Format.int(r.update.encounters)) encounters (\(Format.int(r.update.events)) readmitted), "
                      + "check \(Format.int(r.check.encounters)) (\(Format.int(r.check.events)) readmitted)")
            } else {
                print("recalibrated: no (the calibration training fitted)")
            }
            print("")
            if let card = p.modelCard {
                print(card.markdown(title: "Model card: \(p.dataset.name) model \(meta.modelID)"), terminator: "")
            } else {
                print("(no model card: the file was written before model cards existed)")
            }
        }
    }
}
