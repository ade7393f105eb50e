import Foundation
import Synchronization
import TutelaCrypto

/// One person's unlocked session: their keys, and the directory as verified when it began (and as
/// extended by this session's own statements since).
public final class Session: Sendable {
    public let vault: Vault
    public let meta: VaultMeta
    public let principal: Principal
    let identity: Identity
    private let verified: Mutex<Directory>

    /// The verified directory.
    public var directory: Directory { verified.withLock { $0 } }

    init(
        vault: Vault, meta: VaultMeta, directory: Directory, principal: Principal,
        identity: Identity
    ) {
        self.vault = vault
        self.meta = meta
        self.principal = principal
        self.identity = identity
        self.verified = Mutex(directory)
    }

    var policy: AccessPolicy { vault.policy }
    var store: any VaultStore { vault.store }

    // MARK: - Directory

    /// Enrols a person with new keys sealed under their own passphrase.
    /// - Returns: the new principal.
    /// - Throws: `.permissionDenied` unless this session is the authority or an admin it enrolled;
    ///   `.exists` for an id already enrolled; `.usage` for bad input.
    @discardableResult
    public func enrol(
        _ id: String, name: String, roles: [Role], passphrase: Passphrase
    ) async throws -> Principal {
        try requireAdministrator("enrol people")
        try Identifier.validate(id, as: "principal")
        try Vault.validateName(name)
        try passphrase.validateAsNew()
        let cost = try kdfCost()
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
        try await appendStatement(statement, audit: .enrol, subject: id) { tx in
            try tx.insert(sealed)
        }
        guard let enrolled = directory.principals[id] else {
            throw TutelaError.internal("enrolment lost")
        }
        return enrolled
    }

    /// Records a learner and their assigned tutor.
    public func addLearner(
        _ id: String, name: String, tutor: String, dateOfBirth: CalendarDate?, programme: String?
    ) async throws {
        try requireAdministrator("add learners")
        try Identifier.validate(id, as: "learner")
        try Vault.validateName(name)
        if let programme { try Vault.validateName(programme) }
        let statement = DirectoryStatement.addLearner(
            .init(id: id, name: name, tutor: tutor, dateOfBirth: dateOfBirth, programme: programme))
        try await appendStatement(statement, audit: .learnerAdd, subject: id)
    }

    /// Records that a learner left on `date` (a retention trigger).
    public func learnerLeft(_ id: String, on date: CalendarDate) async throws {
        try requireAdministrator("record leavers")
        let statement = DirectoryStatement.learnerLeft(learner: id, on: date)
        try await appendStatement(statement, audit: .learnerLeave, subject: id)
    }

    private func requireAdministrator(_ what: String) throws(TutelaError) {
        guard directory.administrator(principal.id) != nil else {
            throw .denied(
                "'\(principal.id)' may not \(what)",
                hint:
                    "administrative commands are done as the authority or an administrator it enrolled"
            )
        }
    }

    private func kdfCost() throws(TutelaError) -> PasswordKDF.Cost {
        guard let profile = PasswordKDF.Profile(rawValue: meta.kdfProfile) else {
            throw .tampered("the vault records an unknown key-derivation profile")
        }
        return profile.cost
    }

    /// Appends a directory statement and its audit entry in one transaction, refusing if the
    /// directory moved on since this session verified it.
    private func appendStatement(
        _ statement: DirectoryStatement, audit action: AuditEntry.Action, subject: String,
        extra: @escaping @Sendable (any VaultTransaction) throws -> Void = { _ in }
    ) async throws {
        let now = vault.clock.now()
        let entry = AuditEntry(
            action: action, actor: principal.id, subject: subject, outcome: .allowed, reason: nil,
            time: now, policyVersion: policy.version)
        let current = directory
        var updated = current
        try updated.apply(statement, signer: principal.id, isGenesis: false)
        let identity = self.identity
        let link = try await write { tx in
            let last = try tx.lastLink(.directory)
            guard last?.hash == current.head?.hash else {
                throw TutelaError.tryAgain(
                    "the directory changed while this command ran; run it again")
            }
            try extra(tx)
            let link = try SignedChain.link(
                .directory, after: last, body: statement.encode(at: now), signer: identity)
            try tx.append(link, to: .directory)
            try Self.appendAudit(entry, tx: tx, signer: identity)
            return link
        }
        verified.withLock { $0 = updated.advanced(to: link) }
    }

