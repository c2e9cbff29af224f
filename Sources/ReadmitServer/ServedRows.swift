import ReadmitCore

/// What one reply scored, in aggregate, for monitoring what the daemon serves: rows per tier,
/// per tenth of served risk and per tenth of atypicality, the rows a RECORDS reply could not
/// score, and its errors and warnings by field and code. Counts only, never a row's values.
///
/// The counts are held inline (SIMD vectors): a one-row reply allocates, retains and releases
/// nothing for them. A RECORDS reply's messages, when it has any, are counted apart
/// (``MessageCounts``).
struct ServedRows {
    /// Rows per tier index; tiers past the seventh are counted in the last slot.
    var tiers = SIMD8<UInt32>()
    /// Rows per tenth of served risk: [0, 0.1), ..., [0.9, 1].
    var riskTenths = SIMD16<UInt32>()
    /// Rows per tenth of atypicality (a percentile of the training cohort: on patients like it,
    /// each tenth holds a tenth of the rows).
    var atypicalityTenths = SIMD16<UInt32>()
    /// The served risks' sum (their mean is what drifts first when the case mix moves), and
    /// the atypicalities' (their mean is near 0.5 on patients like the training cohort).
    var riskSum: Double = 0, atypicalitySum: Double = 0
    /// Rows with a risk.
    var scored: UInt32 = 0
    /// Rows a RECORDS reply did not score (an error of their own: a bad value, an exclusion).
    var errorRows: UInt32 = 0

    /// One kind of RECORDS message: severity, raw field and stable code.
    struct MessageKind: Hashable, Sendable {
        var severity: String
        var field: String
        var code: String
    }

    /// A RECORDS reply's errors and warnings (request-level ones included), by kind.
    typealias MessageCounts = [MessageKind: UInt32]

    /// The tenth `v` falls in (NaN: nil).
    @inline(__always) private static func tenth(_ v: Double) -> Int? {
        guard v == v else { return nil }
        return v >= 0.9 ? 9 : (v <= 0 ? 0 : Int(v * 10))
    }

    /// Counts a reply's rows; a row of tier 255 has an error and no risk.
    mutating func add(risk: UnsafeBufferPointer<Double>, atypicality: UnsafeBufferPointer<Double>, tier: UnsafeBufferPointer<UInt8>) {
        for r in 0..<min(risk.count, atypicality.count, tier.count) {
            let t = tier[r]
            if t == 255 { errorRows &+= 1; continue }
            tiers[min(Int(t), 7)] &+= 1
            scored &+= 1
            if let k = Self.tenth(risk[r]) { riskTenths[k] &+= 1; riskSum += risk[r] }
            if let k = Self.tenth(atypicality[r]) { atypicalityTenths[k] &+= 1; atypicalitySum += atypicality[r] }
        }
    }

    /// A RECORDS reply's messages by kind (a run of one kind, as 100,000 rows with the same
    /// unknown level give, is hashed once).
    static func count(_ messages: [RecordMessage]) -> MessageCounts {
        var counts: MessageCounts = [:]
        var last: (kind: MessageKind, count: UInt32)?
        for m in messages {
            if let l = last, l.kind.field == m.field, l.kind.code == m.code, l.kind.severity == m.severity.rawValue {
                last?.count &+= 1
                continue
            }
            if let l = last { counts[l.kind, default: 0] &+= l.count }
            last = (MessageKind(severity: m.severity.rawValue, field: m.field, code: m.code), 1)
        }
        if let l = last { counts[l.kind, default: 0] &+= l.count }
        return counts
    }
}

/// One model's totals of ``ServedRows`` since it first served (STATS `served` and
/// `served_by_model`, `/metrics`'s `readmitd_served_*`).
struct ServedTotals {
    /// The most message kinds kept apart: a client sending columns of ever new names (each an
    /// `unused_field` warning) must not grow the daemon's memory or a scrape without bound;
    /// the rest are counted under the field ``otherFields``.
    static let maxMessageKinds = 1000
    /// The field the kinds past ``maxMessageKinds`` are counted under.
    static let otherFields = "(other fields)"
    /// The models whose counts are kept: those served last. A reload starts the new model's
    /// counts apart (its atypicality is a percentile of its own training cohort, its tiers its
    /// own); the oldest past this many are dropped.
    static let modelsKept = 4

    // Vectors as in ServedRows: adding a reply's counts is three vector adds under the stats
    // lock, not 28 checked ones.
    var tiers = SIMD8<UInt64>()
    var riskTenths = SIMD16<UInt64>()
    var atypicalityTenths = SIMD16<UInt64>()
    var riskSum: Double = 0, atypicalitySum: Double = 0
    var scored: UInt64 = 0
    var errorRows: UInt64 = 0
    var messages: [ServedRows.MessageKind: UInt64] = [:]

    mutating func add(_ s: ServedRows, messages counts: ServedRows.MessageCounts?) {
        tiers &+= SIMD8<UInt64>(truncatingIfNeeded: s.tiers)
        riskTenths &+= SIMD16<UInt64>(truncatingIfNeeded: s.riskTenths)
        atypicalityTenths &+= SIMD16<UInt64>(truncatingIfNeeded: s.atypicalityTenths)
        riskSum += s.riskSum
        atypicalitySum += s.atypicalitySum
        scored &+= UInt64(s.scored)
        errorRows &+= UInt64(s.errorRows)
        guard let counts else { return }
        for (kind, n) in counts {
            var key = kind
            if messages[key] == nil && messages.count >= Self.maxMessageKinds { key.field = Self.otherFields }
            messages[key, default: 0] &+= UInt64(n)
        }
    }

    /// A copy sharing no storage with `self` (see `ServerStats.State.detached`).
    func detached() -> ServedTotals {
        var copy = self
        copy.messages = Dictionary(uniqueKeysWithValues: messages.map { ($0.key, $0.value) })
        return copy
    }

    /// The kinds in a stable order: field, then code, then severity.
    var sortedMessages: [(kind: ServedRows.MessageKind, count: UInt64)] {
        messages.map { ($0.key, $0.value) }.sorted {
            ($0.kind.field, $0.kind.code, $0.kind.severity) < ($1.kind.field, $1.kind.code, $1.kind.severity)
        }
    }
}
