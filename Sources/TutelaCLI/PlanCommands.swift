import ArgumentParser
import Foundation
import Tutela

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan tutorials with learners: each learner is told at once, and of any change.",
        discussion: """
            A plan says when, where and with whom — never what about. The learner (when they \
            sign in), their parents or carers where the learner agreed (--tell-family), the \
            tutor who holds it and the learner's own tutor are each sent a notice at once, and \
            again at any change or cancellation. Less notice than the policy asks (7 days \
            unless its tutorials section says otherwise) is allowed, and said so in the notice.
            """,
        subcommands: [Add.self, Change.self, Cancel.self, Held.self, List.self, Calendar.self])
}

/// The day, time and length of a plan, as typed.
struct PlanWhenOptions: ParsableArguments {
    @Option(help: "The day (YYYY-MM-DD).") var on: String?
    @Option(help: "The start, 24-hour HH:MM in the centre's time zone.") var at: String?
    @Option(help: "How long, in minutes (5–240).") var minutes: Int?
    @Option(help: "Where: a room or a place, never a topic.") var place: String?

    func day() throws -> CalendarDate? { try on.map { try parseDate($0, option: "--on") } }

    func startMinute() throws -> Int? {
        try at.map { text in
            guard let minute = PlanTime.minute(text) else {
                throw TutelaError(
                    .usage, "--at '\(text)' is not a time", hint: "write it as HH:MM, e.g. 14:30")
            }
            return minute
        }
    }
}

