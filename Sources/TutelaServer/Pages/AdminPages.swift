import Foundation
import HTTPTypes
import Hummingbird
import Tutela

/// The administrator's pages: people (enrol, revoke), learners (add, leaving, change of tutor),
/// and the policy in force with "explain why".
struct AdminPages {
    let server: ServerState

    func add(
        to pages: RouterGroup<TutelaRequestContext>,
        post: PageRoutes.Wrapper
    ) {
        pages.get("/people", use: people)
        pages.get("/people/new", use: inviteForm)
        pages.post("/people", use: post(invite))
        pages.get("/people/:id/revoke", use: revokeForm)
        pages.post("/people/:id/revoke", use: post(revoke))
        LearnerPages(server: server).add(to: pages, post: post)
        pages.get("/policy", use: policy)
    }

    @Sendable func people(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let admin = visitor.principal.has(.admin)
        let listed = visitor.session.finding.people()
        var content: [HTML] = [H.h1("People")]
        if admin { content.append(H.p([], [H.link("Enrol someone", to: "/people/new")])) }
        content.append(
            H.table(
                caption: "People enrolled or invited (\(listed.count))",
                headers: ["Name", "Id", "Roles", "Standing"] + (admin ? ["Actions"] : []),
                rows: listed.map { person in
                    var cells: [HTML] = [
                        HTML(person.name), HTML(person.id.text),
                        HTML(person.roles.map(\.rawValue).joined(separator: ", ")),
                        HTML(person.standing.rawValue.replacingOccurrences(of: "-", with: " ")),
                    ]
                    if admin {
                        cells.append(
                            person.standing == .revoked || person.id == visitor.principal.id
                                ? .empty
                                : H.link(
                                    person.standing == .invited ? "Withdraw" : "Revoke",
                                    to: "/people/\(person.id)/revoke",
                                    [("aria-label", "Revoke \(person.name)")]))
                    }
                    return cells
                }))
        return Page("People", content).response(for: visitor)
    }

