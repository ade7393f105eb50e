/// What `audit verify` proves about re-sealed envelopes, beyond what opening one checks: each one
/// the vault's state holds was written by a `reencrypt` entry its sealer signed, naming exactly
/// that envelope. An insider who commits a re-seal with an entry of their own — or a leaver's
/// signature dated to before they left — is found here (opening judges the sealer only by the
/// directory they name).
struct ResealCheck {
    /// The newest re-seal entry for each record: who signed it and which envelope it named.
    private(set) var named: [String: (actor: PrincipalID, envelope: String)] = [:]

    private static let marker = ", envelope "

    /// The reason a re-seal's entry records.
    static func reason(generation: Int, slots: Int, sealed: [UInt8]) -> String {
        "generation \(generation), \(slots) slots\(marker)\(Hex.encode(sealed))"
    }

    /// Notes a verified audit entry.
    mutating func visit(_ entry: AuditEntry) {
        guard entry.action == .reencrypt, entry.outcome == .allowed, let subject = entry.subject,
            let reason = entry.reason, let range = reason.range(of: Self.marker)
        else { return }
        named[subject] = (entry.actor, String(reason[range.upperBound...]))
    }

    /// What is wrong with a re-sealed record whose state entry is `value`, or nil.
    func problem(_ record: RecordID, value: [UInt8], store: any VaultStore) async throws -> String?
    {
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
        return nil
    }
}

extension StateReader {
    /// Reads the whole state map, checks it adds up to the committed root, and checks every
    /// re-sealed record in it against `reseals`: what is wrong, or nil.
    func resealMismatch(_ state: StateHead, reseals: ResealCheck) async throws -> String? {
        var level: [Int: [UInt8]] = [:]
        var resealed: [(RecordID, [UInt8])] = []
        for row in try await store.objects(kind: StateMap.bucketKind, key: nil) {
            guard row.id == row.key, row.id.count == 4, let b = UInt16(row.id, radix: 16),
                level[Int(b)] == nil
            else { return "the state map (bucket row \(row.id) is misfiled)" }
            let entries = try StateMap.decode(row.body, bucket: b)
            level[Int(b)] = try StateMap.bucketHash(b, entries)
            for (key, value) in entries where key.hasPrefix("R:") && StateMap.hasEnvelope(value) {
                guard let id = RecordID(validating: String(key.dropFirst(2))) else {
                    return "the state map (an entry names no record)"
                }
                resealed.append((id, value))
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
        for (record, value) in resealed.sorted(by: { $0.0.text < $1.0.text }) {
            if let problem = try await reseals.problem(record, value: value, store: store) {
                return problem
            }
        }
        return nil
    }
}