    // MARK: - Records

    /// Seals one tutorial. Returns its label.
    public func seal(_ form: ProgressReview, confidential: Bool) async throws -> Label {
        let labels = try await sealBatch([(form, confidential)])
        guard let label = labels.first else { throw TutelaError.internal("nothing was sealed") }
        return label
    }

    /// Seals forms as one transaction: all are stored, with their audit entries, or none is.
    public func sealBatch(_ forms: [(ProgressReview, Bool)]) async throws -> [Label] {
        let decision = policy.decideSeal(actor: principal)
        guard decision.allowed else {
            try await audit(.seal, subject: nil, outcome: .denied, reason: decision.rule)
            throw TutelaError.denied("'\(principal.id)' may not seal records: \(decision.rule)")
        }
        let today = vault.clock.today
        var prepared: [(StoredRecord, String, AuditEntry)] = []
        var labels: [Label] = []
        for (form, confidential) in forms {
            guard let learner = directory.learners[form.learner] else {
                throw TutelaError.data(
                    "field 'learner': '\(form.learner)' is not a recorded learner",
                    hint: "an administrator adds learners with 'tutela learner add'")
            }
            let label = Label(
                record: try Identifier.newRecordID(),
                recordClass: confidential ? .confidentialTutorial : .tutorial,
                learner: learner.id, author: principal.id, created: today, tutorialDate: form.date,
                policyVersion: policy.version)
            let plaintext = try Self.encode(form)
            let (envelope, key) = try Envelope.seal(plaintext, label: label, author: identity)
            var slots: [Slot] = []
            for recipient in policy.recipients(
                recordClass: label.recordClass, author: principal.id, learner: learner,
                directory: directory)
            {
                guard let p = directory.principals[recipient] else { continue }
                slots.append(
                    try Slot.make(
                        record: label.record, key: key, recipient: recipient,
                        to: p.identity.agreementKey))
            }
            key.wipe()
            prepared.append(
                (
                    StoredRecord(
                        record: label.record, labelBytes: label.canonical,
                        envelopeBytes: envelope.canonical, slots: slots),
                    learner.id,
                    AuditEntry(
                        action: .seal, actor: principal.id, subject: label.record,
                        outcome: .allowed,
                        reason: decision.rule, time: vault.clock.now(),
                        policyVersion: policy.version)
                ))
            labels.append(label)
        }
        let identity = self.identity
        let batch = prepared
        try await write { tx in
            for (record, learner, entry) in batch {
                try tx.insert(record, learner: learner)
                try Self.appendAudit(entry, tx: tx, signer: identity)
            }
        }
        return labels
    }

    /// Opens a record if policy allows, writing the audit entry durably before decrypting.
    /// - Throws: `.notFound` (66), `.permissionDenied` (77), `.data` for tampering (65),
    ///   `.tryAgain` (75) if the audit entry cannot be written — then nothing is released.
    public func open(_ recordID: String) async throws -> OpenedRecord {
        guard let stored = try await store.record(recordID) else {
            try await audit(.open, subject: recordID, outcome: .notFound, reason: nil)
            throw TutelaError.notFound("there is no record \(recordID)")
        }
        let envelope = try verifiedEnvelope(stored, id: recordID)
        let label = envelope.label
        let decision = policy.decide(.open, actor: principal, label: label, directory: directory)
        guard decision.allowed else {
            try await audit(.open, subject: recordID, outcome: .denied, reason: decision.rule)
            throw TutelaError.denied("'\(principal.id)' may not open \(recordID): \(decision.rule)")
        }
        guard let slot = stored.slots.first(where: { $0.recipient == principal.id }) else {
            let reason = "allowed by policy but no key slot was made for '\(principal.id)'"
            try await audit(.open, subject: recordID, outcome: .denied, reason: reason)
            throw TutelaError.denied(
                "\(recordID) has no key for '\(principal.id)'",
                hint: "someone who can open it must grant access again")
        }
        // The entry is durable before any plaintext exists.
        try await audit(.open, subject: recordID, outcome: .allowed, reason: decision.rule)
        let key = try slot.open(with: identity, expecting: recordID)
        let plaintext = try envelope.open(with: key)
        key.wipe()
        let form = try Self.decode(plaintext, record: recordID)
        plaintext.wipe()
        return OpenedRecord(label: label, form: form)
    }

