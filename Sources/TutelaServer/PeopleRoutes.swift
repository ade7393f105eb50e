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
        struct Invited: Encodable {
            let principal: String
            let enrolmentCode: String
            let expires: String
        }
        // The code leaves protected memory only into this one response, shown once.
        let text = String(decoding: code.text.unprotectedCopy(), as: UTF8.self)
        return JSONResponse.make(
            .created,
            Invited(
                principal: code.principal.text, enrolmentCode: text,
                expires: Timestamp.iso(code.expires)))
    }

    @Sendable func activate(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: PrincipalID = try context.pathID()
        let body = try await server.decode(Activate.self, from: request, context: context)
        let code = try SecretBytes(copying: Array(body.code.utf8))
        defer { code.wipe() }
        let passphrase = try Passphrase(body.passphrase)
        // Too short a passphrase is said plainly: it is checked before anyone is looked up.
        try passphrase.validateAsNew()
        let identity = try await server.throttled(
            account: id.text, address: server.clientAddress(request, context)
        ) {
            do {
                return try await server.gate.activate(
                    id, code: code, passphrase: passphrase, in: server.vault)
            } catch let error as TutelaError
                where [.notFound, .exists, .permissionDenied, .usage, .invalidInput].contains(
                    error.kind)
            {
                // No such person, someone enrolled already, no code waiting, a wrong, expired or
                // malformed code: one answer, which tells an outsider nothing about who exists.
                throw Self.activationRefused
            }
        }
        return JSONResponse.make(
            .created,
            ["principal": id.text, "active": "true", "fingerprint": identity.fingerprint])
    }

    static let activationRefused = TutelaError(
        .permissionDenied, "that id and enrolment code do not activate an enrolment",
        hint: "check the code you were given, or ask an administrator for a new one")

    @Sendable func revoke(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
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
