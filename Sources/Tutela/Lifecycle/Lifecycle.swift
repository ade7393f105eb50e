import Foundation
import TutelaCrypto

/// What a group re-wrap did.
public struct RewrapSummary: Sendable, Equatable, Encodable {
    /// The group key re-wrapped to: `group:ROLE#V`, the current version.
    public let group: String
    /// How many key slots were re-wrapped.
    public let slots: Int
    /// How many break-glass shares were re-wrapped.
    public let shares: Int
    /// Older group key versions whose member boxes were deleted once nothing was left sealed to them.
    public let retiredVersions: [Int]
    /// How long the re-wrap took, in seconds of wall-clock time.
    public let seconds: Double
}

/// Keys over time, for the people who hold them: changing one's passphrase, bringing a group's
/// members up to date, re-wrapping slots and shares after a group key rotates, re-encrypting
/// records under fresh keys, and granting the slots a changed policy or a new contact calls for.
public struct Lifecycle: SessionService {
    let session: Session

    /// Changes this person's passphrase, and their keys with it: new keys are made here and
    /// sealed under the new passphrase, published in a statement signed by the old key (which
    /// retires there), and every key slot and group-member box sealed to them is re-wrapped to the
    /// new key in the same transaction. So an old identity row in an old backup, opened with an old
    /// passphrase, holds a key that signs nothing that counts and opens only what was sealed to it
    /// before the change. Break-glass shares an approver already released to them are sealed
    /// inside the approver's signed approval and cannot be re-wrapped: those requests need
    /// approving again. This session holds the retired key afterwards; unlock again.
    ///
    /// The authority's passphrase change re-seals its keys only: they are the vault's fingerprint
    /// and what its trustees' share files rebuild (``Administration/rekeyAuthority(passphrase:)``
    /// replaces them on purpose).
    /// - Returns: the group keys made anew at once because the old key opened them (empty for the
    ///   authority, or when they could not be made now: the next member's command makes them).
    @discardableResult
    public func changePassphrase(to passphrase: Passphrase) async throws -> [GroupKey] {
        guard !principal.isAuthority else {
            try await session.decidingAfresh {
                try passphrase.validateAsNew()
                var keys = identity
                keys.secondFactor = session.heldSecondFactor.withLock { $0 }
                let sealed = try SealedIdentity.seal(
                    keys, passphrase: passphrase, cost: directory.kdfProfile.cost)
                let entry = auditEntry(.passphraseChange, subject: principal.id.text, reason: nil)
                let identity = self.identity
                let row = session.unlockedRow.withLock { $0 }
                try await write { tx in
                    // Sealed from what this session unlocked: refused if that changed since.
                    try await Session.requireRow(row, of: identity.principal, in: tx)
                    try await tx.replace(sealed)
                    try await Session.appendAudit(entry, tx: tx, signer: identity)
                }
            }
            return []
        }
        return try await rotateOwnKeys(passphrase: passphrase, audit: .passphraseChange)
    }

    /// New keys for this person, made here under `passphrase`, published in a statement signed by
    /// the old key, with every slot and group copy of theirs re-wrapped to them.
    @discardableResult
    func rotateOwnKeys(passphrase: Passphrase, audit: AuditEntry.Action) async throws -> [GroupKey]
    {
        let fresh = try await publishOwnKeys(passphrase: passphrase, audit: audit)
        // The groups this person holds are now due for new keys (the old key opened them, and an
        // old identity row with the old passphrase still does): made at once, by the new key. The
        // new keys are in place whatever happens here; if this fails, the next member's command
        // makes them.
        guard let renewed = directory.principals[principal.id] else { return [] }
        let successor = Session(
            vault: session.vault, meta: session.meta, directory: directory, principal: renewed,
            identity: fresh)
        let rotated = (try? await successor.lifecycle.rotateDueGroups()) ?? []
        // The escrow of the old keys rebuilds keys that no longer count: split the new ones.
        _ = try? await successor.identityRecovery.catchUpEscrow()
        return rotated
    }

