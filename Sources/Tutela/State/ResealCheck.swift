/// What `audit verify` proves about re-sealed envelopes, beyond what opening one checks: each one
/// the vault's state holds was written by a `reencrypt` entry its sealer signed, naming exactly
/// that envelope. An insider who commits a re-seal with an entry of their own — or a leaver's
/// signature dated to before they left — is found here (opening judges the sealer only by the
/// directory they name).
struct ResealCheck {
    /// The newest re-seal entry for each record: who signed it and which envelope it named.
    private(set) var named: [String: (actor: PrincipalID, envelope: String, directory: Int64)] =
        [:]
    /// The entries that added labels, in log order: the label count after them, their actor and
    /// the directory position they were made under — who must have written those labels, and with
    /// which key (#19: a record signed by a retired key and committed by someone else is not
    /// theirs). Entries by one actor under one position in a row are one run (`sequence` its first
    /// entry, `through` its last), so this grows with runs, not with records: an import of a
    /// million is a few.
    private(set) var labelAdds: [LabelAdds] = []
    private var labelCount: Int64 = 0

    private static let marker = ", envelope "

    /// The reason a re-seal's entry records.
    static func reason(generation: Int, slots: Int, sealed: [UInt8]) -> String {
        "generation \(generation), \(slots) slots\(marker)\(Hex.encode(sealed))"
    }

    /// Notes a verified audit entry, the `sequence`th of the log.
    mutating func visit(_ entry: AuditEntry, at sequence: Int64) {
        if entry.state.labelCount > labelCount {
            if let last = labelAdds.last, last.actor == entry.actor,
                last.position == entry.state.directoryCount
            {
                labelAdds[labelAdds.count - 1].upTo = entry.state.labelCount
                labelAdds[labelAdds.count - 1].through = sequence
            } else {
                labelAdds.append(
                    LabelAdds(
                        upTo: entry.state.labelCount, actor: entry.actor,
                        position: entry.state.directoryCount, sequence: sequence,
                        through: sequence))
            }
            labelCount = entry.state.labelCount
        }
        visitReseal(entry)
    }

    private mutating func visitReseal(_ entry: AuditEntry) {
        guard entry.action == .reencrypt, entry.outcome == .allowed, let subject = entry.subject,
            let reason = entry.reason, let range = reason.range(of: Self.marker)
        else { return }
        named[subject] = (
            entry.actor, String(reason[range.upperBound...]), entry.state.directoryCount
        )
    }

    /// What is wrong with a re-sealed record whose state entry is `value`, or nil.
    func problem(
        _ record: RecordID, value: [UInt8], store: any VaultStore, directory: Directory,
        flagged: Bool
    ) async throws -> String? {
        guard StateMap.hasEnvelope(value) else { return nil }
        let sealedHash = Hex.encode(Array(value[33...]))
        guard let stored = try await store.record(record),
            try Hex.encode(StateMap.hash(stored.sealedBytes)) == sealedHash
        else { return "the envelope of \(record)" }
        let envelope = try Envelope.parse(stored.envelopeBytes)
        guard let sealer = envelope.sealer else { return "the envelope of \(record)" }
        guard let entry = named[record.text], entry.envelope == sealedHash, entry.actor == sealer
        else {
            return "the re-sealed envelope of \(record) (no re-seal entry signed by '\(sealer)' "
                + "names it)"
        }
        // Judged again by the directory the entry was written under (and, for a record not
        // flagged now, as unflagged: a flag is never lifted): a sealer who could not read the
        // record then, or an envelope dated after the entry, was not an honest re-seal.
        let then = try directory.asOf(entry.directory)
        guard let resealing = envelope.resealing, resealing.sealedAt <= entry.directory,
            let who = then.principals[sealer], !who.revoked, let policy = then.policy,
            Session.mayReseal(envelope.label, who, policy, then, flaggedSince: flagged)
        else {
            return "the re-sealed envelope of \(record) (its sealer '\(sealer)' could not read it "
                + "when the entry naming it was written)"
        }
        return nil
    }
}

