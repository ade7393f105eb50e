import TutelaCrypto

/// Destruction: crypto-shredding a record that is due, by two people — a record keeper who proposes
/// and a second keeper or a head of centre who agrees, each by their own clock — with a signed
/// certificate that outlives it. One person with a faked clock can destroy nothing.
extension Retention {
    /// What a run of ``destroy(_:)`` would do to a record.
    public enum DestructionStep: Sendable, Equatable {
        /// Propose it: a second person must then agree.
        case propose
        /// Destroy it, agreeing to the proposal of `proposedBy`.
        case agree(proposedBy: PrincipalID)
        /// Refuse: this person proposed it, and a second person must agree.
        case waiting
        /// Refuse, for the reason given (a hold, an open break-glass request, the policy, or not
        /// due yet).
        case refused(String)
    }

    /// The outcome of asking to destroy a record.
    public enum DestructionResult: Sendable {
        case destroyed(DestructionCertificate)
        /// This keeper's proposal is recorded; a second person's agreement destroys it.
        case proposed(by: PrincipalID)
    }

    /// Proposes, or agrees to, destroying a record that is due. The first person (a record keeper
    /// the policy lets destroy) proposes: a signed proposal, audited. A second person (another
    /// such keeper, or a head of centre) running the same call agrees, and the record is
    /// crypto-shredded: its shred key, ciphertext, slots and key shares are deleted in one
    /// transaction with a signed tombstone naming both and an audit entry, then the files are
    /// checkpointed so the bytes are gone. Each step is refused when the record is not due by that
    /// person's clock, held, or under an open break-glass request.
    public func destroy(_ recordID: RecordID) async throws -> DestructionResult {
        try await session.decidingAfresh {
            try await concealRecordFromFamily(recordID, for: .destroy)
            let policy = try policy()
            let today = vault.clock.today
            // Everything another command could change that this decision rests on, read before the
            // decision's own reads and compared again where the record is shredded: a hold, flag,
            // review or request made in between stops the destruction instead of being overtaken.
            let (before, _) = try await transaction { tx in
                try await Self.destructionFacts(recordID, tx: tx)
            }
            if let c = try await tombstone(recordID) {
                throw TutelaError.notFound(
                    "\(recordID) was already destroyed \(Timestamp.iso(c.time)) by \(c.authoriser)")
            }
            guard let status = try await standing(of: recordID, asOf: today),
                let stored = try await session.verifiedRecord(recordID)
            else {
                throw TutelaError.notFound("there is no record \(recordID)")
            }
            // The standing came from the label row; nothing is destroyed on a row's word. The label
            // must be the one its author signed (a learner id changed in the row would move the date).
            guard
                try Session.verifiedEnvelope(stored, id: recordID, directory: directory).label
                    == status.label
            else {
                throw TutelaError.tampered(
                    "the label row of \(recordID) does not match its envelope")
            }
            let (step, proposal) = try await step(status, today: today, policy: policy)
            switch step {
            case .waiting:
                try await refuse(
                    .destroy, recordID.text,
                    "\(principal.id) proposed destroying \(recordID); a second record keeper or a "
                        + "head of centre must agree")
            case .refused(let why): try await refuse(.destroy, recordID.text, why)
            case .propose, .agree: break
            }
            guard let proposer = proposal?.by else {
                let proposal = DestructionProposal(
                    record: recordID, time: vault.clock.now(), by: principal.id)
                // Whoever may agree is told that a destruction waits for them.
                let agreeing = directory.principals.values.filter {
                    policy.decide(
                        .agreeDestroy, actor: $0, label: status.label, directory: directory
                    ).allowed
                }
                try await record(
                    auditEntry(.destroyProposal, subject: recordID.text, reason: status.rule),
                    notify: Set(agreeing.map(\.id)),
                    objects: [try sign(proposal)])
                return .proposed(by: principal.id)
            }
            let certificateFields: DestructionCertificate
            do {
                certificateFields = DestructionCertificate(
                    record: recordID, labelHash: Hex.encode(try BLAKE2b.hash(stored.labelBytes)),
                    ciphertextHash: Hex.encode(try BLAKE2b.hash(stored.envelopeBytes)),
                    rule: status.rule,
                    time: vault.clock.now(), authoriser: principal.id, proposer: proposer,
                    madeUnder: directory.statementCount, signature: []
                )
            } catch { throw TutelaError.internal("\(error)") }
            let tombstone = try sign(certificateFields)
            let entry = auditEntry(.destroy, subject: recordID.text, reason: status.rule)
            let identity = self.identity
            try await write { tx in
                guard try await Self.destructionFacts(recordID, tx: tx) == before else {
                    throw TutelaError.tryAgain(
                        "\(recordID) changed while it was being destroyed (a hold, flag, review, "
                            + "break-glass request or new contents); nothing was destroyed",
                        hint: "run the command again: it decides afresh")
                }
                let shares = try await tx.shares(record: recordID)
                var deletions: [StoredObject] = []
                for request in try await tx.objects(
                    kind: FactKind.breakGlassRequest.rawValue, key: recordID.text)
                {
                    await deletions += try tx.objects(
                        kind: FactKind.approval.rawValue, key: request.id)
                }
                await deletions += try tx.objects(
                    kind: FactKind.proposal.rawValue, key: recordID.text)
                try await tx.shred(recordID)
                for share in shares {
                    try await tx.deleteShare(record: recordID, holder: share.holder)
                }
                for object in deletions {
                    try await tx.deleteObject(kind: object.kind, id: object.id)
                }
                try await tx.put(tombstone)
                try await Session.appendAudit(entry, tx: tx, signer: identity)
            }
            // The key store last: if this step is interrupted the shred key is an orphan, deleted by the
            // next destruction, and the contents are already unreachable (their ciphertext is gone).
            // Only orphans of destroyed records go: a key with no envelope and no tombstone belongs to
            // a seal or re-encryption still in flight, which stores its keys before its records.
            var orphans: [String] = []
            for key in try await store.orphanShredKeys() {
                let record = ShredKeyID(key)?.record.text ?? key
                if try await fact(DestructionCertificate.self, about: record) != nil {
                    orphans.append(key)
                }
            }
            let generation = (try? Envelope.parse(stored.envelopeBytes).generation) ?? 1
            let generations = (1...max(1, generation)).map {
                Envelope.shredKeyID(recordID, generation: $0)
            }
            try await store.deleteShredKeys(Array(Set(orphans + generations)))
            guard let certificate = try await self.tombstone(recordID) else {
                throw TutelaError.internal("the tombstone of \(recordID) was not written")
            }
            return .destroyed(certificate)
        }
    }