    @Sendable func inviteForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        return try await invitePage(visitor, form: nil, problems: .init()).response(for: visitor)
    }

    private func invitePage(
        _ visitor: Visitor, form: PageForm?, problems: Field.Problems,
        status: HTTPResponse.Status = .ok
    ) async throws -> Page {
        Page(
            "Enrol someone", status: status,
            [
                H.h1("Enrol someone"), Field.summary(problems),
                H.p(
                    "Tutela makes a one-time enrolment code. Give it to the person yourself; they "
                        + "set their own passphrase with it, and their keys never pass through you."
                ),
                Field.form(
                    action: "/people", csrf: visitor.csrf, submit: "Enrol",
                    secondary: H.link("Cancel", to: "/people"),
                    [
                        Field.input(
                            "id", label: "Their Tutela id", value: form?["id"],
                            hint: "Short and lower case, such as a surname: patel.",
                            error: problems["id"], required: true),
                        Field.input(
                            "name", label: "Their name", value: form?["name"],
                            error: problems["name"], required: true),
                        Field.choices(
                            "roles", legend: "Their roles",
                            options: Role.allCases.map { ($0.rawValue, $0.rawValue) },
                            selected: Set(form?.all("roles") ?? []), error: problems["roles"],
                            multiple: true),
                        await RecentSignIn.fields(visitor, server: server, problems: problems),
                    ]),
            ])
    }

    @Sendable func invite(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        var problems = Field.Problems()
        var id: PrincipalID?
        do { id = try PrincipalID(form["id"].trimmingCharacters(in: .whitespaces)) } catch {
            problems.add("id", Page.sentence(error.message))
        }
        let name = form["name"].trimmingCharacters(in: .whitespaces)
        if name.isEmpty { problems.add("name", "Enter their name") }
        let roles = form.all("roles").compactMap(Role.init(rawValue:))
        if roles.isEmpty { problems.add("roles", "Choose at least one role") }
        guard problems.isEmpty, let id,
            try await RecentSignIn.check(
                form, visitor, server: server, request: request, context: context,
                problems: &problems)
        else {
            return try await invitePage(
                visitor, form: form, problems: problems, status: .badRequest
            )
            .response(for: visitor)
        }
        let code: EnrolmentCode
        do {
            code = try await visitor.session.administration.invite(id, name: name, roles: roles)
        } catch let error as TutelaError
            where [.usage, .exists, .invalidInput].contains(error.kind)
        {
            problems.add(error.kind == .exists ? "id" : "name", Page.sentence(error.message))
            return try await invitePage(
                visitor, form: form, problems: problems, status: .badRequest
            )
            .response(for: visitor)
        }
        // The code leaves protected memory only into this one page.
        let text = String(decoding: code.text.unprotectedCopy(), as: UTF8.self)
        return Page(
            "Enrolment code",
            [
                H.h1("\(name) is enrolled"),
                H.p(
                    "Give \(name) their id and this code yourself. It is shown only now, and it "
                        + "works once, until \(Page.when(code.expires)).",
                    [("class", "warning")]),
                H.facts([("Id", H.strong(id.text)), ("Enrolment code", H.strong(text))]),
                H.p("They set up their account at the sign-in page: “Set up your account”."),
                H.p([], [H.link("Back to people", to: "/people")]),
            ]
        ).response(for: visitor)
    }

    // MARK: Revoking

    @Sendable func revokeForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: PrincipalID = try context.pathID()
        return try await revokePage(visitor, id, warning: nil, problems: .init())
            .response(for: visitor)
    }

    private func revokePage(
        _ visitor: Visitor, _ id: PrincipalID, warning: String?, problems: Field.Problems,
        status: HTTPResponse.Status = .ok
    ) async throws -> Page {
        var fields: [HTML] = []
        if warning != nil {
            fields.append(
                Field.choices(
                    "confirm", legend: "Revoke anyway?",
                    options: [("yes", "Yes: I understand those records will have no reader")],
                    selected: [], error: problems["confirm"], multiple: true))
        }
        fields.append(await RecentSignIn.fields(visitor, server: server, problems: problems))
        return Page(
            "Revoke \(id)", status: status,
            [
                H.h1("Revoke \(id)"), Field.summary(problems),
                H.p(
                    "Revoking is for someone who has left. They can no longer sign in or act; "
                        + "their keys are removed from every record, and each group they belonged "
                        + "to gets a new key. What they signed stays verifiable."),
                warning.map { H.p(Page.sentence($0), [("class", "warning")]) } ?? .empty,
                Field.form(
                    action: "/people/\(id)/revoke", csrf: visitor.csrf, submit: "Revoke",
                    secondary: H.link("Cancel", to: "/people"), fields),
            ])
    }

    @Sendable func revoke(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: PrincipalID = try context.pathID()
        var problems = Field.Problems()
        guard
            try await RecentSignIn.check(
                form, visitor, server: server, request: request, context: context,
                problems: &problems)
        else {
            return try await revokePage(
                visitor, id, warning: nil, problems: problems, status: .badRequest
            ).response(for: visitor)
        }
        do {
            try await visitor.session.administration.revoke(
                id, confirmed: form.all("confirm").contains("yes"))
        } catch let error as TutelaError where error.needsConfirmation {
            // Nothing was revoked: the page says which records would lose every reader.
            problems.add("confirm", "Tick to revoke anyway, or move their learners first")
            return try await revokePage(
                visitor, id, warning: error.message, problems: problems, status: .conflict
            ).response(for: visitor)
        }
        await server.sessions.end(principal: id)
        return Page.redirect(to: "/people")
    }

    // MARK: The policy

    @Sendable func policy(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        guard let policy = visitor.session.directory.policy else {
            throw APIError(.notFound, "not-found", "no policy has been applied to this vault yet")
        }
        var content: [HTML] = [
            H.h1("The policy in force"),
            H.p(
                "\(policy.name), version \(policy.version). Everything Tutela allows, it allows by this."
            ),
            H.h2("Explain why"),
            H.p("Ask what the policy decides for you, for one record and one action."),
            .element(
                "form", [("method", "get"), ("action", "/policy"), ("class", "filter")],
                [
                    Field.input(
                        "record", label: "Record id",
                        value: request.uri.queryParameters.get("record"),
                        hint: "Such as R-ABCD-EFGH-JKLM."),
                    Field.select(
                        "action", label: "Action",
                        options: PolicyAction.allCases.map { ($0.rawValue, $0.rawValue) },
                        selected: request.uri.queryParameters.get("action") ?? "open"),
                    .element("button", [("type", "submit")], [HTML("Explain")]),
                ]),
        ]
        if let text = request.uri.queryParameters.get("record"), !text.isEmpty,
            let action = PolicyAction(rawValue: request.uri.queryParameters.get("action") ?? "")
        {
            let record = try RecordID(text)
            let decision = try await visitor.session.explain(record, action: action)
            content.append(
                H.p(
                    "\(decision.allowed ? "Allowed" : "Refused"): \(decision.rule)",
                    [("class", decision.allowed ? "notice" : "warning"), ("role", "status")]))
        }
        // What the policy decides, class by class, as its signatories signed it off: from the
        // policy's own decision point, not a description of it.
        for section in policy.signOffTable() {
            content.append(H.h2(RecordView.kind(section.recordClass)))
            for line in section.title { content.append(H.p(line)) }
            content.append(
                H.table(
                    caption:
                        "Who may do what with a \(RecordView.kind(section.recordClass).lowercased())",
                    headers: section.header, rows: section.rows.map { $0.map(HTML.init) }))
        }
        return Page("Policy", content).response(for: visitor)
    }
}
