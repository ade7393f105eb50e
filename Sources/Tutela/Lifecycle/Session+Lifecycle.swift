import Foundation
import TutelaCrypto

/// What a group re-wrap did.
public struct RewrapSummary: Sendable, Equatable, Encodable {
    public let group: String
    public let slots: Int
    public let shares: Int
    /// Older group key versions whose member boxes were deleted once nothing was left sealed to them.
    public let retiredVersions: [Int]
    public let seconds: Double
}

extension Session {
    // MARK: - Passphrases and keys

    /// Changes this person's passphrase: re-seals their identity only; nothing else changes.
    public func changePassphrase(to passphrase: Passphrase) async throws {
        try passphrase.validateAsNew()
        guard let profile = PasswordKDF.Profile(rawValue: meta.kdfProfile) else {
            throw TutelaError.tampered("the vault records an unknown key-derivation profile")
        }
        let sealed = try SealedIdentity.seal(identity, passphrase: passphrase, cost: profile.cost)
        let entry = auditEntry(.passphraseChange, subject: principal.id, reason: nil)
        let identity = self.identity
        try await write { tx in
            try await tx.replace(sealed)
            try await Self.appendAudit(entry, tx: tx, signer: identity)
        }
    }

    /// Revokes a leaver: a signed directory statement, after which they can no longer act. Their
    /// direct key slots and group key copies are removed, and every group they belonged to gets a new
    /// key version (a member then runs ``rewrapGroup(_:batchSize:progress:)``). What they signed stays
    /// verifiable.
    /// - Returns: the groups rotated.
    @discardableResult
    public func revoke(_ id: String) async throws -> [GroupKey] {
        try requireAdministrator("revoke people")
        guard let target = directory.principals[id] else {
            throw TutelaError.notFound("no one is enrolled as '\(id)'")
        }
        let groups = target.roles.compactMap { directory.groups[$0] }
        let boxes = try await memberBoxes(of: id)
        let slots = try await store.slots(recipient: id, limit: Int.max)
        try await appendStatement(.revoke(principal: id), audit: .revoke, subject: id) { tx in
            for slot in slots {
                try await tx.deleteSlot(record: slot.record, recipient: slot.recipient)
            }
            for box in boxes { try await tx.deleteObject(kind: box.kind, id: box.id) }
        }
        var rotated: [GroupKey] = []
        for group in groups { rotated.append(try await createGroupKey(group.role)) }
        return rotated
    }

    /// Replaces someone's roles. Leaving a role that holds a group key removes their copy and rotates
    /// the group's key (a member then runs ``rewrapGroup(_:batchSize:progress:)``); joining one is done
    /// by a member's `group sync`.
    /// - Returns: the groups rotated.
    @discardableResult
    public func setRoles(_ id: String, _ roles: [Role]) async throws -> [GroupKey] {
        try requireAdministrator("change roles")
        guard let target = directory.principals[id] else {
            throw TutelaError.notFound("no one is enrolled as '\(id)'")
        }
        let left = target.roles.filter { !roles.contains($0) }.compactMap { directory.groups[$0] }
        let boxes = try await memberBoxes(of: id).filter { box in
            left.contains { box.id.hasPrefix("group:\($0.role.rawValue)#") }
        }
        try await appendStatement(
            .setRoles(principal: id, roles: roles.sorted()), audit: .setRoles, subject: id
        ) { tx in for box in boxes { try await tx.deleteObject(kind: box.kind, id: box.id) } }
        var rotated: [GroupKey] = []
        for group in left { rotated.append(try await createGroupKey(group.role)) }
        return rotated
    }

    /// New keys for someone who lost their passphrase. Their old slots and group copies cannot be
    /// opened by anyone any more and are removed; access comes back through `group sync` and
    /// `policy regrant` by people who can open the records. No back door: nobody else can recover them.
    public func rekey(_ id: String, passphrase: Passphrase) async throws {
        try requireAdministrator("re-key people")
        try passphrase.validateAsNew()
        guard directory.principals[id] != nil else {
            throw TutelaError.notFound("no one is enrolled as '\(id)'")
        }
        guard let profile = PasswordKDF.Profile(rawValue: meta.kdfProfile) else {
            throw TutelaError.tampered("the vault records an unknown key-derivation profile")
        }
        let fresh = try Identity.generate(principal: id)
        let pub = fresh.publicIdentity
        let sealed = try SealedIdentity.seal(fresh, passphrase: passphrase, cost: profile.cost)
        let boxes = try await memberBoxes(of: id)
        let slots = try await store.slots(recipient: id, limit: Int.max)
        try await appendStatement(
            .rekey(
                principal: id, signingKey: pub.signingKey.bytes,
                agreementKey: pub.agreementKey.bytes),
            audit: .rekey, subject: id
        ) { tx in
            try await tx.replace(sealed)
            for slot in slots {
                try await tx.deleteSlot(record: slot.record, recipient: slot.recipient)
            }
            for box in boxes { try await tx.deleteObject(kind: box.kind, id: box.id) }
        }
    }

