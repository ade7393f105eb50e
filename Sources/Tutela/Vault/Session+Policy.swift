/// What a re-grant did, or would do, to one record's key slots.
public struct SlotChange: Sendable, Equatable {
    public let record: String
    /// Principals the policy now names who have no slot.
    public let missing: [String]
    /// Principals who have a slot the policy no longer names.
    public let surplus: [String]
}

extension Session {
    /// Publishes `bytes` as the next policy version, signed by this administrator, in one
    /// transaction with its audit entry. A file that does not parse never becomes active.
    /// - Returns: the published policy and the records whose slots no longer match it.
    public func applyPolicy(_ bytes: [UInt8], source: String) async throws -> (Policy, [SlotChange])
    {
        try requireAdministrator("apply policies")
        _ = try Policy.parse(bytes, source: source)
        let version = (directory.policy?.version ?? 0) + 1
        try await appendStatement(
            .publishPolicy(version: version, text: bytes), audit: .policyApply,
            subject: "policy v\(version)")
        return (try policy(), try await slotChanges(record: nil))
    }

    /// Records (all, or one) whose key slots differ from what the policy in force names.
    public func slotChanges(record: String?) async throws -> [SlotChange] {
        let policy = try policy()
        let directory = self.directory
        var ids: [String]
        if let record {
            ids = [record]
        } else {
            ids = try await store.labels(learner: nil).map(\.record)
        }
        var changes: [SlotChange] = []
        for id in ids {
            guard let stored = try await store.record(id) else {
                // A destroyed record keeps only its label: nothing to re-grant.
                if record == nil, try await retention.tombstone(id) != nil { continue }
                throw TutelaError.notFound("there is no record \(id)")
            }
            let label = try Label.parse(stored.labelBytes)
            let wanted = Set(policy.recipients(for: label, directory: directory))
            let have = Set(stored.slots.map(\.recipient))
            if wanted != have {
                changes.append(
                    SlotChange(
                        record: id, missing: wanted.subtracting(have).sorted(),
                        surplus: have.subtracting(wanted).sorted()))
            }
        }
        return changes
    }

    /// Brings key slots in line with the policy in force: seals the data key to everyone it now
    /// names who has no slot, and removes slots of those it no longer names. Only records this person
    /// may open are touched (they need the key); each is audited.
    /// - Returns: the changes made, and the records that need someone else to re-grant them.
    public func regrant(record: String?) async throws -> (done: [SlotChange], leftFor: [SlotChange])
    {
        let policy = try policy()
        let directory = self.directory
        var done: [SlotChange] = []
        var left: [SlotChange] = []
        var updates: [(String, [Slot], [String], AuditEntry)] = []
        for change in try await slotChanges(record: record) {
            let (stored, envelope) = try await load(change.record)
            let decision = policy.decide(
                .open, actor: principal, label: envelope.label, directory: directory)
            guard decision.allowed,
                let slot = stored.slots.first(where: { $0.recipient == principal.id })
            else {
                left.append(change)
                continue
            }
            let key = try slot.open(with: identity, expecting: change.record)
            let added = try Self.slots(
                for: envelope.label, key: key, recipients: change.missing, directory: directory)
            key.wipe()
            let reason =
                "slots for the policy in force (v\(policy.version)): added "
                + (change.missing.isEmpty ? "none" : change.missing.joined(separator: ", "))
                + "; removed "
                + (change.surplus.isEmpty ? "none" : change.surplus.joined(separator: ", "))
            updates.append(
                (
                    change.record, added, change.surplus,
                    AuditEntry(
                        action: .regrant, actor: principal.id, subject: change.record,
                        outcome: .allowed,
                        reason: reason, time: vault.clock.now(), policyVersion: "\(policy.version)")
                ))
            done.append(change)
        }
        let identity = self.identity
        let batch = updates
        if !batch.isEmpty {
            try await write { tx in
                for (record, added, removed, entry) in batch {
                    for slot in added { try await tx.insert(slot) }
                    for recipient in removed {
                        try await tx.deleteSlot(record: record, recipient: recipient)
                    }
                    try await Self.appendAudit(entry, tx: tx, signer: identity)
                }
            }
        }
        return (done, left)
    }

    /// Allow or deny, and the rule that decided, for `action` on `recordID` by this person.
    public func explain(_ recordID: String, action: PolicyAction) async throws -> Decision {
        let policy = try policy()
        guard let stored = try await store.record(recordID) else {
            throw TutelaError.notFound("there is no record \(recordID)")
        }
        let label = try verifiedEnvelope(stored, id: recordID).label
        if action == .seal { return policy.decideSeal(label.recordClass, actor: principal) }
        return policy.decide(action, actor: principal, label: label, directory: directory)
    }
}
