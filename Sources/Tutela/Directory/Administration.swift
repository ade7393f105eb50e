import Foundation
import TutelaCrypto

/// Administration, done as the authority or an administrator it enrolled — never with access to
/// contents: enrolling people and setting their roles, recording learners, leavers and contacts,
/// revoking leavers, new keys after a lost passphrase, group keys, publishing policy, and splitting
/// the authority among trustees. Each change is a signed directory statement.
public struct Administration: SessionService {
    package let session: Session

    /// Invites a person to enrol with `roles`: a signed statement naming them and the public key of
    /// a one-time enrolment code, which is returned — shown once, stored nowhere. The person
    /// activates it on their own device (``Vault/activate(_:code:passphrase:)``), making their own
    /// keys under a passphrase no one else has known: this process never holds a private key of
    /// theirs, nor asks for a passphrase.
    /// - Parameter lifetimeDays: how long the code works (1…30, a week by default).
    /// - Throws: `.permissionDenied` unless this session is the authority or an admin it enrolled;
    ///   `.exists` for an id already enrolled or invited; `.usage` for bad input.
    public func invite(
        _ id: PrincipalID, name: String, roles: [Role],
        lifetimeDays: Int = EnrolmentCode.defaultLifetimeDays
    ) async throws -> EnrolmentCode {
        try await session.decidingAfresh {
            try requireAdministrator("enrol people")
            try Vault.validateName(name)
            let code = try newCode(for: id, lifetimeDays: lifetimeDays)
            try await appendStatement(
                .invite(
                    .init(
                        id: id, name: name, roles: roles.sorted(), codeKey: code.publicKey,
                        expires: code.code.expires)),
                audit: .enrol, subject: id.text)
            return code.code
        }
    }

    /// New keys for someone who lost their passphrase: their current key retires now (nothing it
    /// signs from here counts, and their slots and group copies are removed, being useless), and
    /// they activate new keys with the returned one-time code, as at enrolment. Until then they
    /// hold no role. Every group they held becomes due for a new key, as for a leaver: their old key
    /// may be in other hands. No back door: nobody else can recover what was sealed only to them; access
    /// comes back through `group sync` and `policy regrant` by people who can open the records.
    public func reissue(
        _ id: PrincipalID, lifetimeDays: Int = EnrolmentCode.defaultLifetimeDays,
        confirmed: Bool = false
    ) async throws -> EnrolmentCode {
        try await session.decidingAfresh {
            let id = directory.resolve(id)
            try requireAdministrator("re-key people")
            let code = try newCode(for: id, lifetimeDays: lifetimeDays)
            // Their slots go with their old key: as for a leaver, until they are granted again.
            try await requireReaders(
                .reissue(principal: id, codeKey: code.publicKey, expires: code.code.expires),
                losingKeys: id, confirmed: confirmed, what: "new keys for \(id)")
            let every = Array(directory.groups.values)
            // Their old key may be in other hands: so may shares released to it.
            let requests = try await requestsMade(by: id)
            try await appendStatement(
                .reissue(principal: id, codeKey: code.publicKey, expires: code.code.expires),
                audit: .rekey, subject: id.text
            ) { tx in
                try await Self.removeKeys(of: id, slots: true, groups: every, tx: tx)
                try await Self.removeReleasedShares(for: requests, tx: tx)
            }
            return code.code
        }
    }

    /// The roles `id` holds, or held before a reissue, whose group keys are due to be replaced:
    /// what an administrator is told after revoking, re-rolling or reissuing them.
    public func dueGroups(of id: PrincipalID) -> [Role] {
        (directory.principals[id]?.roles ?? []).filter { directory.groups[$0]?.rotationDue != nil }
    }

    private func newCode(
        for id: PrincipalID, lifetimeDays: Int
    ) throws(TutelaError) -> (code: EnrolmentCode, publicKey: [UInt8]) {
        guard (1...EnrolmentCode.maximumLifetimeDays).contains(lifetimeDays) else {
            throw .usage(
                "an enrolment code lives 1 to \(EnrolmentCode.maximumLifetimeDays) days "
                    + "(got \(lifetimeDays))")
        }
        let expires = session.vault.clock.now() + Int64(lifetimeDays) * 86_400
        let code = try EnrolmentCode.generate(for: id, expires: expires)
        let key = try EnrolmentCode.key(code: code.text, principal: id, vaultID: meta.vaultID)
        return (code, key.publicKey.bytes)
    }