extension PlanCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Plan a tutorial with a learner; prints its plan id.")

        @Option(help: "The learner.") var learner: String
        @OptionGroup var when: PlanWhenOptions
        @Option(help: "The tutor who holds it, when not you.") var tutor: String?
        @Flag(help: "The learner agreed that their parents or carers are told.")
        var tellFamily = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard let day = try when.day() else {
                throw TutelaError(.usage, "give the tutorial's day with --on YYYY-MM-DD")
            }
            let request = PlanRequest(
                learner: try LearnerID(learner), day: day, startMinute: try when.startMinute(),
                minutes: when.minutes ?? 30, place: when.place ?? "",
                tutor: try tutor.map { try PrincipalID($0) }, tellFamily: tellFamily)
            let session = try await actor.unlock(try await vault.open())
            let outcome = try await session.planning.plan(request)
            try PlanCommand.report(outcome, "Planned", output)
        }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a planned tutorial to another day, time or place; everyone is told.",
            discussion: "Your --reason is in the learner's notice: write it for them.")

        @Argument(help: "The plan id.") var plan: String
        @OptionGroup var when: PlanWhenOptions
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try PlanID(plan)
            let why = try reason.required(for: "change a planned tutorial")
            let (day, start) = (try when.day(), try when.startMinute())
            guard day != nil || start != nil || when.minutes != nil || when.place != nil else {
                throw TutelaError(.usage, "say what changes: --on, --at, --minutes or --place")
            }
            let session = try await actor.unlock(try await vault.open())
            let outcome = try await session.planning.change(
                id, day: day, startMinute: start.map { .some($0) }, minutes: when.minutes,
                place: when.place, reason: why)
            try PlanCommand.report(outcome, "Changed", output)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a planned tutorial; everyone its notice went to is told.",
            discussion: "Your --reason is in the learner's notice: write it for them.")

        @Argument(help: "The plan id.") var plan: String
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try PlanID(plan)
            let why = try reason.required(for: "cancel a planned tutorial")
            let session = try await actor.unlock(try await vault.open())
            try PlanCommand.report(
                try await session.planning.cancel(id, reason: why), "Cancelled", output)
        }
    }

    struct Held: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link a planned tutorial to the record you sealed for it.",
            discussion: "`tutela tutorial --plan ID` links it as it seals; this is for later.")

        @Argument(help: "The plan id.") var plan: String
        @Option(help: "The record sealed for it.") var record: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let (id, record) = (try PlanID(plan), try RecordID(self.record))
            let session = try await actor.unlock(try await vault.open())
            try await session.planning.held(id, record: record)
            try output.done(
                "\(id) is held: \(record).", ["plan": "\(id)", "record": "\(record)"])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the planned tutorials you may see, by day.",
            discussion: """
                A tutor sees the plans they hold or made and their tutees'; a head of centre \
                sees every plan; a learner sees their own.
                """)

        @Option(help: "Only this learner's.") var learner: String?
        @Option(help: "Only this tutor's.") var tutor: String?
        @Option(help: "From this day (YYYY-MM-DD).") var from: String?
        @Option(help: "To this day (YYYY-MM-DD).") var to: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let plans = try await session.planning.plans(
                learner: try learner.map { try LearnerID($0) },
                tutor: try tutor.map { try PrincipalID($0) },
                from: try from.map { try parseDate($0, option: "--from") },
                to: try to.map { try parseDate($0, option: "--to") })
            if output.json { return try Terminal.json(["plans": plans.map(PlanJSON.init)]) }
            guard !plans.isEmpty else { return Terminal.out("No planned tutorials you may see.") }
            Terminal.out(
                Table.render(
                    header: [
                        "PLAN", "DAY", "TIME", "MINUTES", "LEARNER", "TUTOR", "PLACE", "STATUS",
                    ],
                    rows: plans.map {
                        [
                            $0.id.text, $0.day.description,
                            $0.startMinute.map(PlanTime.clock) ?? "to agree", "\($0.minutes)",
                            $0.learner.text, $0.tutor.text,
                            $0.place.isEmpty ? "to agree" : $0.place,
                            $0.status.word,
                        ]
                    }))
        }
    }

    struct Calendar: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a tutor's planned tutorials as an iCalendar (.ics) file.",
            discussion: """
                For a diary: each entry names the learner by initials (or id, as the policy \
                says), with the place and time — nothing from any record. Cancelled tutorials \
                are marked cancelled, so a diary that imported them drops them.
                """)

        @Option(help: "The tutor (a head of centre may give any; default you).") var tutor: String?
        @Option(help: "Write to this file instead of the terminal.") var out: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let file = try await session.planning.calendar(
                of: try tutor.map { try PrincipalID($0) })
            if let out { try OutputFile.write(out, file) }
            if output.json {
                try Terminal.json(["calendar": file, "file": out ?? ""])
            } else if let out {
                Terminal.note("Wrote \(out).")
            } else {
                Terminal.out(file, terminator: "")
            }
        }
    }

    /// Prints what a plan step did: the plan id on its own line, who was told, and short notice.
    static func report(_ outcome: PlanOutcome, _ verb: String, _ output: OutputOptions) throws {
        if output.json { return try Terminal.json(PlanJSON(outcome.plan, outcome: outcome)) }
        Terminal.out(outcome.plan.id.text)
        let told = outcome.notified.map(\.text).joined(separator: ", ")
        Terminal.note(
            "\(verb) \(outcome.plan.id) for \(outcome.plan.day)"
                + (told.isEmpty ? "." : "; told: \(told)."))
        if outcome.shortNotice {
            Terminal.note(
                "Short notice: \(outcome.daysNotice) day(s) ahead, less than the policy asks. "
                    + "The notice says so.")
        }
    }
}

/// A plan as `--json` shows it.
struct PlanJSON: Encodable {
    let id: String
    let learner: String
    let tutor: String
    let day: String
    let time: String?
    let minutes: Int
    let place: String
    let tellFamily: Bool
    let status: String
    let record: String?
    let revision: Int64
    let shortNotice: Bool?
    let notified: [String]?

    init(_ plan: TutorialPlan) { self.init(plan, outcome: nil) }

    init(_ plan: TutorialPlan, outcome: PlanOutcome?) {
        (id, learner, tutor, day) = (
            plan.id.text, plan.learner.text, plan.tutor.text, plan.day.description
        )
        (time, minutes, place, tellFamily) = (
            plan.startMinute.map(PlanTime.clock), plan.minutes, plan.place, plan.tellFamily
        )
        (status, record, revision) = (plan.status.word, plan.record?.text, plan.revision)
        shortNotice = outcome?.shortNotice
        notified = outcome?.notified.map(\.text)
    }
}
