import TutelaCrypto

/// The retention check: where every record stands, worked out from labels, directory facts and
/// signed facts on every core, a page of labels at a time, and compared with the signed state.
extension Retention {

    /// Where every record (or one) stands on `asOf`, from labels, directory facts, flags, holds and
    /// review decisions — never from contents. Asked as ``check(asOf:)`` is: only by someone who
    /// reviews retention (refused and audited otherwise), and never about their own family's
    /// records (left out of the whole check; one of them asked about alone is refused, in the same
    /// words flagged or not — Policy/Family.swift).
    public func status(
        asOf: CalendarDate, record only: RecordID? = nil, lookAheadDays: Int = 90
    ) async throws
        -> [RetentionStatus]
    {
        var result: [RetentionStatus] = []
        try await forEachStatus(asOf: asOf, record: only, lookAheadDays: lookAheadDays) {
            result.append($0)
        }
        return result
    }

    /// The same, handed over one record at a time in storage order: labels are read a page at a
    /// time and worked out on every core, so checking a million records keeps memory flat.
    public func forEachStatus(
        asOf: CalendarDate, record only: RecordID? = nil, lookAheadDays: Int = 90,
        _ each: (RetentionStatus) throws -> Void
    ) async throws {
        try await requireToCheck()
        if let only { try await refuseFamilyStep(only, .retentionCheck) }
        try await forEachStatus(
            asOf: asOf, record: only, lookAheadDays: lookAheadDays, countingOnly: [],
            tally: { _, _ in }, each)
    }

    /// One record's standing, for a step already allowed to ask (a retention review, a destruction).
    func standing(of recordID: RecordID, asOf: CalendarDate) async throws -> RetentionStatus? {
        var found: RetentionStatus?
        try await forEachStatus(
            asOf: asOf, record: recordID, countingOnly: [], tally: { _, _ in },
            { found = $0 })
        return found
    }

