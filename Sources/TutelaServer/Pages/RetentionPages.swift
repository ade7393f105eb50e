import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Tutela

/// The record keeper's pages: the retention dashboard and its CSV, holds and their release,
/// decisions on records whose period ended, destruction by two people, and certificates.
struct RetentionPages {
    let server: ServerState

    func add(
        to pages: RouterGroup<TutelaRequestContext>,
        post: PageRoutes.Wrapper
    ) {
        pages.get("/retention", use: dashboard)
        pages.get("/retention.csv", use: csv)
        pages.get("/records/:id/hold", use: holdForm)
        pages.post("/records/:id/hold", use: post(hold))
        pages.get("/records/:id/release", use: releaseForm)
        pages.post("/records/:id/release", use: post(release))
        pages.get("/records/:id/retention-review", use: reviewForm)
        pages.post("/records/:id/retention-review", use: post(review))
        pages.get("/records/:id/destroy", use: destroyForm)
        pages.post("/records/:id/destroy", use: post(destroy))
        pages.get("/certificates", use: certificates)
        pages.get("/certificates/:id", use: certificate)
        pages.get("/certificates/:id/download", use: download)
    }

    private func asOf(_ request: Request) throws -> CalendarDate {
        guard let text = request.uri.queryParameters.get("asOf"), !text.isEmpty else {
            return server.vault.clock.today
        }
        guard let date = CalendarDate(text) else {
            throw APIError(.badRequest, "usage", "the date to check as of must be a real date")
        }
        return date
    }

    @Sendable func dashboard(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let date = try asOf(request)
        let report = try await visitor.session.retention.report(
            asOf: date, listing: RetentionReport.actionable)
        let standings = RetentionStatus.Standing.allCases
        var content: [HTML] = [H.h1("Retention")]
        if case (.proposed, let id)? = Done.told(request) {
            content.append(
                Done.notice(
                    "Destruction proposed",
                    "You proposed destroying \(id). A second record keeper or a head of centre "
                        + "must now agree."))
        }
        content += [
            .element(
                "form", [("method", "get"), ("action", "/retention"), ("class", "filter")],
                [
                    Field.input(
                        "asOf", label: "Check as of", value: date.description, type: "date",
                        width: "short"),
                    .element("button", [("type", "submit")], [HTML("Check")]),
                ]),
            H.p(
                "As of \(date): \(report.total) records. Nothing is opened to check them: each "
                    + "record's standing comes from its label and the policy's schedule."),
            H.p(
                [],
                [
                    H.link("Download the check as CSV", to: "/retention.csv?asOf=\(date)"),
                    HTML(" · "),
                    H.link("Destruction certificates", to: "/certificates"),
                ]),
            H.table(
                caption: "Records by class and standing",
                headers: ["Class"] + standings.map { $0.rawValue.capitalized },
                rows: report.classes.sorted { $0.rawValue < $1.rawValue }.map { c in
                    [HTML(RecordView.kind(c))] + standings.map { HTML(String(report.count(c, $0))) }
                }),
        ]
        for (title, standing) in [
            ("Due for destruction", RetentionStatus.Standing.due), ("Due for a review", .review),
            ("Held", .held), ("Coming due in the next 90 days", .upcoming),
        ] {
            let list = report.records(standing)
            content.append(H.h2(title))
            guard !list.isEmpty else {
                content.append(H.p("None."))
                continue
            }
            content.append(
                H.table(
                    caption: "\(title) (\(list.count))",
                    headers: ["Record", "Label", "Learner", "Due", "Note", "Actions"],
                    rows: list.map { row($0) }))
        }
        return Page("Retention", content).response(for: visitor)
    }