    /// Records a learner and their assigned tutor, and (if known) the day they enrolled.
    public func addLearner(
        _ id: LearnerID, name: String, tutor: PrincipalID, dateOfBirth: CalendarDate?,
        programme: String?, enrolled: CalendarDate? = nil
    ) async throws {
        try await session.decidingAfresh {
            let tutor = directory.resolve(tutor)
            try requireAdministrator("add learners")
            try Vault.validateName(name)
            if let programme { try Vault.validateName(programme) }
            // A date of birth to come would refuse every record about the learner.
            let today = vault.clock.today
            if let dateOfBirth, dateOfBirth > CalendarDate.latestPast(today: today) {
                throw TutelaError.invalidInput(
                    "the date of birth \(dateOfBirth) is in the future (today is \(today))")
            }
            if let enrolled, let dateOfBirth, enrolled < dateOfBirth {
                throw TutelaError.invalidInput(
                    "the enrolment date \(enrolled) is before the date of birth (\(dateOfBirth))")
            }
            // A learner may be recorded ahead of the term they start; a date years ahead is a slip
            // that would refuse every earlier leaving date.
            if let enrolled, enrolled > today.adding(days: 366) {
                throw TutelaError.invalidInput(
                    "the enrolment date \(enrolled) is more than a year ahead (today is \(today))")
            }
            let statement = DirectoryStatement.addLearner(
                .init(
                    id: id, name: name, tutor: tutor, dateOfBirth: dateOfBirth,
                    programme: programme, enrolled: enrolled))
            try await appendStatement(statement, audit: .learnerAdd, subject: id.text)
        }
    }

    /// Records that a learner left on `date` (a retention trigger).
    public func learnerLeft(_ id: LearnerID, on date: CalendarDate) async throws {
        try await session.decidingAfresh {
            let id = directory.resolve(id)
            try requireAdministrator("record leavers")
            // A leaving date may be ahead (the end of a course is known), never before birth or
            // enrolment. Checked here, where the statement is made, not where statements are
            // replayed: one signed before this check existed must not stop the vault opening.
            if let problem = directory.learners[id]?.leavingProblem(date) {
                throw TutelaError.invalidInput(problem)
            }
            try await appendStatement(
                .learnerLeft(learner: id, on: date), audit: .learnerLeave, subject: id.text)
        }
    }

    /// Corrects a leaving date recorded wrongly, by a signed statement with the reason: to
    /// `date`, or (nil) to "has not left". The record of the first date stays in the directory's
    /// history and the audit log; retention counts from the corrected date from now on. A record
    /// already destroyed under the old date stays destroyed — its certificate says why it was.
    public func correctLeaving(_ id: LearnerID, to date: CalendarDate?, reason: String)
        async throws
    {
        try await session.decidingAfresh {
            let id = directory.resolve(id)
            try requireAdministrator("correct leaving dates")
            let reason = try Session.requireReason(reason, for: "correct a leaving date")
            if let date, let problem = directory.learners[id]?.leavingProblem(date) {
                throw TutelaError.invalidInput(problem)
            }
            try await appendStatement(
                .correctLeaving(learner: id, on: date, reason: reason),
                audit: .learnerLeaveCorrect, subject: id.text,
                reason: "leaving date \(date?.description ?? "withdrawn"): \(reason)")
        }
    }

    /// Sets who stands for a learner's parents or carers, home school and work-based provider.
    public func setContacts(_ id: LearnerID, _ contacts: LearnerContacts) async throws {
        try await session.decidingAfresh {
            let id = directory.resolve(id)
            let contacts = LearnerContacts(
                parents: contacts.parents.map(directory.resolve),
                homeSchool: contacts.homeSchool.map(directory.resolve),
                provider: contacts.provider.map(directory.resolve))
            try requireAdministrator("change learners' contacts")
            try await appendStatement(
                .learnerContacts(learner: id, contacts), audit: .learnerContacts, subject: id.text)
        }
    }

