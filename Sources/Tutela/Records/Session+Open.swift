import Foundation
import TutelaCrypto

/// Opening records: the open path of the release pipeline, verified reads of envelopes, decryption,
/// and the content encoding inside an envelope.
extension Session {
    /// Opens a record if policy allows, writing the audit entry durably before decrypting.
    /// - Throws: `.notFound` (66), `.permissionDenied` (77), `.tampered` (65),
    ///   `.tryAgain` (75) if the audit entry cannot be written — then nothing is released.
    ///   The record comes with its void statement, if it is void, and the addenda to it the
    ///   reader may see.
    public func open(_ recordID: RecordID) async throws -> OpenedRecord {
        do { return try await decidingAfresh { try await openOnce(recordID) } } catch let error
            as TutelaError where error.kind == .tampered && principal.isFamily
        {
            // A learner or parent told of tampering is not told what did not match (a flag, a
            // void, on a record hidden from them).
            throw TutelaError(
                .tampered, "the vault's records do not match its audit log",
                hint: AuditLog.restoreHint)
        }
    }

    /// A record as every opening shows it: with its void statement, if it is void, and the
    /// addenda to it the reader may see (an officer's disclosure and a break-glass opening too),
    /// from what the deciding transaction found.
    func annotated(_ record: OpenedRecord, _ found: FoundCorrections) async throws -> OpenedRecord {
        var opened = record
        if let void = found.void {
            try void.check(label: opened.label, directory: directory)
            opened.void = void
        }
        if opened.label.amends == nil, !found.addenda.isEmpty {
            opened.addenda = try await corrections.addenda(of: opened.label)
        }
        return opened
    }

    private func openOnce(_ recordID: RecordID) async throws -> OpenedRecord {
        let policy = try policy()
        let (directory, principal) = (self.directory, self.principal)
        // The shred key of the record's first generation (which nearly every record is in) is read
        // from the key store while the transaction runs. It is no plaintext and opens nothing
        // without a slot's data key; if the record is refused it is dropped, and so wiped, unused.
        let store = self.store
        let early = Task { try? await store.shredKey(Envelope.shredKeyID(recordID, generation: 1)) }
        let released = try await release(recordID, action: .open) {
            input, _ -> ReleaseVerdict<Slot> in
            let label = input.envelope.label
            let decision = policy.decide(
                .open, actor: principal, label: label, state: input.state, directory: directory)
            guard decision.allowed else {
                return .refuse(
                    rule: decision.rule,
                    message: "'\(principal.id)' may not open \(recordID): \(decision.rule)")
            }
            guard
                let slot = input.stored.slots.first(where: { $0.recipient == .person(principal.id) }
                )
            else {
                return .refuse(
                    rule: "allowed by policy but no key slot was made for '\(principal.id)'",
                    message: "\(recordID) has no key for '\(principal.id)' yet",
                    hint:
                        "someone who can open it runs 'tutela policy regrant --record \(recordID)'")
            }
            return .release(reason: decision.rule, grant: slot)
        } open: { envelope, slot in
            let shredKey = envelope.generation == 1 ? await early.value : nil
            return OpenedRecord(
                envelope, content: try await decrypt(envelope, slot: slot, shredKey: shredKey))
        }
        switch released {
        case .released(let record, let found): return try await annotated(record, found)
        case .missing: try await missing(recordID, action: .open)
        case .skipped: throw TutelaError.internal("an open was skipped")
        }
    }

    /// Reads a record and checks it against its label row and its author's signature.
    /// - Parameter concealing: whether a record a learner or family may not see is, for them,
    ///   one that does not exist (``concealFromFamily(_:action:)``): false only for work that shows
    ///   the person nothing of it, such as moving a group's slots to its new key.
    func load(
        _ recordID: RecordID, for action: AuditEntry.Action = .open, concealing: Bool = true
    ) async throws -> (StoredRecord, Envelope) {
        guard let stored = try await verifiedRecord(recordID) else {
            try await missing(recordID, action: action)
        }
        let envelope = try verifiedEnvelope(stored, id: recordID)
        if concealing { try await concealFromFamily(envelope.label, action: action) }
        return (stored, envelope)
    }

