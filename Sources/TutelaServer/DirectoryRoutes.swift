import Hummingbird
import Tutela

/// The directory's lists and changes beyond enrolment (people, learners, contacts, tutors,
/// leaving corrections), and a person's own passphrase change — each the library call the
/// matching command makes, answering its `--json`.
struct DirectoryRoutes {
    let server: ServerState

    struct Contacts: Decodable {
        let parents: [String]?
        let homeSchool: String?
        let provider: String?
    }

    struct Reassign: Decodable {
        let learners: [String]?
        let from: String?
        let tutor: String
    }

    struct CorrectLeaving: Decodable {
        let date: String?
        let notLeft: Bool?
        let reason: String
    }

    struct ChangePassphrase: Decodable {
        let passphrase: String
        let newPassphrase: String
        /// A code from their authenticator app (or a recovery code), when they have one.
        let code: String?
    }

    func add(to router: Router<TutelaRequestContext>) {
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.get("principals", use: people)
        api.get("learners", use: learners)
        api.post("learners/reassign", use: reassign)
        api.post("learners/:id/contacts", use: contacts)
        api.post("learners/:id/correct-leaving", use: correctLeaving)
        api.post("session/passphrase", use: changePassphrase)
    }

    @Sendable func people(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let session = try context.requireSignedIn().session
        return JSONResponse.make(
            .ok, ["principals": session.finding.people().map(PersonJSON.init)])
    }

    @Sendable func learners(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let session = try context.requireSignedIn().session
        let tutor = try request.uri.queryParameters.get("tutor").map { try PrincipalID($0) }
        let directory = session.directory
        return JSONResponse.make(
            .ok,
            [
                "learners": session.finding.learners(tutor: tutor).map {
                    LearnerJSON($0, in: directory)
                }
            ])
    }

    @Sendable func contacts(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        // Linking a parent lets them read: a change of who may, as roles are.
        try await server.requireRecent(context)
        let id: LearnerID = try context.pathID()
        let body = try await server.decode(Contacts.self, from: request, context: context)
        let contacts = LearnerContacts(
            parents: try (body.parents ?? []).map { try PrincipalID($0) },
            homeSchool: try body.homeSchool.map { try PrincipalID($0) },
            provider: try body.provider.map { try PrincipalID($0) })
        try await context.requireSignedIn().session.administration.setContacts(id, contacts)
        return JSONResponse.make(.ok, ContactsJSON(id, contacts))
    }

    /// Named learners, or every tutee of `from`, to `tutor`; `?confirm=true` goes ahead where a
    /// record would be left with no reader (refused and listed otherwise).
    @Sendable func reassign(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        try await server.requireRecent(context)
        let body = try await server.decode(Reassign.self, from: request, context: context)
        guard (body.learners ?? []).isEmpty != (body.from == nil) else {
            throw TutelaError(.usage, "name the learners, or give from (a tutor), not both")
        }
        let tutor = try PrincipalID(body.tutor)
        let session = try context.requireSignedIn().session
        let learners =
            try body.from.map { session.administration.caseload(of: try PrincipalID($0)) }
            ?? (body.learners ?? []).map { try LearnerID($0) }
        // Always through the library, which decides who may (an empty list included).
        let moved = try await session.administration.reassign(
            learners, to: tutor, confirmed: request.uri.queryParameters.get("confirm") == "true")
        return JSONResponse.make(.ok, ReassignedJSON(tutor: tutor, moved: moved))
    }

    @Sendable func correctLeaving(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: LearnerID = try context.pathID()
        let body = try await server.decode(CorrectLeaving.self, from: request, context: context)
        guard (body.date == nil) == (body.notLeft ?? false) else {
            throw TutelaError(.usage, "give the correct date, or notLeft: true, not both")
        }
        let corrected = try body.date.map { text in
            guard let date = CalendarDate(text) else {
                throw TutelaError(.usage, "date must be a date, YYYY-MM-DD")
            }
            return date
        }
        try await context.requireSignedIn().session.administration.correctLeaving(
            id, to: corrected, reason: body.reason)
        return JSONResponse.make(.ok, LeavingCorrectedJSON(id, left: corrected))
    }

    /// The person's own passphrase, and their keys with it. The current passphrase (and code,
    /// if they have an app) is checked as a sign-in is and unlocks their stored identity afresh
    /// (so what was enrolled in another session — a second factor — goes with it); every session
    /// of theirs ends, this one included, since it holds the retired key.
    @Sendable func changePassphrase(_ request: Request, context: TutelaRequestContext)
        async throws -> Response
    {
        let signedIn = try context.requireSignedIn()
        let body = try await server.decode(ChangePassphrase.self, from: request, context: context)
        let groups = try await server.changePassphrase(
            of: signedIn, current: try Passphrase(body.passphrase),
            new: try Passphrase(body.newPassphrase), code: body.code, request: request,
            context: context)
        var response = JSONResponse.make(
            .ok, PassphraseChangedJSON(signedIn.session.principal.id, newGroupKeys: groups))
        response.setCookie(server.endedCookie)
        return response
    }
}