    func memberBoxes(of id: String) async throws -> [StoredObject] {
        try await store.objects(kind: ObjectKind.groupMember, key: nil).filter {
            $0.id.hasSuffix("/\(id)")
        }
    }

    // MARK: - Group re-wrap

    /// Re-wraps everything sealed to older versions of `role`'s group key — key slots and break-glass
    /// shares, never contents — to the current version, in batches of `batchSize`, each one
    /// transaction. Safe to interrupt and run again: it picks up what is left. Done by a member who
    /// holds the old versions' keys. Afterwards the old versions' member copies are deleted.
    public func rewrapGroup(
        _ role: Role, batchSize: Int = 500,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) async throws -> RewrapSummary {
        guard let current = directory.groups[role] else {
            throw TutelaError.notFound("the \(role.rawValue) group has no key")
        }
        let started = Date()
        let newKey = current.publicKey
        var slotCount = 0
        var shareCount = 0
        var retired: [Int] = []
        var total = 0
        for version in 1..<max(1, current.version) {
            let boxes = try await store.boxCount(recipient: "group:\(role.rawValue)#\(version)")
            total += boxes.slots + boxes.shares
        }
        for version in stride(from: current.version - 1, through: 1, by: -1) {
            let old = "group:\(role.rawValue)#\(version)"
            let boxID = "\(old)/\(principal.id)"
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
            let secret = try BoundBox.open(
                box.body, binding: old, with: identity.agreement, what: "the \(old) box")
            let oldKey: KeyAgreementPrivateKey
            do { oldKey = try KeyAgreementPrivateKey(secret: secret) } catch {
                throw TutelaError.internal("\(error)")
            }
            // Slots, a batch at a time.
            while true {
                let batch = try await store.slots(recipient: old, limit: batchSize)
                if batch.isEmpty { break }
                var replacements: [Slot] = []
                for slot in batch {
                    let key = try slot.open(with: oldKey, expecting: slot.record)
                    replacements.append(
                        try Slot.make(
                            record: slot.record, key: key, recipient: current.recipient, to: newKey)
                    )
                    key.wipe()
                }
                let entry = auditEntry(
                    .groupRewrap, subject: current.recipient,
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
                    try await Self.appendAudit(entry, tx: tx, signer: identity)
                }
                slotCount += batch.count
                progress?(slotCount + shareCount, total)
            }
            // Break-glass shares sealed to the old version, a batch per transaction.
            var after: String?
            while true {
                let shares = try await store.objects(
                    kind: ObjectKind.share, after: after, idSuffix: "/\(old)", limit: batchSize)
                guard let last = shares.last else { break }
                after = last.id
                var moved: [(StoredObject, StoredObject)] = []
                for object in shares {
                    let share = try BoundBox.open(
                        object.body, binding: object.id, with: oldKey, what: "share \(object.id)")
                    let record = object.key
                    let id = "\(record)/\(current.recipient)"
                    moved.append(
                        (
                            object,
                            StoredObject(
                                kind: ObjectKind.share, id: id, key: record,
                                body: try BoundBox.seal(share, binding: id, to: newKey))
                        ))
                    share.wipe()
                }
                let entry = auditEntry(
                    .groupRewrap, subject: current.recipient,
                    reason: "\(moved.count) break-glass shares from \(old)")
                let identity = self.identity
                let sharesToMove = moved
                try await write { tx in
                    for (from, to) in sharesToMove {
                        try await tx.deleteObject(kind: from.kind, id: from.id)
                        try await tx.put(to)
                    }
                    try await Self.appendAudit(entry, tx: tx, signer: identity)
                }
                shareCount += moved.count
                progress?(slotCount + shareCount, total)
            }
            let oldBoxes = try await store.objects(kind: ObjectKind.groupMember, key: old)
            let entry = auditEntry(
                .groupRewrap, subject: current.recipient, reason: "\(old) retired")
            let identity = self.identity
            try await write { tx in
                for box in oldBoxes { try await tx.deleteObject(kind: box.kind, id: box.id) }
                try await Self.appendAudit(entry, tx: tx, signer: identity)
            }
            retired.append(version)
        }
        try await store.compact()
        return RewrapSummary(
            group: current.recipient, slots: slotCount, shares: shareCount,
            retiredVersions: retired.sorted(),
            seconds: Date().timeIntervalSince(started))
    }
}
