import Crypto
import Foundation
import ReadmitFeatures
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// A parameter set encoded for its model file, once: the binary payload and the JSON of every
/// header member that neither the model id nor the creation time changes.
///
/// The model id is a hash of the encoded parameters and the file holds the same encoding, so
/// computing both from one `EncodedModel` encodes the parameters once instead of twice
/// (Foundation's `JSONEncoder` takes about 2 ms for the 39 KB header; training pays it once).
/// The header is spliced from separately encoded members in the order `JSONEncoder` writes
/// them with `.sortedKeys`; a test checks that the splice equals encoding the whole header.
public struct EncodedModel: Sendable {
    /// The parameters encoded, with the model id as last set by ``withModelID(_:)``.
    public private(set) var parameters: ModelParameters
    let payload: [UInt8]
    let sections: [String: ModelFile.Section]
    let members: HeaderMembers
    /// The JSON of the model card, when there is one (not part of the model id).
    private var modelCardJSON: [UInt8]?

    /// The JSON of the header members other than `metadata`, `model_card` and `sections`, split
    /// where those go (keys sorted: calibrator, dataset, detector, forest, layout | metadata |
    /// model_card | recalibration | schema | sections | tiers, training_summary).
    package struct HeaderMembers: Sendable {
        /// `"calibrator":…,"dataset":…,"detector":…,"forest":…,"layout":…`
        var beforeMetadata: [UInt8]
        /// The value of `recalibration`, when there is one.
        var recalibration: [UInt8]?
        /// The value of `schema`.
        var schema: [UInt8]
        /// `"tiers":…,"training_summary":…`
        var afterSections: [UInt8]

        /// Encodes the members of `p` (its booster bytes and metadata are not read).
        package init(_ p: ModelParameters) throws {
            func json(_ value: some Encodable) throws -> [UInt8] { Array(try ModelFile.jsonEncoder().encode(value)) }
            func member(_ key: String, _ value: some Encodable) throws -> [UInt8] { Array("\"\(key)\":".utf8) + (try json(value)) }
            let forest = ModelFile.ForestHeader(columns: p.forest.columns, maxSamples: p.forest.maxSamples, trees: p.forest.treeCount,
                                                nodes: p.forest.feature.count)
            beforeMetadata = try member("calibrator", p.calibrator) + [UInt8(ascii: ",")] + member("dataset", p.dataset)
                + [UInt8(ascii: ",")] + member("detector", p.detector)
                + [UInt8(ascii: ",")] + member("forest", forest) + [UInt8(ascii: ",")] + member("layout", p.layout)
            recalibration = try p.recalibration.map { try json($0) }
            schema = try json(p.schema)
            afterSections = try member("tiers", p.tiers) + [UInt8(ascii: ",")] + member("training_summary", p.trainingSummary)
        }
    }

    /// Encodes `parameters`.
    public init(_ parameters: ModelParameters) throws(ModelFileError) {
        let members: HeaderMembers
        do { members = try HeaderMembers(parameters) } catch {
            throw ModelFileError(code: .writeFailed, message: "cannot encode the model header: \(error)")
        }
        self.init(parameters, members: members)
    }

    /// Encodes `parameters` around header members already encoded from the same parameters
    /// (training encodes them while XGBoost serializes the booster).
    package init(_ parameters: ModelParameters, members: HeaderMembers) {
        self.parameters = parameters
        self.members = members
        (payload, sections) = ModelFile.payloadAndSections(parameters)
        modelCardJSON = parameters.modelCard.flatMap { try? ModelFile.jsonEncoder().encode($0) }.map(Array.init)
    }

    /// The same encoding carrying `card` (training writes it once the model is evaluated; the
    /// model id does not change).
    public func withModelCard(_ card: ModelCard) throws(ModelFileError) -> EncodedModel {
        var copy = self
        do { copy.modelCardJSON = Array(try ModelFile.jsonEncoder().encode(card)) } catch {
            throw ModelFileError(code: .writeFailed, message: "cannot encode the model card: \(error)")
        }
        copy.parameters.modelCard = card
        return copy
    }

    /// The header JSON with `metadata` and `sections` as given.
    func header(metadata: ModelParameters.Metadata, sections: [String: ModelFile.Section], card: Bool = true) throws(ModelFileError) -> [UInt8] {
        let metadataJSON: [UInt8], sectionsJSON: [UInt8]
        do {
            let encoder = ModelFile.jsonEncoder()
            metadataJSON = Array(try encoder.encode(metadata))
            sectionsJSON = Array(try encoder.encode(sections))
        } catch {
            throw ModelFileError(code: .writeFailed, message: "cannot encode the model header: \(error)")
        }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(members.beforeMetadata.count + (members.recalibration?.count ?? 0) + members.schema.count + members.afterSections.count + metadataJSON.count + sectionsJSON.count + 48)
        out += members.beforeMetadata
        out += Array(",\"metadata\":".utf8) + metadataJSON
        if card, let modelCardJSON { out += Array(",\"model_card\":".utf8) + modelCardJSON }
        if let recalibration = members.recalibration { out += Array(",\"recalibration\":".utf8) + recalibration }
        out += Array(",\"schema\":".utf8) + members.schema
        out += Array(",\"sections\":".utf8) + sectionsJSON
        out += [UInt8(ascii: ",")] + members.afterSections
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The model id of the parameters: the first 8 bytes, in hex, of the SHA-256 of the payload
    /// and of the header without `model_id`, `created_at`, sections and the model card (so the
    /// same training gives the same id, and the id names what was fitted, not its description).
    public func modelID() throws(ModelFileError) -> String {
        var anonymous = parameters.metadata
        anonymous.modelID = ""
        anonymous.createdAt = ""
        var hasher = SHA256()
        hasher.update(data: payload)
        hasher.update(data: try header(metadata: anonymous, sections: [:], card: false))
        return hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The same encoding with `metadata.modelID` set to `id` (the metadata is encoded with the
    /// file, so nothing else changes).
    public func withModelID(_ id: String) -> EncodedModel {
        var copy = self
        copy.parameters.metadata.modelID = id
        return copy
    }

    /// The complete file contents.
    public func fileBytes() throws(ModelFileError) -> [UInt8] {
        let header = try header(metadata: parameters.metadata, sections: sections)
        var out = [UInt8]()
        out.reserveCapacity(ModelFile.preambleSize + header.count + payload.count + ModelFile.checksumSize)
        out += ModelFile.magic
        out += LittleEndian.bytes([ModelFile.formatVersion, 0])
        out += LittleEndian.bytes([UInt64(header.count), UInt64(payload.count)])
        out += header
        out += payload
        out += Array(SHA256.hash(data: out))
        return out
    }
}
