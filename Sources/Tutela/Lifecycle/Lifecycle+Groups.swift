import Foundation
import TutelaCrypto

extension Lifecycle {
    /// Why a group key is being made, which decides when there is nothing to do.
    enum GroupKeyChange {
        /// The group's first key: refused when it has one.
        case create
        /// A replacement asked for now: refused when it has none.
        case rotate
        /// A replacement queued by someone's departure: nothing when none is due (any more).
        case due
    }

    /// Makes `role`'s first group key, as ``makeGroupKey(_:change:)`` does: run by the first
    /// holder of the role to need it.
    /// - Throws: `.exists` when the group has a key already (``rotateGroupKey(_:)`` replaces it).
    @discardableResult
    public func createGroupKey(_ role: Role) async throws -> GroupKey {
        guard let made = try await makeGroupKey(role, change: .create) else {
            throw TutelaError.internal("group key lost")
        }
        return made
    }

    /// Replaces `role`'s group key now, as ``makeGroupKey(_:change:)`` does: for a member who
    /// suspects the key was exposed, or to do a queued rotation at once.
    /// - Throws: `.notFound` when the group has no key yet.
    @discardableResult
    public func rotateGroupKey(_ role: Role) async throws -> GroupKey {
        guard let made = try await makeGroupKey(role, change: .rotate) else {
            throw TutelaError.internal("group key lost")
        }
        return made
    }

    /// Replaces the key of every group this person holds that is due for a new one (someone who
    /// held it left, was revoked or had their keys reissued). The CLI runs this before each
    /// command of a member, so a rotation queued by an administrator is done by the next member to
    /// use Tutela. A group another member replaced meanwhile is left as they made it.
    /// - Returns: the new group keys.
    public func rotateDueGroups() async throws -> [GroupKey] {
        // What is due is read from the directory as it is now, not as this session first saw it.
        try await session.refresh()
        var made: [GroupKey] = []
        for role in principal.roles where directory.groups[role]?.rotationDue != nil {
            do {
                if let group = try await makeGroupKey(role, change: .due) { made.append(group) }
            } catch let error as TutelaError where error.kind == .tryAgain {
                // Another member's command wrote to the directory at the same moment: the next
                // command sees the directory as it is then, and does what is still due.
                continue
            }
        }
        return made
    }

    /// What a member's catch-up did for their groups.
    public struct GroupCatchUp: Sendable {
        /// Group keys replaced because someone left (``rotateDueGroups()``).
        public var rotated: [GroupKey] = []
        /// First group keys made, for groups the policy needs that had none.
        public var created: [GroupKey] = []
        /// Members given a group key they lacked, by group.
        public var synced: [(role: Role, members: [String])] = []
    }

    /// The groups the policy in force seals to: those that open flagged records and those that
    /// approve break-glass.
    func neededGroups() -> Set<Role> {
        guard let policy = directory.policy else { return [] }
        return Set(
            policy.classes.values.flatMap {
                $0.safeguarding.openFlagged.map(\.value)
                    + ($0.safeguarding.breakGlass?.approvers ?? [])
            } + (policy.identityRecovery?.approvers ?? []))
    }

    /// The work a group member's command does first, so that no one has to remember a hidden step:
    /// replaces due group keys, makes the first key of a group the policy needs and this person
    /// belongs to, and gives the current key to holders enrolled since (each audited). Work that
    /// cannot be done now (another command wrote at the same moment) is left for the next command.
    public func catchUpGroups() async throws -> GroupCatchUp {
        var done = GroupCatchUp()
        done.rotated = try await rotateDueGroups()
        for role in neededGroups().sorted(by: { $0.rawValue < $1.rawValue })
        where principal.has(role) {
            do {
                if directory.groups[role] == nil {
                    done.created.append(try await createGroupKey(role))
                } else if directory.groups[role]?.rotationDue == nil,
                    try await !membersWithoutKey(role).isEmpty
                {
                    done.synced.append((role, try await syncGroup(role)))
                }
            } catch let error as TutelaError where [.tryAgain, .exists].contains(error.kind) {
                continue
            }
        }
        return done
    }

