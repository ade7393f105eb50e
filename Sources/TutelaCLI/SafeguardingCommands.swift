import ArgumentParser
import Foundation
import Tutela

/// `--reason TEXT`, required: exit 64 without one.
struct ReasonOption: ParsableArguments {
    @Option(help: "Why (recorded in the audit log; a reference, not the details of a concern).")
    var reason: String?

    func required(for what: String) throws -> String {
        guard let reason, !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw TutelaError(.usage, "a reason is required to \(what)", hint: "pass --reason TEXT")
        }
        return reason
    }
}

struct SafeguardingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "safeguarding",
        abstract: "Flag concerns, the officers' queue, disclosures and reviews.",
        subcommands: [FlagRecord.self, Queue.self, Open.self, Reviews.self, Review.self])

    struct FlagRecord: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "flag",
            abstract:
                "Flag a record for the safeguarding officers (the author, or whoever policy allows)."
        )
        @Argument(help: "The record id.") var record: String
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let why = try reason.required(for: "flag a record")
            let session = try await actor.unlock(try await vault.open())
            let flag = try await session.safeguarding.flag(record, reason: why)
            try output.done(
                "Flagged \(flag.record) for the safeguarding officers; it now follows the safeguarding retention schedule.",
                [
                    "record": "\(flag.record)", "flagged": true, "by": "\(flag.flaggedBy)",
                    "time": "\(Timestamp.iso(flag.time))",
                ])
        }
    }

    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Flagged records waiting for the safeguarding team, oldest first.",
            discussion: """
                An item closes once an officer has opened it and a head of centre has reviewed \
                every opening; --all shows closed items too.
                """)
        @Flag(help: "Show closed items too.") var all = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let queue = try await session.safeguarding.queue().filter { all || !$0.closed }
            let rows = queue.map(QueueJSON.init)
            if output.json {
                try Terminal.json(["records": rows])
            } else if rows.isEmpty {
                Terminal.out(all ? "No flagged records." : "No flagged records waiting.")
            } else {
                Terminal.out(
                    Table.render(
                        header: [
                            "RECORD", "LABEL", "LEARNER", "FLAGGED BY", "WHEN", "OPENED", "WHY",
                        ],
                        rows: zip(rows, queue).map { ($0, $1.flag.time) }.map { row, time in
                            [
                                row.record, row.label, row.learner, row.flaggedBy,
                                session.localTime(time),
                                row.disclosures == 0
                                    ? "not yet"
                                    : "\(row.disclosures)×, \(row.reviewed) reviewed"
                                        + (row.closed ? " (closed)" : ""),
                                row.reason,
                            ]
                        }))
            }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a flagged record as an officer, with a reason (a disclosure).")
        @Argument(help: "The record id.") var record: String
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let why = try reason.required(for: "open a flagged record")
            let session = try await actor.unlock(try await vault.open())
            let opened = try await session.safeguarding.disclose(record, reason: why)
            try output.show(opened, session: session)
            try await session.settle()
        }
    }

    struct Reviews: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every disclosure and break-glass, for review after the fact.")
        @Flag(help: "Only those not yet reviewed.") var pending = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let items = try await session.safeguarding.reviews().filter {
                !pending || $0.outcome == nil
            }
            let rows = items.map(ReviewJSON.init)
            if output.json {
                try Terminal.json(["reviews": rows])
            } else if rows.isEmpty {
                Terminal.out("Nothing to review.")
            } else {
                Terminal.out(
                    Table.render(
                        header: [
                            "REVIEW", "KIND", "RECORD", "OPENED BY", "WHEN", "OUTCOME", "WHY",
                        ],
                        rows: rows.map { row in
                            [
                                row.review, row.kind, row.record, row.openedBy, row.time,
                                row.outcome.map { "\($0) by \(row.reviewer ?? "?")" } ?? "pending",
                                row.reason,
                            ]
                        }))
            }
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record whether a disclosure or break-glass was justified (heads of centre).")
        @Argument(help: "The review id (RV-…).") var id: String
        @Option(help: "justified or unjustified.") var outcome: String
        @Option(help: "What the review found.") var note: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard let parsed = ReviewItem.Outcome(rawValue: outcome) else {
                throw TutelaError(.usage, "--outcome must be justified or unjustified")
            }
            let id = try ReviewID(self.id)
            let session = try await actor.unlock(try await vault.open())
            try await session.safeguarding.review(id, outcome: parsed, note: note)
            try output.done(
                "Recorded \(id) as \(parsed.rawValue).",
                ["review": "\(id)", "outcome": "\(parsed.rawValue)"])
        }
    }
}

