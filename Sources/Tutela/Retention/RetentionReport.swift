/// What a retention check found, gathered while it streams: how many records stand where, by class,
/// for every record, and the statuses of only the standings asked for (what someone must act on).
/// A check over a million records then keeps in memory only what it reports, not a status for every
/// record.
public struct RetentionReport: Sendable {
    /// Where a record stands in its retention schedule.
    public typealias Standing = RetentionStatus.Standing

    /// The standings someone must act on, which `tutela retention check` lists.
    public static let actionable: Set<Standing> = [.due, .review, .held, .upcoming]

    /// The day the check was made for.
    public let asOf: CalendarDate
    /// The standings whose records are kept, to be listed.
    public let listing: Set<Standing>
    /// Every record checked.
    public private(set) var total = 0
    /// Counts indexed by class (declaration order) and standing (declaration order).
    private var tally: [Int]
    /// `listing` as a table by standing: a `Set` would hash each standing's name per record.
    private let listed: [Bool]
    private var kept: [Standing: [RetentionStatus]] = [:]

    /// An empty report for a check made for `asOf`, keeping the statuses of `listing`.
    public init(asOf: CalendarDate, listing: Set<Standing>) {
        self.asOf = asOf
        self.listing = listing
        tally = Array(repeating: 0, count: RecordClass.allCases.count * Standing.allCases.count)
        listed = Standing.allCases.map(listing.contains)
    }

    /// Counts one record of `recordClass` whose standing is not listed.
    mutating func addCounted(_ recordClass: RecordClass, _ standing: Standing) {
        total += 1
        tally[Self.ordinal(recordClass) * Self.standings + Self.ordinal(standing)] += 1
    }

    /// Counts one record's standing, and keeps it if its standing is listed.
    public mutating func add(_ status: RetentionStatus) {
        total += 1
        let s = Self.ordinal(status.standing)
        tally[Self.ordinal(status.label.recordClass) * Self.standings + s] += 1
        if listed[s] { kept[status.standing, default: []].append(status) }
    }

    /// How many records of `recordClass` stand at `standing`.
    public func count(_ recordClass: RecordClass, _ standing: Standing) -> Int {
        tally[Self.ordinal(recordClass) * Self.standings + Self.ordinal(standing)]
    }

    /// How many records stand at `standing`, of every class.
    public func count(_ standing: Standing) -> Int {
        RecordClass.allCases.reduce(0) { $0 + count($1, standing) }
    }

    /// The classes with at least one record, in declaration order.
    public var classes: [RecordClass] {
        RecordClass.allCases.filter { c in Standing.allCases.contains { count(c, $0) > 0 } }
    }

    /// The kept records of a listed standing, soonest due first (those without a date as if due on
    /// the day of the check), in storage order where dates are equal.
    /// - Precondition: `standing` is one of `listing`; any other gives no records.
    public func records(_ standing: Standing) -> [RetentionStatus] {
        let asOf = asOf
        return (kept[standing] ?? []).enumerated().sorted {
            let (a, b) = ($0.element.dueOn ?? asOf, $1.element.dueOn ?? asOf)
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
    }

    private static let standings = Standing.allCases.count

    /// Declaration order, without searching `allCases` for every record.
    private static func ordinal(_ standing: Standing) -> Int {
        switch standing {
        case .due: 0
        case .review: 1
        case .held: 2
        case .upcoming: 3
        case .notDue: 4
        case .undetermined: 5
        case .destroyed: 6
        }
    }

    private static func ordinal(_ recordClass: RecordClass) -> Int {
        switch recordClass {
        case .tutorial: 0
        case .confidentialTutorial: 1
        case .informalNote: 2
        }
    }
}

extension Retention {
    /// The retention check as a report: counts for every record, the statuses of the `listing`
    /// standings, and every status handed to `each` on the way (to write a file of them, say).
    /// Without `each`, a record whose standing is not listed is only counted, from its label's
    /// class and date: no status (nor label) is built for it.
    public func report(
        asOf: CalendarDate, listing: Set<RetentionStatus.Standing>,
        _ each: ((RetentionStatus) throws -> Void)? = nil
    ) async throws -> RetentionReport {
        var report = RetentionReport(asOf: asOf, listing: listing)
        try await requireToCheck()
        try await forEachStatus(
            asOf: asOf,
            countingOnly: each == nil
                ? Set(RetentionStatus.Standing.allCases).subtracting(listing) : [],
            tally: { report.addCounted($0, $1) },
            { status in
                try each?(status)
                report.add(status)
            })
        return report
    }
}
