import Foundation
import Synchronization
import TutelaCrypto

/// Sealing records: decisions, labels and every cryptographic step done on every core in memory
/// (``prepareSeal(_:)``), then one transaction that stores the batch with its audit entries
/// (``commitSeal(_:)``).
extension Session {
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
    /// Decided afresh if the directory moves before the batch is stored: a reader revoked or a
    /// policy narrowed meanwhile never receives a slot.
    public func sealBatch(_ items: [(RecordContent, RecordClass)]) async throws -> [Label] {
        try await decidingAfresh { try await commitSeal(try await prepareSeal(items)) }
    }

    /// Stores a batch sealed in memory earlier (``prepareSeal(_:)`` of `items`); if the directory
    /// moved since, the batch is decided and sealed again from `items` before it is stored.
    func commitSeal(
        _ prepared: PreparedSeal, decidedFrom items: [(RecordContent, RecordClass)],
        importing: Importing? = nil
    ) async throws -> [Label] {
        try await decidingAfresh(
            first: { try await commitSeal(prepared) },
            again: { try await commitSeal(try await prepareSeal(items, importing: importing)) },
            firstDecidedUnder: prepared.decidedUnder)
    }

    /// An import's index and the digest of each item it seals, in order.
    struct Importing: Sendable {
        let index: ImportIndex
        let digests: [String]
    }

    /// A batch sealed in memory and not yet stored: what ``commitSeal(_:)`` writes.
    struct PreparedSeal: Sendable {
        let labels: [Label]
        let records:
            [(record: StoredRecord, learner: LearnerID, entry: AuditEntry, shares: [StoredShare])]
        /// Each record's shred key, for the key store; wiped once it is there (or has failed to
        /// get there).
        let shredKeys: [(record: String, key: SecretBytes)]
        /// The directory every decision of the batch was made under.
        let decidedUnder: DecidedUnder
        /// An import's index rows for the batch's records (none for other seals).
        let indexRows: [StoredObject]
        /// Facts stored with the batch's first record, committed by its audit entry (an
        /// addendum's link from the record it amends).
        var leadObjects: [StoredObject] = []
        /// Facts stored after the batch, each with its own audit entry and notices (the flag of
        /// an addendum to a flagged record).
        var followUps: [(objects: [StoredObject], entry: AuditEntry, notify: Set<PrincipalID>)] =
            []
        /// Run first inside the storing transaction: throws if what the batch was decided on has
        /// changed meanwhile (the record an addendum amends flagged, voided or destroyed).
        var recheck: (@Sendable (any VaultTransaction) async throws -> Void)?
    }

