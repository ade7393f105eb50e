import Foundation
import TutelaCrypto

/// Administration, done as the authority or an administrator it enrolled — never with access to
/// contents: enrolling people and setting their roles, recording learners, leavers and contacts,
/// revoking leavers, new keys after a lost passphrase, group keys, publishing policy, and splitting
/// the authority among trustees. Each change is a signed directory statement.
public struct Administration: SessionService {
    let session: Session

    /// Enrols a person with new keys sealed under their own passphrase.
    /// - Throws: `.permissionDenied` unless this session is the authority or an admin it enrolled;
    ///   `.exists` for an id already enrolled; `.usage` for bad input.
    @discardableResult
    public func enrol(
        _ id: PrincipalID, name: String, roles: [Role], passphrase: Passphrase
    ) async throws -> Principal {
        try await session.decidingAfresh {
            try requireAdministrator("enrol people")
            try Vault.validateName(name)
            try passphrase.validateAsNew()
            let cost = kdfCost()
            let newIdentity = try Identity.generate(principal: id)
            let pub = newIdentity.publicIdentity
            let statement = DirectoryStatement.enrol(
                .init(
                    id: id, name: name, roles: roles.sorted(), signingKey: pub.signingKey.bytes,
                    agreementKey: pub.agreementKey.bytes))
            // Check before the (deliberately slow) passphrase sealing, not only when appending.
            var check = directory
            try check.apply(statement, signer: principal.id, isGenesis: false)
            let sealed = try SealedIdentity.seal(newIdentity, passphrase: passphrase, cost: cost)
            try await appendStatement(statement, audit: .enrol, subject: id.text) { tx in
                try await tx.insert(sealed)
            }
            guard let enrolled = directory.principals[id] else {
                throw TutelaError.internal("enrolment lost")
            }
            return enrolled
        }
    }

    /// Records a learner and their assigned tutor.
    public func addLearner(
        _ id: LearnerID, name: String, tutor: PrincipalID, dateOfBirth: CalendarDate?,
        programme: String?
    ) async throws {
        try await session.decidingAfresh {
            try requireAdministrator("add learners")
            try Vault.validateName(name)
            if let programme { try Vault.validateName(programme) }
            let statement = DirectoryStatement.addLearner(
                .init(
                    id: id, name: name, tutor: tutor, dateOfBirth: dateOfBirth, programme: programme
                ))
            try await appendStatement(statement, audit: .learnerAdd, subject: id.text)
        }
    }

    /// Records that a learner left on `date` (a retention trigger).
    public func learnerLeft(_ id: LearnerID, on date: CalendarDate) async throws {
        try await session.decidingAfresh {
            try requireAdministrator("record leavers")
            try await appendStatement(
                .learnerLeft(learner: id, on: date), audit: .learnerLeave, subject: id.text)
        }
    }

    /// Sets who stands for a learner's parents or carers, home school and work-based provider.
    public func setContacts(_ id: LearnerID, _ contacts: LearnerContacts) async throws {
        try await session.decidingAfresh {
            try requireAdministrator("change learners' contacts")
            try await appendStatement(
                .learnerContacts(learner: id, contacts), audit: .learnerContacts, subject: id.text)
        }
    }

    /// The signed profile's cost (``Directory/kdfProfile``), never the store's row.
    private func kdfCost() -> PasswordKDF.Cost { directory.kdfProfile.cost }

    /// Revokes a leaver: a signed directory statement, after which they can no longer act. Their
    /// direct key slots and group key copies are removed, and every group they belonged to gets a new
    /// key version (a member then runs ``rewrapGroup(_:batchSize:progress:)``). What they signed stays
    /// verifiable.
    /// - Returns: the groups rotated.
    @discardableResult
    public func revoke(_ id: PrincipalID) async throws -> [GroupKey] {
        try await session.decidingAfresh {
            try requireAdministrator("revoke people")
            guard let target = directory.principals[id] else {
                throw TutelaError.notFound("no one is enrolled as '\(id)'")
            }
            let groups = target.roles.compactMap { directory.groups[$0] }
            let every = Array(directory.groups.values)
            // Shares approvers released to them for a break-glass request they made: a leaver
            // with their key and a copy of the files could otherwise rebuild the record's key.
            let requests = try await facts(BreakGlassRequest.self, about: nil)
                .filter { $0.requester == id }.map(\.id.text)
            try await appendStatement(.revoke(principal: id), audit: .revoke, subject: id.text) {
                tx in
                try await Self.removeKeys(of: id, slots: true, groups: every, tx: tx)
                for request in requests {
                    for approval in try await tx.objects(
                        kind: FactKind.approval.rawValue, key: request)
                    {
                        try await tx.deleteObject(kind: approval.kind, id: approval.id)
                    }
                }
            }
            var rotated: [GroupKey] = []
            for group in groups { rotated.append(try await createGroupKey(group.role)) }
            return rotated
        }
    }

    /// Removes `id`'s key slots (`slots`) and their copies of `groups`' keys, every version, in
    /// the transaction `tx` that records the change: listed in that transaction, so none stored
    /// while the command ran survives it.
    private static func removeKeys(
        of id: PrincipalID, slots: Bool, groups: [GroupKey], tx: any VaultTransaction
    ) async throws {
        if slots {
            for slot in try await tx.slots(recipient: .person(id)) {
                try await tx.deleteSlot(record: slot.record, recipient: slot.recipient)
            }
        }
        for group in groups {
            for version in 1...max(1, group.version) {
                let holder = Recipient.group(group.role, version: version).description
                for box in try await tx.objects(kind: ObjectKind.groupMember, key: holder)
                where MemberBoxID(box.id)?.member == id {
                    try await tx.deleteObject(kind: box.kind, id: box.id)
                }
            }
        }
    }

