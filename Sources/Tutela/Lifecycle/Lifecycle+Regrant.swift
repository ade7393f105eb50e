import TutelaCrypto

/// What a re-grant did, or would do, to one record's key slots and shares.
public struct SlotChange: Sendable, Equatable {
    /// The record id.
    public let record: RecordID
    /// Principals the policy now names who have no slot.
    public let missing: [PrincipalID]
    /// Principals who have a slot the policy no longer names. Group slots are never surplus: a
    /// flag's or a grant's group slot stays.
    public let surplus: [PrincipalID]
    /// Groups that must be able to open the record (it is flagged, and the policy names them to
    /// open flagged records) whose key has no slot on it, at any version.
    public let missingGroups: [Role]
    /// The record has no break-glass shares although its policy asks for them and enough group
    /// keys now exist to make them (it was sealed before they did).
    public let missingShares: Bool

    /// Whether the change adds anything.
    public var adds: Bool { !missing.isEmpty || !missingGroups.isEmpty || missingShares }

    /// What the change adds, in words: people, groups, and break-glass shares.
    public var additions: [String] {
        missing.map(\.text) + missingGroups.map { "group \($0.rawValue)" }
            + (missingShares ? ["break-glass shares"] : [])
    }

    /// The change `policy` asks of `record` given its `label`, its `state`, its `slots` and whether
    /// it `hasShares`, or nil for none. Derived afresh from those facts every time: nothing a
    /// previous re-grant did or did not do is trusted.
    init?(
        record: RecordID, label: Label, slots: [Slot], state: RecordState, hasShares: Bool,
        policy: Policy, directory: Directory
    ) {
        let wanted = Set(policy.recipients(for: label, state: state, directory: directory))
        let have = Set(
            slots.compactMap { slot -> PrincipalID? in
                guard case .person(let id) = slot.recipient else { return nil }
                return id
            })
        let rules = policy.classes[label.recordClass]
        let groupsWithSlots = Set(
            slots.compactMap { slot -> Role? in
                guard case .group(let role, _) = slot.recipient else { return nil }
                return role
            })
        missingGroups =
            state.flagged
            ? (rules?.safeguarding.openFlagged.map(\.value) ?? []).filter {
                !groupsWithSlots.contains($0) && (try? directory.groupToSealTo($0)) != nil
            } : []
        if let bg = rules?.safeguarding.breakGlass, !hasShares, !state.destroyed {
            let sealable = bg.approvers.filter { (try? directory.groupToSealTo($0)) != nil }
            missingShares = sealable.count >= bg.approvals
        } else {
            missingShares = false
        }
        guard wanted != have || !missingGroups.isEmpty || missingShares else { return nil }
        self.record = record
        missing = wanted.subtracting(have).sorted()
        surplus = have.subtracting(wanted).sorted()
    }
}

/// Re-grants: every record's slots and shares derived from verified facts — the policy in force,
/// the directory, its flags — and brought in line by someone who can open it.
extension Lifecycle {
    /// Records (all, or one) whose key slots or shares differ from what the policy in force asks.
    public func slotChanges(record: RecordID?) async throws -> [SlotChange] {
        // A learner or parent asking about a record they may not know of: "there is no record".
        if let record, principal.isFamily { _ = try await session.load(record, for: .regrant) }
        return try await slotChanges(among: record.map { [$0] })
    }

    /// The changes asked of `records` (nil: every record). Only a record asked for by id is
    /// reported missing when it has no contents. Records whose label this person may not see are
    /// left out unless `hidden` (a re-grant's own list, never shown to them).
    func slotChanges(among records: [RecordID]?, hidden: Bool = false) async throws
        -> [SlotChange]
    {
        let policy = try policy()
        let directory = self.directory
        var ids = records ?? []
        if records == nil { ids = try await store.labels(learner: nil).map(\.record) }
        var changes: [SlotChange] = []
        for id in ids {
            guard let stored = try await session.verifiedRecord(id) else {
                // A destroyed record keeps only its label: nothing to re-grant.
                if records?.count != 1, try await session.retention.tombstone(id) != nil {
                    continue
                }
                throw TutelaError.notFound("there is no record \(id)")
            }
            // A report from the label row; `regrant` decides again from the verified envelope.
            let label = try Label.parse(stored.labelBytes)
            let state = try await recordState(of: label)
            // Only records whose label this person may see are reported: never a flagged record
            // to a learner or parent, and none about their own family to anyone else (what a
            // change would add — an officers' group — says whether it is flagged).
            guard
                hidden
                    || (!directory.isFamily(principal.id, of: label.learner)
                        && policy.decide(
                            .viewLabel, actor: principal, label: label, state: state,
                            directory: directory
                        ).allowed)
            else { continue }
            if let change = SlotChange(
                record: id, label: label, slots: stored.slots, state: state,
                hasShares: try await hasShares(id, label: label, policy: policy), policy: policy,
                directory: directory)
            {
                changes.append(change)
            }
        }
        return changes
    }

