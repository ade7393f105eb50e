/// One change to the vault's facts — added, replaced or removed — and the audit entry that
/// committed it. The fact log keeps every change in order (ids and hashes, never content), chained
/// into each entry's state, so `audit verify` can replay it: each change must have been made by an
/// entry whose action makes that kind of fact, a removal only by the destruction of the record the
/// fact is about, and the replay must give exactly the facts stored now. An enrolled person who
/// writes the database and signs entries of their own still cannot drop someone else's flag or
/// hold unnoticed.
struct FactChange: Sendable, Equatable {
    enum Op: UInt8, Sendable {
        case add = 0
        case replace = 1
        case remove = 2
    }

    /// The audit entry that committed the change.
    let sequence: Int64
    let op: Op
    let kind: FactKind
    let id: String
    /// What the fact was filed under.
    let key: String
    /// The hash of the fact's body (zeros for a removal).
    let bodyHash: [UInt8]

    /// The stored objects' kind, filed under ``logKey``, with ids ``rowID(_:)``.
    static let storedKind = "fact-log"
    static let logKey = "log"

    static func rowID(_ index: Int64) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    var encoded: [UInt8] {
        var w = CanonicalWriter()
        w.u8(1)
        w.i64(sequence)
        w.u8(op.rawValue)
        w.string(kind.rawValue)
        w.string(id)
        w.string(key)
        w.fixed(bodyHash)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], context: String) throws(TutelaError) -> FactChange {
        var r = CanonicalReader(bytes, context: context)
        guard try r.u8("version") == 1 else { throw .tampered("\(context) has an unknown version") }
        let sequence = try r.i64("sequence")
        guard let op = Op(rawValue: try r.u8("change")) else {
            throw .tampered("\(context) names an unknown change")
        }
        guard let kind = FactKind(rawValue: try r.string("kind", max: 64)) else {
            throw .tampered("\(context) names an unknown kind of fact")
        }
        let change = FactChange(
            sequence: sequence, op: op, kind: kind, id: try r.string("id", max: 512),
            key: try r.string("key", max: 512), bodyHash: try r.fixed("body hash", count: 32))
        try r.finish()
        return change
    }

    /// The fact log's chain after this change.
    func chained(after previous: [UInt8]) throws(TutelaError) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela-fact-chain-v1")
        w.fixed(previous)
        w.data(encoded)
        return try StateMap.hash(w.bytes)
    }

    /// The audit actions that make (add or replace) each kind of fact.
    static func makers(of kind: FactKind) -> Set<AuditEntry.Action> {
        switch kind {
        case .flag: [.flag]
        case .breakGlassRequest: [.breakGlassRequest]
        case .approval: [.breakGlassApprove]
        case .breakGlassUse: [.breakGlassOpen]
        case .review: [.disclose, .breakGlassOpen]
        case .reviewOutcome: [.review]
        case .hold: [.hold, .release]
        case .retentionReview: [.retentionReview]
        case .proposal: [.destroyProposal, .destroy]
        case .tombstone: [.destroy]
        case .escrow: [.identityEscrow]
        case .recoveryRequest: [.recoveryRequest]
        case .recoveryApproval: [.recoveryApprove]
        case .recoveryUse: [.identityRecover, .recoveryCancel]
        case .void: [.void]
        case .addendumLink: [.addendum]
        case .plan: [.plan, .planChange, .planCancel, .planHeld]
        }
    }
}

/// Replays the fact log against the audit entries that committed it (see ``FactChange``).
struct FactLogReplay {
    /// Each fact the log leaves in place, by kind and id: where it is filed and its body's hash.
    private(set) var facts: [FactKind: [String: (key: String, bodyHash: [UInt8])]] = [:]
    /// Who last wrote each fact: the actor, directory position and sequence of the entry.
    private(set) var writers:
        [FactKind: [String: (actor: PrincipalID, position: Int64, sequence: Int64)]] = [:]
    /// The record every break-glass request was about (kept after removals).
    private var requests: [String: String] = [:]
    /// Records whose facts a destruction removed: each must have its certificate at the end.
    private(set) var destroyed: Set<String> = []
    /// Who proposed destroying each record, ever (a destruction takes a second person).
    private var proposers: [String: Set<PrincipalID>] = [:]

    /// Applies one change, made by `entry`; a description of what is wrong, or nil.
    mutating func apply(_ change: FactChange, by entry: AuditEntry) -> String? {
        let name = "the \(change.kind.rawValue) fact \(change.id)"
        let by = "audit entry \(change.sequence) (\(entry.action.rawValue) by \(entry.actor))"
        guard entry.outcome == .allowed else { return "\(name) was changed by a refused \(by)" }
        let existing = facts[change.kind]?[change.id]
        switch change.op {
        case .add, .replace:
            guard (change.op == .add) == (existing == nil) else {
                let what = change.op == .add ? "added twice" : "replaced before it existed"
                return "\(name) was \(what)"
            }
            guard FactChange.makers(of: change.kind).contains(entry.action) else {
                return "\(name) was written by \(by), which does not make such facts"
            }
            facts[change.kind, default: [:]][change.id] = (change.key, change.bodyHash)
            writers[change.kind, default: [:]][change.id] = (
                entry.actor, entry.state.directoryCount, change.sequence
            )
            if change.kind == .breakGlassRequest { requests[change.id] = change.key }
            if change.kind == .proposal { proposers[change.key, default: []].insert(entry.actor) }
            // A certificate is written by the second of two people: someone else proposed it.
            if change.kind == .tombstone,
                proposers[change.key]?.contains(where: { $0 != entry.actor }) != true
            {
                return "\(name) was written by \(by) with no proposal by anyone else: a "
                    + "destruction takes two people"
            }
        case .remove:
            guard let existing else { return "\(name) was removed before it existed" }
            // A revocation or reissue removes the break-glass shares released to the person (the
            // approvals of requests they made), whose old key may be in other hands.
            if change.kind == .approval, entry.action == .revoke || entry.action == .rekey {
                facts[change.kind]?[change.id] = nil
                writers[change.kind]?[change.id] = nil
                return nil
            }
            // Otherwise only a destruction removes facts, and only those about the record it
            // destroys.
            let about = requests[existing.key] ?? existing.key
            guard entry.action == .destroy, let subject = entry.subject, about == subject else {
                return "\(name) was removed by \(by), which may not remove it"
            }
            facts[change.kind]?[change.id] = nil
            writers[change.kind]?[change.id] = nil
            destroyed.insert(subject)
        }
        return nil
    }
}

extension FactChange {
    /// Stores `changes` as the fact log's next rows and chains them into `head`.
    static func append(
        _ changes: [FactChange], to head: inout StateHead, in tx: any VaultTransaction
    ) async throws {
        for change in changes {
            try await tx.put(
                StoredObject(
                    kind: storedKind, id: rowID(head.factCount), key: logKey, body: change.encoded))
            head.factChain = try change.chained(after: head.factChain)
            head.factCount += 1
        }
    }
}