    /// Replaces someone's roles. Leaving a role that holds a group key removes their copy and rotates
    /// the group's key (a member then runs ``rewrapGroup(_:batchSize:progress:)``); joining one is done
    /// by a member's `group sync`.
    /// - Returns: the groups rotated.
    @discardableResult
    public func setRoles(_ id: PrincipalID, _ roles: [Role]) async throws -> [GroupKey] {
        try await session.decidingAfresh {
            try requireAdministrator("change roles")
            guard let target = directory.principals[id] else {
                throw TutelaError.notFound("no one is enrolled as '\(id)'")
            }
            let left = target.roles.filter { !roles.contains($0) }.compactMap {
                directory.groups[$0]
            }
            try await appendStatement(
                .setRoles(principal: id, roles: roles.sorted()), audit: .setRoles, subject: id.text
            ) { tx in try await Self.removeKeys(of: id, slots: false, groups: left, tx: tx) }
            var rotated: [GroupKey] = []
            for group in left { rotated.append(try await createGroupKey(group.role)) }
            return rotated
        }
    }

    /// New keys for someone who lost their passphrase. Their old slots and group copies cannot be
    /// opened by anyone any more and are removed; access comes back through `group sync` and
    /// `policy regrant` by people who can open the records. No back door: nobody else can recover them.
    public func rekey(_ id: PrincipalID, passphrase: Passphrase) async throws {
        try await session.decidingAfresh {
            try requireAdministrator("re-key people")
            try passphrase.validateAsNew()
            guard directory.principals[id] != nil else {
                throw TutelaError.notFound("no one is enrolled as '\(id)'")
            }
            let fresh = try Identity.generate(principal: id)
            let pub = fresh.publicIdentity
            let sealed = try SealedIdentity.seal(fresh, passphrase: passphrase, cost: kdfCost())
            let every = Array(directory.groups.values)
            try await appendStatement(
                .rekey(
                    principal: id, signingKey: pub.signingKey.bytes,
                    agreementKey: pub.agreementKey.bytes),
                audit: .rekey, subject: id.text
            ) { tx in
                try await tx.replace(sealed)
                try await Self.removeKeys(of: id, slots: true, groups: every, tx: tx)
            }
        }
    }

    /// Creates the next version of `role`'s group key and seals it to every current holder of the
    /// role. Administrators only; the public key is a signed directory statement.
    @discardableResult
    public func createGroupKey(_ role: Role) async throws -> GroupKey {
        try await session.decidingAfresh {
            try requireAdministrator("create group keys")
            let key: KeyAgreementPrivateKey
            do { key = try KeyAgreementPrivateKey() } catch {
                throw TutelaError.internal("\(error)")
            }
            let version = (directory.groups[role]?.version ?? 0) + 1
            let group = Recipient.group(role, version: version)
            let binding = group.description
            let members = try directory.holders(of: role).map { member throws(TutelaError) in
                let id = MemberBoxID(group: group, member: member.id).description
                return StoredObject(
                    kind: ObjectKind.groupMember, id: id, key: binding,
                    body: try BoundBox.seal(
                        key.secret, kind: .groupMember, binding: id,
                        to: member.identity.agreementKey))
            }
            try await appendStatement(
                .groupKey(role: role, version: version, publicKey: key.publicKey.bytes),
                audit: .groupKey,
                subject: binding
            ) { tx in for m in members { try await tx.put(m) } }
            guard let group = directory.groups[role] else {
                throw TutelaError.internal("group key lost")
            }
            return group
        }
    }

    /// Publishes `bytes` as the next policy version, signed by this administrator, in one
    /// transaction with its audit entry. A file that does not parse never becomes active.
    /// - Returns: the published policy and the records whose slots no longer match it.
    public func applyPolicy(_ bytes: [UInt8], source: String) async throws -> (Policy, [SlotChange])
    {
        try await session.decidingAfresh {
            try requireAdministrator("apply policies")
            _ = try Policy.parse(bytes, source: source)
            let version = (directory.policy?.version ?? 0) + 1
            try await appendStatement(
                .publishPolicy(version: version, text: bytes), audit: .policyApply,
                subject: "policy v\(version)")
            return (try policy(), try await session.lifecycle.slotChanges(record: nil))
        }
    }

    /// Splits the authority's keys into `shares` trustee shares, any `threshold` of which rebuild it.
    /// Only the authority itself can do this.
    public func splitAuthority(shares: Int, threshold: Int) async throws -> [AuthorityShare] {
        try await session.decidingAfresh {
            guard principal.isAuthority else {
                throw TutelaError.denied("only the authority can split its own keys")
            }
            guard threshold >= 2, threshold <= shares, shares <= 255 else {
                throw TutelaError.usage(
                    "choose 2 ≤ threshold ≤ shares ≤ 255 (got \(threshold) of \(shares))")
            }
            let seeds: [SecretShare]
            let agreements: [SecretShare]
            do {
                seeds = try SecretSharing.split(
                    identity.signing.seed, threshold: threshold, shareCount: shares)
                agreements = try SecretSharing.split(
                    identity.agreement.secret, threshold: threshold, shareCount: shares)
            } catch { throw TutelaError.internal("\(error)") }
            try await record(
                auditEntry(
                    .authoritySplit, subject: principal.id.text,
                    reason: "\(threshold) of \(shares) shares"),
                notify: [])
            let fingerprint = principal.identity.fingerprint
            return zip(seeds, agreements).map { s, a in
                AuthorityShare(
                    vaultID: meta.vaultID, authority: principal.id, fingerprint: fingerprint,
                    threshold: threshold,
                    index: s.index, seed: s, agreement: a)
            }
        }
    }

}

extension Session {
    /// Administration, as this person.
    public var administration: Administration { Administration(session: self) }
}