    /// Opens `slot` with this session's key and decrypts the envelope. Only after the audit entry.
    func decrypt(_ envelope: Envelope, slot: Slot, shredKey: SecretBytes? = nil) async throws
        -> RecordContent
    {
        let key = try slot.open(
            with: identity, expecting: envelope.label.record, generation: envelope.generation)
        defer { key.wipe() }
        return try await decrypt(envelope, dataKey: key, shredKey: shredKey)
    }

    /// Decrypts with a data key (from a slot, a group slot or combined shares) and the shred key,
    /// read from the key store unless the caller has it already.
    func decrypt(_ envelope: Envelope, dataKey: SecretBytes, shredKey known: SecretBytes? = nil)
        async throws -> RecordContent
    {
        let record = envelope.label.record
        let shredKey: SecretBytes
        if let known {
            shredKey = known
        } else {
            shredKey = try await self.shredKey(envelope.shredKeyID)
        }
        defer { shredKey.wipe() }
        let plaintext = try envelope.open(with: dataKey, shredKey: shredKey)
        defer { plaintext.wipe() }
        return try Self.decode(
            plaintext, as: envelope.label.recordClass, record: record.text,
            addendum: envelope.label.amends != nil)
    }

    /// Confirms that `key` is `envelope`'s data key — it decrypts the envelope — before anything
    /// seals it to someone else. A slot forged to carry some other secret (a group's private key,
    /// a share) is refused here instead of being passed on.
    /// - Throws: `.tampered` when the key does not decrypt the envelope.
    func confirmDataKey(_ key: SecretBytes, of envelope: Envelope) async throws {
        let shredKey = try await self.shredKey(envelope.shredKeyID)
        defer { shredKey.wipe() }
        let plaintext = try envelope.open(with: key, shredKey: shredKey)
        plaintext.wipe()
    }

    /// A fresh 32-byte shred key.
    static func newShredKey() throws(TutelaError) -> SecretBytes {
        do { return try SecretBytes.random(count: 32) } catch { throw .internal("\(error)") }
    }

    /// The record's shred key from the key store.
    /// - Throws: not found (66) when it was destroyed — in this vault, or after the backup this vault
    ///   was restored from was taken.
    func shredKey(_ name: String) async throws -> SecretBytes {
        guard let key = try await store.shredKey(name) else {
            throw TutelaError.notFound(
                "\(name) was destroyed: its key was shredded, so no copy of it can be opened",
                hint: "this vault may be a backup taken before the record was destroyed")
        }
        return key
    }

    /// Labels this person may see, optionally only one learner's, newest tutorial first (see
    /// ``Finding/records(_:)`` for filters, pages and marks).
    public func labels(learner: LearnerID?) async throws -> [Label] {
        try await finding.every(RecordQuery(learner: learner.map(directory.resolve))).map(\.label)
    }

    /// Parses the stored envelope and checks it against its label row and its author's signature.
    func verifiedEnvelope(_ stored: StoredRecord, id: RecordID) throws(TutelaError) -> Envelope {
        try Self.verifiedEnvelope(stored, id: id, directory: directory)
    }

