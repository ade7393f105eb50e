import Foundation
import HTTPTypes
import Hummingbird
import Tutela

/// The safeguarding team's and the heads' pages: break-glass (asking, approving or declining,
/// following one's own requests, opening), and reviews of openings after the fact.
struct SafeguardingPages {
    let server: ServerState

    func add(
        to pages: RouterGroup<TutelaRequestContext>,
        post: PageRoutes.Wrapper
    ) {
        pages.get("/break-glass", use: requests)
        pages.get("/records/:id/break-glass", use: requestForm)
        pages.post("/records/:id/break-glass", use: post(request))
        pages.post("/break-glass/:id/approve", use: post(approve))
        pages.get("/break-glass/:id/decline", use: declineForm)
        pages.post("/break-glass/:id/decline", use: post(decline))
        pages.post("/break-glass/:id/open", use: post(open))
        pages.get("/reviews", use: reviews)
        pages.post("/reviews/:id", use: post(review))
    }

    // MARK: Break-glass

    @Sendable func requests(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let all = try await visitor.session.breakGlass.requests()
        let me = visitor.principal.id
        let mine = all.filter { $0.request.requester == me }
        let toApprove = all.filter { $0.request.requester != me }
        var content: [HTML] = [H.h1("Break-glass requests")]
        if !visitor.principal.isFamily, let (done, id) = Done.told(request) {
            let status = all.first { $0.request.id.text == id }
            let counted =
                status.map { " It has \($0.approvals) of the \($0.needed) approvals it needs." }
                ?? ""
            switch done {
            case .requested:
                content.append(
                    Done.notice(
                        "Request sent",
                        "Request \(id) is sent. The approvers are told; you can open the record "
                            + "here once enough approve."))
            case .approved:
                content.append(
                    Done.notice("Request approved", "You approved \(id)." + counted))
            case .declined:
                content.append(
                    Done.notice("Request declined", "You declined \(id). The requester is told."))
            default: break
            }
        }
        content += [
            H.p(
                "Break-glass opens a record that is not flagged, when a safeguarding officer "
                    + "needs it and the approvers the policy names agree. Each request lasts a "
                    + "limited time and opens the record once.")
        ]
        if !toApprove.isEmpty || !visitor.principal.has(.safeguardingOfficer) {
            content.append(H.h2("Asked of you"))
            if toApprove.isEmpty { content.append(H.p("No requests wait for you.")) }
            for status in toApprove { content.append(approverCard(status, visitor)) }
        }
        if visitor.principal.has(.safeguardingOfficer) || !mine.isEmpty {
            content.append(H.h2("Your requests"))
            if mine.isEmpty {
                content.append(
                    H.p(
                        "You have made no requests. To ask, find the learner's records and choose "
                            + "“Ask to break the glass” on the record."))
            } else {
                content.append(
                    H.table(
                        caption: "Your break-glass requests, newest first",
                        headers: ["Request", "Record", "Why", "Approvals", "State", "Action"],
                        rows: mine.map { requesterRow($0, visitor) }))
            }
        }
        return Page("Break-glass requests", content).response(for: visitor)
    }

    private func state(_ status: BreakGlass.Status) -> String {
        if status.used { return "Opened" }
        if status.expired { return "Expired" }
        if status.approvals >= status.needed { return "Approved: you may open it" }
        return "Waiting for approval"
    }

    private func requesterRow(_ status: BreakGlass.Status, _ visitor: Visitor) -> [HTML] {
        let request = status.request
        let ready = !status.used && !status.expired && status.approvals >= status.needed
        return [
            HTML(request.id.text),
            HTML("\(status.label.envelopeText) (\(status.label.learner))"),
            HTML(request.reason),
            HTML("\(status.approvals) of \(status.needed)"),
            HTML(state(status)),
            ready
                ? Field.button(
                    "Open the record", action: "/break-glass/\(request.id)/open",
                    csrf: visitor.csrf, label: "Open the record of request \(request.id)")
                : .empty,
        ]
    }

