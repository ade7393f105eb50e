import Foundation
import Synchronization
import TutelaCrypto

/// One person, unlocked: their principal, their identity (keys in secret memory, unlocked by one
/// Argon2id derivation) and the directory as verified when they unlocked — extended by their own
/// statements, and by everyone's when ``refresh()`` is called.
///
/// Made once per command on the command line; a server keeps one per signed-in person for the
/// length of their session and calls ``refresh()`` before each request, which verifies only the
/// directory statements added since.
public final class Session: Sendable {
    /// The vault this session acts in.
    public let vault: Vault
    /// What the vault recorded about itself at `init`.
    public let meta: VaultMeta
    let identity: Identity
    private let verified: Mutex<(directory: Directory, principal: Principal)>

    /// The verified directory.
    public var directory: Directory { verified.withLock { $0.directory } }

    /// Who this session acts as, as the verified directory says now (roles included).
    public var principal: Principal { verified.withLock { $0.principal } }

    init(
        vault: Vault, meta: VaultMeta, directory: Directory, principal: Principal,
        identity: Identity
    ) {
        self.vault = vault
        self.meta = meta
        self.identity = identity
        self.verified = Mutex((directory, principal))
    }

    /// Brings this session's directory up to the vault's, verifying only the statements added since
    /// it was last verified: enrolments, role changes, revocations, policy versions.
    /// - Throws: `.permissionDenied` when this person was revoked meanwhile (the session is of no
    ///   further use); `.tampered` when the statements this session verified were changed or cut
    ///   from the vault, or a new one does not verify.
    public func refresh() async throws {
        let current = directory
        let id = principal.id
        if let head = current.head {
            guard try await store.link(.directory, at: head.sequence) == head else {
                throw TutelaError.tampered(
                    "the directory this session verified was changed or cut in the vault")
            }
        }
        let from = (current.head?.sequence ?? -1) + 1
        let added = try await store.links(.directory, from: from, limit: Int.max)
        guard !added.isEmpty else { return }
        let updated = try current.extended(with: added)
        guard let me = updated.principals[id], !me.revoked else {
            throw TutelaError.denied("'\(id)' was revoked and can no longer act")
        }
        verified.withLock { state in
            // Another refresh or statement of this session may have moved it further meanwhile.
            if (state.directory.head?.sequence ?? -1) < (updated.head?.sequence ?? -1) {
                state = (updated, me)
            }
        }
    }

    var store: any VaultStore { vault.store }

    /// The policy in force. Before any is applied nothing can be sealed or opened.
    func policy() throws(TutelaError) -> Policy {
        guard let policy = directory.policy else {
            throw .denied(
                "no access policy has been applied to this vault, so nothing can be sealed or opened",
                hint:
                    "an administrator applies one: tutela policy apply KeyPolicies/school.yaml --as ID"
            )
        }
        return policy
    }

    var policyVersion: String { directory.policy.map { "\($0.version)" } ?? "none" }

    // MARK: - Directory