    /// The signed profile's cost (``Directory/kdfProfile``), never the store's row.
    private func kdfCost() -> PasswordKDF.Cost { directory.kdfProfile.cost }

    /// Revokes a leaver: a signed directory statement, after which they can no longer act. Their
    /// direct key slots and group key copies are removed, and every group they belonged to becomes
    /// due for a new key, which the next remaining member to run a command makes
    /// (``Lifecycle/rotateDueGroups()``) — never an administrator. What they signed stays verifiable.
    /// - Returns: the roles whose group keys are now due to be replaced.
    @discardableResult
    public func revoke(_ id: PrincipalID, confirmed: Bool = false) async throws -> [Role] {
        try await session.decidingAfresh {
            let id = directory.resolve(id)
            try requireAdministrator("revoke people")
            if directory.principals[id] == nil, directory.invitations[id] != nil {
                // An enrolment never activated: withdrawing it is all there is to do. (Its own
                // audit action: the id may be invited again, unlike a revoked person's.)
                try await appendStatement(
                    .revoke(principal: id), audit: .withdraw, subject: id.text)
                return []
            }
            guard let target = directory.principals[id] else {
                throw TutelaError.notFound("no one is enrolled as '\(id)'")
            }
            try await requireReaders(
                .revoke(principal: id), losingKeys: id, confirmed: confirmed,
                what: "revoking \(id)")
            let groups = target.roles.compactMap { directory.groups[$0] }
            let every = Array(directory.groups.values)
            // Shares approvers released to them for a break-glass request they made: a leaver
            // with their key and a copy of the files could otherwise rebuild the record's key.
            let requests = try await requestsMade(by: id)
            try await appendStatement(.revoke(principal: id), audit: .revoke, subject: id.text) {
                tx in
                try await Self.removeKeys(of: id, slots: true, groups: every, tx: tx)
                try await Self.removeReleasedShares(for: requests, tx: tx)
            }
            return groups.map(\.role)
        }
    }

    /// The break-glass requests `id` made, by id.
    private func requestsMade(by id: PrincipalID) async throws -> [String] {
        try await facts(BreakGlassRequest.self, about: nil).filter { $0.requester == id }
            .map(\.id.text)
    }

