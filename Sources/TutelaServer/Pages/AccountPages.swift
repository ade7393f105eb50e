import Foundation
import HTTPTypes
import Hummingbird
import Tutela

/// Setting up an account with an enrolment code, and changing one's own passphrase.
extension PageRoutes {
    // MARK: Setting up an account

    @Sendable func activateForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        activatePage(id: nil, problems: .init()).response(for: nil)
    }

    fileprivate func activatePage(
        id: String?, problems: Field.Problems, status: HTTPResponse.Status = .ok
    ) -> Page {
        Page(
            "Set up your account", status: status,
            [
                H.h1("Set up your account"),
                Field.summary(problems),
                H.p(
                    "Your administrator gave you an id and a one-time enrolment code. Choose your "
                        + "own passphrase here: no one else will know it, and Tutela cannot tell "
                        + "it to anyone."),
                Field.form(
                    action: "/activate", csrf: nil, submit: "Set up my account",
                    [
                        Field.input(
                            "principal", label: "Your Tutela id", value: id,
                            error: problems["principal"], required: true, autocomplete: "username"),
                        Field.input(
                            "code", label: "Your enrolment code", error: problems["code"],
                            required: true, autocomplete: "off"),
                        Field.input(
                            "new", label: "Choose a passphrase",
                            hint: "At least 12 characters. Four or more unrelated words work well.",
                            error: problems["new"], type: "password", required: true,
                            autocomplete: "new-password"),
                        Field.input(
                            "again", label: "The same passphrase again", error: problems["again"],
                            type: "password", required: true, autocomplete: "new-password"),
                    ]),
            ])
    }

    @Sendable func activate(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let form = try await PageForm.read(request, server: server)
        let idText = form["principal"].trimmingCharacters(in: .whitespaces)
        var problems = Field.Problems()
        if idText.isEmpty { problems.add("principal", "Enter your Tutela id") }
        if form["code"].isEmpty { problems.add("code", "Enter your enrolment code") }
        if form["new"].isEmpty { problems.add("new", "Choose a passphrase") }
        if form["again"] != form["new"] {
            problems.add("again", "The two passphrases are not the same")
        }
        if problems["new"] == nil {
            do { try Passphrase(form["new"]).validateAsNew() } catch let error as TutelaError {
                problems.add("new", Page.sentence(error.message))
            }
        }
        var id: PrincipalID?
        do { id = try PrincipalID(idText) } catch { problems.add("principal", "That is not an id") }
        guard problems.isEmpty, let id else {
            return activatePage(id: idText, problems: problems, status: .badRequest)
                .response(for: nil)
        }
        let vault = server.vault
        do {
            _ = try await server.withOneTimeCode(
                request, context, account: id,
                code: form["code"].trimmingCharacters(in: .whitespaces),
                passphrase: form["new"], refusal: PeopleRoutes.activationRefused
            ) { code, passphrase in
                try await vault.activate(id, code: code, passphrase: passphrase)
            }
        } catch {
            let mapped = Errors.map(error)
            guard [.unauthorized, .forbidden, .tooManyRequests].contains(mapped.status) else {
                throw error
            }
            problems.add(
                "code",
                mapped.status == .tooManyRequests
                    ? "Too many failed attempts. Wait a few minutes before trying again"
                    : "That id and enrolment code do not set up an account. Check the code, or "
                        + "ask your administrator for a new one")
            return activatePage(id: idText, problems: problems, status: mapped.status)
                .response(for: nil)
        }
        await server.gate.clearCodeFailures(of: id)
        return signInPage(
            id: id.text, problems: .init(),
            notice: "Your account is set up. Sign in with your new passphrase."
        ).response(for: nil)
    }

    // MARK: Own passphrase

    @Sendable func passphraseForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        return passphrasePage(visitor, problems: .init()).response(for: visitor)
    }

    fileprivate func passphrasePage(
        _ visitor: Visitor, problems: Field.Problems, status: HTTPResponse.Status = .ok
    ) -> Page {
        Page(
            "Change your passphrase", status: status,
            [
                H.h1("Change your passphrase"),
                Field.summary(problems),
                H.p(
                    "Your passphrase unlocks your keys. Choose a long one you do not use "
                        + "anywhere else: four or more unrelated words work well. Changing it signs "
                        + "you out everywhere."),
                H.p(
                    [],
                    [
                        HTML(
                            "To sign in with a code from your phone as well, or to move to a new "
                                + "phone: "),
                        H.link("set up an authenticator app", to: "/second-factor"),
                        HTML("."),
                    ]),
                Field.form(
                    action: "/passphrase", csrf: visitor.csrf, submit: "Change passphrase",
                    [
                        Field.input(
                            "current", label: "Your current passphrase", error: problems["current"],
                            type: "password", required: true, autocomplete: "current-password"),
                        Field.input(
                            "new", label: "New passphrase",
                            hint: "At least 12 characters.", error: problems["new"],
                            type: "password", required: true, autocomplete: "new-password"),
                        Field.input(
                            "again", label: "New passphrase again", error: problems["again"],
                            type: "password", required: true, autocomplete: "new-password"),
                        Field.input(
                            "code", label: "Code from your authenticator app (if you have one)",
                            error: problems["code"], autocomplete: "off", width: "short"),
                    ]),
            ])
    }

    @Sendable func changePassphrase(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        var problems = Field.Problems()
        if form["current"].isEmpty { problems.add("current", "Enter your current passphrase") }
        if form["new"].isEmpty { problems.add("new", "Enter a new passphrase") }
        if form["again"] != form["new"] {
            problems.add("again", "The two new passphrases are not the same")
        }
        if problems.isEmpty {
            do {
                let new = try Passphrase(form["new"])
                try new.validateAsNew()
            } catch let error as TutelaError {
                problems.add("new", Page.sentence(error.message))
            }
        }
        guard problems.isEmpty else {
            return passphrasePage(visitor, problems: problems, status: .badRequest)
                .response(for: visitor)
        }
        let code = form["code"].trimmingCharacters(in: .whitespaces)
        do {
            _ = try await server.changePassphrase(
                of: visitor.signedIn, current: try Passphrase(form["current"]),
                new: try Passphrase(form["new"]), code: code.isEmpty ? nil : code,
                request: request, context: context)
        } catch {
            let mapped = Errors.map(error)
            guard [.unauthorized, .tooManyRequests].contains(mapped.status) else { throw error }
            problems.add(
                "current",
                mapped.status == .tooManyRequests
                    ? "Too many failed attempts. Wait a few minutes before trying again"
                    : "That passphrase and code are not right")
            return passphrasePage(visitor, problems: problems, status: mapped.status)
                .response(for: visitor)
        }
        var response = signInPage(
            id: visitor.principal.id.text, problems: .init(),
            notice: "Your passphrase has changed. Sign in again with the new one."
        ).response(for: nil)
        response.setCookie(server.endedCookie)
        return response
    }
}
