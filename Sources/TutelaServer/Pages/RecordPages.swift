import Foundation
import HTTPTypes
import Hummingbird
import Tutela

/// Records: the list (labels only, newest first), opening one (a form, never a link: an opening
/// is audited under the person's name), flagging a concern, an officer opening a flagged record
/// with a reason, an addendum.
struct RecordPages {
    let server: ServerState

    func add(
        to pages: RouterGroup<TutelaRequestContext>,
        post: PageRoutes.Wrapper
    ) {
        pages.get("/records", use: list)
        pages.post("/records/:id/open", use: post(open))
        pages.get("/records/:id/flag", use: flagForm)
        pages.post("/records/:id/flag", use: post(flag))
        pages.get("/records/:id/disclose", use: discloseForm)
        pages.post("/records/:id/disclose", use: post(disclose))
        pages.get("/records/:id/addendum", use: addendumForm)
        pages.post("/records/:id/addendum", use: post(addendum))
    }

    @Sendable func list(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let q = request.uri.queryParameters
        let pageNumber = q.get("page").flatMap(Int.init) ?? 1
        let learner = try q.get("learner").flatMap { $0.isEmpty ? nil : try LearnerID($0) }
        let flagged = q.get("flagged") == "true"
        let page = try await visitor.session.finding.records(
            RecordQuery(learner: learner, flaggedOnly: flagged, page: pageNumber, perPage: 25))
        let tutor = visitor.principal.has(.tutor)
        let officer = visitor.principal.has(.safeguardingOfficer)
        var content: [HTML] = [H.h1(flagged ? "Flagged records" : "Records")]
        // Told only to those who could have done it (a learner or parent seals and flags
        // nothing): a crafted link must not show a family "flagged" about a record.
        switch visitor.principal.isFamily ? nil : Done.told(request) {
        case (.sealed, let id)?:
            content.append(
                Done.notice(
                    "Record sealed",
                    "Sealed as record \(id). Only the people the policy names can open it."))
        case (.addendum, let id)?:
            content.append(
                Done.notice(
                    "Addendum sealed",
                    "The addendum is sealed as record \(id), read by the same people as its record."
                ))
        case (.flagged, let id)?:
            content.append(
                Done.notice(
                    "Concern flagged",
                    "Record \(id) is flagged. The safeguarding officers have it in their queue."))
        default: break
        }
        content += [
            H.p(
                "The records you may see, newest tutorial first. Only labels are listed: a record's "
                    + "contents are shown when you open it, and each opening is recorded.")
        ]
        let learners = visitor.session.finding.learners()
        if learners.count > 1 {
            // A plain GET form: it names a learner id, never anything from a record.
            content.append(
                .element(
                    "form", [("method", "get"), ("action", "/records"), ("class", "filter")],
                    [
                        Field.select(
                            "learner", label: "Show the records of",
                            options: [("", "Every learner")]
                                + learners.map { ($0.id.text, "\($0.name) (\($0.id))") },
                            selected: learner?.text ?? ""),
                        flagged
                            ? .element(
                                "input",
                                [("type", "hidden"), ("name", "flagged"), ("value", "true")])
                            : .empty,
                        .element("button", [("type", "submit")], [HTML("Show")]),
                    ]))
        } else if let learner {
            content.append(H.p("Showing the records of learner \(learner) only."))
        }
        if page.records.isEmpty {
            content.append(H.p("There are no records to show."))
        } else {
            content.append(
                H.table(
                    caption: "Page \(page.page) of \(page.pages) (\(page.total) records)",
                    headers: ["Date", "Learner", "Kind", "Written by", "State", "Actions"],
                    rows: page.records.map { row(of: $0, visitor, tutor: tutor, officer: officer) }
                ))
        }
        var paging: [HTML] = []
        func link(_ text: String, _ number: Int) -> HTML {
            var query = "page=\(number)"
            if let learner { query += "&learner=\(learner)" }
            if flagged { query += "&flagged=true" }
            return H.link(text, to: "/records?\(query)")
        }
        if page.page > 1 { paging.append(link("Previous page", page.page - 1)) }
        if page.page < page.pages { paging.append(link("Next page", page.page + 1)) }
        if !paging.isEmpty {
            content.append(.element("nav", [("aria-label", "Pages of records")], [H.ul(paging)]))
        }
        return Page(flagged ? "Flagged records" : "Records", content).response(for: visitor)
    }

    private func row(
        of listed: ListedRecord, _ visitor: Visitor, tutor: Bool, officer: Bool
    ) -> [HTML] {
        let label = listed.label
        let id = label.record.text
        var state: [String] = []
        if listed.flagged { state.append("Flagged") }
        if listed.void { state.append("Void") }
        if listed.destroyed { state.append("Destroyed") }
        var actions: [HTML] = []
        let described = "the record of \(label.tutorialDate) about \(label.learner)"
        if !listed.destroyed {
            if listed.flagged && officer {
                actions.append(
                    H.link(
                        "Open with a reason", to: "/records/\(id)/disclose",
                        [("aria-label", "Open \(described) with a reason")]))
            } else {
                actions.append(
                    Field.button(
                        "Open", action: "/records/\(id)/open", csrf: visitor.csrf,
                        label: "Open \(described)"))
            }
            if officer && !listed.flagged && !listed.void {
                actions.append(
                    H.link(
                        "Ask to break the glass", to: "/records/\(id)/break-glass",
                        [("aria-label", "Ask to break the glass on \(described)")]))
            }
            if tutor && !listed.flagged {
                actions.append(
                    H.link(
                        "Flag a concern", to: "/records/\(id)/flag",
                        [("aria-label", "Flag a concern about \(described)")]))
            }
            if label.author == visitor.principal.id && label.amends == nil {
                actions.append(
                    H.link(
                        "Add an addendum", to: "/records/\(id)/addendum",
                        [("aria-label", "Add an addendum to \(described)")]))
            }
        }
        return [
            HTML(label.tutorialDate.description),
            HTML(listed.learnerName.map { "\($0) (\(label.learner))" } ?? label.learner.text),
            HTML(RecordView.kind(label.recordClass) + (label.amends == nil ? "" : " (addendum)")),
            HTML(label.author.text), HTML(state.joined(separator: ", ")),
            .element("div", [("class", "row-actions")], actions),
        ]
    }