    private func approverCard(_ status: BreakGlass.Status, _ visitor: Visitor) -> HTML {
        let request = status.request
        let id = request.id.text
        var parts: [HTML] = [
            .element("h3", [], [HTML("Request \(id)")]),
            H.facts([
                ("Who asks", HTML("\(status.requesterName) (\(request.requester))")),
                (
                    "For the record",
                    HTML("\(status.label.envelopeText), learner \(status.label.learner)")
                ),
                ("Why", HTML(request.reason)),
                ("Asked", HTML(Page.when(request.created))),
                ("Ends", HTML(Page.when(request.expires))),
                ("Approvals", HTML("\(status.approvals) of \(status.needed)")),
                ("State", HTML(state(status))),
            ]),
        ]
        if status.mayApprove {
            parts.append(
                .element(
                    "div", [("class", "actions")],
                    [
                        Field.button(
                            "Approve", action: "/break-glass/\(id)/approve", csrf: visitor.csrf,
                            label: "Approve request \(id)"),
                        H.link(
                            "Decline", to: "/break-glass/\(id)/decline",
                            [("aria-label", "Decline request \(id)")]),
                    ]))
        }
        return .element("section", [("class", "card"), ("aria-label", "Request \(id)")], parts)
    }

    @Sendable func requestForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: RecordID = try context.pathID()
        return requestPage(visitor, id.text).response(for: visitor)
    }

    private func requestPage(
        _ visitor: Visitor, _ id: String, problems: Field.Problems = .init(), value: String? = nil
    ) -> Page {
        ReasonPage.page(
            visitor, record: id, title: "Ask to break the glass",
            explanation: [
                "The approvers the policy names are told at once, with your reason and your name, "
                    + "as are the heads of centre and the record's author. Once enough of them "
                    + "approve, you may open the record once, before the request ends. A head of "
                    + "centre reviews every opening afterwards."
            ], action: "/records/\(id)/break-glass", submit: "Send the request",
            label: "Why do you need to open this record?",
            hint: "The approvers decide on this. Give the referral or case it concerns.",
            problems: problems, value: value)
    }

    @Sendable func request(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: RecordID = try context.pathID()
        return try await ReasonPage.handle(
            form, visitor: visitor, missing: "Give the reason you need to open this record",
            page: { requestPage(visitor, id.text, problems: $0, value: $1) },
            act: { reason in
                let made = try await visitor.session.breakGlass.request(id, reason: reason)
                return Done.requested.redirect(to: "/break-glass", id: made.id.text)
            })
    }

    @Sendable func approve(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: Tutela.RequestID = try context.pathID()
        try await visitor.session.breakGlass.approve(id)
        return Done.approved.redirect(to: "/break-glass", id: id.text)
    }

    @Sendable func declineForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: Tutela.RequestID = try context.pathID()
        return declinePage(visitor, id.text).response(for: visitor)
    }

    private func declinePage(
        _ visitor: Visitor, _ id: String, problems: Field.Problems = .init(), value: String? = nil
    ) -> Page {
        ReasonPage.page(
            visitor, record: nil, title: "Decline request \(id)",
            explanation: [
                "You release nothing. The requester is told at once, with your reason. Other "
                    + "approvers may still approve the request until it ends."
            ], action: "/break-glass/\(id)/decline", submit: "Decline the request",
            label: "Why are you declining?", hint: "The requester reads this.",
            problems: problems, value: value, cancel: "/break-glass")
    }

    @Sendable func decline(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: Tutela.RequestID = try context.pathID()
        return try await ReasonPage.handle(
            form, visitor: visitor, missing: "Say why you are declining",
            page: { declinePage(visitor, id.text, problems: $0, value: $1) },
            act: { reason in
                try await visitor.session.breakGlass.decline(id, reason: reason)
                return Done.declined.redirect(to: "/break-glass", id: id.text)
            })
    }

    @Sendable func open(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: Tutela.RequestID = try context.pathID()
        let opened = try await visitor.session.breakGlass.open(id)
        try await visitor.session.settle()
        return RecordView.page(opened, learnerName: nil, visitor: visitor).response(for: visitor)
    }

    // MARK: Reviews after the fact

    @Sendable func reviews(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        return try await reviewsPage(visitor, problems: .init(), failed: nil).response(
            for: visitor)
    }

    private func reviewsPage(
        _ visitor: Visitor, problems: Field.Problems, failed: String?, form: PageForm? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Page {
        let items = try await visitor.session.safeguarding.reviews()
        let head = visitor.principal.has(.headOfCentre)
        var content: [HTML] = [
            H.h1("Openings to review"),
            H.p(
                "Every opening of a flagged record, and every break-glass opening, is reviewed "
                    + "after the fact by a head of centre: was it justified?"),
            Field.summary(problems),
        ]
        let pending = items.filter { $0.outcome == nil }
        let done = items.filter { $0.outcome != nil }
        content.append(H.h2("Waiting for a review"))
        if pending.isEmpty { content.append(H.p("No openings wait for a review.")) }
        for item in pending {
            let id = item.id.text
            var parts: [HTML] = [
                .element("h3", [], [HTML("Opening \(id)")]),
                H.facts([
                    ("Record", HTML(item.record.text)),
                    ("Opened by", HTML(item.actor.text)),
                    ("When", HTML(Page.when(item.time))),
                    ("How", HTML(item.kind == .breakGlass ? "Break-glass" : "Flagged record")),
                    ("Their reason", HTML(item.reason)),
                ]),
            ]
            if head {
                let mine = failed == id
                parts.append(
                    Field.form(
                        action: "/reviews/\(id)", csrf: visitor.csrf, submit: "Record the review",
                        [
                            Field.choices(
                                "outcome-\(id)", legend: "Was the opening justified?",
                                options: [
                                    ("justified", "Justified"), ("unjustified", "Not justified"),
                                ],
                                selected: mine ? [form?["outcome-\(id)"] ?? ""] : [],
                                error: mine ? problems["outcome-\(id)"] : nil),
                            Field.textarea(
                                "note-\(id)", label: "Your note",
                                value: mine ? form?["note-\(id)"] : nil,
                                error: mine ? problems["note-\(id)"] : nil, rows: 3),
                        ]))
            }
            content.append(
                .element("section", [("class", "card"), ("aria-label", "Opening \(id)")], parts))
        }
        if !done.isEmpty {
            content.append(H.h2("Reviewed"))
            content.append(
                H.table(
                    caption: "Reviewed", headers: ["Opening", "Record", "By", "Outcome", "Note"],
                    rows: done.map {
                        [
                            HTML($0.id.text), HTML($0.record.text), HTML($0.actor.text),
                            HTML($0.outcome?.rawValue.capitalized ?? ""), HTML($0.note ?? ""),
                        ]
                    }))
        }
        return Page("Openings to review", status: status, content)
    }

    @Sendable func review(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: ReviewID = try context.pathID()
        var problems = Field.Problems()
        let outcome = ReviewItem.Outcome(rawValue: form["outcome-\(id)"])
        if outcome == nil { problems.add("outcome-\(id)", "Choose justified or not justified") }
        let note = form["note-\(id)"]
        if note.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.add("note-\(id)", "Write a note on the review")
        }
        guard let outcome, problems.isEmpty else {
            return try await reviewsPage(
                visitor, problems: problems, failed: id.text, form: form, status: .badRequest
            ).response(for: visitor)
        }
        do {
            try await visitor.session.safeguarding.review(id, outcome: outcome, note: note)
        } catch let error as TutelaError where [.usage, .invalidInput].contains(error.kind) {
            problems.add("note-\(id)", Page.sentence(error.message))
            return try await reviewsPage(
                visitor, problems: problems, failed: id.text, form: form, status: .badRequest
            ).response(for: visitor)
        }
        return Page.redirect(to: "/reviews")
    }
}