    private func row(_ status: RetentionStatus) -> [HTML] {
        let id = status.label.record.text
        var actions: [HTML] = []
        func link(_ text: String, _ path: String) {
            actions.append(
                H.link(text, to: "/records/\(id)/\(path)", [("aria-label", "\(text): \(id)")]))
        }
        switch status.standing {
        case .due: link("Destroy", "destroy")
        case .review: link("Decide", "retention-review")
        case .held: link("Release the hold", "release")
        default: break
        }
        if status.standing != .held { link("Place a hold", "hold") }
        return [
            HTML(id), HTML(status.label.envelopeText), HTML(status.label.learner.text),
            HTML(status.dueOn?.description ?? ""), HTML(status.note ?? ""),
            .element("div", [("class", "row-actions")], actions),
        ]
    }

    @Sendable func csv(_ request: Request, context: TutelaRequestContext) async throws -> Response {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let date = try asOf(request)
        var text = RetentionStatus.csvHeader
        _ = try await visitor.session.retention.report(asOf: date, listing: []) {
            text += $0.csvLine
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"retention-\(date).csv\"",
            ], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: Holds

    @Sendable func holdForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        return holdPage(visitor, id.text, placing: true).response(for: visitor)
    }

    @Sendable func releaseForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        return holdPage(visitor, id.text, placing: false).response(for: visitor)
    }

    private func holdPage(
        _ visitor: Visitor, _ id: String, placing: Bool, problems: Field.Problems = .init(),
        value: String? = nil
    ) -> Page {
        ReasonPage.page(
            visitor, record: id, title: placing ? "Place a hold" : "Release the hold",
            explanation: [
                placing
                    ? "While a legal or inquiry hold is in place, no one can destroy the record, "
                        + "whatever its schedule says."
                    : "Once released, the record's schedule applies again: it may be due at once."
            ], action: "/records/\(id)/\(placing ? "hold" : "release")",
            submit: placing ? "Place the hold" : "Release the hold",
            label: placing ? "Why is it held?" : "Why is the hold released?",
            hint: "Name the inquiry, claim or request.", problems: problems, value: value,
            cancel: "/retention")
    }

    @Sendable func hold(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        try await setHold(form, visitor, context, active: true)
    }

    @Sendable func release(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        try await setHold(form, visitor, context, active: false)
    }

    private func setHold(
        _ form: PageForm, _ visitor: Visitor, _ context: TutelaRequestContext, active: Bool
    ) async throws -> Response {
        let id: RecordID = try context.pathID()
        return try await ReasonPage.handle(
            form, visitor: visitor, missing: "Give the reason",
            page: { holdPage(visitor, id.text, placing: active, problems: $0, value: $1) },
            act: { reason in
                try await visitor.session.retention.setHold(id, active: active, reason: reason)
                return Page.redirect(to: "/retention")
            })
    }

    // MARK: Decisions when a period ends

    @Sendable func reviewForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        return reviewPage(visitor, id.text, form: nil, problems: .init()).response(for: visitor)
    }

    private func reviewPage(
        _ visitor: Visitor, _ id: String, form: PageForm?, problems: Field.Problems
    ) -> Page {
        Page(
            "Decide on a record", status: problems.isEmpty ? .ok : .badRequest,
            [
                H.h1("Decide on a record"), Field.summary(problems),
                H.p(
                    "Record \(id) has reached the end of its period, and its schedule asks for a "
                        + "review rather than destruction. Keep it until a date, or mark it due."),
                Field.form(
                    action: "/records/\(id)/retention-review", csrf: visitor.csrf,
                    submit: "Record the decision", secondary: H.link("Cancel", to: "/retention"),
                    [
                        Field.choices(
                            "outcome", legend: "Decision",
                            options: [
                                ("keep", "Keep it until a date"),
                                ("destroy", "It is due for destruction (two people destroy it)"),
                            ], selected: [form?["outcome"] ?? ""], error: problems["outcome"]),
                        Field.input(
                            "until", label: "Keep until (if kept)", value: form?["until"],
                            error: problems["until"], type: "date", width: "short"),
                        Field.textarea(
                            "reason", label: "Reason", value: form?["reason"],
                            error: problems["reason"], rows: 3, required: true),
                    ]),
            ])
    }

    @Sendable func review(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: RecordID = try context.pathID()
        var problems = Field.Problems()
        var keep: CalendarDate?
        switch form["outcome"] {
        case "keep":
            keep = CalendarDate(form["until"])
            if keep == nil { problems.add("until", "Give the date to keep it until") }
        case "destroy": break
        default: problems.add("outcome", "Choose keep or due for destruction")
        }
        if form["reason"].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.add("reason", "Give the reason")
        }
        guard problems.isEmpty else {
            return reviewPage(visitor, id.text, form: form, problems: problems)
                .response(for: visitor)
        }
        do {
            try await visitor.session.retention.reviewRetention(
                id, keepUntil: keep, reason: form["reason"])
        } catch let error as TutelaError where [.usage, .invalidInput].contains(error.kind) {
            // Said beside the box it is about, with what was typed kept.
            problems.add(keep == nil ? "reason" : "until", Page.sentence(error.message))
            return reviewPage(visitor, id.text, form: form, problems: problems)
                .response(for: visitor)
        }
        return Page.redirect(to: "/retention")
    }

    // MARK: Destruction

    @Sendable func destroyForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        return Page(
            "Destroy a record",
            [
                H.h1("Destroy a record"),
                H.p(
                    "Record \(id) is due for destruction. Two people destroy a record: the first "
                        + "proposes, and a second record keeper or a head of centre agrees, each by "
                        + "their own clock. When the second agrees, the record's key is destroyed "
                        + "so that no copy, backup included, can be read again, and a signed "
                        + "certificate is kept in its place.", [("class", "warning")]),
                Field.form(
                    action: "/records/\(id)/destroy", csrf: visitor.csrf,
                    submit: "Propose or agree to destroy it",
                    secondary: H.link("Cancel", to: "/retention"), []),
            ]
        ).response(for: visitor)
    }

    @Sendable func destroy(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: RecordID = try context.pathID()
        switch try await visitor.session.retention.destroy(id) {
        case .proposed:
            return Done.proposed.redirect(to: "/retention", id: id.text)
        case .destroyed(let certificate):
            try visitor.session.retention.verify(certificate)
            return Page.redirect(to: "/certificates/\(id)")
        }
    }

    // MARK: Certificates

    @Sendable func certificates(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let all = try await visitor.session.retention.certificates()
        var content: [HTML] = [
            H.h1("Destruction certificates"),
            H.p("Every certificate listed here was checked: its signature and its record's label."),
        ]
        if all.isEmpty {
            content.append(H.p("There are no certificates you may see."))
        } else {
            content.append(
                H.table(
                    caption: "Certificates, oldest first",
                    headers: [
                        "Record", "Label", "Learner", "Destroyed", "Agreed by", "Proposed by",
                    ],
                    rows: all.map {
                        [
                            H.link(
                                $0.certificate.record.text,
                                to: "/certificates/\($0.certificate.record)"),
                            HTML($0.label.envelopeText), HTML($0.label.learner.text),
                            HTML(Page.when($0.certificate.time)),
                            HTML($0.certificate.authoriser.text),
                            HTML($0.certificate.proposer?.text ?? ""),
                        ]
                    }))
        }
        return Page("Destruction certificates", content).response(for: visitor)
    }

    @Sendable func certificate(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        let certified = try await visitor.session.retention.certificate(id)
        return Page(
            "Certificate for \(id)", kind: "print",
            [
                H.h1("Destruction certificate"),
                .element("pre", [("class", "paper certificate")], [HTML(certified.text)]),
                .element(
                    "div", [("class", "actions")],
                    [
                        .element(
                            "button", [("type", "button"), ("data-print", ""), ("hidden", "")],
                            [HTML("Print")]),
                        H.link("Download", to: "/certificates/\(id)/download"),
                        H.link("All certificates", to: "/certificates"),
                    ]),
            ]
        ).response(for: visitor)
    }

    @Sendable func download(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        let certified = try await visitor.session.retention.certificate(id)
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/plain; charset=utf-8",
                .contentDisposition: "attachment; filename=\"certificate-\(id).txt\"",
            ], body: ResponseBody(byteBuffer: ByteBuffer(string: certified.text)))
    }
}
