import ArgumentParser
import Foundation
import Tutela

struct CadenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cadence",
        abstract: "Whose review this term or half-term is done, planned, due or overdue.",
        discussion: """
            For every learner on a programme with a review cadence (the policy's tutorials \
            section: half-termly for NEET prevention, termly for Young Apprenticeship and \
            Diploma, unless it says otherwise), the review of the current term or half-term, \
            and the one before when it was missed. A tutor sees their tutees; a head of centre \
            sees everyone (--tutor narrows it). DUE-SOON falls due within the notice the \
            policy asks, with nothing planned: plan it now.
            """)

    @Option(help: "Only this tutor's tutees (a head of centre).") var tutor: String?
    @Flag(help: "Only reviews overdue or due soon with nothing planned.") var overdue = false
    @OptionGroup var actor: ActorOptions
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let session = try await actor.unlock(try await vault.open())
        let rows = try await session.planning.cadence(tutor: try tutor.map { try PrincipalID($0) })
            .filter { !overdue || $0.standing == .overdue || $0.standing == .dueSoon }
        if output.json { return try Terminal.json(["reviews": rows.map(CadenceJSON.init)]) }
        guard !rows.isEmpty else {
            return Terminal.out(
                overdue
                    ? "No review is overdue or due soon."
                    : "No learner you follow has a review cadence in the calendar now.")
        }
        Terminal.out(
            Table.render(
                header: ["LEARNER", "NAME", "TUTOR", "PROGRAMME", "PERIOD", "DUE BY", "STANDING"],
                rows: rows.map {
                    [
                        $0.learner.text, $0.name, $0.tutor.text, $0.programme, $0.period.name,
                        $0.period.ends.description,
                        $0.standing.rawValue.uppercased()
                            + ($0.plan.map { " \($0.text)" } ?? $0.record.map { " \($0.text)" }
                                ?? ""),
                    ]
                }))
    }
}

/// A cadence row as `--json` shows it.
struct CadenceJSON: Encodable {
    let learner: String
    let name: String
    let tutor: String
    let programme: String
    let every: String
    let period: String
    let starts: String
    let dueBy: String
    let standing: String
    let record: String?
    let plan: String?

    init(_ row: CadenceRow) {
        (learner, name, tutor, programme, every) = (
            row.learner.text, row.name, row.tutor.text, row.programme, row.every.rawValue
        )
        (period, starts, dueBy, standing) = (
            row.period.name, row.period.starts.description, row.period.ends.description,
            row.standing.rawValue
        )
        (record, plan) = (row.record?.text, row.plan?.text)
    }
}

struct ILRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ilr",
        abstract: "The Individual Learner Record's minimum entries, for the data officer.",
        subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export tutorials and informal support conversations as CSV (no content).",
            discussion: """
                One line each: learner, date, kind (tutorial or informal-support), who, record — \
                the fields an ILR return needs, and nothing from any record's contents. Only the \
                ilr-officer role exports; each export is audited. Void records and addenda are \
                left out.
                """)

        @Option(help: "From this day (YYYY-MM-DD).") var from: String?
        @Option(help: "To this day (YYYY-MM-DD).") var to: String?
        @Option(help: "Write to this file instead of the terminal.") var out: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let (from, to) = (
                try from.map { try parseDate($0, option: "--from") },
                try to.map { try parseDate($0, option: "--to") }
            )
            let session = try await actor.unlock(try await vault.open())
            let lines = try await session.planning.ilrExport(from: from, to: to)
            let csv = ILRLine.csvHeader + lines.map(\.csvLine).joined()
            if let out { try OutputFile.write(out, csv) }
            if output.json {
                try Terminal.json([
                    "lines": lines.map {
                        [
                            "learner": $0.learner.text, "date": $0.date.description,
                            "kind": $0.kind, "who": $0.who.text, "record": $0.record.text,
                        ]
                    }
                ])
            } else if let out {
                Terminal.note("Wrote \(lines.count) lines to \(out).")
            } else {
                Terminal.out(csv, terminator: "")
            }
        }
    }
}

/// `inbox --json`: the notices, and a tutor's reviews to plan.
struct InboxJSON: Encodable {
    let notices: [NoticeJSON]
    let reminders: [CadenceJSON]

    init(notices: [Notice], reminders: [CadenceRow]) {
        self.notices = notices.map(NoticeJSON.init)
        self.reminders = reminders.map(CadenceJSON.init)
    }
}