    static func verifiedEnvelope(
        _ stored: StoredRecord, id: RecordID, directory: Directory
    ) throws(TutelaError) -> Envelope {
        let envelope = try Envelope.parse(stored.envelopeBytes)
        guard envelope.label.record == id, envelope.label.canonical == stored.labelBytes else {
            throw .tampered("the label of \(id) does not match its envelope")
        }
        guard let author = directory.principals[envelope.label.author] else {
            throw .tampered("\(id) names an author who is not enrolled")
        }
        let sealedUnder = envelope.label.sealedUnder
        guard sealedUnder <= directory.statementCount else {
            throw .tampered(
                "\(id) says it was sealed under directory position \(sealedUnder), which this "
                    + "vault's directory never had")
        }
        // Only the key that was the author's when they sealed: not one a re-key retired before,
        // nor a leaver's after they were revoked.
        let authorKeys = author.signingKeys(madeUnder: sealedUnder)
        guard let resealing = envelope.resealing else {
            try envelope.verifySignature(author: authorKeys)
            return envelope
        }
        // A re-seal is judged by the directory its sealer sealed under: enrolled and not revoked
        // then, with keys they held then, and someone the policy then in force let read it.
        let then = try directory.asOf(resealing.sealedAt)
        guard let sealer = then.principals[resealing.sealer], !sealer.revoked else {
            throw .tampered(
                "\(id) was re-sealed by '\(resealing.sealer)', who was not enrolled, or was "
                    + "revoked, when it was sealed")
        }
        guard sealedUnder <= resealing.sealedAt else {
            throw .tampered("\(id) says it was re-sealed before it was sealed")
        }
        try envelope.verifySignature(
            author: authorKeys, sealer: sealer.signingKeys(madeUnder: resealing.sealedAt))
        guard let policy = then.policy, Self.mayReseal(envelope.label, sealer, policy, then) else {
            throw .tampered(
                "\(id) was re-sealed by '\(resealing.sealer)', whom the policy in force then did "
                    + "not let read it")
        }
        return envelope
    }

    /// Whether `sealer` may re-seal a record with `label`: whether the policy lets them open or
    /// disclose it, flagged or not (its flag when it was re-sealed is not kept, and the check must
    /// never refuse an honest re-seal, which would lose the record for everyone).
    static func mayReseal(
        _ label: Label, _ sealer: Principal, _ policy: Policy, _ directory: Directory,
        flaggedSince: Bool = true
    ) -> Bool {
        // A flag is never lifted: a record not flagged now was not flagged then.
        let states = flaggedSince ? [RecordState(), RecordState(flagged: true)] : [RecordState()]
        return states.contains { state in
            [PolicyAction.open, .disclose].contains {
                policy.decide($0, actor: sealer, label: label, state: state, directory: directory)
                    .allowed
            }
        }
    }

    /// The contents as sealed: JSON with sorted keys, written into a buffer that is wiped (no
    /// Foundation encoder's buffers outlive the call).
    static func encode(_ content: RecordContent) throws(TutelaError) -> SecretBytes {
        var writer = JSONWriter(capacity: 4096)
        defer { writer.wipe() }
        switch content {
        case .progressReview(let form): form.writeJSON(into: &writer)
        case .informalNote(let note): note.writeJSON(into: &writer)
        case .addendum(let addendum): addendum.writeJSON(into: &writer)
        }
        do { return try SecretBytes(copying: writer.bytes) } catch {
            throw .internal("the record could not be encoded")
        }
    }

    static func decode(
        _ plaintext: SecretBytes, as recordClass: RecordClass, record: String,
        addendum: Bool = false
    ) throws(TutelaError) -> RecordContent {
        if recordClass != .informalNote, !addendum {
            // Tutela's own strict form reader is several times faster than JSONDecoder, which
            // cost as much as everything else `open` does in its transaction. Its messages can
            // name values, so they are never passed on; anything it refuses falls back to the
            // decoder below and then to the plain message there.
            var bytes = plaintext.withUnsafeBytes { [UInt8]($0) }
            defer { Wipe.bytes(&bytes) }
            if let form = try? ProgressReview.parse(bytes, source: record) {
                return .progressReview(form)
            }
        }
        var data = plaintext.withUnsafeBytes { Data($0) }
        defer { data.resetBytes(in: 0..<data.count) }
        do {
            if addendum { return .addendum(try JSONDecoder().decode(Addendum.self, from: data)) }
            switch recordClass {
            case .tutorial, .confidentialTutorial:
                return .progressReview(try JSONDecoder().decode(ProgressReview.self, from: data))
            case .informalNote:
                return .informalNote(try JSONDecoder().decode(InformalNote.self, from: data))
            }
        } catch { throw .tampered("the contents of \(record) are not a valid record") }
    }

}
