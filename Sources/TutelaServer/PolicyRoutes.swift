import Hummingbird
import Tutela

/// The policy: the one in force, checking and publishing a file, and "explain why" for a
/// record and an action — each the library call `tutela policy` makes. A policy travels as YAML
/// (`Content-Type: application/yaml`), at most 256 KiB, as the directory holds it.
struct PolicyRoutes {
    let server: ServerState

    struct InForceJSON: Encodable {
        let name: String
        let version: Int
        let source: String
        let secondFactorRoles: [String]
    }

    func add(to router: Router<TutelaRequestContext>) {
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.get("policy", use: inForce)
        api.post("policy/check", use: check)
        api.put("policy", use: apply)
        api.get("records/:id/explain", use: explain)
        api.get("policy/regrant", use: pending)
        api.post("policy/regrant", use: regrant)
    }

    /// The grants waiting to be made on records this person can open (`?record=ID` for one).
    @Sendable func pending(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let record = try request.uri.queryParameters.get("record").map { try RecordID(String($0)) }
        let waiting = try await context.requireSignedIn().session.lifecycle.slotChanges(
            record: record
        ).filter(\.adds)
        return JSONResponse.make(.ok, ["pending": waiting.map(\.record.text)])
    }

    /// Brings key slots in line with the policy on the records this person can open.
    @Sendable func regrant(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let record = try request.uri.queryParameters.get("record").map { try RecordID(String($0)) }
        let (done, left) = try await context.requireSignedIn().session.lifecycle.regrant(
            record: record)
        return JSONResponse.make(
            .ok,
            ["regranted": done.map(\.record.text), "needOthers": left.map(\.record.text)])
    }

    static let maximum = 256 * 1024

    @Sendable func inForce(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        guard let policy = try context.requireSignedIn().session.directory.policy else {
            throw TutelaError(
                .notFound, "no policy has been applied to this vault yet",
                hint: "an administrator applies one: PUT /api/v1/policy")
        }
        return JSONResponse.make(
            .ok,
            InForceJSON(
                name: policy.name, version: policy.version, source: policy.source,
                secondFactorRoles: policy.secondFactorRoles.sorted().map(\.rawValue)))
    }

    @Sendable func check(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        _ = try context.requireSignedIn()
        let bytes = try await server.body(
            of: request, type: "application/yaml", limit: Self.maximum)
        return JSONResponse.make(
            .ok, PolicyCheckedJSON(try Policy.check(bytes, source: Self.source(request))))
    }

    @Sendable func apply(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        try await server.requireRecent(context)
        let session = try context.requireSignedIn().session
        let bytes = try await server.body(
            of: request, type: "application/yaml", limit: Self.maximum)
        let source = Self.source(request)
        let (policy, changes) = try await session.administration.applyPolicy(
            bytes, source: source)
        return JSONResponse.make(.created, PolicyAppliedJSON(policy, changes: changes))
    }

    @Sendable func explain(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let record: RecordID = try context.pathID()
        let text = request.uri.queryParameters.get("action") ?? ""
        guard let action = PolicyAction(rawValue: String(text)) else {
            throw TutelaError(
                .usage,
                "action must be one of "
                    + PolicyAction.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let session = try context.requireSignedIn().session
        let decision = try await session.explain(record, action: action)
        return JSONResponse.make(
            .ok,
            ExplainJSON(
                record: record, action: action, actor: session.principal.id, decision: decision))
    }

    /// The file name the policy cites in its decisions: `?source=NAME` (a plain file name), else
    /// "policy.yaml".
    static func source(_ request: Request) -> String {
        let given = request.uri.queryParameters.get("source").map { String($0) } ?? ""
        let plain = given.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        return !given.isEmpty && given.count <= 64 && plain ? given : "policy.yaml"
    }
}
