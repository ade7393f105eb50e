import Hummingbird
import Tutela

/// The safeguarding team's routes: the queue, disclosures, reviews after the fact, break-glass,
/// and everyone's inbox. Each is the library call the command line makes, with its JSON.
struct SafeguardingRoutes {
    let server: ServerState

    struct BreakGlassBody: Decodable {
        let record: String
        let reason: String
    }
    struct ReviewBody: Decodable {
        let outcome: String
        let note: String
    }

    func add(to router: Router<TutelaRequestContext>) {
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.get("safeguarding/queue", use: queue)
        api.post("records/:id/disclose", use: disclose)
        api.get("safeguarding/reviews", use: reviews)
        api.post("safeguarding/reviews/:id", use: review)
        api.post("break-glass", use: request)
        api.get("break-glass/:id", use: describe)
        api.post("break-glass/:id/approve", use: approve)
        api.post("break-glass/:id/decline", use: decline)
        api.get("break-glass", use: requests)
        api.post("break-glass/:id/open", use: open)
        api.get("inbox", use: inbox)
    }

    @Sendable func queue(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let all = request.uri.queryParameters.get("all") == "true"
        let items = try await context.requireSignedIn().session.safeguarding.queue()
        return JSONResponse.make(
            .ok, ["queue": items.filter { all || !$0.closed }.map(QueueJSON.init)])
    }

    @Sendable func disclose(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: RecordID = try context.pathID()
        let body = try await server.decode(ReasonBody.self, from: request, context: context)
        let session = try context.requireSignedIn().session
        let opened = try await session.safeguarding.disclose(id, reason: body.reason)
        try await session.settle()
        return JSONResponse.make(.ok, OpenedJSON(opened))
    }

    @Sendable func reviews(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let pending = request.uri.queryParameters.get("pending") == "true"
        let items = try await context.requireSignedIn().session.safeguarding.reviews()
        return JSONResponse.make(
            .ok, ["reviews": items.filter { !pending || $0.outcome == nil }.map(ReviewJSON.init)])
    }

    @Sendable func review(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: ReviewID = try context.pathID()
        let body = try await server.decode(ReviewBody.self, from: request, context: context)
        guard let outcome = ReviewItem.Outcome(rawValue: body.outcome) else {
            throw TutelaError(.usage, "outcome must be justified or unjustified")
        }
        try await context.requireSignedIn().session.safeguarding.review(
            id, outcome: outcome, note: body.note)
        return JSONResponse.make(
            .created, ["review": id.text, "outcome": outcome.rawValue])
    }

    struct RequestJSON: Encodable {
        let request: String
        let record: String
        let requester: String
        let reason: String
        let created: String
        let expires: String
        let approvalsNeeded: Int
        /// For an approver: the label of the record it would open, and who asks by name.
        let label: LabelJSON?
        let requesterName: String?

        init(_ r: BreakGlassRequest, label: Label? = nil, requesterName: String? = nil) {
            request = r.id.text
            record = r.record.text
            requester = r.requester.text
            reason = r.reason
            created = Timestamp.iso(r.created)
            expires = Timestamp.iso(r.expires)
            approvalsNeeded = r.approvalsNeeded
            self.label = label.map(LabelJSON.init)
            self.requesterName = requesterName
        }
    }

    @Sendable func request(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let body = try await server.decode(BreakGlassBody.self, from: request, context: context)
        let made = try await context.requireSignedIn().session.breakGlass.request(
            try RecordID(body.record), reason: body.reason)
        return JSONResponse.make(.created, RequestJSON(made))
    }

    @Sendable func describe(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: Tutela.RequestID = try context.pathID()
        let view = try await context.requireSignedIn().session.breakGlass.describe(id)
        return JSONResponse.make(
            .ok, RequestJSON(view.request, label: view.label, requesterName: view.requesterName))
    }

    @Sendable func approve(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: Tutela.RequestID = try context.pathID()
        let (have, need) = try await context.requireSignedIn().session.breakGlass.approve(id)
        struct Approved: Encodable {
            let request: String
            let approvals: Int
            let needed: Int
        }
        return JSONResponse.make(.ok, Approved(request: id.text, approvals: have, needed: need))
    }

    @Sendable func decline(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: Tutela.RequestID = try context.pathID()
        let body = try await server.decode(ReasonBody.self, from: request, context: context)
        try await context.requireSignedIn().session.breakGlass.decline(id, reason: body.reason)
        struct Declined: Encodable {
            let request: String
            let declined = true
        }
        return JSONResponse.make(.ok, Declined(request: id.text))
    }

    @Sendable func requests(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let all = try await context.requireSignedIn().session.breakGlass.requests()
        struct StatusJSON: Encodable {
            let request: RequestJSON
            let approvals: Int
            let needed: Int
            let used: Bool
            let expired: Bool
            let mayApprove: Bool
        }
        return JSONResponse.make(
            .ok,
            [
                "requests": all.map {
                    StatusJSON(
                        request: RequestJSON(
                            $0.request, label: $0.label, requesterName: $0.requesterName),
                        approvals: $0.approvals, needed: $0.needed, used: $0.used,
                        expired: $0.expired, mayApprove: $0.mayApprove)
                }
            ])
    }

    @Sendable func open(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let id: Tutela.RequestID = try context.pathID()
        let session = try context.requireSignedIn().session
        let opened = try await session.breakGlass.open(id)
        try await session.settle()
        return JSONResponse.make(.ok, OpenedJSON(opened))
    }

    @Sendable func inbox(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let unread = request.uri.queryParameters.get("unread") == "true"
        let notices = try await context.requireSignedIn().session.inbox()
        return JSONResponse.make(
            .ok, ["notices": notices.filter { !unread || $0.unread }.map(NoticeJSON.init)])
    }
}