    /// The same; an ordinary record (no flag, tombstone, hold or review) whose standing is in
    /// `countingOnly` goes to `tally` as its class and standing, its label never built.
    func forEachStatus(
        asOf: CalendarDate, record only: RecordID? = nil, lookAheadDays: Int = 90,
        countingOnly: Set<RetentionStatus.Standing>,
        tally: (RecordClass, RetentionStatus.Standing) throws -> Void,
        _ each: (RetentionStatus) throws -> Void
    ) async throws {
        let policy = try policy()
        let directory = self.directory
        // Which records have flags, holds, reviews or certificates: every such fact in the vault,
        // checked against its state, so none can be hidden by deleting its row.
        let store = self.store
        let subjects = try await session.factSubjects([.flag, .hold, .retentionReview, .tombstone])
        let (flags, holds, reviews, tombstones) = (
            subjects[0], subjects[1], subjects[2], subjects[3]
        )
        // The rule text depends only on the class and whether the record is flagged: a table
        // indexed by `slot` (class in declaration order, then flag), not hashed for every record.
        @Sendable func slot(_ recordClass: RecordClass, _ flagged: Bool) -> Int {
            (RecordClass.allCases.firstIndex(of: recordClass) ?? 0) * 2 + (flagged ? 1 : 0)
        }
        var table: [(schedule: RetentionSchedule, rule: String, missing: [String])?] = []
        for recordClass in RecordClass.allCases {
            let retention = try? policy.rules(for: recordClass).retention
            for flagged in [false, true] {
                guard let retention else {
                    table.append(nil)
                    continue
                }
                let schedule = flagged ? retention.flagged : retention.schedule
                let cite = policy.cite(
                    "classes.\(recordClass.rawValue).retention" + (flagged ? ".flagged" : ""),
                    schedule.line)
                // Why a schedule is undetermined depends only on which facts are missing:
                // indexed by `RetentionFacts.missingIndex`.
                let someDay = CalendarDate(daysSinceEpoch: 0)
                let missing = (0..<4).map { bits in
                    schedule.keepUntil.missing(
                        RetentionFacts(
                            created: someDay, learnerLeft: bits & 1 == 0 ? someDay : nil,
                            dateOfBirth: bits & 2 == 0 ? someDay : nil)
                    ).joined(separator: "; ")
                }
                table.append(
                    (
                        schedule,
                        "keep until \(schedule.keepUntil), then \(schedule.then.rawValue) — \(cite)",
                        missing
                    ))
            }
        }
        let rules = table
        func rule(_ label: Label, flagged: Bool) throws(TutelaError)
            -> (schedule: RetentionSchedule, rule: String, missing: [String])
        {
            guard let found = rules[slot(label.recordClass, flagged)] else {
                throw .internal("no retention rule for \(label.recordClass.rawValue)")
            }
            return found
        }
        // For ordinary records, only the text and the one note needed: no tuple of schedule,
        // text and notes retained and released for every record.
        let ruleTexts = rules.map { $0?.rule }
        let ruleNotes = rules.map { $0?.missing ?? [] }
        // Most vaults have few flags, holds, reviews or tombstones: one lookup (or none) per record.
        // Flagged records too: each flag is checked against the policy in force when it was made,
        // as an open checks it, before it moves a record onto the safeguarding schedule.
        let special = tombstones.union(holds).union(reviews).union(flags)
        // What the parallel step needs, as plain values: it then touches no shared reference
        // counts (the rule texts, a learner's names), which both cores would otherwise contend for.
        let learnerFacts = directory.learners.mapValues { (left: $0.leftOn, born: $0.dateOfBirth) }
        @Sendable func facts(created: CalendarDate, learner: LearnerID) -> RetentionFacts {
            let learner = learnerFacts[learner]
            return RetentionFacts(
                created: created, learnerLeft: learner?.left, dateOfBirth: learner?.born)
        }
        let schedules = rules.map { $0?.schedule }
        let lookAhead = asOf.adding(days: lookAheadDays)
        // Where an ordinary record stands: flagged records are special, so its schedule is its
        // class's unflagged one.
        @Sendable func ordinary(
            _ recordClass: RecordClass, created: CalendarDate, learner: LearnerID
        ) throws(TutelaError) -> (
            standing: RetentionStatus.Standing, dueOn: CalendarDate?, facts: RetentionFacts
        ) {
            guard let schedule = schedules[slot(recordClass, false)] else {
                throw .internal("no retention rule for \(recordClass.rawValue)")
            }
            let facts = facts(created: created, learner: learner)
            guard let dueOn = schedule.keepUntil.end(facts) else {
                return (.undetermined, nil, facts)
            }
            return (
                Self.standing(dueOn: dueOn, then: schedule.then, asOf: asOf, lookAhead: lookAhead),
                dueOn, facts
            )
        }
        // One page of label rows: every row of the vault, proven whole by ``Session/walkLabels(_:)``,
        // or the one record asked about, proven alone.
        // Records about the reader's own family are others' to keep: left out of their check,
        // flagged or not (Policy/Family.swift).
        let family = only == nil ? Set(directory.learners(familyOf: principal.id)) : []
        func work(_ rows: [StoredLabel]) async throws {
            let rows = family.isEmpty ? rows : rows.filter { !family.contains($0.learner) }
            // Ordinary records (no flag, tombstone, hold or review) are worked out entirely on every
            // core; the rest need their signed objects read, in order, below.
            var computed = try Session.inParallel(rows, reversed: true) {
                row throws(TutelaError) -> Worked in
                let isSpecial = !special.isEmpty && special.contains(row.record.text)
                if !countingOnly.isEmpty, !isSpecial,
                    let fields = Label.retentionFields(
                        row.labelBytes, record: row.record, learner: row.learner)
                {
                    let worked = try ordinary(
                        fields.recordClass, created: fields.created, learner: row.learner)
                    if countingOnly.contains(worked.standing) {
                        return .counted(fields.recordClass, worked.standing)
                    }
                }
                let label = try Label.parse(
                    row.labelBytes, record: row.record, learner: row.learner)
                guard label.record == row.record else {
                    throw TutelaError.tampered("the label row of \(row.record) was altered")
                }
                if isSpecial { return .special(label) }
                let worked = try ordinary(
                    label.recordClass, created: label.created, learner: label.learner)
                return .ordinary(
                    label, worked.standing, worked.dueOn,
                    missing: worked.dueOn == nil ? worked.facts.missingIndex : nil)
            }
            // Made in reverse order and taken from the end, each result is moved out rather than
            // copied and the copy freed with the array.
            while let worked = computed.popLast() {
                let label: Label
                switch consume worked {
                case .counted(let recordClass, let standing):
                    try tally(recordClass, standing)
                    continue
                case .ordinary(let label, let standing, let dueOn, let missing):
                    let index = slot(label.recordClass, false)
                    guard let rule = ruleTexts[index] else {
                        throw TutelaError.internal(
                            "no retention rule for \(label.recordClass.rawValue)")
                    }
                    try each(
                        RetentionStatus(
                            label: label, standing: standing, flagged: false, dueOn: dueOn,
                            rule: rule, note: missing.map { ruleNotes[index][$0] }))
                    continue
                case .special(let special): label = special
                }
                let flagged = flags.contains(label.record.text)
                if flagged, let flag = try await session.flag(label.record) {
                    try flag.check(label: label, directory: directory)
                }
                let (schedule, rule, missing) = try rule(label, flagged: flagged)
                func status(
                    _ standing: RetentionStatus.Standing, _ due: CalendarDate?,
                    _ note: String? = nil
                )
                    -> RetentionStatus
                {
                    RetentionStatus(
                        label: label, standing: standing, flagged: flagged, dueOn: due, rule: rule,
                        note: note)
                }
                if tombstones.contains(label.record.text) {
                    let c = try await tombstone(label.record)
                    // A destroyed record's envelope is gone; a certificate for one still stored
                    // was written in, to hide it from destruction.
                    guard try await store.record(label.record) == nil else {
                        throw TutelaError(
                            .tampered,
                            "\(label.record) has a destruction certificate but is still stored",
                            hint: AuditLog.restoreHint)
                    }
                    try each(
                        status(
                            .destroyed, nil,
                            c.map { "destroyed \(Timestamp.iso($0.time)) by \($0.authoriser)" }))
                    continue
                }
                if holds.contains(label.record.text), let h = try await hold(label) {
                    try each(status(.held, nil, "held by \(h.by): \(h.reason)"))
                    continue
                }
                let facts = facts(created: label.created, learner: label.learner)
                var due = schedule.keepUntil.end(facts)
                var outcome = schedule.then
                var note: String?
                if reviews.contains(label.record.text), outcome == .review,
                    let decision = try await retentionDecision(
                        label.record, reviewDue: due, asOf: asOf)
                {
                    if let until = decision.keepUntil {
                        due = until
                        outcome = .review
                        note = "kept by \(decision.by) until \(until), then review"
                    } else {
                        outcome = .destroy
                        note = "review by \(decision.by): destroy"
                        due = due.map { min($0, asOf) } ?? asOf
                    }
                }
                guard let dueOn = due else {
                    try each(status(.undetermined, nil, missing[facts.missingIndex]))
                    continue
                }
                try each(
                    status(
                        Self.standing(
                            dueOn: dueOn, then: outcome, asOf: asOf, lookAhead: lookAhead),
                        dueOn, note))
            }
        }
        if let only {
            try await work(try await provenLabelRow(only))
        } else {
            try await session.walkLabels(work)
        }
    }