    @Sendable func open(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: RecordID = try context.pathID()
        let opened = try await visitor.session.open(id)
        try await visitor.session.settle()
        return RecordView.page(
            opened, learnerName: name(of: opened.label.learner, visitor), visitor: visitor
        )
        .response(for: visitor)
    }

    private func name(of learner: LearnerID, _ visitor: Visitor) -> String? {
        visitor.session.finding.learner(learner)?.name
    }

    // MARK: A reason first: flag, disclose

    private static let flagExplanation = [
        "Flagging marks the record as a safeguarding concern. The safeguarding officers see it "
            + "in their queue at once and may open it; the learner and their family are never told.",
        "Follow your centre's safeguarding procedure as well: if a young person is in immediate "
            + "danger, act now and do not wait for Tutela.",
    ]

    @Sendable func flagForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        return flagPage(visitor, id.text).response(for: visitor)
    }

    private func flagPage(
        _ visitor: Visitor, _ id: String, problems: Field.Problems = .init(), value: String? = nil
    ) -> Page {
        ReasonPage.page(
            visitor, record: id, title: "Flag a concern", explanation: Self.flagExplanation,
            action: "/records/\(id)/flag", submit: "Flag this record",
            label: "Why are you concerned?",
            hint: "The officers read this. Say what you saw or were told, and when.",
            problems: problems, value: value)
    }

    @Sendable func flag(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: RecordID = try context.pathID()
        return try await ReasonPage.handle(
            form, visitor: visitor, missing: "Say why you are concerned",
            page: { flagPage(visitor, id.text, problems: $0, value: $1) },
            act: { reason in
                try await visitor.session.safeguarding.flag(id, reason: reason)
                return Done.flagged.redirect(to: "/records", id: id.text)
            })
    }

    @Sendable func discloseForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        return disclosePage(visitor, id.text).response(for: visitor)
    }

    private func disclosePage(
        _ visitor: Visitor, _ id: String, problems: Field.Problems = .init(), value: String? = nil
    ) -> Page {
        ReasonPage.page(
            visitor, record: id, title: "Open a flagged record",
            explanation: [
                "This record is flagged as a safeguarding concern. Opening it is recorded with your "
                    + "reason, and the head of centre, the record's author and the learner's tutor "
                    + "are told at once. A head of centre reviews every such opening afterwards."
            ], action: "/records/\(id)/disclose", submit: "Open the record",
            label: "Why do you need to open it?",
            hint: "Your reason is shown to the head of centre who reviews this opening.",
            problems: problems, value: value)
    }

    @Sendable func disclose(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: RecordID = try context.pathID()
        return try await ReasonPage.handle(
            form, visitor: visitor, missing: "Give the reason you need to open this record",
            page: { disclosePage(visitor, id.text, problems: $0, value: $1) },
            act: { reason in
                let opened = try await visitor.session.safeguarding.disclose(id, reason: reason)
                try await visitor.session.settle()
                return RecordView.page(
                    opened, learnerName: name(of: opened.label.learner, visitor), visitor: visitor
                ).response(for: visitor)
            })
    }

    // MARK: Addendum

    @Sendable func addendumForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        return addendumPage(visitor, id.text).response(for: visitor)
    }

    private func addendumPage(
        _ visitor: Visitor, _ id: String, problems: Field.Problems = .init(), value: String? = nil
    ) -> Page {
        Page(
            "Add an addendum", status: problems.isEmpty ? .ok : .badRequest,
            [
                H.h1("Add an addendum"), Field.summary(problems),
                H.p(
                    "A sealed record is never changed. An addendum is sealed beside it, for the "
                        + "same learner and read by the same people, and shown with it."),
                Field.form(
                    action: "/records/\(id)/addendum", csrf: visitor.csrf,
                    submit: "Seal the addendum",
                    secondary: H.link("Cancel", to: "/records"),
                    [
                        Field.textarea(
                            "text", label: "What to add", value: value,
                            hint: "Up to \(Addendum.maximumLength) characters.",
                            error: problems["text"], rows: 6, required: true)
                    ]),
            ])
    }

    @Sendable func addendum(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: RecordID = try context.pathID()
        let text = form["text"]
        var problems = Field.Problems()
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.add("text", "Write what to add")
        } else if text.count > Addendum.maximumLength {
            problems.add("text", "Write at most \(Addendum.maximumLength) characters")
        }
        guard problems.isEmpty else {
            return addendumPage(visitor, id.text, problems: problems, value: text)
                .response(for: visitor)
        }
        do {
            let label = try await visitor.session.corrections.addendum(to: id, text: text)
            return Done.addendum.redirect(to: "/records", id: label.record.text)
        } catch let error as TutelaError where [.usage, .invalidInput].contains(error.kind) {
            // What was written is kept: the page says why, beside the box.
            problems.add("text", Page.sentence(error.message))
            return addendumPage(visitor, id.text, problems: problems, value: text)
                .response(for: visitor)
        }
    }
}
