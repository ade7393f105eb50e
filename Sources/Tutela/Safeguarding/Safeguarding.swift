import TutelaCrypto

/// The safeguarding path: flagging a concern, the officers' queue, disclosure of a flagged record with
/// a recorded reason, and the review of every opening after the fact.
public struct Safeguarding: SessionService {
    let session: Session

    // MARK: - Flag

    /// Flags a record for safeguarding: seals its key to the groups that open flagged records, records
    /// who, when and why, and moves it onto the safeguarding retention schedule.
    @discardableResult
    public func flag(_ recordID: RecordID, reason: String) async throws -> SafeguardingFlag {
        try await session.decidingAfresh {
            let reason = try Session.requireReason(reason, for: "flag a record")
            let policy = try policy()
            let (stored, envelope) = try await load(recordID, for: .flag)
            let state = try await recordState(of: envelope.label)
            let decision = policy.decide(
                .flag, actor: principal, label: envelope.label, state: state, directory: directory)
            guard decision.allowed else {
                try await audit(
                    .flag, subject: recordID.text, outcome: .denied, reason: decision.rule)
                // Someone who may flag it, finding it flagged already, is told so as a thing that
                // exists (73), not as a refusal: nothing is wrong with what they asked.
                var unflagged = state
                unflagged.flagged = false
                if state.flagged,
                    policy.decide(
                        .flag, actor: principal, label: envelope.label, state: unflagged,
                        directory: directory
                    ).allowed
                {
                    throw TutelaError(
                        .exists, "\(recordID) is already flagged",
                        hint: "the safeguarding officers have it in their queue")
                }
                throw TutelaError.denied(
                    "'\(principal.id)' may not flag \(recordID): \(decision.rule)")
            }
            let rules = try policy.rules(for: envelope.label.recordClass)
            guard let slot = stored.slots.first(where: { $0.recipient == .person(principal.id) })
            else {
                throw TutelaError.denied(
                    "\(recordID) has no key for '\(principal.id)'; someone who can open it must flag it"
                )
            }
            var groups: [GroupKey] = []
            for role in rules.safeguarding.openFlagged.map(\.value) {
                guard let group = try directory.groupToSealTo(role) else {
                    throw TutelaError.notFound(
                        "the \(role.rawValue) group has no key, so a flagged record could not be opened by it",
                        hint:
                            "a \(role.rawValue) creates it first: tutela group create \(role.rawValue) --as ID"
                    )
                }
                groups.append(group)
            }
            let key = try slot.open(
                with: identity, expecting: recordID, generation: envelope.generation)
            defer { key.wipe() }
            // Confirmed against the envelope before it is sealed to anyone else.
            try await confirmDataKey(key, of: envelope)
            // Every officers' group slot is made afresh from the confirmed key, replacing any already
            // there: a slot planted before the flag (a group's public key is public) must not stand in
            // for the real one.
            let slots = try groups.map { g throws(TutelaError) in
                try Slot.make(
                    record: recordID, generation: envelope.generation, key: key,
                    recipient: g.holder, to: g.publicKey)
            }
            let flag = SafeguardingFlag(
                record: recordID, flaggedBy: principal.id, time: vault.clock.now(), reason: reason,
                decidedAt: directory.statementCount)
            let object = try sign(flag)
            let officers = Set(groups.flatMap { directory.holders(of: $0.role).map(\.id) })
            let entry = auditEntry(.flag, subject: recordID.text, reason: reason)
            let identity = self.identity
            // Never the learner's own family, whatever their role (see Policy/Family.swift).
            let notify = officers.union([envelope.label.author]).subtracting(
                directory.family(of: envelope.label.learner).union([principal.id]))
            let links = try await facts(AddendumLink.self, about: recordID.text)
            let addenda = try await addendumFlags(of: envelope.label, links: links, groups: groups)
            try await write { tx in
                // An addendum sealed meanwhile is flagged with the rest, by running again.
                let now = try await tx.objects(
                    kind: FactKind.addendumLink.rawValue, key: recordID.text)
                try await StateTransaction.of(tx).verify(
                    now, kind: .addendumLink, subject: recordID.text)
                guard Set(now.map(\.id)) == Set(links.map(\.addendum.text)) else {
                    throw TutelaError.tryAgain(
                        "an addendum to \(recordID) was sealed while it was being flagged; "
                            + "nothing was stored",
                        hint: "run the command again")
                }
                for s in slots {
                    try await tx.deleteSlot(record: recordID, recipient: s.recipient)
                    try await tx.insert(s)
                }
                try await tx.put(object)
                try await Session.appendAudit(entry, tx: tx, signer: identity, notify: notify)
                for addendum in addenda {
                    for s in addendum.slots {
                        try await tx.deleteSlot(record: s.record, recipient: s.recipient)
                        try await tx.insert(s)
                    }
                    try await tx.put(addendum.object)
                    try await Session.appendAudit(addendum.entry, tx: tx, signer: identity)
                }
            }
            return flag
        }
    }

