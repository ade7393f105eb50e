import TutelaCrypto

/// Re-encryption: a record, or every record a group can open, sealed again under fresh keys (after a
/// key may have been exposed), signed by, and naming, the person who re-sealed it.
extension Lifecycle {
    /// The data key of a record this person can reach: through their own slot, or through a slot for
    /// a group whose key (at that slot's version) they hold.
    func dataKey(for stored: StoredRecord, envelope: Envelope) async throws -> SecretBytes? {
        let (record, generation) = (envelope.label.record, envelope.generation)
        if let slot = stored.slots.first(where: { $0.recipient == .person(principal.id) }) {
            return try slot.open(with: identity, expecting: record, generation: generation)
        }
        // A group's slot at any version this person holds: a rotation is followed by a re-wrap,
        // and until then records keep their slots for the older version.
        for slot in stored.slots {
            guard case .group(let role, let version) = slot.recipient, principal.has(role),
                directory.groups[role] != nil
            else { continue }
            let key: KeyAgreementPrivateKey
            do {
                key = try await session.groupKey(role, version: version)
            } catch let error as TutelaError where error.kind == .permissionDenied {
                continue  // not a version this person holds; a forged box is still 65
            }
            return try slot.open(with: key, expecting: record, generation: generation)
        }
        return nil
    }

