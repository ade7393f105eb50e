import ArgumentParser
import Tutela

extension RecordsCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the labels you may see (never contents), newest tutorial first.",
            discussion: """
                Each line is a record's label: its id, the learner (with their name where the \
                policy lets you list that learner), what the envelope says, who wrote it and when \
                it was sealed. Destroyed records are marked; the safeguarding team also sees which \
                are flagged. Filters combine; long lists come a page at a time (--page).
                """)

        @Option(help: "Only this learner's records.") var learner: String?
        @Option(help: "Only records this person wrote.") var tutor: String?
        @Option(
            name: .customLong("class"),
            help: "Only records of this class: tutorial, confidential-tutorial or informal-note.")
        var recordClass: String?
        @Option(help: "Only tutorials dated on or after this day (YYYY-MM-DD).") var from: String?
        @Option(help: "Only tutorials dated on or before this day (YYYY-MM-DD).") var to: String?
        @Flag(help: "Only flagged records (for the safeguarding team).") var flagged = false
        @Option(help: "The page to show (from 1).") var page = 1
        @Option(help: "Records per page (1–1000).") var perPage = RecordQuery.defaultPerPage
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func query() throws -> RecordQuery {
            RecordQuery(
                learner: try learner.map { try LearnerID($0) },
                author: try tutor.map { try PrincipalID($0) },
                recordClass: try recordClass.map { text throws(TutelaError) in
                    guard let c = RecordClass(rawValue: text) else {
                        throw TutelaError(
                            .usage,
                            "--class must be one of "
                                + RecordClass.allCases.map(\.rawValue).joined(separator: ", ")
                                + ", not '\(Terminal.printable(text))'")
                    }
                    return c
                },
                from: try from.map { try parseDate($0, option: "--from") },
                to: try to.map { try parseDate($0, option: "--to") },
                flaggedOnly: flagged, page: page, perPage: perPage)
        }

        func run() async throws {
            let query = try query()
            let session = try await actor.unlock(try await vault.open())
            let found = try await session.finding.records(query)
            if output.json {
                return try Terminal.json(RecordPageJSON(found))
            }
            guard !found.records.isEmpty else {
                return Terminal.out(
                    found.total == 0
                        ? "No records you may see match."
                        : "Page \(found.page) is past the end: there are \(found.pages) pages.")
            }
            Terminal.out(
                Table.render(
                    header: ["RECORD", "LEARNER", "LABEL", "AUTHOR", "SEALED", "MARKS"],
                    rows: found.records.map {
                        [
                            $0.label.record.text,
                            $0.learnerName.map { [id = $0.label.learner] in "\($0) (\(id))" }
                                ?? $0.label.learner.text,
                            $0.label.envelopeText, $0.label.author.text,
                            $0.label.created.description, $0.marks.joined(separator: ", "),
                        ]
                    }))
            let count = found.total == 1 ? "1 record" : "\(found.total) records"
            Terminal.out(
                found.pages == 1
                    ? "\(count)."
                    : "\(count), page \(found.page) of \(found.pages)"
                        + (found.page < found.pages ? " (--page \(found.page + 1) for more)." : ".")
            )
        }
    }
}

extension LearnerCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the learners you may see, by name.",
            discussion: """
                The roles the policy's directory section names see every learner; a tutor sees \
                their tutees, a learner themselves, and a parent, carer, home school or provider \
                the learners linked to them.
                """)

        @Option(help: "Only this tutor's tutees.") var tutor: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let tutor = try self.tutor.map { try PrincipalID($0) }
            let session = try await actor.unlock(try await vault.open())
            let learners = session.finding.learners(tutor: tutor)
            let tutorName = { (id: PrincipalID) in session.directory.principals[id]?.name }
            if output.json {
                return try Terminal.json([
                    "learners": learners.map { LearnerJSON($0, in: session.directory) }
                ])
            }
            guard !learners.isEmpty else { return Terminal.out("No learners you may see.") }
            Terminal.out(
                Table.render(
                    header: ["LEARNER", "NAME", "TUTOR", "PROGRAMME", "LEFT"],
                    rows: learners.map {
                        [
                            $0.id.text, $0.name,
                            tutorName($0.tutor).map { [t = $0.tutor] in "\($0) (\(t))" }
                                ?? $0.tutor.text,
                            $0.programme ?? "", $0.leftOn?.description ?? "",
                        ]
                    }))
            Terminal.out(learners.count == 1 ? "1 learner." : "\(learners.count) learners.")
        }
    }
}

extension PrincipalCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the people enrolled (and invited), with their roles.",
            discussion: """
                The roles the policy's directory section names see everyone; others see \
                themselves.
                """)

        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let people = session.finding.people()
            if output.json {
                return try Terminal.json(["principals": people.map(PersonJSON.init)])
            }
            Terminal.out(
                Table.render(
                    header: ["ID", "NAME", "ROLES", "STANDING"],
                    rows: people.map {
                        [
                            $0.id.text, $0.name, $0.roles.map(\.rawValue).joined(separator: ", "),
                            $0.standing.rawValue,
                        ]
                    }))
            Terminal.out(people.count == 1 ? "1 person." : "\(people.count) people.")
        }
    }
}