/// A page whose form asks only for a reason (a flag, an opening, a request, a decline).
enum ReasonPage {
    static func page(
        _ visitor: Visitor, record: String?, title: String, explanation: [String],
        action: String, submit: String, label: String, hint: String,
        problems: Field.Problems = .init(), value: String? = nil, cancel: String = "/records"
    ) -> Page {
        Page(
            title, status: problems.isEmpty ? .ok : .badRequest,
            [H.h1(title), Field.summary(problems)]
                + (record.map { [H.p("Record \($0).")] } ?? [])
                + explanation.map { H.p($0) }
                + [
                    Field.form(
                        action: action, csrf: visitor.csrf, submit: submit,
                        secondary: H.link("Cancel", to: cancel),
                        [
                            Field.textarea(
                                "reason", label: label, value: value, hint: hint,
                                error: problems["reason"], rows: 4, required: true)
                        ])
                ])
    }

    /// Runs `act` with the form's reason. A blank reason, or one the library refuses as written
    /// (too long, a control character pasted in), draws the form again with the problem beside
    /// the box and the words kept; any other refusal is the library's, as a page.
    static func handle(
        _ form: PageForm, visitor: Visitor, missing: String,
        page: (Field.Problems, String) -> Page, act: (String) async throws -> Response
    ) async throws -> Response {
        let reason = form["reason"]
        var problems = Field.Problems()
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.add("reason", missing)
        } else {
            do { return try await act(reason) } catch let error as TutelaError
                where [.usage, .invalidInput].contains(error.kind)
            {
                problems.add("reason", Page.sentence(error.message))
            }
        }
        return page(problems, reason).response(for: visitor)
    }
}
