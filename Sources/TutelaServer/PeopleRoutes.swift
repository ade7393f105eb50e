import Hummingbird
import Tutela
import TutelaCrypto

/// Administrators' routes (enrolment, revocation, learners) and a person's own activation of
/// their enrolment, which needs no session: they have no keys yet.
struct PeopleRoutes {
    let server: ServerState

    struct Invite: Decodable {
        let id: String
        let name: String
        let roles: [String]
        let days: Int?
    }
    struct Activate: Decodable {
        let code: String
        let passphrase: String
    }
    struct AddLearner: Decodable {
        let id: String
        let name: String
        let tutor: String
        let dob: String?
        let programme: String?
    }
    struct Leave: Decodable { let date: String }

    func add(to router: Router<TutelaRequestContext>) {
        router.post("/api/v1/principals/:id/activate", use: activate)
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.post("principals", use: invite)
        api.delete("principals/:id", use: revoke)
        api.post("learners", use: addLearner)
        api.post("learners/:id/leave", use: leave)
    }

    @Sendable func invite(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        try await server.requireRecent(context)
        let body = try await server.decode(Invite.self, from: request, context: context)
        let roles = try body.roles.map { text in
            guard let role = Role(rawValue: text) else {
                throw TutelaError(.usage, "'\(text)' is not a role")
            }
            return role
        }
        let code = try await context.requireSignedIn().session.administration.invite(
            try PrincipalID(body.id), name: body.name, roles: roles,
            lifetimeDays: body.days ?? EnrolmentCode.defaultLifetimeDays)
        return JSONResponse.make(.created, EnrolmentCodeJSON(code))
    }

    @Sendable func activate(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: PrincipalID = try context.pathID()
        let body = try await server.decode(Activate.self, from: request, context: context)
        let vault = server.vault
        let identity = try await server.withOneTimeCode(
            request, context, account: id, code: body.code, passphrase: body.passphrase,
            refusal: Self.activationRefused
        ) { code, passphrase in
            try await vault.activate(id, code: code, passphrase: passphrase)
        }
        await server.gate.clearCodeFailures(of: id)
        return JSONResponse.make(.created, NewKeysJSON(activated: id, identity))
    }

    static let activationRefused = TutelaError(
        .permissionDenied, "that id and enrolment code do not activate an enrolment",
        hint: "check the code you were given, or ask an administrator for a new one")

    @Sendable func revoke(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        try await server.requireRecent(context)
        let id: PrincipalID = try context.pathID()
        let confirmed = request.uri.queryParameters.get("confirm") == "true"
        _ = try await context.requireSignedIn().session.administration.revoke(
            id, confirmed: confirmed)
        await server.sessions.end(principal: id)
        return Response(status: .noContent)
    }

    @Sendable func addLearner(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let body = try await server.decode(AddLearner.self, from: request, context: context)
        let dob = try body.dob.map { text in
            guard let date = CalendarDate(text) else {
                throw TutelaError(.usage, "dob must be a date, YYYY-MM-DD")
            }
            return date
        }
        let id = try LearnerID(body.id)
        let tutor = try PrincipalID(body.tutor)
        try await context.requireSignedIn().session.administration.addLearner(
            id, name: body.name, tutor: tutor, dateOfBirth: dob, programme: body.programme)
        return JSONResponse.make(.created, ["learner": id.text, "tutor": tutor.text])
    }

    @Sendable func leave(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: LearnerID = try context.pathID()
        let body = try await server.decode(Leave.self, from: request, context: context)
        guard let date = CalendarDate(body.date) else {
            throw TutelaError(.usage, "date must be a date, YYYY-MM-DD")
        }
        try await context.requireSignedIn().session.administration.learnerLeft(id, on: date)
        return JSONResponse.make(.ok, ["learner": id.text, "left": date.description])
    }
}

/// A one-time enrolment code (an invitation or reissued keys), as `--json` prints it.
struct EnrolmentCodeJSON: Encodable {
    let principal: String
    let enrolmentCode: String
    let expires: String

    /// The code leaves protected memory only into this one response, shown once.
    init(_ code: EnrolmentCode) {
        principal = code.principal.text
        enrolmentCode = String(decoding: code.text.unprotectedCopy(), as: UTF8.self)
        expires = Timestamp.iso(code.expires)
    }
}