    /// The first half of ``rotateOwnKeys(passphrase:audit:)``: the new keys, their statement and
    /// the re-wrapped boxes, in one transaction.
    /// - Returns: the new keys.
    private func publishOwnKeys(
        passphrase: Passphrase, audit: AuditEntry.Action
    ) async throws -> Identity {
        try await session.decidingAfresh {
            try passphrase.validateAsNew()
            let me = principal.id
            let old = identity.agreement
            var fresh = try Identity.generate(principal: me)
            // The second factor goes with the person, not with their old keys.
            fresh.secondFactor = session.heldSecondFactor.withLock { $0 }
            let pub = fresh.publicIdentity
            let sealed = try SealedIdentity.seal(
                fresh, passphrase: passphrase, cost: directory.kdfProfile.cost)
            // Each version's published key, so that no box planted under this person's old key is
            // carried forward under the new one.
            var published: [String: KeyAgreementPublicKey] = [:]
            for group in directory.groups.values {
                for version in 1...max(1, group.version) {
                    published[Recipient.group(group.role, version: version).description] =
                        try directory.groupPublicKey(group.role, version: version)
                }
            }
            let keys = published
            let row = session.unlockedRow.withLock { $0 }
            try await appendStatement(
                .rekey(
                    principal: me, signingKey: pub.signingKey.bytes,
                    agreementKey: pub.agreementKey.bytes),
                audit: audit, subject: me.text, auditSigner: fresh
            ) { tx in
                // Sealed from what this session unlocked (its second factor included): refused
                // if the stored row changed since.
                try await Session.requireRow(row, of: me, in: tx)
                try await tx.replace(sealed)
                try await Self.rewrapOwnBoxes(
                    of: me, from: old, to: pub.agreementKey, published: keys, tx: tx)
            }
            return fresh
        }
    }

    /// Re-wraps `member`'s key slots and group-member boxes, every version, from the agreement key
    /// `old` to `new`, each checked to open with `old` under its own binding first, and each group
    /// key against the one `published` for its version.
    private static func rewrapOwnBoxes(
        of member: PrincipalID, from old: KeyAgreementPrivateKey, to new: KeyAgreementPublicKey,
        published: [String: KeyAgreementPublicKey], tx: any VaultTransaction
    ) async throws {
        let sealing = SealBatch()
        defer { sealing.finish() }
        for slot in try await tx.slots(recipient: .person(member)) {
            let (key, generation) = try slot.open(with: old, expecting: slot.record)
            defer { key.wipe() }
            let renewed = try Slot.make(
                record: slot.record, generation: generation, key: key, recipient: slot.recipient,
                to: new, batch: sealing)
            try await tx.deleteSlot(record: slot.record, recipient: slot.recipient)
            try await tx.insert(renewed)
        }
        for (holder, publicKey) in published {
            for box in try await tx.objects(kind: ObjectKind.groupMember, key: holder)
            where MemberBoxID(box.id)?.member == member {
                let secret = try BoundBox.open(
                    box.body, kind: .groupMember, binding: box.id, with: old,
                    what: "the \(holder) box")
                defer { secret.wipe() }
                let matches = (try? KeyAgreementPrivateKey(secret: secret))?.publicKey == publicKey
                guard matches else {
                    throw TutelaError.tampered(
                        "the \(holder) box of \(member) does not hold the key published for it")
                }
                try await tx.put(
                    StoredObject(
                        kind: box.kind, id: box.id, key: box.key,
                        body: try BoundBox.seal(
                            secret, kind: .groupMember, binding: box.id, to: new)))
            }
        }
    }