    /// Re-encrypts a record under a fresh data key and a fresh shred key, after a suspected
    /// compromise: new ciphertext, new slots for everyone who had one (groups at their current key
    /// version), new break-glass shares; the old shred key is deleted. The new envelope (format v2) is
    /// signed by this person and names them; the label, and so the author, stay the same.
    public func reencrypt(_ recordID: RecordID) async throws {
        try await session.decidingAfresh {
            let policy = try policy()
            let (stored, envelope) = try await load(recordID, for: .reencrypt)
            // Fresh keys sealed to a group key someone who left may hold would defeat the point:
            // refused, before anything is logged or decrypted, until a member has replaced it.
            // So would a fresh break-glass share sealed to one.
            let approvers =
                policy.classes[envelope.label.recordClass]?.safeguarding.breakGlass?.approvers ?? []
            var groupsSealedTo: [Role] = approvers
            for case .group(let role, _) in stored.slots.map(\.recipient) {
                groupsSealedTo.append(role)
            }
            for role in groupsSealedTo where directory.groups[role]?.rotationDue != nil {
                throw TutelaError.denied(
                    "the \(role.rawValue) group key is due to be replaced, so no fresh key is sealed "
                        + "to it",
                    hint: "a \(role.rawValue) runs any command (or 'tutela group rotate "
                        + "\(role.rawValue)'), then re-encrypt")
            }
            // Only someone the policy in force lets read the record re-seals it: holding a key (a
            // slot left from before a narrowing, a group key) is not enough.
            let state = try await recordState(of: envelope.label)
            let (me, now) = (principal, self.directory)
            let reader = [PolicyAction.open, .disclose].map {
                policy.decide($0, actor: me, label: envelope.label, state: state, directory: now)
            }
            guard reader.contains(where: \.allowed) else {
                try await refuse(
                    .reencrypt, recordID.text,
                    "'\(principal.id)' may not read \(recordID) under the policy in force, so may not "
                        + "re-seal it: \(reader[0].rule)")
            }
            // A re-seal is a seal: its old shares go, so it is never made without the new ones
            // its policy asks for.
            try BreakGlass.requireShares(
                envelope.label.recordClass, policy: policy, directory: directory)
            guard let dataKey = try await dataKey(for: stored, envelope: envelope) else {
                throw TutelaError.denied(
                    "'\(principal.id)' holds no key to \(recordID), so cannot re-encrypt it")
            }
            defer { dataKey.wipe() }
            // Plaintext exists during a re-encryption: the audit entry comes first, as for any opening.
            try await record(
                auditEntry(.reencrypt, subject: recordID.text, reason: "fresh keys"), notify: [])
            let oldShred = try await session.shredKey(envelope.shredKeyID)
            defer { oldShred.wipe() }
            let plaintext = try envelope.openWhole(with: dataKey, shredKey: oldShred)
            defer { plaintext.wipe() }
            let generation = envelope.generation + 1
            let newShred = try Session.newShredKey()
            defer { newShred.wipe() }
            let (fresh, newKey) = try Envelope.reseal(
                plaintext, label: envelope.label, sealer: identity, shredKey: newShred,
                generation: generation, sealedAt: now.statementCount,
                authorship: try envelope.authorship())
            defer { newKey.wipe() }
            let directory = self.directory
            // Person slots go only to those the policy names now, in the record's state: never a
            // learner or parent on a flagged record, never someone it no longer names.
            let wanted = Set(
                policy.recipients(for: envelope.label, state: state, directory: directory))
            var slots: [Slot] = []
            var sealedTo = Set<Recipient>()
            for old in stored.slots {
                // A group's slot moves to the group's current key; a person's stays theirs unless
                // they were revoked.
                let target: (Recipient, KeyAgreementPublicKey)
                switch old.recipient {
                case .group(let role, _):
                    guard let group = try directory.groupToSealTo(role) else { continue }
                    target = (group.holder, group.publicKey)
                case .person(let id):
                    guard let p = directory.principals[id], !p.revoked, wanted.contains(id) else {
                        continue
                    }
                    target = (old.recipient, p.identity.agreementKey)
                }
                guard sealedTo.insert(target.0).inserted else { continue }
                slots.append(
                    try Slot.make(
                        record: recordID, generation: generation, key: newKey, recipient: target.0,
                        to: target.1))
            }
            let shares = try BreakGlass.shares(
                for: envelope.label, key: newKey, policy: policy, directory: directory)
            let oldShares = try await store.shares(record: recordID)
            let newShredID = fresh.shredKeyID
            try await store.putShredKeys([(newShredID, newShred)])
            let oldSlots = stored.slots
            let sealed = fresh.sealedBytes
            // The entry names the envelope it wrote, so `audit verify` can tie every re-sealed
            // envelope to an entry its sealer signed (see ``ResealCheck``).
            let entry = auditEntry(
                .reencrypt, subject: recordID.text,
                reason: ResealCheck.reason(
                    generation: generation, slots: slots.count, sealed: try StateMap.hash(sealed)))
            let identity = self.identity
            let newSlots = slots
            try await write { tx in
                try await tx.replaceEnvelope(record: recordID, sealed: sealed)
                for s in oldSlots {
                    try await tx.deleteSlot(record: s.record, recipient: s.recipient)
                }
                for s in newSlots { try await tx.insert(s) }
                for o in oldShares { try await tx.deleteShare(record: o.record, holder: o.holder) }
                for o in shares { try await tx.put(o) }
                try await Session.appendAudit(entry, tx: tx, signer: identity)
            }
            try await store.deleteShredKeys([envelope.shredKeyID])
        }
    }

    /// Re-encrypts every record that has a slot for `role`'s current group key.
    /// - Returns: how many were re-encrypted.
    public func reencryptGroup(_ role: Role, progress: (@Sendable (Int) -> Void)? = nil)
        async throws -> Int
    {
        guard let group = directory.groups[role] else {
            throw TutelaError.notFound("the \(role.rawValue) group has no key")
        }
        // Re-encrypting reads every record the group holds; a parent or carer of any learner
        // here would meet their own child's, if flagged. Refused alike, whatever is flagged.
        guard directory.learners(familyOf: principal.id).isEmpty else {
            throw TutelaError.denied(
                "'\(principal.id)' is a learner's parent or carer here: another member of the group "
                    + "re-encrypts its records")
        }
        var done = 0
        for slot in try await store.slots(recipient: group.holder, limit: Int.max) {
            try await reencrypt(slot.record)
            done += 1
            progress?(done)
        }
        return done
    }

}
