import Hummingbird
import Tutela

/// Corrections (an addendum, a void), a learner's copy, and destruction certificates: the
/// record-keeping routes beside opening and sealing.
struct CorrectionRoutes {
    let server: ServerState

    struct Text: Decodable { let text: String }

    func add(to router: Router<TutelaRequestContext>) {
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.post("records/:id/addenda", use: addendum)
        api.post("records/:id/void", use: void)
        api.get("learners/:id/copy", use: copy)
        api.get("certificates", use: certificates)
        api.get("records/:id/certificate", use: certificate)
    }

    @Sendable func addendum(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: RecordID = try context.pathID()
        let body = try await server.decode(Text.self, from: request, context: context)
        let label = try await context.requireSignedIn().session.corrections.addendum(
            to: id, text: body.text)
        return JSONResponse.make(.created, LabelJSON(label))
    }

    @Sendable func void(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let id: RecordID = try context.pathID()
        let body = try await server.decode(ReasonBody.self, from: request, context: context)
        let statement = try await context.requireSignedIn().session.corrections.void(
            id, reason: body.reason)
        struct Voided: Encodable {
            let record: String
            let void: VoidJSON
        }
        return JSONResponse.make(.created, Voided(record: id.text, void: VoidJSON(statement)))
    }

    /// A copy of a learner's records for `?for=learner|parents-carers` (staff must say; a learner
    /// or parent gets their own). What was left out is in the audit log, never in the copy.
    @Sendable func copy(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let learner: LearnerID = try context.pathID()
        let recipient = try request.uri.queryParameters.get("for").map { text in
            guard let r = CopyRecipient(rawValue: text) else {
                throw TutelaError(.usage, "for must be learner or parents-carers")
            }
            return r
        }
        let session = try context.requireSignedIn().session
        let copy = try await session.export(learner: learner, for: recipient)
        try await session.settle()
        return JSONResponse.make(.ok, CopyJSON(learner: learner, copy))
    }

    @Sendable func certificates(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let all = try await context.requireSignedIn().session.retention.certificates()
        return JSONResponse.make(.ok, ["certificates": all.map(CertifiedJSON.init)])
    }

    @Sendable func certificate(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: RecordID = try context.pathID()
        let certified = try await context.requireSignedIn().session.retention.certificate(id)
        return JSONResponse.make(.ok, CertifiedJSON(certified))
    }
}