    /// Brings key slots in line with the policy in force: seals the data key to everyone it now
    /// names who has no slot, to every group that must open a flagged record and has none, makes
    /// break-glass shares for a record sealed before the groups existed, and removes person slots
    /// of those it no longer names. A group's slot is never removed. Only records this person may
    /// open are touched (they need the key); each is audited.
    /// - Returns: the changes made, and the records that need someone else to re-grant them.
    public func regrant(record: RecordID?) async throws -> (
        done: [SlotChange], leftFor: [SlotChange]
    ) {
        if let record, principal.isFamily { _ = try await session.load(record, for: .regrant) }
        return try await regrant(among: record.map { [$0] })
    }

    /// Whether `record` has break-glass shares; true, without reading them, for a class whose
    /// policy asks for none (every command's catch-up asks this of every record it looks at).
    private func hasShares(_ record: RecordID, label: Label, policy: Policy) async throws -> Bool {
        guard policy.classes[label.recordClass]?.safeguarding.breakGlass != nil else { return true }
        return !(try await store.shares(record: record)).isEmpty
    }

    /// Grants queued for others that this person can make: on every record they hold a key slot
    /// for, what the policy in force gives someone with none yet (a learner's new tutor, a parent
    /// linked since, a group that must open a flagged record, break-glass shares). The CLI runs
    /// this before each command, so a reassignment or a new contact is granted by the next command
    /// of someone who can open the record.
    /// - Returns: the changes made.
    public func grantPending() async throws -> [SlotChange] {
        var mine = try await store.slots(recipient: .person(principal.id), limit: Int.max).map(
            \.record)
        // An officer also re-grants flagged records through the group's slot.
        let policy = try policy()
        let opensFlagged = Set(
            policy.classes.values.flatMap { $0.safeguarding.openFlagged.map(\.value) })
        for role in opensFlagged where principal.has(role) {
            guard let group = directory.groups[role] else { continue }
            for version in 1...max(1, group.version) {
                mine += try await store.slots(
                    recipient: .group(role, version: version), limit: Int.max
                ).map(\.record)
            }
        }
        mine = Array(Set(mine)).sorted()
        guard !mine.isEmpty else { return [] }
        // Additions, and removals too: a learner's or parent's slot on a record flagged since is
        // taken away by the next command of someone who can open it.
        let pending = try await slotChanges(among: mine, hidden: true).map(\.record)
        guard !pending.isEmpty else { return [] }
        return try await regrant(among: pending).done
    }