    /// Labels this person may see, optionally only one learner's.
    public func labels(learner: String?) async throws -> [Label] {
        if let learner { try Identifier.validate(learner, as: "learner") }
        var result: [Label] = []
        for row in try await store.labels(learner: learner) {
            let label = try Label.parse(row.labelBytes)
            guard label.record == row.record, label.learner == row.learner else {
                throw TutelaError.tampered(
                    "the label row of \(row.record) does not match its label")
            }
            if policy.decide(.viewLabel, actor: principal, label: label, directory: directory)
                .allowed
            {
                result.append(label)
            }
        }
        return result
    }

    /// Parses the stored envelope and checks it against its label row and its author's signature.
    private func verifiedEnvelope(_ stored: StoredRecord, id: String) throws(TutelaError)
        -> Envelope
    {
        let envelope = try Envelope.parse(stored.envelopeBytes)
        guard envelope.label.record == id, envelope.label.canonical == stored.labelBytes else {
            throw .tampered("the label of \(id) does not match its envelope")
        }
        guard let author = directory.principals[envelope.label.author] else {
            throw .tampered("\(id) names an author who is not enrolled")
        }
        try envelope.verifySignature(author: author.identity.signingKey)
        return envelope
    }

    // MARK: - Audit and storage

    /// Writes one audit entry as its own durable transaction.
    func audit(
        _ action: AuditEntry.Action, subject: String?, outcome: AuditEntry.Outcome, reason: String?
    ) async throws {
        let entry = AuditEntry(
            action: action, actor: principal.id, subject: subject, outcome: outcome, reason: reason,
            time: vault.clock.now(), policyVersion: policy.version)
        let identity = self.identity
        do {
            try await write { tx in try Self.appendAudit(entry, tx: tx, signer: identity) }
        } catch let error as TutelaError where error.kind == .tryAgain || error.kind == .internal {
            // Fail closed: without its audit entry nothing is released.
            throw TutelaError.tryAgain(
                "the audit entry could not be written, so nothing was released: \(error.message)",
                hint: error.hint ?? "try again in a moment")
        }
    }

    static func appendAudit(_ entry: AuditEntry, tx: any VaultTransaction, signer: Identity) throws
    {
        let link = try SignedChain.link(
            .audit, after: try tx.lastLink(.audit), body: entry.canonical, signer: signer)
        try tx.append(link, to: .audit)
    }

    /// Runs a transaction; any failure to write becomes "try again" — never a partial write.
    func write<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) throws -> T
    ) async throws -> T {
        let (result, head): (T, ChainLink?)
        do {
            (result, head) = try await store.transaction { tx in
                (try body(tx), try tx.lastLink(.audit))
            }
        } catch let error as TutelaError {
            throw error
        } catch {
            throw TutelaError.tryAgain("the vault could not record this; nothing was changed")
        }
        if let head {
            try vault.pins?.save(
                HeadPin(entries: head.sequence + 1, head: Hex.encode(head.hash)),
                vaultID: meta.vaultID,
                replacing: false)
        }
        return result
    }

    static func encode(_ form: ProgressReview) throws(TutelaError) -> SecretBytes {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            var data = try encoder.encode(form)
            defer { data.resetBytes(in: 0..<data.count) }
            return try SecretBytes(copying: data)
        } catch { throw .internal("the form could not be encoded") }
    }

    static func decode(_ plaintext: SecretBytes, record: String) throws(TutelaError)
        -> ProgressReview
    {
        var data = plaintext.withUnsafeBytes { Data($0) }
        defer { data.resetBytes(in: 0..<data.count) }
        do { return try JSONDecoder().decode(ProgressReview.self, from: data) } catch {
            throw .tampered("the contents of \(record) are not a valid form")
        }
    }
}