struct BreakGlassCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "break-glass",
        abstract: "Open an unflagged record through a quorum of approvals.",
        subcommands: [Request.self, Approve.self, Open.self])

    struct Request: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask to open a record; prints the request id.")
        @Argument(help: "The record id.") var record: String
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let why = try reason.required(for: "request break-glass")
            let session = try await actor.unlock(try await vault.open())
            let request = try await session.breakGlass.request(record, reason: why)
            if output.json {
                try Terminal.json([
                    "request": request.id.text, "record": request.record.text,
                    "expires": Timestamp.iso(request.expires),
                    "approvalsNeeded": "\(request.approvalsNeeded)",
                ])
            } else {
                Terminal.out(request.id.text)
                Terminal.note(
                    "Requested break-glass on \(request.record): \(request.approvalsNeeded) approval(s) needed before "
                        + "\(Timestamp.iso(request.expires)).")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a request: releases your group's key share to the requester.")
        @Argument(help: "The request id (BG-…).") var request: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let request = try RequestID(self.request)
            let session = try await actor.unlock(try await vault.open())
            // Who asks, for which record, and why — before anything is released. (Someone who
            // may not approve gets the refusal from `approve` itself, which is audited.)
            if let view = try? await session.breakGlass.describe(request) {
                Terminal.note(
                    Terminal.printable(
                        "\(request) asks to open \(view.label.record), "
                            + "\"\(view.label.envelopeText)\", learner \(view.label.learner)"))
                Terminal.note(
                    Terminal.printable(
                        "Asked by \(view.requesterName) (\(view.request.requester)) at "
                            + "\(Timestamp.iso(view.request.created)), until "
                            + "\(Timestamp.iso(view.request.expires)): \(view.request.reason)"))
                if Terminal.stdinIsTerminal {
                    FileHandle.standardError.write(Data("Approve it? [y/N] ".utf8))
                    let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
                    guard answer == "y" || answer == "yes" else {
                        return try output.done(
                            "Not approved.", ["request": "\(request)", "approved": false])
                    }
                }
            }
            let (have, need) = try await session.breakGlass.approve(request)
            try output.done(
                "Approved \(request): \(have) of \(need) approvals.",
                ["request": "\(request)", "approvals": .number(have), "needed": .number(need)])
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open the record of your approved request (once, within its lifetime).")
        @Argument(help: "The request id (BG-…).") var request: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let request = try RequestID(self.request)
            let session = try await actor.unlock(try await vault.open())
            let opened = try await session.breakGlass.open(request)
            try output.show(opened, session: session)
            try await session.settle()
        }
    }
}

struct InboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox",
        abstract: "Notices: flags, disclosures, requests and destructions waiting for you.",
        discussion: """
            Newest first; those not yet marked read say NEW. --mark-read marks every notice shown \
            read (recorded in the audit log); --unread shows only the new ones.
            """)
    @Flag(help: "Only notices not yet marked read.") var unread = false
    @Flag(help: "Mark the notices shown read.") var markRead = false
    @OptionGroup var actor: ActorOptions
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let session = try await actor.unlock(try await vault.open())
        let notices = try await session.inbox().filter { !unread || $0.unread }
        let reminders = try await session.planning.reminders()
        if output.json {
            try Terminal.json(InboxJSON(notices: notices, reminders: reminders))
        } else if notices.isEmpty {
            Terminal.out(unread ? "No new notices." : "No notices.")
        } else {
            Terminal.out(
                Table.render(
                    header: ["", "#", "TIME", "WHO", "WHAT", "RECORD", "WHY"],
                    rows: notices.map {
                        [
                            $0.unread ? "NEW" : "", "\($0.sequence)",
                            session.localTime($0.entry.time),
                            $0.entry.actor.text, $0.entry.action.rawValue,
                            $0.entry.subject ?? "-", $0.entry.reason ?? "",
                        ]
                    }))
        }
        if !output.json, !reminders.isEmpty {
            Terminal.out("\nReviews to plan (see tutela cadence):")
            for row in reminders {
                Terminal.out(
                    "  \(row.learner) \(row.name): \(row.period.name) review "
                        + (row.standing == .overdue
                            ? "OVERDUE (due by \(row.period.ends))"
                            : "due by \(row.period.ends), nothing planned"))
            }
        }
        if markRead, let newest = notices.first {
            try await session.markInboxRead(through: newest.sequence)
            if !output.json { Terminal.note("Marked \(notices.count) notices read.") }
        }
    }
}