    /// The flags, with the officers' group slots, of the addenda to a record being flagged (each
    /// not flagged already), so that a learner or parent never sees an addendum to a record
    /// hidden from them. An addendum this person holds no key for cannot be sealed to the
    /// officers by them: it is flagged all the same, with its record (``Session/recordState(of:)``),
    /// so no learner or parent sees it, and the officers' group slots are added by the next
    /// re-grant of someone who can open it (the record's author, who wrote both).
    private func addendumFlags(of original: Label, links: [AddendumLink], groups: [GroupKey])
        async throws -> [(slots: [Slot], object: StoredObject, entry: AuditEntry)]
    {
        var result: [(slots: [Slot], object: StoredObject, entry: AuditEntry)] = []
        for link in links {
            guard let stored = try await session.verifiedRecord(link.addendum) else { continue }
            let envelope = try Session.verifiedEnvelope(
                stored, id: link.addendum, directory: directory)
            guard envelope.label.amends == original.record else {
                throw TutelaError.tampered(
                    "\(link.addendum) is linked to \(original.record) but does not amend it")
            }
            guard try await fact(SafeguardingFlag.self, about: link.addendum.text) == nil,
                let slot = stored.slots.first(where: { $0.recipient == .person(principal.id) })
            else { continue }
            let key = try slot.open(
                with: identity, expecting: link.addendum, generation: envelope.generation)
            defer { key.wipe() }
            try await session.confirmDataKey(key, of: envelope)
            let slots = try groups.map { g throws(TutelaError) in
                try Slot.make(
                    record: link.addendum, generation: envelope.generation, key: key,
                    recipient: g.holder, to: g.publicKey)
            }
            let reason = "addendum to the flagged record \(original.record)"
            let flag = SafeguardingFlag(
                record: link.addendum, flaggedBy: principal.id, time: vault.clock.now(),
                reason: reason, decidedAt: directory.statementCount)
            result.append(
                (
                    slots, try sign(flag),
                    auditEntry(.flag, subject: link.addendum.text, reason: reason)
                ))
        }
        return result
    }

    /// A flagged record in the officers' queue.
    public struct QueueItem: Sendable {
        /// The record's label.
        public let label: Label
        /// The flag: who, when and why.
        public let flag: SafeguardingFlag
        /// How many times an officer has opened it (disclosures).
        public let disclosures: Int
        /// How many of those openings a head of centre has reviewed.
        public let reviewed: Int

        /// Dealt with: opened by an officer, and every opening reviewed. A closed item leaves the
        /// queue (`safeguarding queue --all` still shows it); a new opening reopens it.
        public var closed: Bool { disclosures > 0 && reviewed == disclosures }
    }

    /// Flagged records, oldest first, with who flagged them, whether an officer has opened them and
    /// whether those openings were reviewed.
    public func queue() async throws -> [QueueItem] {
        let policy = try policy()
        // The queue is for those the policy lets open flagged records, and no one else: asked by
        // anyone else — a learner, a parent, a tutor — it is refused the same way whatever it holds.
        let me = principal
        guard
            policy.classes.values.contains(where: {
                $0.safeguarding.openFlagged.contains { me.has($0.value) }
            })
        else {
            try await audit(
                .auditRead, subject: nil, outcome: .denied, reason: "safeguarding queue")
            throw TutelaError.denied("'\(principal.id)' may not see the safeguarding queue")
        }
        var result: [QueueItem] = []
        for flag in try await facts(SafeguardingFlag.self, about: nil) {
            guard let stored = try await session.verifiedRecord(flag.record) else { continue }
            let label = try Session.verifiedEnvelope(stored, id: flag.record, directory: directory)
                .label
            try flag.check(label: label, directory: directory)
            let state = RecordState(flagged: true)
            // An officer's own family's flagged records are others' to act on: not in their queue.
            guard !policy.isFamily(of: label, actor: principal, directory: directory),
                policy.decide(
                    .viewLabel, actor: principal, label: label, state: state, directory: directory
                ).allowed
            else { continue }
            let openings = try await facts(ReviewItem.self, about: flag.record.text)
            var reviewed = 0
            for item in openings
            where try await fact(ReviewOutcome.self, about: item.id.text) != nil {
                reviewed += 1
            }
            result.append(
                QueueItem(
                    label: label, flag: flag, disclosures: openings.count, reviewed: reviewed))
        }
        return result.sorted { $0.flag.time < $1.flag.time }
    }

    // MARK: - Disclosure

    /// An officer opens a flagged record with a recorded reason. The audit entry, the review item and
    /// the notices to the author and heads of centre are durable before anything is decrypted.
    public func disclose(_ recordID: RecordID, reason: String) async throws -> OpenedRecord {
        try await session.decidingAfresh { try await discloseOnce(recordID, reason: reason) }
    }