    /// Deletes the approvals (each a share released to the requester) of `requests`.
    static func removeReleasedShares(
        for requests: [String], tx: any VaultTransaction
    ) async throws {
        for request in requests {
            for approval in try await tx.objects(kind: FactKind.approval.rawValue, key: request) {
                try await tx.deleteObject(kind: approval.kind, id: approval.id)
            }
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

    /// Replaces someone's roles. Leaving a role that holds a group key removes their copy and makes
    /// the group's key due for replacement by a remaining member (``Lifecycle/rotateDueGroups()``);
    /// joining one is done by a member's `group sync`.
    /// - Returns: the roles whose group keys are now due to be replaced.
    @discardableResult
    public func setRoles(_ id: PrincipalID, _ roles: [Role], confirmed: Bool = false)
        async throws -> [Role]
    {
        try await session.decidingAfresh {
            let id = directory.resolve(id)
            try requireAdministrator("change roles")
            guard let target = directory.principals[id] else {
                throw TutelaError.notFound("no one is enrolled as '\(id)'")
            }
            // A parent linked to a learner stays one (see Policy/Family.swift). Asked here, not in
            // the directory's rules, so that logs written before still read.
            if !roles.contains(.parentCarer),
                directory.learners.values.contains(where: { $0.contacts.parents.contains(id) })
            {
                throw TutelaError.usage(
                    "'\(id)' is linked to a learner as a parent or carer",
                    hint: "unlink them from the learner's contacts first")
            }
            try await requireReaders(
                .setRoles(principal: id, roles: roles.sorted()), losingKeys: nil,
                confirmed: confirmed, what: "changing \(id)'s roles")
            let left = target.roles.filter { !roles.contains($0) }.compactMap {
                directory.groups[$0]
            }
            try await appendStatement(
                .setRoles(principal: id, roles: roles.sorted()), audit: .setRoles, subject: id.text
            ) { tx in try await Self.removeKeys(of: id, slots: false, groups: left, tx: tx) }
            return left.map(\.role)
        }
    }

    /// New keys for the authority itself, made here, in its own process, under a new passphrase,
    /// its slots and group copies re-wrapped to them. Its fingerprint changes, and trustee share
    /// files made before no longer rebuild it: split it again. (Anyone else gets new keys through
    /// ``reissue(_:lifetimeDays:)`` and their own activation, or a passphrase change.)
    public func rekeyAuthority(passphrase: Passphrase) async throws {
        guard principal.isAuthority else {
            throw TutelaError.denied(
                "only the authority re-keys itself here",
                hint: "an administrator reissues an enrolment code for anyone else")
        }
        try await session.lifecycle.rotateOwnKeys(passphrase: passphrase, audit: .rekey)
    }

    /// Publishes `bytes` as the next policy version, signed by this administrator, in one
    /// transaction with its audit entry. A file that does not parse never becomes active.
    /// - Returns: the published policy and the records whose slots no longer match it.
    public func applyPolicy(_ bytes: [UInt8], source: String) async throws -> (Policy, [SlotChange])
    {
        try await session.decidingAfresh {
            try requireAdministrator("apply policies")
            _ = try Policy.check(bytes, source: source)
            let version = (directory.policy?.version ?? 0) + 1
            try await appendStatement(
                .publishPolicy(version: version, text: bytes), audit: .policyApply,
                subject: "policy v\(version)")
            return (try policy(), try await session.lifecycle.slotChanges(record: nil))
        }
    }

    /// Splits the authority's keys into `shares` trustee shares, any `threshold` of which rebuild it.
    /// Only the authority itself can do this.
    /// - Parameter trustees: who each share is for, in order ("trustee 1", … when not given); their
    ///   names are signed into the files, so a recovery names the trustee whose file is wrong.
    public func splitAuthority(
        shares: Int, threshold: Int, trustees: [String] = []
    ) async throws -> [AuthorityShare] {
        try await session.decidingAfresh {
            guard principal.isAuthority else {
                throw TutelaError.denied("only the authority can split its own keys")
            }
            guard threshold >= 2, threshold <= shares, shares <= 255 else {
                throw TutelaError.usage(
                    "choose 2 ≤ threshold ≤ shares ≤ 255 (got \(threshold) of \(shares))")
            }
            let names = trustees.isEmpty ? (1...shares).map { "trustee \($0)" } : trustees
            guard names.count == shares else {
                throw TutelaError.usage(
                    "name one trustee for each share: \(trustees.count) names for \(shares) shares")
            }
            for name in names
            where name.isEmpty || name.utf8.count > AuthorityShare.maximumTrusteeBytes
                || Identifier.hasControlCharacters(name.utf8) || name.hasPrefix(" ")
                || name.hasSuffix(" ")
            {
                throw TutelaError.usage(
                    "'\(Identifier.printable(name))' is not a trustee name: give one line of text "
                        + "of at most \(AuthorityShare.maximumTrusteeBytes) bytes")
            }
            guard Set(names).count == names.count else {
                throw TutelaError.usage("each trustee is named once")
            }
            let splitID: String
            do { splitID = Hex.encode(try SecureRandom.bytes(count: 16)) } catch {
                throw TutelaError.internal("\(error)")
            }
            let seeds: [SecretShare]
            let agreements: [SecretShare]
            do {
                seeds = try SecretSharing.split(
                    identity.signing.seed, threshold: threshold, shareCount: shares)
                agreements = try SecretSharing.split(
                    identity.agreement.secret, threshold: threshold, shareCount: shares)
            } catch { throw TutelaError.internal("\(error)") }
            let fingerprint = principal.identity.fingerprint
            let files = try zip(seeds, zip(agreements, names)).map {
                s, pair throws(TutelaError) in
                try AuthorityShare.make(
                    vaultID: meta.vaultID, authority: identity, fingerprint: fingerprint,
                    splitID: splitID, trustee: pair.1, shareCount: shares, seed: s,
                    agreement: pair.0)
            }
            try await record(
                auditEntry(
                    .authoritySplit, subject: principal.id.text,
                    reason: "split \(splitID): \(threshold) of \(shares) shares, for "
                        + names.joined(separator: ", ")),
                notify: [])
            return files
        }
    }

}

extension Session {
    /// Administration, as this person.
    public var administration: Administration { Administration(session: self) }
}