    func regrant(among records: [RecordID]?) async throws -> (
        done: [SlotChange], leftFor: [SlotChange]
    ) {
        try await session.decidingAfresh {
            let policy = try policy()
            let directory = self.directory
            var done: [SlotChange] = []
            var left: [SlotChange] = []
            var updates:
                [(RecordID, Label, RecordState, [Slot], [StoredShare], [PrincipalID], AuditEntry)] =
                    []
            // The transaction's boxes, one ephemeral key per recipient (#26).
            let sealing = SealBatch()
            defer { sealing.finish() }
            for reported in try await slotChanges(among: records, hidden: true) {
                // Decided again from the envelope, verified: a label row edited to name someone else
                // must never become a slot for them.
                guard let stored = try await session.verifiedRecord(reported.record) else {
                    continue
                }
                let envelope = try session.verifiedEnvelope(stored, id: reported.record)
                let state = try await recordState(of: envelope.label)
                // Nothing is reported of a record whose label this person may not see: a
                // learner's re-grant of a flagged record they hold a slot on (for its author,
                // after a re-key) is made, and audited, but never shown to them.
                let shown = policy.decide(
                    .viewLabel, actor: principal, label: envelope.label, state: state,
                    directory: directory
                ).allowed
                guard
                    let change = SlotChange(
                        record: reported.record, label: envelope.label, slots: stored.slots,
                        state: state,
                        hasShares: try await hasShares(
                            reported.record, label: envelope.label, policy: policy),
                        policy: policy, directory: directory)
                else { continue }
                // Whoever the policy lets open the record now (its state included) and holds a
                // slot re-grants; so does an officer, through the group's slot, for a flagged
                // record, so that its author, re-keyed, is not left without it. The slots made are
                // the ones the policy names (an officer gets a personal slot only where the policy
                // names them, say as the learner's tutor). Removing a slot needs no key: a learner
                // or parent a flag now withholds the record from gives up their own slot at their
                // next command.
                let reader = policy.decide(
                    .open, actor: principal, label: envelope.label, state: state,
                    directory: directory
                ).allowed
                let officer =
                    state.flagged
                    && policy.decide(
                        .disclose, actor: principal, label: envelope.label, state: state,
                        directory: directory
                    ).allowed
                let mine = stored.slots.first { $0.recipient == .person(principal.id) }
                var opened: SecretBytes?
                if change.adds, reader, let mine {
                    opened = try mine.open(
                        with: identity, expecting: change.record, generation: envelope.generation)
                } else if change.adds, officer {
                    opened = try await dataKey(for: stored, envelope: envelope)
                }
                defer { opened?.wipe() }
                let mayRemove = opened != nil || (reader && mine != nil) || officer
                let removed =
                    mayRemove ? change.surplus : change.surplus.filter { $0 == principal.id }
                if change.adds, opened == nil, shown { left.append(change) }
                guard opened != nil || !removed.isEmpty else { continue }
                var added: [Slot] = []
                var shares: [StoredShare] = []
                if let key = opened {
                    // Confirmed against the envelope before it is sealed to anyone else: whatever
                    // a forged slot holds, it is never passed on. (The envelope is decrypted in
                    // this process's memory to confirm it, and wiped; nothing is shown.)
                    try await confirmDataKey(key, of: envelope)
                    added = try Session.slots(
                        for: envelope.label, generation: envelope.generation, key: key,
                        recipients: change.missing, directory: directory, batch: sealing)
                    for role in change.missingGroups {
                        guard let group = try directory.groupToSealTo(role) else { continue }
                        added.append(
                            try Slot.make(
                                record: change.record, generation: envelope.generation, key: key,
                                recipient: group.holder, to: group.publicKey, batch: sealing))
                    }
                    if change.missingShares {
                        shares = try BreakGlass.shares(
                            for: envelope.label, key: key, policy: policy, directory: directory,
                            batch: sealing)
                    }
                }
                func names(_ list: [String]) -> String {
                    list.isEmpty ? "none" : list.joined(separator: ", ")
                }
                let reason =
                    "slots for the policy in force (v\(policy.version)): added "
                    + names(
                        (opened == nil ? [] : change.missing.map(\.text))
                            + (opened == nil
                                ? [] : change.missingGroups.map { "group \($0.rawValue)" }))
                    + "; removed " + names(removed.map(\.text))
                    + (shares.isEmpty ? "" : "; \(shares.count) break-glass shares made")
                updates.append(
                    (
                        change.record, envelope.label, state, added, shares, removed,
                        auditEntry(.regrant, subject: change.record.text, reason: reason)
                    ))
                if shown, opened != nil || !change.adds { done.append(change) }
            }
            // Every box sealed: the batch key goes before the write, not after it.
            sealing.finish()
            let identity = self.identity
            let batch = updates
            let (now, decidedUnder) = (vault.clock.now(), directory)
            var made = Set<RecordID>()
            if !batch.isEmpty {
                made = try await write { tx in
                    var written = Set<RecordID>()
                    for (record, label, state, added, shares, removed, entry) in batch {
                        // Decided on a state read before this transaction: a flag (or a break-glass
                        // request) made since would change who must and must not have a slot.
                        let current = try await Session.recordState(
                            label, tx: tx, directory: decidedUnder, now: now)
                        // Left for the next command, which decides on the record as it is then.
                        guard current.flagged == state.flagged else { continue }
                        written.insert(record)
                        // Another member's catch-up may have granted the same person meanwhile.
                        let present = Set(try await tx.record(record)?.slots.map(\.recipient) ?? [])
                        for slot in added {
                            // A slot planted for a group before this re-grant is replaced.
                            if case .group = slot.recipient {
                                try await tx.deleteSlot(record: record, recipient: slot.recipient)
                            } else if present.contains(slot.recipient) {
                                continue
                            }
                            try await tx.insert(slot)
                        }
                        for share in shares { try await tx.put(share) }
                        for recipient in removed {
                            try await tx.deleteSlot(record: record, recipient: .person(recipient))
                        }
                        try await Session.appendAudit(entry, tx: tx, signer: identity)
                    }
                    return written
                }
            }
            return (done.filter { made.contains($0.record) }, left)
        }
    }
}