    /// A record worked out in parallel, or one whose signed objects must be read first.
    fileprivate enum Worked: Sendable {
        /// Worked out from the label alone (never flagged: a flagged record is special); `missing`
        /// indexes the undetermined-schedule notes.
        case ordinary(Label, RetentionStatus.Standing, CalendarDate?, missing: Int?)
        case special(Label)
        /// Only counted: its class and standing.
        case counted(RecordClass, RetentionStatus.Standing)
    }

    /// Where a record whose period ends on `dueOn` stands on `asOf`.
    static func standing(
        dueOn: CalendarDate, then: Disposition, asOf: CalendarDate,
        lookAhead: CalendarDate
    ) -> RetentionStatus.Standing {
        dueOn <= asOf
            ? (then == .destroy ? .due : .review) : dueOn <= lookAhead ? .upcoming : .notDue
    }

    /// `record`'s label row, proven: while the record is stored, by its verified envelope (the
    /// author's signed label) found in its learner's list as the vault's state files it (a label
    /// and envelope someone signed and stored in its place are not); once destroyed, by the hash
    /// of the label its destruction certificate (a verified fact) names — a certificate without
    /// its label row is tampering, not "no record".
    func provenLabelRow(_ record: RecordID) async throws -> [StoredLabel] {
        if let stored = try await session.verifiedRecord(record) {
            let envelope = try session.verifiedEnvelope(stored, id: record)
            let filed = try await session.filedLabels([.learner(envelope.label.learner)])
            guard filed.contains(envelope.label) else {
                throw TutelaError(
                    .tampered,
                    "the label of \(record) is not the one the vault filed for it",
                    hint: AuditLog.restoreHint)
            }
            return [
                StoredLabel(
                    record: record, learner: envelope.label.learner, labelBytes: stored.labelBytes)
            ]
        }
        let (row, certificate) = (try await store.label(record), try await tombstone(record))
        guard let row else {
            guard certificate == nil else {
                throw TutelaError(
                    .tampered, "\(record) was destroyed, but its label row is missing",
                    hint: AuditLog.restoreHint)
            }
            return []
        }
        guard let certificate,
            certificate.labelHash == Hex.encode(try StateMap.hash(row.labelBytes))
        else {
            throw TutelaError(
                .tampered,
                "the label row of \(record) matches neither a stored record nor its destruction "
                    + "certificate",
                hint: AuditLog.restoreHint)
        }
        return [row]
    }
}