    /// Re-wraps everything sealed to older versions of `role`'s group key — key slots and break-glass
    /// shares, never contents — to the current version, in batches of `batchSize`, each one
    /// transaction. Safe to interrupt and run again: it picks up what is left. Done by a member who
    /// holds the old versions' keys. Afterwards the old versions' member copies are deleted.
    public func rewrapGroup(
        _ role: Role, batchSize: Int = 500,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) async throws -> RewrapSummary {
        // Never move older records onto a key someone who left may hold: a due key is replaced
        // first, by this member.
        _ = try await makeGroupKey(role, change: .due)
        return try await session.decidingAfresh {
            guard let current = directory.groups[role] else {
                throw TutelaError.notFound("the \(role.rawValue) group has no key")
            }
            // Only a member who opens the current key — confirmed against the published one —
            // moves anything to it: else a bad or missing box would strand every old slot.
            _ = try await groupKey(role)
            let started = Date()
            let newKey = current.publicKey
            var slotCount = 0
            var shareCount = 0
            var retired: [Int] = []
            var total = 0
            for version in 1..<max(1, current.version) {
                let boxes = try await store.boxCount(
                    recipient: Recipient.group(role, version: version))
                total += boxes.slots + boxes.shares
            }
            for version in stride(from: current.version - 1, through: 1, by: -1) {
                let oldGroup = Recipient.group(role, version: version)
                let old = oldGroup.description
                let boxID = MemberBoxID(group: oldGroup, member: principal.id).description
                guard
                    let box = try await store.objects(kind: ObjectKind.groupMember, key: old).first(
                        where: { $0.id == boxID })
                else {
                    if try await store.objects(kind: ObjectKind.groupMember, key: old).isEmpty {
                        continue
                    }
                    throw TutelaError.denied(
                        "'\(principal.id)' holds no copy of \(old), so cannot re-wrap what is sealed to it",
                        hint: "a member who belonged to the group before the rotation runs this")
                }
                guard let published = try directory.groupPublicKey(role, version: version) else {
                    throw TutelaError.tampered("no statement published \(old)")
                }
                let oldKey = try session.openMemberBox(
                    box, id: boxID, publishedKey: published, group: oldGroup)
                // Slots, a batch at a time.
                while true {
                    let batch = try await store.slots(recipient: oldGroup, limit: batchSize)
                    if batch.isEmpty { break }
                    var replacements: [Slot] = []
                    // The new form (#26): one ephemeral key for the transaction's slots.
                    let sealing = SealBatch()
                    defer { sealing.finish() }
                    for slot in batch {
                        let (key, generation) = try slot.open(with: oldKey, expecting: slot.record)
                        // What an old slot holds is confirmed against its record's envelope before it
                        // is sealed to the new key: a slot planted under the old (public) key must not
                        // become a genuine-looking one.
                        // Nothing of the record is shown: an officer who is the learner's parent
                        // moves its slot as any other (Policy/Family.swift).
                        let (_, envelope) = try await load(
                            slot.record, for: .groupRewrap, concealing: false)
                        guard generation == envelope.generation else {
                            key.wipe()
                            throw TutelaError.tampered(
                                "the \(old) slot of \(slot.record) is for another generation of it")
                        }
                        do { try await confirmDataKey(key, of: envelope) } catch {
                            key.wipe()
                            throw error
                        }
                        replacements.append(
                            try Slot.make(
                                record: slot.record, generation: generation, key: key,
                                recipient: current.holder, to: newKey, batch: sealing))
                        key.wipe()
                    }
                    // Every box sealed: the batch key goes before the write, not after it.
                    sealing.finish()
                    let entry = auditEntry(
                        .groupRewrap, subject: current.holder.description,
                        reason: "\(batch.count) slots from \(old)")
                    let identity = self.identity
                    let done = batch
                    let made = replacements
                    try await write { tx in
                        for (oldSlot, newSlot) in zip(done, made) {
                            try await tx.deleteSlot(
                                record: oldSlot.record, recipient: oldSlot.recipient)
                            try await tx.deleteSlot(
                                record: newSlot.record, recipient: newSlot.recipient)
                            try await tx.insert(newSlot)
                        }
                        try await Session.appendAudit(entry, tx: tx, signer: identity)
                    }
                    slotCount += batch.count
                    progress?(slotCount + shareCount, total)
                }
                // Break-glass shares sealed to the old version, a batch per transaction.
                var after: RecordID?
                while true {
                    let shares = try await store.shares(
                        holder: oldGroup, after: after, limit: batchSize)
                    guard let last = shares.last else { break }
                    after = last.record
                    var moved: [(from: StoredShare, to: StoredShare)] = []
                    let sealing = SealBatch()
                    defer { sealing.finish() }
                    for stored in shares {
                        let share = try BoundBox.open(
                            stored.body, kind: .share, binding: stored.id.description, with: oldKey,
                            what: "share \(stored.id)")
                        let id = ShareID(record: stored.record, holder: current.holder)
                        moved.append(
                            (
                                stored,
                                StoredShare(
                                    record: stored.record, holder: current.holder,
                                    body: try BoundBox.seal(
                                        share, kind: .share, binding: id.description, to: newKey,
                                        batch: sealing))
                            ))
                        share.wipe()
                    }
                    sealing.finish()
                    let entry = auditEntry(
                        .groupRewrap, subject: current.holder.description,
                        reason: "\(moved.count) break-glass shares from \(old)")
                    let identity = self.identity
                    let sharesToMove = moved
                    try await write { tx in
                        for (from, to) in sharesToMove {
                            try await tx.deleteShare(record: from.record, holder: from.holder)
                            try await tx.put(to)
                        }
                        try await Session.appendAudit(entry, tx: tx, signer: identity)
                    }
                    shareCount += moved.count
                    progress?(slotCount + shareCount, total)
                }
                let oldBoxes = try await store.objects(kind: ObjectKind.groupMember, key: old)
                let entry = auditEntry(
                    .groupRewrap, subject: current.holder.description, reason: "\(old) retired")
                let identity = self.identity
                try await write { tx in
                    for box in oldBoxes { try await tx.deleteObject(kind: box.kind, id: box.id) }
                    try await Session.appendAudit(entry, tx: tx, signer: identity)
                }
                retired.append(version)
            }
            return RewrapSummary(
                group: current.holder.description, slots: slotCount, shares: shareCount,
                retiredVersions: retired.sorted(),
                seconds: Date().timeIntervalSince(started))
        }
    }

}

extension Session {
    /// Key lifecycle, as this person.
    public var lifecycle: Lifecycle { Lifecycle(session: self) }
}
