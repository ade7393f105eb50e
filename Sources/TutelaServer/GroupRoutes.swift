import Hummingbird
import Tutela

/// Group keys (`tutela group`) and people's roles and reissued keys (`tutela principal roles`,
/// `rekey`): each the library call the command makes, answering its `--json`.
struct GroupRoutes {
    let server: ServerState
    /// Re-wraps, one at a time: each walks every slot sealed to the group's older keys.
    let rewrapping = OneAtATime("another re-wrap is running")

    struct Roles: Decodable {
        let roles: [String]
    }

    struct Rekey: Decodable {
        let days: Int?
    }

    func add(to router: Router<TutelaRequestContext>) {
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.get("groups", use: list)
        api.post("groups/:role", use: create)
        api.post("groups/:role/rotate", use: rotate)
        api.post("groups/:role/sync", use: sync)
        api.post("groups/:role/rewrap", use: rewrap)
        api.put("principals/:id/roles", use: setRoles)
        api.post("principals/:id/rekey", use: rekey)
    }

    static func role(_ context: TutelaRequestContext) throws -> Role {
        try Role.parse(context.parameters.get("role") ?? "")
    }

    @Sendable func list(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let session = try context.requireSignedIn().session
        return JSONResponse.make(.ok, ["groups": session.lifecycle.groups().map(GroupJSON.init)])
    }

    @Sendable func create(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let role = try Self.role(context)
        let group = try await context.requireSignedIn().session.lifecycle.createGroupKey(role)
        return JSONResponse.make(.created, GroupVersionJSON(group))
    }

    @Sendable func rotate(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let role = try Self.role(context)
        let group = try await context.requireSignedIn().session.lifecycle.rotateGroupKey(role)
        return JSONResponse.make(.created, GroupVersionJSON(group))
    }

    @Sendable func sync(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let role = try Self.role(context)
        let added = try await context.requireSignedIn().session.lifecycle.syncGroup(role)
        return JSONResponse.make(.ok, GroupSyncJSON(role, added: added))
    }

    /// `?batch=N` slots per transaction (1–10000, 500 by default); resumable, as on the command
    /// line. `?reencrypt=true` (after a suspected compromise) is left to the command line, where
    /// its progress can be watched.
    @Sendable func rewrap(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let role = try Self.role(context)
        let batch = try request.uri.queryParameters.get("batch").map { text in
            guard let n = Int(text), (1...10_000).contains(n) else {
                throw TutelaError(.usage, "batch must be 1–10000")
            }
            return n
        }
        let session = try context.requireSignedIn().session
        let summary = try await rewrapping.run {
            try await session.lifecycle.rewrapGroup(role, batchSize: batch ?? 500)
        }
        return JSONResponse.make(.ok, summary)
    }

    /// Replaces someone's roles; `?confirm=true` goes ahead where a record would be left with
    /// no reader.
    @Sendable func setRoles(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        try await server.requireRecent(context)
        let id: PrincipalID = try context.pathID()
        let body = try await server.decode(Roles.self, from: request, context: context)
        let roles = try body.roles.map { try Role.parse($0) }
        let due = try await context.requireSignedIn().session.administration.setRoles(
            id, roles, confirmed: request.uri.queryParameters.get("confirm") == "true")
        return JSONResponse.make(.ok, RolesSetJSON(id, roles: roles, due: due))
    }

    /// New keys for someone who lost their passphrase: their key stops counting at once, their
    /// sessions end, and the answer carries the one-time enrolment code they activate with, shown
    /// once. The authority re-keys itself on the command line only.
    @Sendable func rekey(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        try await server.requireRecent(context)
        let session = try context.requireSignedIn().session
        let id = session.directory.resolve(try context.pathID() as PrincipalID)
        guard !(id == session.principal.id && session.principal.isAuthority) else {
            throw TutelaError(
                .usage, "the authority re-keys itself on the command line",
                hint: "tutela principal rekey \(id) on the vault's machine")
        }
        let days =
            request.headers[.contentType] == nil
            ? nil : try await server.decode(Rekey.self, from: request, context: context).days
        let code = try await session.administration.reissue(
            id, lifetimeDays: days ?? EnrolmentCode.defaultLifetimeDays,
            confirmed: request.uri.queryParameters.get("confirm") == "true")
        await server.sessions.end(principal: id)
        await server.gate.clearCodeFailures(of: id)
        return JSONResponse.make(.created, EnrolmentCodeJSON(code))
    }
}
