import Hummingbird
import Tutela

/// Retention (the check, holds, destruction by two people) and the audit log (entries, a signed
/// checkpoint, verification).
struct RetentionRoutes {
    let server: ServerState

    func add(to router: Router<TutelaRequestContext>) {
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.get("retention", use: check)
        api.post("records/:id/hold", use: hold)
        api.delete("records/:id/hold", use: release)
        api.post("records/:id/destroy", use: destroy)
        api.post("records/:id/review", use: review)
        api.get("audit", use: log)
        api.post("audit/checkpoint", use: checkpoint)
        api.get("audit/verify", use: verify)
        api.post("audit/verify", use: verifyAgainst)
    }

    @Sendable func check(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let session = try context.requireSignedIn().session
        let date: CalendarDate
        if let text = request.uri.queryParameters.get("asOf") {
            guard let parsed = CalendarDate(text) else {
                throw TutelaError(.usage, "asOf must be a date, YYYY-MM-DD")
            }
            date = parsed
        } else {
            date = server.vault.clock.today
        }
        var listing = RetentionReport.actionable
        listing.insert(.undetermined)
        let report = try await session.retention.report(asOf: date, listing: listing)
        return JSONResponse.make(.ok, RetentionCheckJSON(report, asOf: date))
    }

    struct Review: Decodable {
        /// `keep` or `destroy`.
        let outcome: String
        /// With `keep`: when to review again.
        let until: String?
        let reason: String
    }

    /// Decides a record whose retention period ended: kept until a date, or due for destruction.
    @Sendable func review(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: RecordID = try context.pathID()
        let body = try await server.decode(Review.self, from: request, context: context)
        let keep: CalendarDate?
        switch (body.outcome, body.until) {
        case ("keep", let until?):
            guard let date = CalendarDate(until) else {
                throw TutelaError(.usage, "until must be a date, YYYY-MM-DD")
            }
            keep = date
        case ("keep", nil): throw TutelaError(.usage, "outcome keep needs until (a date)")
        case ("destroy", nil): keep = nil
        case ("destroy", _): throw TutelaError(.usage, "until goes with outcome keep only")
        default: throw TutelaError(.usage, "outcome must be keep or destroy")
        }
        try await context.requireSignedIn().session.retention.reviewRetention(
            id, keepUntil: keep, reason: body.reason)
        return JSONResponse.make(.ok, RetentionReviewedJSON(id, keepUntil: keep))
    }

    @Sendable func hold(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let id: RecordID = try context.pathID()
        let body = try await server.decode(ReasonBody.self, from: request, context: context)
        try await context.requireSignedIn().session.retention.setHold(
            id, active: true, reason: body.reason)
        return JSONResponse.make(.created, HoldJSON(id, held: true))
    }

    @Sendable func release(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: RecordID = try context.pathID()
        // The reason comes in a body, never the URL (which proxies and browsers keep).
        let reason =
            request.headers[.contentType] == nil
            ? "hold released"
            : try await server.decode(ReasonBody.self, from: request, context: context).reason
        try await context.requireSignedIn().session.retention.setHold(
            id, active: false, reason: reason)
        return Response(status: .noContent)
    }

    @Sendable func destroy(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: RecordID = try context.pathID()
        let session = try context.requireSignedIn().session
        let outcome = try await session.retention.destroy(id)
        if case .destroyed(let certificate) = outcome {
            try session.retention.verify(certificate)
            return JSONResponse.make(.ok, DestructionJSON(record: id, outcome))
        }
        return JSONResponse.make(.accepted, DestructionJSON(record: id, outcome))
    }

    @Sendable func log(_ request: Request, context: TutelaRequestContext) async throws -> Response {
        let record = try request.uri.queryParameters.get("record").map { try RecordID($0) }
        let entries = try await context.requireSignedIn().session.auditLog(record: record)
        return JSONResponse.make(.ok, ["entries": entries.map(EntryJSON.init)])
    }

    @Sendable func checkpoint(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let checkpoint = try await context.requireSignedIn().session.checkpoint()
        return Response(
            status: .created, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: checkpoint.text)))
    }

    @Sendable func verify(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let session = try context.requireSignedIn().session
        let report = try await server.verifying.run { try await session.verifyAudit() }
        return JSONResponse.make(.ok, AuditReportJSON(report, checkpoint: nil))
    }

    struct CheckpointBody: Decodable {
        /// A checkpoint's text, as `POST /api/v1/audit/checkpoint` gave it.
        let checkpoint: String
    }

    /// Verifies the log and that it still holds every entry of a checkpoint kept outside the
    /// vault (`audit verify --checkpoint FILE`).
    @Sendable func verifyAgainst(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let session = try context.requireSignedIn().session
        let body = try await server.decode(CheckpointBody.self, from: request, context: context)
        let checkpoint = try Checkpoint.parse(body.checkpoint)
        let report = try await server.verifying.run {
            try await session.verifyAudit(checkpoint: checkpoint)
        }
        return JSONResponse.make(.ok, AuditReportJSON(report, checkpoint: checkpoint))
    }
}