    /// The first half of sealing a batch: decisions, labels, encodings and all the cryptography,
    /// nothing stored. A refusal is audited here.
    /// - Parameters:
    ///   - amending: for an addendum, the label of the record it amends: the new record takes its
    ///     learner, class and copies, and names it (``Label/amends``).
    ///   - groups: group keys every record is also sealed to (the officers' groups, for an
    ///     addendum to a flagged record, whose readers are then a flagged record's: no learner's
    ///     or parent's slot).
    func prepareSeal(
        _ items: [(RecordContent, RecordClass)], importing: Importing? = nil,
        amending: Label? = nil, groups: [GroupKey] = []
    ) async throws -> PreparedSeal {
        // The policy from the same directory the batch records it was decided under.
        let directory = self.directory
        let policy = try Self.policy(of: directory)
        let today = vault.clock.today
        // First, in order: the policy decision, the learner and the label of every item, so that a
        // refusal or a bad item stops the batch before any sealing.
        var planned:
            [(
                content: RecordContent, recordClass: RecordClass, learner: LearnerID,
                wording: String,
                decision: Decision
            )] = []
        var decided: [RecordClass: Decision] = [:]
        for (typed, recordClass) in items {
            // A learner id typed in another case is written as recorded, in the label and inside.
            let resolved = directory.resolve(typed.learner)
            let content = resolved == typed.learner ? typed : typed.about(resolved)
            guard content.fits(recordClass) else {
                throw TutelaError.usage(
                    "this content cannot be sealed as a \(recordClass.rawValue) record")
            }
            let first = decided[recordClass] == nil
            let decision = decided[recordClass] ?? policy.decideSeal(recordClass, actor: principal)
            decided[recordClass] = decision
            guard decision.allowed else {
                try await audit(.seal, subject: nil, outcome: .denied, reason: decision.rule)
                throw TutelaError.denied("'\(principal.id)' may not seal records: \(decision.rule)")
            }
            if first {
                // A record is never sealed without the break-glass shares its policy asks for.
                // Asked once the policy allows the seal, so that a refused seal is audited as one.
                try BreakGlass.requireShares(recordClass, policy: policy, directory: directory)
            }
            guard let learner = directory.learners[content.learner] else {
                throw TutelaError.invalidInput(
                    "field 'learner': '\(content.learner)' is not a recorded learner",
                    hint: "an administrator adds learners with 'tutela learner add'")
            }
            // The author of a record reads it, and would see it vanish were it flagged: a parent
            // or carer does not write their own child's records (see Policy/Family.swift).
            if directory.isFamily(principal.id, of: learner.id) {
                let rule = "'\(principal.id)' is \(learner.id) or their parent or carer"
                try await audit(.seal, subject: nil, outcome: .denied, reason: rule)
                throw TutelaError.denied(
                    "\(rule): another member of staff writes \(learner.id)'s records")
            }
            // Dates as they can be: nothing dated after today, or before the learner was born.
            guard content.date <= CalendarDate.latestPast(today: today) else {
                throw TutelaError.invalidInput(
                    "field 'date': \(content.date) is in the future (today is \(today))",
                    hint: "a record is sealed on or after the day it describes")
            }
            if let born = learner.dateOfBirth, content.date < born {
                throw TutelaError.invalidInput(
                    "field 'date': \(content.date) is before \(learner.id)'s date of birth (\(born))"
                )
            }
            let rules = try policy.rules(for: recordClass)
            let wording = amending.map { "Addendum to \($0.record)" } ?? rules.label
            planned.append((content, recordClass, learner.id, wording, decision))
        }
        // Then the label, the cryptography and the encodings, independent per record, on every
        // core.
        let identity = self.identity
        let author = principal.id
        // One ephemeral key per recipient for the whole transaction (#26).
        let batch = SealBatch()
        defer { batch.finish() }
        let sealed = try Self.inParallel(planned) { item throws(TutelaError) in
            let label = Label(
                record: try Identifier.newRecordID(), recordClass: item.recordClass,
                learner: item.learner, author: author, created: today,
                tutorialDate: item.content.date, policyVersion: "\(policy.version)",
                copies: amending?.copies ?? item.content.copies, wording: item.wording,
                sealedUnder: directory.statementCount, amends: amending?.record)
            let plaintext = try Self.encode(item.content)
            defer { plaintext.wipe() }
            // Kept in protected memory until the key store has it: ``commitSeal(_:)`` wipes it.
            let shredKey = try Self.newShredKey()
            let (envelope, key) = try Envelope.seal(
                plaintext, label: label, author: identity, shredKey: shredKey)
            defer { key.wipe() }
            let slots =
                try Self.slots(
                    for: label, generation: envelope.generation, key: key,
                    recipients: policy.recipients(
                        for: label, state: RecordState(flagged: !groups.isEmpty),
                        directory: directory),
                    directory: directory, batch: batch)
                + groups.map { g throws(TutelaError) in
                    try Slot.make(
                        record: label.record, generation: envelope.generation, key: key,
                        recipient: g.holder, to: g.publicKey, batch: batch)
                }
            let shares = try BreakGlass.shares(
                for: label, key: key, policy: policy, directory: directory, batch: batch)
            let stored = StoredRecord(
                record: label.record, labelBytes: label.canonical,
                sealedBytes: envelope.sealedBytes, slots: slots)
            return (label, stored, shares, shredKey)
        }
        var prepared: [(StoredRecord, LearnerID, AuditEntry, [StoredShare])] = []
        var shredKeys: [(record: String, key: SecretBytes)] = []
        var labels: [Label] = []
        for (item, (label, stored, shares, shredKey)) in zip(planned, sealed) {
            shredKeys.append((Envelope.shredKeyID(label.record, generation: 1), shredKey))
            prepared.append(
                (
                    stored,
                    label.learner,
                    AuditEntry(
                        action: amending == nil ? .seal : .addendum, actor: principal.id,
                        subject: label.record.text, outcome: .allowed,
                        reason: (amending.map { "addendum to \($0.record): " } ?? "")
                            + item.decision.rule, time: vault.clock.now(),
                        policyVersion: "\(policy.version)"),
                    shares
                ))
            labels.append(label)
        }
        var indexRows: [StoredObject] = []
        if let importing {
            for (label, digest) in zip(labels, importing.digests) {
                indexRows.append(try importing.index.entry(digest: digest, record: label.record))
            }
        }
        return PreparedSeal(
            labels: labels, records: prepared, shredKeys: shredKeys,
            decidedUnder: DecidedUnder(head: directory.head?.hash), indexRows: indexRows)
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
        let (indexRows, followUps) = (prepared.indexRows, prepared.followUps)
        let (leadObjects, recheck) = (prepared.leadObjects, prepared.recheck)
        let author = principal.id
        try await write { tx in
            try await recheck?(tx)
            for object in leadObjects { try await tx.put(object) }
            try await StateTransaction.of(tx).prefetch(
                inserting: batch.map { ($0.record, $0.learner, author) },
                entries: batch.count + followUps.count)
            for (record, learner, entry, shares) in batch {
                try await tx.insert(record, learner: learner, author: author)
                for share in shares { try await tx.put(share) }
                try await Self.appendAudit(entry, tx: tx, signer: identity)
            }
            for row in indexRows { try await tx.put(row) }
            for followUp in followUps {
                for object in followUp.objects { try await tx.put(object) }
                try await Self.appendAudit(
                    followUp.entry, tx: tx, signer: identity, notify: followUp.notify)
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
        for label: Label, generation: Int, key: SecretBytes, recipients: [PrincipalID],
        directory: Directory, batch: SealBatch? = nil
    ) throws(TutelaError) -> [Slot] {
        var slots: [Slot] = []
        for recipient in recipients {
            guard let p = directory.principals[recipient] else { continue }
            slots.append(
                try Slot.make(
                    record: label.record, generation: generation, key: key,
                    recipient: .person(recipient), to: p.identity.agreementKey, batch: batch))
        }
        return slots
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
