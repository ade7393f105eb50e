/// What a list of records is narrowed to, and which page of it to show.
public struct RecordQuery: Sendable, Equatable {
    /// Only this learner's records.
    public var learner: LearnerID?
    /// Only records this person wrote.
    public var author: PrincipalID?
    /// Only records of this class.
    public var recordClass: RecordClass?
    /// Only tutorials dated on or after this day.
    public var from: CalendarDate?
    /// Only tutorials dated on or before this day.
    public var to: CalendarDate?
    /// Only flagged records: for the roles that open flagged records (the safeguarding team).
    public var flaggedOnly = false
    /// The page to show, counting from 1.
    public var page = 1
    /// Records per page (1…1000).
    public var perPage = RecordQuery.defaultPerPage

    /// How many records a page shows unless told otherwise.
    public static let defaultPerPage = 50
    /// The most records one page shows.
    public static let maximumPerPage = 1000

    /// Every record the reader may see, first page.
    public init(
        learner: LearnerID? = nil, author: PrincipalID? = nil, recordClass: RecordClass? = nil,
        from: CalendarDate? = nil, to: CalendarDate? = nil, flaggedOnly: Bool = false,
        page: Int = 1, perPage: Int = RecordQuery.defaultPerPage
    ) {
        self.learner = learner
        self.author = author
        self.recordClass = recordClass
        self.from = from
        self.to = to
        self.flaggedOnly = flaggedOnly
        self.page = page
        self.perPage = perPage
    }

    /// Whether the label passes every filter that the label alone decides.
    func admits(_ label: Label) -> Bool {
        if let learner, label.learner != learner { return false }
        if let author, label.author != author { return false }
        if let recordClass, label.recordClass != recordClass { return false }
        if let from, label.tutorialDate < from { return false }
        if let to, label.tutorialDate > to { return false }
        return true
    }

    func validated() throws(TutelaError) -> RecordQuery {
        guard page >= 1 else { throw .usage("the page must be 1 or more, not \(page)") }
        guard (1...Self.maximumPerPage).contains(perPage) else {
            throw .usage("a page holds 1–\(Self.maximumPerPage) records, not \(perPage)")
        }
        if let from, let to, from > to {
            throw .usage("the date range ends (\(to)) before it starts (\(from))")
        }
        return self
    }
}

/// A record as a list shows it: its label and what the reader may know about it.
public struct ListedRecord: Sendable, Equatable {
    /// The record's label (never contents).
    public let label: Label
    /// The learner's name, when the reader may list that learner; nil otherwise.
    public let learnerName: String?
    /// Flagged as a safeguarding concern: only ever true for a reader who opens flagged records.
    public let flagged: Bool
    /// Destroyed: only the label remains, with its certificate.
    public let destroyed: Bool
    /// Void: sealed by mistake, and marked so by its author or a head of centre.
    public let void: Bool
}

/// One page of a list of records, newest tutorial first.
public struct RecordPage: Sendable, Equatable {
    /// The records on this page.
    public let records: [ListedRecord]
    /// How many records the whole list holds.
    public let total: Int
    /// This page's number, counting from 1.
    public let page: Int
    /// How many pages the list has (at least 1).
    public let pages: Int
}

/// A person as `principal list` shows them.
public struct ListedPerson: Sendable, Equatable {
    /// Where a person stands.
    public enum Standing: String, Sendable {
        /// Enrolled, with keys of their own.
        case active
        /// Invited with an enrolment code they have not used yet.
        case invited
        /// Waiting to make new keys after an administrator reissued their enrolment.
        case awaitingKeys = "awaiting-keys"
        /// Revoked: they can no longer act.
        case revoked
    }

    /// Their id.
    public let id: PrincipalID
    /// Their name.
    public let name: String
    /// The roles they hold or were given.
    public let roles: [Role]
    /// Whether they can act now.
    public let standing: Standing
}

/// Finding things: records by their labels, learners and people — each list holding only what
/// the policy lets the reader see, and nothing read from a record's contents.
public struct Finding: SessionService {
    package let session: Session