    /// What ``destroy(_:)`` by this person would do, today, to the record of `status` (as a
    /// retention report gave it): the same decision, made the same way, changing nothing.
    /// - Throws: `.permissionDenied` for someone who may not check retention (as
    ///   ``report(asOf:listing:_:)``).
    public func step(for status: RetentionStatus) async throws -> DestructionStep {
        try await requireToCheck()
        return try await step(status, today: vault.clock.today, policy: policy()).step
    }

    /// The decision ``destroy(_:)`` makes for the record of `status`, with the proposal it
    /// would agree to: refused when this person proposed it (a second person must agree), when
    /// the policy refuses (held, an open break-glass request, the wrong role), or when it is not
    /// due by this person's clock.
    private func step(_ status: RetentionStatus, today: CalendarDate, policy: Policy)
        async throws -> (step: DestructionStep, proposal: DestructionProposal?)
    {
        let recordID = status.label.record
        var state = try await recordState(of: status.label)
        state.held = status.standing == .held
        let proposal = try await standingProposal(
            recordID, label: status.label, state: state, policy: policy, dueOn: status.dueOn)
        if let proposal, proposal.by == principal.id { return (.waiting, proposal) }
        let decision = policy.decide(
            proposal == nil ? .destroy : .agreeDestroy, actor: principal, label: status.label,
            state: state, directory: directory)
        guard decision.allowed else {
            return (.refused("\(recordID) cannot be destroyed: \(decision.rule)"), proposal)
        }
        guard status.standing == .due else {
            let when = status.dueOn.map { " (its period ends \($0))" } ?? ""
            return (
                .refused(
                    "\(recordID) is not due for destruction today (\(today)): it is "
                        + "\(status.standing.rawValue)\(when)"), proposal
            )
        }
        return (proposal.map { .agree(proposedBy: $0.by) } ?? .propose, proposal)
    }

    /// The record's destruction proposal, if it counts: only while its maker may still propose,
    /// and only if it was made on or after the day the record fell due as the facts stand now.
    /// One by a leaver, by someone no longer a record keeper, or made before a corrected leaving
    /// date moved the record's period on (it was about a record not due now), is treated as none,
    /// and the next run proposes afresh: two people always decide on the same facts.
    private func standingProposal(
        _ recordID: RecordID, label: Label, state: RecordState, policy: Policy,
        dueOn: CalendarDate?
    ) async throws -> DestructionProposal? {
        guard let found = try await fact(DestructionProposal.self, about: recordID.text),
            let dueOn, CalendarDate(secondsSinceEpoch: found.time) >= dueOn,
            let proposer = directory.principals[found.by], !proposer.revoked,
            policy.decide(
                .destroy, actor: proposer, label: label, state: state, directory: directory
            )
            .allowed
        else { return nil }
        return found
    }

    /// What a destruction decision rests on and another command could change, encoded to compare
    /// whole: the record's label and contents, its flag, hold, reviews, proposal and tombstone, its break-glass
    /// requests and whether each was used, and the directory's head (leaving dates, roles).
    static func destructionFacts(_ record: RecordID, tx: any VaultTransaction) async throws
        -> [UInt8]
    {
        var w = CanonicalWriter()
        let stored = try await tx.record(record)
        w.bool(stored != nil)
        if let stored {
            w.data(stored.labelBytes)
            w.data(stored.envelopeBytes)
        }
        let kinds: [FactKind] = [
            .flag, .hold, .retentionReview, .proposal, .tombstone, .breakGlassRequest,
        ]
        for kind in kinds {
            for object in try await tx.objects(kind: kind.rawValue, key: record.text) {
                w.string(object.kind)
                w.string(object.id)
                w.data(object.body)
                guard kind == .breakGlassRequest else { continue }
                for used in try await tx.objects(
                    kind: FactKind.breakGlassUse.rawValue, key: object.id)
                {
                    w.string(used.id)
                    w.data(used.body)
                }
            }
        }
        await w.data(try tx.lastLink(.directory)?.hash ?? [])
        return w.bytes
    }

    /// Checks a certificate's signature against its authoriser's enrolled key.
    /// - Throws: `.tampered` when it does not verify.
    public func verify(_ certificate: DestructionCertificate) throws {
        try FactCodec.verify(
            certificate, signer: certificate.authoriser, madeUnder: certificate.madeUnder,
            signature: certificate.signature, directory: directory)
    }

}