    /// Enrols a person with new keys sealed under their own passphrase.
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
            try await tx.insert(sealed)
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
        try await appendStatement(
            .learnerLeft(learner: id, on: date), audit: .learnerLeave, subject: id)
    }

    /// Sets who stands for a learner's parents or carers, home school and work-based provider.
    public func setContacts(_ id: String, _ contacts: LearnerContacts) async throws {
        try requireAdministrator("change learners' contacts")
        try await appendStatement(
            .learnerContacts(learner: id, contacts), audit: .learnerContacts, subject: id)
    }

    func requireAdministrator(_ what: String) throws(TutelaError) {
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
    func appendStatement(
        _ statement: DirectoryStatement, audit action: AuditEntry.Action, subject: String,
        extra: @escaping @Sendable (any VaultTransaction) async throws -> Void = { _ in }
    ) async throws {
        let now = vault.clock.now()
        let current = directory
        var updated = current
        try updated.apply(statement, signer: principal.id, isGenesis: false)
        let entry = AuditEntry(
            action: action, actor: principal.id, subject: subject, outcome: .allowed, reason: nil,
            time: now, policyVersion: updated.policy.map { "\($0.version)" } ?? "none")
        let identity = self.identity
        let link = try await write { tx in
            let last = try await tx.lastLink(.directory)
            guard last?.hash == current.head?.hash else {
                throw TutelaError.tryAgain(
                    "the directory changed while this command ran; run it again")
            }
            try await extra(tx)
            let link = try SignedChain.link(
                .directory, after: last, body: statement.encode(at: now), signer: identity)
            try await tx.append(link, to: .directory)
            try await Self.appendAudit(entry, tx: tx, signer: identity)
            return link
        }
        verified.withLock { state in
            state = (
                updated.advanced(to: link),
                updated.principals[state.principal.id] ?? state.principal
            )
        }
    }

    // MARK: - Records

    /// Seals one tutorial. Returns its label.
    public func seal(_ form: ProgressReview, confidential: Bool) async throws -> Label {
        try await seal(.progressReview(form), as: confidential ? .confidentialTutorial : .tutorial)
    }

    /// Seals one record of `recordClass`. Returns its label.
    public func seal(_ content: RecordContent, as recordClass: RecordClass) async throws -> Label {
        let labels = try await sealBatch([(content, recordClass)])
        guard let label = labels.first else { throw TutelaError.internal("nothing was sealed") }
        return label
    }

    /// Seals tutorials as one transaction: all are stored, with their audit entries, or none is.
    public func sealBatch(_ forms: [(ProgressReview, Bool)]) async throws -> [Label] {
        try await sealBatch(
            forms.map { (.progressReview($0.0), $0.1 ? .confidentialTutorial : .tutorial) })
    }

    /// Seals records as one transaction: all are stored, with their audit entries, or none is.
    public func sealBatch(_ items: [(RecordContent, RecordClass)]) async throws -> [Label] {
        try await commitSeal(try await prepareSeal(items))
    }

    /// A batch sealed in memory and not yet stored: what ``commitSeal(_:)`` writes.
    struct PreparedSeal: Sendable {
        let labels: [Label]
        let records:
            [(record: StoredRecord, learner: String, entry: AuditEntry, shares: [StoredObject])]
        /// Each record's shred key, for the key store; wiped once it is there (or has failed to
        /// get there).
        let shredKeys: [(record: String, key: SecretBytes)]
    }

    /// The first half of sealing a batch: decisions, labels, encodings and all the cryptography,
    /// nothing stored. A refusal is audited here.
    func prepareSeal(_ items: [(RecordContent, RecordClass)]) async throws -> PreparedSeal {
        let policy = try policy()
        let directory = self.directory
        let today = vault.clock.today
        // First, in order: the policy decision, the learner and the label of every item, so that a
        // refusal or a bad item stops the batch before any sealing.
        var planned:
            [(
                content: RecordContent, recordClass: RecordClass, learner: String, wording: String,
                decision: Decision
            )] = []
        var decided: [RecordClass: Decision] = [:]
        for (content, recordClass) in items {
            guard content.fits(recordClass) else {
                throw TutelaError.usage(
                    "this content cannot be sealed as a \(recordClass.rawValue) record")
            }
            let decision = decided[recordClass] ?? policy.decideSeal(recordClass, actor: principal)
            decided[recordClass] = decision
            guard decision.allowed else {
                try await audit(.seal, subject: nil, outcome: .denied, reason: decision.rule)
                throw TutelaError.denied("'\(principal.id)' may not seal records: \(decision.rule)")
            }
            guard let learner = directory.learners[content.learner] else {
                throw TutelaError.invalidInput(
                    "field 'learner': '\(content.learner)' is not a recorded learner",
                    hint: "an administrator adds learners with 'tutela learner add'")
            }
            let rules = try policy.rules(for: recordClass)
            planned.append((content, recordClass, learner.id, rules.label, decision))
        }
        // Then the label, the cryptography and the encodings, independent per record, on every
        // core.
        let identity = self.identity
        let author = principal.id
        let sealed = try Self.inParallel(planned) { item throws(TutelaError) in
            let label = Label(
                record: try Identifier.newRecordID(), recordClass: item.recordClass,
                learner: item.learner, author: author, created: today,
                tutorialDate: item.content.date, policyVersion: "\(policy.version)",
                copies: item.content.copies, wording: item.wording)
            let plaintext = try Self.encode(item.content)
            defer { plaintext.wipe() }
            // Kept in protected memory until the key store has it: ``commitSeal(_:)`` wipes it.
            let shredKey = try Self.newShredKey()
            let (envelope, key) = try Envelope.seal(
                plaintext, label: label, author: identity, shredKey: shredKey)
            defer { key.wipe() }
            let slots = try Self.slots(
                for: label, key: key,
                recipients: policy.recipients(for: label, directory: directory),
                directory: directory)
            let shares = try BreakGlass.shares(
                for: label, key: key, policy: policy, directory: directory)
            let stored = StoredRecord(
                record: label.record, labelBytes: label.canonical,
                envelopeBytes: envelope.canonical, slots: slots)
            return (label, stored, shares, shredKey)
        }
        var prepared: [(StoredRecord, String, AuditEntry, [StoredObject])] = []
        var shredKeys: [(record: String, key: SecretBytes)] = []
        var labels: [Label] = []
        for (item, (label, stored, shares, shredKey)) in zip(planned, sealed) {
            shredKeys.append((label.record, shredKey))
            prepared.append(
                (
                    stored,
                    label.learner,
                    AuditEntry(
                        action: .seal, actor: principal.id, subject: label.record,
                        outcome: .allowed,
                        reason: item.decision.rule, time: vault.clock.now(),
                        policyVersion: "\(policy.version)"),
                    shares
                ))
            labels.append(label)
        }
        return PreparedSeal(labels: labels, records: prepared, shredKeys: shredKeys)
    }

    /// The second half: the shred keys, then the records, shares and audit entries in one
    /// transaction.
    func commitSeal(_ prepared: PreparedSeal) async throws -> [Label] {
        let identity = self.identity
        let batch = prepared.records
        // The key store first: a crash between the two leaves an unused shred key, never a record
        // whose contents cannot be opened.
        do {
            defer { for entry in prepared.shredKeys { entry.key.wipe() } }
            try await store.putShredKeys(prepared.shredKeys)
        } catch let error as TutelaError {
            throw error
        } catch {
            throw TutelaError.tryAgain("the key store could not be written; nothing was sealed")
        }
        try await write { tx in
            for (record, learner, entry, shares) in batch {
                try await tx.insert(record, learner: learner)
                for share in shares { try await tx.put(share) }
                try await Self.appendAudit(entry, tx: tx, signer: identity)
            }
        }
        return prepared.labels
    }

    /// `body` over `items` on every core, results in order (or, `reversed`, in reverse order, for
    /// a caller that takes them off the end one by one: moved out, where reversing the array
    /// afterwards copied every result once more); the first error in item order is thrown.
    static func inParallel<T: Sendable, R: Sendable>(
        _ items: [T], reversed: Bool = false, _ body: @Sendable (T) throws(TutelaError) -> R
    ) throws(TutelaError) -> [R] {
        guard items.count > 1 else {
            let results = try items.map(body)
            return reversed ? results.reversed() : results
        }
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, items.count))
        let chunk = (items.count + workers - 1) / workers
        // Each worker initialises its own contiguous run of the result in place (copying results
        // out of per-worker arrays cost a retain and a release of every string in them), and says
        // under the lock, once, how far it got.
        let done = Mutex<[(range: Range<Int>, count: Int, error: TutelaError?)]>([])
        let results = [R](unsafeUninitializedCapacity: items.count) { buffer, initialized in
            let out = UnsafeSendableBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let range = (worker * chunk)..<min(items.count, (worker + 1) * chunk)
                var count = 0
                var failure: TutelaError?
                do throws(TutelaError) {
                    for i in range {
                        out.initialize(reversed ? items.count - 1 - i : i, to: try body(items[i]))
                        count += 1
                    }
                } catch {
                    failure = error
                }
                done.withLock { $0.append((range, count, failure)) }
            }
            let runs = done.withLock { $0 }
            if runs.count == workers, runs.allSatisfy({ $0.error == nil }) {
                initialized = items.count
            } else {
                // Nothing is handed back: what was made is destroyed and the error thrown below.
                for run in runs {
                    let made = run.range.lowerBound..<(run.range.lowerBound + run.count)
                    out.deinitialize(
                        reversed
                            ? (items.count - made.upperBound)..<(items.count - made.lowerBound)
                            : made)
                }
                initialized = 0
            }
        }
        let runs = done.withLock { $0 }
        if let failure = runs.sorted(by: { $0.range.lowerBound < $1.range.lowerBound })
            .compactMap(\.error).first
        {
            throw failure
        }
        guard results.count == items.count else {
            throw .internal("a parallel step did not finish")
        }
        return results
    }

    static func slots(
        for label: Label, key: SecretBytes, recipients: [String], directory: Directory
    ) throws(TutelaError) -> [Slot] {
        var slots: [Slot] = []
        for recipient in recipients {
            guard let p = directory.principals[recipient] else { continue }
            slots.append(
                try Slot.make(
                    record: label.record, key: key, recipient: recipient,
                    to: p.identity.agreementKey))
        }
        return slots
    }

    /// Opens a record if policy allows, writing the audit entry durably before decrypting.
    /// - Throws: `.notFound` (66), `.permissionDenied` (77), `.tampered` (65),
    ///   `.tryAgain` (75) if the audit entry cannot be written — then nothing is released.
    public func open(_ recordID: String) async throws -> OpenedRecord {
        let policy = try policy()
        let (directory, principal) = (self.directory, self.principal)
        // The shred key of the record's first generation (which nearly every record is in) is read
        // from the key store while the transaction runs. It is no plaintext and opens nothing
        // without a slot's data key; if the record is refused it is dropped, and so wiped, unused.
        let store = self.store
        let early = Task { try? await store.shredKey(Envelope.shredKeyID(recordID, generation: 1)) }
        let released = try await release(recordID, action: .open) {
            input, _ -> ReleaseVerdict<Slot> in
            let decision = policy.decide(
                .open, actor: principal, label: input.envelope.label, state: input.state,
                directory: directory)
            guard decision.allowed else {
                return .refuse(
                    rule: decision.rule,
                    message: "'\(principal.id)' may not open \(recordID): \(decision.rule)")
            }
            guard let slot = input.stored.slots.first(where: { $0.recipient == principal.id })
            else {
                return .refuse(
                    rule: "allowed by policy but no key slot was made for '\(principal.id)'",
                    message: "\(recordID) has no key for '\(principal.id)' yet",
                    hint:
                        "someone who can open it runs 'tutela policy regrant --record \(recordID)'")
            }
            return .release(reason: decision.rule, grant: slot)
        } open: { envelope, slot in
            let shredKey = envelope.generation == 1 ? await early.value : nil
            return OpenedRecord(
                label: envelope.label,
                content: try await decrypt(envelope, slot: slot, shredKey: shredKey))
        }
        switch released {
        case .released(let record): return record
        case .missing: try await missing(recordID, action: .open)
        case .skipped: throw TutelaError.internal("an open was skipped")
        }
    }

    /// Reads a record and checks it against its label row and its author's signature.
    func load(_ recordID: String) async throws -> (StoredRecord, Envelope) {
        guard let stored = try await store.record(recordID) else {
            try await missing(recordID, action: .open)
        }
        return (stored, try verifiedEnvelope(stored, id: recordID))
    }

    /// Opens `slot` with this session's key and decrypts the envelope. Only after the audit entry.
    func decrypt(_ envelope: Envelope, slot: Slot, shredKey: SecretBytes? = nil) async throws
        -> RecordContent
    {
        let key = try slot.open(with: identity, expecting: envelope.label.record)
        defer { key.wipe() }
        return try await decrypt(envelope, dataKey: key, shredKey: shredKey)
    }

    /// Decrypts with a data key (from a slot, a group slot or combined shares) and the shred key,
    /// read from the key store unless the caller has it already.
    func decrypt(_ envelope: Envelope, dataKey: SecretBytes, shredKey known: SecretBytes? = nil)
        async throws -> RecordContent
    {
        let record = envelope.label.record
        let shredKey: SecretBytes
        if let known {
            shredKey = known
        } else {
            shredKey = try await self.shredKey(envelope.shredKeyID)
        }
        defer { shredKey.wipe() }
        let plaintext = try envelope.open(with: dataKey, shredKey: shredKey)
        defer { plaintext.wipe() }
        return try Self.decode(plaintext, as: envelope.label.recordClass, record: record)
    }

    /// A fresh 32-byte shred key.
    static func newShredKey() throws(TutelaError) -> SecretBytes {
        do { return try SecretBytes.random(count: 32) } catch { throw .internal("\(error)") }
    }

    /// The record's shred key from the key store.
    /// - Throws: not found (66) when it was destroyed — in this vault, or after the backup this vault
    ///   was restored from was taken.
    func shredKey(_ record: String) async throws -> SecretBytes {
        guard let key = try await store.shredKey(record) else {
            throw TutelaError.notFound(
                "\(record) was destroyed: its key was shredded, so no copy of it can be opened",
                hint: "this vault may be a backup taken before the record was destroyed")
        }
        return key
    }

    /// Labels this person may see, optionally only one learner's.
    public func labels(learner: String?) async throws -> [Label] {
        if let learner { try Identifier.validate(learner, as: "learner") }
        guard let policy = directory.policy else { return [] }
        let directory = self.directory
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
    func verifiedEnvelope(_ stored: StoredRecord, id: String) throws(TutelaError) -> Envelope {
        try Self.verifiedEnvelope(stored, id: id, directory: directory)
    }

    static func verifiedEnvelope(
        _ stored: StoredRecord, id: String, directory: Directory
    ) throws(TutelaError) -> Envelope {
        let envelope = try Envelope.parse(stored.envelopeBytes)
        guard envelope.label.record == id, envelope.label.canonical == stored.labelBytes else {
            throw .tampered("the label of \(id) does not match its envelope")
        }
        guard let signer = directory.principals[envelope.signer] else {
            throw .tampered("\(id) names an author or sealer who is not enrolled")
        }
        try envelope.verifySignature(author: signer.signingKeys)
        return envelope
    }

    // MARK: - Audit and storage

    /// Writes one audit entry as its own durable transaction; fails closed.
    func audit(
        _ action: AuditEntry.Action, subject: String?, outcome: AuditEntry.Outcome, reason: String?
    ) async throws {
        let entry = AuditEntry(
            action: action, actor: principal.id, subject: subject, outcome: outcome, reason: reason,
            time: vault.clock.now(), policyVersion: policyVersion)
        let identity = self.identity
        try await auditedWrite { tx in try await Self.appendAudit(entry, tx: tx, signer: identity) }
    }

    /// A write whose audit entry must be durable before anything is released: fails closed, turning
    /// a store failure into "nothing was released" (75).
    func auditedWrite<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        do { return try await write(body) } catch let error as TutelaError {
            throw Self.auditFailure(error)
        }
    }

    /// ``auditedWrite(_:)`` without moving the pin: the caller passes the head to
    /// ``auditedPin(_:)`` and releases nothing before that returns.
    func auditedTransaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> (T, ChainLink?) {
        do { return try await transaction(body) } catch let error as TutelaError {
            throw Self.auditFailure(error)
        }
    }

    /// ``movePin(to:)``, failing as an audit entry that could not be written.
    func auditedPin(_ head: ChainLink?) throws {
        do { try movePin(to: head) } catch let error as TutelaError {
            throw Self.auditFailure(error)
        }
    }

    /// A failure to make the audit entry durable: nothing was released.
    static func auditFailure(_ error: TutelaError) -> TutelaError {
        guard error.kind == .tryAgain || error.kind == .internal else { return error }
        return TutelaError.tryAgain(
            "the audit entry could not be written, so nothing was released: \(error.message)",
            hint: error.hint ?? "try again in a moment")
    }

    static func appendAudit(_ entry: AuditEntry, tx: any VaultTransaction, signer: Identity)
        async throws
    {
        let link = try await SignedChain.link(
            .audit, after: try tx.lastLink(.audit), body: entry.canonical, signer: signer)
        try await tx.append(link, to: .audit)
    }

    /// Runs a transaction, then moves this machine's pin to the new audit head.
    func write<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        let (result, head) = try await transaction(body)
        try movePin(to: head)
        return result
    }

    /// Runs a transaction; returns its result and the audit head after it, for ``movePin(to:)``.
    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> (T, ChainLink?) {
        do {
            return try await store.transaction { tx in
                await (try body(tx), try tx.lastLink(.audit))
            }
        } catch let error as TutelaError {
            throw error
        } catch {
            throw TutelaError.tryAgain("the vault could not record this; nothing was changed")
        }
    }

    /// Moves this machine's pin forward to `head` (the audit log's last entry).
    func movePin(to head: ChainLink?) throws {
        guard let head else { return }
        try vault.pins?.save(
            HeadPin(entries: head.sequence + 1, head: Hex.encode(head.hash)),
            vaultID: meta.vaultID,
            replacing: false)
    }

    static func encode(_ content: RecordContent) throws(TutelaError) -> SecretBytes {
        if case .progressReview(let form) = content {
            var writer = JSONWriter(capacity: 4096)
            form.writeJSON(into: &writer)
            defer { writer.wipe() }
            do { return try SecretBytes(copying: writer.bytes) } catch {
                throw .internal("the record could not be encoded")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            var data: Data
            switch content {
            case .progressReview(let form): data = try encoder.encode(form)
            case .informalNote(let note): data = try encoder.encode(note)
            }
            defer { data.resetBytes(in: 0..<data.count) }
            return try SecretBytes(copying: data)
        } catch { throw .internal("the record could not be encoded") }
    }

    static func decode(
        _ plaintext: SecretBytes, as recordClass: RecordClass, record: String
    ) throws(TutelaError) -> RecordContent {
        if recordClass != .informalNote {
            // Tutela's own strict form reader is several times faster than JSONDecoder, which
            // cost as much as everything else `open` does in its transaction. Its messages can
            // name values, so they are never passed on; anything it refuses falls back to the
            // decoder below and then to the plain message there.
            var bytes = plaintext.withUnsafeBytes { [UInt8]($0) }
            defer { for i in bytes.indices { bytes[i] = 0 } }
            if let form = try? ProgressReview.parse(bytes, source: record) {
                return .progressReview(form)
            }
        }
        var data = plaintext.withUnsafeBytes { Data($0) }
        defer { data.resetBytes(in: 0..<data.count) }
        do {
            switch recordClass {
            case .tutorial, .confidentialTutorial:
                return .progressReview(try JSONDecoder().decode(ProgressReview.self, from: data))
            case .informalNote:
                return .informalNote(try JSONDecoder().decode(InformalNote.self, from: data))
            }
        } catch { throw .tampered("the contents of \(record) are not a valid record") }
    }
}

/// A result buffer that workers of ``Session/inParallel(_:_:)`` initialise at disjoint indices.
private struct UnsafeSendableBuffer<R>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<R>

    init(_ buffer: UnsafeMutableBufferPointer<R>) { self.buffer = buffer }

    func initialize(_ index: Int, to value: consuming R) {
        precondition(index >= 0 && index < buffer.count, "index out of the buffer")
        // Never nil here: the buffer holds at least `index + 1` elements.
        if let base = buffer.baseAddress { (base + index).initialize(to: value) }
    }

    func deinitialize(_ range: Range<Int>) {
        guard !range.isEmpty, let base = buffer.baseAddress else { return }
        (base + range.lowerBound).deinitialize(count: range.count)
    }
}