    /// One page of the records the reader may see, newest tutorial first, narrowed by `query`.
    ///
    /// A learner's or parent's list leaves flagged records out; only the roles that open flagged
    /// records see which are flagged. Destroyed records are listed (their label remains) as such.
    /// - Throws: usage (64) for an impossible page or date range; denied (77) when someone who
    ///   does not open flagged records asks for flagged ones; tampered (65) when a label row or
    ///   a flag does not verify; try again (75) when the directory kept changing while it read.
    public func records(_ query: RecordQuery) async throws -> RecordPage {
        var query = try query.validated()
        query.learner = query.learner.map(directory.resolve)
        query.author = query.author.map(directory.resolve)
        let listed = try await every(query)
        let pages = max(1, (listed.count + query.perPage - 1) / query.perPage)
        // A page far past the end is empty (and never overflows).
        let start =
            query.page > pages ? listed.count : min(listed.count, (query.page - 1) * query.perPage)
        let end = min(listed.count, start + query.perPage)
        return RecordPage(
            records: Array(listed[start..<end]), total: listed.count, page: query.page,
            pages: pages)
    }

    /// Every record of the list `query` describes, newest first, without paging. A learner or
    /// parent told of tampering is not told what did not match (a flag, say).
    func every(_ query: RecordQuery) async throws -> [ListedRecord] {
        do { return try await listing(query) } catch let error as TutelaError
            where error.kind == .tampered && principal.isFamily
        {
            throw TutelaError(
                .tampered, "the vault's records do not match its audit log",
                hint: AuditLog.restoreHint)
        }
    }

    private func listing(_ query: RecordQuery) async throws -> [ListedRecord] {
        guard let asked = directory.policy else { return [] }
        if query.flaggedOnly,
            !RecordClass.allCases.contains(where: { asked.seesFlags($0, actor: self.principal) })
        {
            // Refused, and recorded, as the queue is.
            try await audit(
                .auditRead, subject: nil, outcome: .denied, reason: "flagged records list")
            throw TutelaError.denied(
                "only the roles that open flagged records (the safeguarding team) list them")
        }
        // The scope and every decision from one directory: when reading the labels brought the
        // session a newer one (an entry resting on statements it had not seen), they are read
        // again under it, so a label the newer scope reaches is never missed.
        var labels: [Label] = []
        var reads = 0
        var scoped: Int64
        repeat {
            guard reads < 3 else {
                throw TutelaError.tryAgain("the directory kept changing while the list was read")
            }
            reads += 1
            scoped = directory.statementCount
            labels = try await candidates(query)
        } while scoped != directory.statementCount
        let (directory, principal) = (self.directory, self.principal)
        guard let policy = directory.policy else { return [] }
        // Read after the labels: a record flagged meanwhile is marked (and left out of a family's
        // list), where one read before could be listed unmarked.
        let subjects = try await session.factSubjects([.flag, .tombstone, .void])
        let (flags, tombstones, voids) = (subjects[0], subjects[1], subjects[2])
        var listed: [ListedRecord] = []
        for label in labels where query.admits(label) {
            var state = RecordState(destroyed: tombstones.contains(label.record.text))
            // An addendum is flagged with the record it amends (see ``Session/recordState(of:)``).
            for subject in label.flagSubjects where flags.contains(subject.text) {
                if let flag = try await session.flag(subject) {
                    try flag.check(label: label, directory: directory)
                    state.flagged = true
                }
            }
            let decision = policy.decide(
                .viewLabel, actor: principal, label: label, state: state, directory: directory)
            guard decision.allowed else { continue }
            // A void record may be about another learner: never listed to a learner or family,
            // nor an addendum to one (its label names it).
            let void =
                voids.contains(label.record.text)
                ? try await session.corrections.voidStatement(of: label) != nil : false
            if principal.isFamily,
                void || label.amends.map({ voids.contains($0.text) }) == true
            {
                continue
            }
            // Never marked flagged to the learner's own family, whatever their role.
            let flagged =
                state.flagged && policy.seesFlags(label.recordClass, actor: principal)
                && !policy.isFamily(of: label, actor: principal, directory: directory)
            if query.flaggedOnly, !flagged { continue }
            let learner = directory.learners[label.learner]
            listed.append(
                ListedRecord(
                    label: label,
                    learnerName: learner.flatMap {
                        policy.mayList($0, actor: principal) ? $0.name : nil
                    },
                    flagged: flagged, destroyed: state.destroyed,
                    void: void))
        }
        listed.sort { a, b in
            let (x, y) = (a.label, b.label)
            if x.tutorialDate != y.tutorialDate { return x.tutorialDate > y.tutorialDate }
            if x.created != y.created { return x.created > y.created }
            return x.record.text > y.record.text
        }
        return listed
    }