extension StateReader {
    /// Reads the whole state map, checks it adds up to the committed root, that every entry in it
    /// but a record's is one of `accounted`, that every record's entry is its stored label's and
    /// says what became of it (re-sealed, checked against `reseals`, or destroyed, with its
    /// certificate): what is wrong, or nil.
    /// - Parameters:
    ///   - flagged: the records flagged now.
    ///   - destroyed: the records with a destruction certificate.
    ///   - accounted: the keys the rest of `audit verify` proved from what is stored and logged.
    func resealMismatch(
        _ state: StateHead, reseals: ResealCheck, flagged: Set<String>, destroyed: Set<String>,
        accounted: Set<String>
    ) async throws -> String? {
        var level: [Int: [UInt8]] = [:]
        var records: [(RecordID, [UInt8])] = []
        var resealed: [(RecordID, [UInt8])] = []
        var recorded: Set<String> = []
        var stray: String?
        for row in try await store.objects(kind: StateMap.bucketKind, key: nil) {
            guard row.id == row.key, row.id.count == 4, let b = UInt16(row.id, radix: 16),
                row.id == StateMap.prefix(b, depth: 4), level[Int(b)] == nil
            else { return "the state map (bucket row \(row.id) is misfiled)" }
            let entries = try StateMap.decode(row.body, bucket: b)
            level[Int(b)] = try StateMap.bucketHash(b, entries)
            for (key, value) in entries {
                guard key.hasPrefix("R:") else {
                    if stray == nil, !accounted.contains(key) { stray = key }
                    continue
                }
                guard let id = RecordID(validating: String(key.dropFirst(2))) else {
                    return "the state map (an entry names no record)"
                }
                recorded.insert(id.text)
                records.append((id, value))
                if StateMap.hasEnvelope(value) { resealed.append((id, value)) }
            }
        }
        // Up the tree: depth 3 (4,096 nodes) to the root.
        for depth in stride(from: 3, through: 0, by: -1) {
            var parents: [Int: [[UInt8]]] = [:]
            for (index, hash) in level where hash != StateMap.zero {
                parents[index >> 4, default: Array(repeating: StateMap.zero, count: 16)][
                    index & 0xF] = hash
            }
            var next: [Int: [UInt8]] = [:]
            for (index, children) in parents {
                let prefix = StateMap.prefix(UInt16(index << (4 * (4 - depth))), depth: depth)
                next[index] = try StateMap.nodeHash(prefix, children)
            }
            level = next
        }
        guard (level[0] ?? StateMap.zero) == state.root else {
            return "the state map's rows (they do not add up to its root)"
        }
        if let stray {
            return "the state map (its entry \(stray) is not accounted for by anything stored or "
                + "logged: it was written into a forged state)"
        }
        // A record's entry is its own label's, as stored, and says it was re-sealed (checked
        // below) or destroyed (certified, its envelope gone); a destroyed record keeps one.
        for (record, value) in records.sorted(by: { $0.0.text < $1.0.text }) {
            guard let row = try await store.label(record), value.count >= 33,
                Array(value[0..<32]) == (try StateMap.hash(row.labelBytes))
            else { return "the state entry of \(record) (it is not its stored label's)" }
            if StateMap.hasEnvelope(value) { continue }
            guard value.count == 33, value[32] == 0, destroyed.contains(record.text),
                try await store.record(record) == nil
            else { return "the state entry of \(record) (it says the record was destroyed)" }
        }
        for record in destroyed.sorted() where !recorded.contains(record) {
            return "the state entry of \(record) (it does not say the record was destroyed)"
        }
        // A record once re-sealed keeps its entry (re-sealed, or destroyed): one without it was
        // put back to its author's original envelope.
        for record in reseals.named.keys.sorted() where !recorded.contains(record) {
            return
                "the envelope of \(record) (a re-seal entry names one the state no longer holds: "
                + "it was put back to an older envelope)"
        }
        for (record, value) in resealed.sorted(by: { $0.0.text < $1.0.text }) {
            if let problem = try await reseals.problem(
                record, value: value, store: store, directory: directory,
                flagged: flagged.contains(record.text))
            {
                return problem
            }
        }
        return nil
    }
}

/// A run of audit entries that added labels, by one actor under one directory position.
struct LabelAdds: Sendable {
    /// The label count after the run's last entry.
    var upTo: Int64
    let actor: PrincipalID
    let position: Int64
    /// The run's first entry and its last.
    let sequence: Int64
    var through: Int64

    /// The entries, in words.
    var entries: String {
        sequence == through ? "audit entry \(sequence)" : "audit entries \(sequence)–\(through)"
    }
}