    private func discloseOnce(_ recordID: RecordID, reason: String) async throws -> OpenedRecord {
        let reason = try Session.requireReason(reason, for: "open a flagged record")
        let policy = try policy()
        let (directory, principal) = (self.directory, self.principal)
        let item = ReviewItem(
            id: try newID("RV"), kind: .disclosure, record: recordID, actor: principal.id,
            time: vault.clock.now(), reason: reason)
        let review = try sign(item)
        let heads = headsOfCentre
        let held = try await session.heldGroupVersions()
        let released = try await release(recordID, action: .disclose) {
            input, _ -> ReleaseVerdict<(Role, Int, Slot)> in
            let label = input.envelope.label
            let decision = policy.decide(
                .disclose, actor: principal, label: label, state: input.state,
                directory: directory)
            guard decision.allowed else {
                return .refuse(
                    rule: decision.rule,
                    message:
                        "'\(principal.id)' may not open \(recordID) as a disclosure: \(decision.rule)"
                )
            }
            let roles = try policy.rules(for: label.recordClass).safeguarding.openFlagged.map(
                \.value)
            for role in roles where principal.has(role) {
                // The current version's slot, or an older one's until a re-wrap moves it.
                let slots = input.stored.slots
                guard
                    let (index, version) = session.newestGroupVersion(
                        role, among: slots.map(\.recipient), held: held)
                else { continue }
                return .release(
                    reason: reason, grant: (role, version, slots[index]), objects: [review],
                    notify: heads.union([label.author]).union(
                        session.assignedTutor(of: label, in: input.state)))
            }
            // No copy at all: a member shares the current key. A copy of a newer version only: a
            // member who held the older one moves the record to it.
            let mine = roles.filter { principal.has($0) }
            let holdsSome = held.contains {
                if case .group(let role, _) = $0 { mine.contains(role) } else { false }
            }
            let role = mine.first?.rawValue ?? "ROLE"
            return .refuse(
                rule: "no key slot for a safeguarding group '\(principal.id)' belongs to",
                message:
                    "\(recordID) has no key for a version of the safeguarding group key "
                    + "'\(principal.id)' holds",
                hint: holdsSome
                    ? "a member who held the older group key runs: tutela group rewrap \(role)"
                    : "a current member runs: tutela group sync \(role) --as ID")
        } open: { envelope, grant in
            let (role, version, slot) = grant
            let key = try slot.open(
                with: try await session.groupKey(role, version: version), expecting: recordID,
                generation: envelope.generation)
            defer { key.wipe() }
            return OpenedRecord(
                envelope, content: try await decrypt(envelope, dataKey: key))
        }
        switch released {
        case .released(let record, let found): return try await session.annotated(record, found)
        case .missing: try await missing(recordID, action: .disclose)
        case .skipped: throw TutelaError.internal("a disclosure was skipped")
        }
    }

    // MARK: - Reviews

    /// Every disclosure and break-glass opening, with its review outcome if it has one — but
    /// none of a record about the reader's own family.
    public func reviews() async throws -> [ReviewItem] {
        guard principal.has(.headOfCentre) || principal.has(.safeguardingOfficer) else {
            try await refuse(
                .review, "reviews",
                "only heads of centre and safeguarding officers see the review list")
        }
        var items: [ReviewItem] = []
        // Openings of their own family's records are others' to see and review.
        let family = try await session.ownFamilysRecords()
        for var item in try await facts(ReviewItem.self, about: nil)
        where !family.contains(item.record) {
            if let verdict = try await fact(ReviewOutcome.self, about: item.id.text) {
                item.outcome = verdict.outcome
                item.note = verdict.note
                item.reviewer = verdict.reviewer
            }
            items.append(item)
        }
        return items.sorted { $0.time < $1.time }
    }

    /// A head of centre records whether a disclosure or break-glass was justified. Never their own.
    public func review(_ id: ReviewID, outcome: ReviewItem.Outcome, note: String) async throws {
        try await session.decidingAfresh {
            let note = try Session.requireReason(note, for: "record a review")
            guard principal.has(.headOfCentre) else {
                try await refuse(
                    .review, id.text, "only a head of centre reviews disclosures and break-glass")
            }
            guard let item = try await reviews().first(where: { $0.id == id }) else {
                throw TutelaError.notFound("there is no review \(id)")
            }
            guard item.actor != principal.id else {
                try await refuse(.review, id.text, "no one reviews their own opening of a record")
            }
            guard item.outcome == nil else {
                throw TutelaError.exists(
                    "\(id) was already reviewed by \(item.reviewer?.text ?? "?")")
            }
            try await record(
                auditEntry(
                    .review, subject: item.record.text, reason: "\(id) \(outcome.rawValue): \(note)"
                ),
                notify: [item.actor],
                objects: [
                    try sign(
                        ReviewOutcome(
                            review: id, outcome: outcome, note: note, reviewer: principal.id,
                            time: vault.clock.now()))
                ])
        }
    }
}

extension Session {
    /// The safeguarding path, as this person.
    public var safeguarding: Safeguarding { Safeguarding(session: self) }
}