    /// The labels a list may hold, each still to be decided on: one learner's, or one author's,
    /// when the query names them; otherwise those the reader's scope reaches
    /// (``Policy/labelScope(actor:directory:)``) — for a tutor, the records they wrote and their
    /// tutees' — through the state's lists by learner and author, or every label for those whose
    /// role may see any. Each list is proven whole against the vault's state.
    private func candidates(_ query: RecordQuery) async throws -> [Label] {
        guard let policy = directory.policy else { return [] }
        if let learner = query.learner { return try await session.filedLabels([.learner(learner)]) }
        if let author = query.author { return try await session.filedLabels([.author(author)]) }
        switch policy.labelScope(actor: principal, directory: directory) {
        case .some(let authored, let learners):
            let filings = learners.sorted().map(LabelFiling.learner)
            return try await session.filedLabels(
                authored ? [.author(principal.id)] + filings : filings)
        case .every:
            var rows: [StoredLabel] = []
            try await session.walkLabels { rows += $0 }
            return try rows.map { row throws(TutelaError) in try Label.parse(row: row) }
        }
    }

    /// The learners the reader may list (see ``Policy/mayList(_:actor:)-learner``), by name,
    /// optionally only one tutor's tutees.
    public func learners(tutor: PrincipalID? = nil) -> [Learner] {
        guard let policy = directory.policy else { return [] }
        let tutor = tutor.map(directory.resolve)
        return directory.learners.values
            .filter { tutor == nil || $0.tutor == tutor }
            .filter { policy.mayList($0, actor: principal) }
            .sorted { ($0.name, $0.id.text) < ($1.name, $1.id.text) }
    }

    /// One learner, when the reader may list them (as ``learners(tutor:)`` would); nil otherwise.
    public func learner(_ id: LearnerID) -> Learner? {
        guard let policy = directory.policy,
            let learner = directory.learners[directory.resolve(id)],
            policy.mayList(learner, actor: principal)
        else { return nil }
        return learner
    }

    /// The people the reader may list — everyone for the roles the policy's `directory.people`
    /// names, otherwise only themselves — with those invited and not yet enrolled, by name.
    public func people() -> [ListedPerson] {
        let policy = directory.policy
        var result: [ListedPerson] = []
        for p in directory.principals.values
        where policy?.mayList(p, actor: principal, in: directory) ?? (p.id == principal.id) {
            let standing: ListedPerson.Standing =
                p.revoked ? .revoked : p.awaitingKeys ? .awaitingKeys : .active
            result.append(
                ListedPerson(id: p.id, name: p.name, roles: p.roles, standing: standing))
        }
        if let policy, policy.firstRole(policy.directory.people, actor: principal) != nil {
            // A family member's invitation only to those who list every learner.
            let seesFamilies = policy.firstRole(policy.directory.learners, actor: principal) != nil
            for i in directory.invitations.values where directory.principals[i.principal] == nil {
                if i.roles.contains(where: DirectoryRules.neverListing.contains), !seesFamilies {
                    continue
                }
                result.append(
                    ListedPerson(id: i.principal, name: i.name, roles: i.roles, standing: .invited))
            }
        }
        return result.sorted { ($0.name, $0.id.text) < ($1.name, $1.id.text) }
    }
}

extension Session {
    /// Finding records, learners and people.
    public var finding: Finding { Finding(session: self) }
}