    /// Holders of `role` with no box for its current key.
    func membersWithoutKey(_ role: Role) async throws -> [Principal] {
        guard let group = directory.groups[role] else { return [] }
        let filed = Set(
            try await store.objects(kind: ObjectKind.groupMember, key: group.holder.description)
                .map(\.id))
        return directory.holders(of: role).filter {
            !filed.contains(MemberBoxID(group: group.holder, member: $0.id).description)
        }
    }

    /// Makes the next version of `role`'s group key here, in this holder's own process, seals it to
    /// every current holder of the role (this one included) and publishes its public key in a
    /// directory statement this holder signs. The first key of a group and every replacement are
    /// made this way: an administrator who does not hold the role never has the private key.
    /// Older versions stay until a member runs ``rewrapGroup(_:batchSize:progress:)``.
    /// - Returns: the new key, or nil for a `.due` change no longer due.
    func makeGroupKey(_ role: Role, change: GroupKeyChange) async throws -> GroupKey? {
        try await session.decidingAfresh {
            let current = directory.groups[role]
            switch (change, current) {
            case (.create, let group?):
                throw TutelaError.exists(
                    "the \(role.rawValue) group already has a key (\(group.holder))",
                    hint: "to replace it: tutela group rotate \(role.rawValue)")
            case (.rotate, nil):
                throw TutelaError.notFound(
                    "the \(role.rawValue) group has no key yet",
                    hint: "make its first: tutela group create \(role.rawValue)")
            case (.due, let group) where group?.rotationDue == nil:
                return nil
            default: break
            }
            guard principal.has(role) else {
                throw TutelaError.denied(
                    "only a holder of the \(role.rawValue) role makes its group key",
                    hint: "a member of the group runs: tutela group "
                        + (change == .create ? "create" : "rotate") + " \(role.rawValue) --as ID")
            }
            let key: KeyAgreementPrivateKey
            do { key = try KeyAgreementPrivateKey() } catch {
                throw TutelaError.internal("\(error)")
            }
            let version = (current?.version ?? 0) + 1
            let group = Recipient.group(role, version: version)
            let binding = group.description
            let members = try directory.holders(of: role).map { member throws(TutelaError) in
                try Self.memberBox(key, group: group, for: member)
            }
            try await appendStatement(
                .groupKey(role: role, version: version, publicKey: key.publicKey.bytes),
                audit: .groupKey,
                subject: binding
            ) { tx in for m in members { try await tx.put(m) } }
            guard let made = directory.groups[role] else {
                throw TutelaError.internal("group key lost")
            }
            return made
        }
    }

    /// `member`'s box holding `key`, the private key of `group`: sealed to their agreement key and
    /// bound to the box's id, so it opens for them only, filed under that id.
    static func memberBox(
        _ key: KeyAgreementPrivateKey, group: Recipient, for member: Principal
    ) throws(TutelaError) -> StoredObject {
        let id = MemberBoxID(group: group, member: member.id).description
        return StoredObject(
            kind: ObjectKind.groupMember, id: id, key: group.description,
            body: try BoundBox.seal(
                key.secret, kind: .groupMember, binding: id, to: member.identity.agreementKey))
    }

    /// Every group with a key, by role; ``GroupKey/rotationDue`` says which are due to be
    /// replaced (shown until a member has done it).
    public func groups() -> [GroupKey] {
        directory.groups.values.sorted { $0.role.rawValue < $1.role.rawValue }
    }

    /// Seals `role`'s current group key to holders of the role who do not have it yet (someone enrolled
    /// since). Done by a member, who can open the key.
    /// - Returns: the principals added.
    public func syncGroup(_ role: Role) async throws -> [String] {
        try await session.decidingAfresh {
            guard let group = directory.groups[role] else {
                throw TutelaError.notFound(
                    "the \(role.rawValue) group has no key yet",
                    hint: "a member creates it: tutela group create \(role.rawValue) --as ID")
            }
            let key = try await groupKey(role)
            let added = try await membersWithoutKey(role).map { member throws(TutelaError) in
                try Self.memberBox(key, group: group.holder, for: member)
            }
            let entry = auditEntry(
                .groupSync, subject: group.holder.description,
                reason: "added " + added.map(\.id).joined(separator: ", "))
            let identity = self.identity
            let batch = added
            try await write { tx in
                for o in batch { try await tx.put(o) }
                try await Session.appendAudit(entry, tx: tx, signer: identity)
            }
            return added.map { String($0.id.split(separator: "/").last ?? "") }
        }
    }
}
