import Foundation
import HTTPTypes
import Hummingbird
import Tutela

/// Setting up an authenticator app (TOTP): open to a session that must do so before anything
/// else. The key is shown once, on the page that offers it; the recovery codes once, on the page
/// that confirms it.
struct SecondFactorPages {
    let server: ServerState

    func add(
        to pages: RouterGroup<TutelaRequestContext>,
        post: PageRoutes.Wrapper
    ) {
        pages.get("/second-factor", use: start)
        pages.post("/second-factor/key", use: post(offer))
        pages.post("/second-factor/confirm", use: post(confirm))
    }

    @Sendable func start(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let standing = visitor.session.secondFactorStanding
        let required = visitor.signedIn.enrolOnly || standing == .required
        var content: [HTML] = [H.h1("Authenticator app")]
        if required {
            content.append(
                H.p(
                    "Your centre's policy asks people in your role to sign in with a code from an "
                        + "authenticator app as well as your passphrase. Set one up now: you can do "
                        + "nothing else in Tutela until you have.", [("class", "notice")]))
        } else if standing == .enrolled {
            content.append(H.p("You sign in with a code from your authenticator app."))
        } else {
            content.append(
                H.p(
                    "You can sign in with a code from an authenticator app as well as your "
                        + "passphrase, so that a passphrase alone is not enough."))
        }
        content.append(
            H.p(
                "You need an authenticator app on your phone, such as the one your centre "
                    + "recommends. Tutela shows you a key to type into it."))
        content.append(
            Field.form(
                action: "/second-factor/key", csrf: visitor.csrf,
                submit: standing == .enrolled ? "Set up a new app" : "Set up an app", []))
        return Page("Authenticator app", content).response(for: visitor)
    }

    @Sendable func offer(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let shown = try await SecondFactorRoutes(server: server).offerKey(to: visitor.signedIn)
        return keyPage(visitor, secret: shown.secret, problems: .init()).response(for: visitor)
    }

    private func keyPage(
        _ visitor: Visitor, secret: String?, problems: Field.Problems,
        status: HTTPResponse.Status = .ok
    ) -> Page {
        let replacing = visitor.session.secondFactorStanding == .enrolled
        var content: [HTML] = [H.h1("Set up your authenticator app"), Field.summary(problems)]
        if let secret {
            let grouped = stride(from: 0, to: secret.count, by: 4).map { start -> String in
                let from = secret.index(secret.startIndex, offsetBy: start)
                let to = secret.index(from, offsetBy: min(4, secret.count - start))
                return String(secret[from..<to])
            }.joined(separator: " ")
            content += [
                H.p(
                    "In your app, choose to add an account by entering a key, and type this key. "
                        + "It is time-based, 6 digits, every 30 seconds."),
                .element("p", [("class", "key")], [H.strong(grouped)]),
                H.p(
                    "This key is shown only now. Do not write it down or share it: your app keeps "
                        + "it."),
            ]
        }
        var fields: [HTML] = [
            Field.input(
                "code", label: "The 6 digits your app shows now", error: problems["code"],
                required: true, autocomplete: "off", width: "short",
                inputmode: "numeric"),
            Field.input(
                "passphrase", label: "Your passphrase", error: problems["passphrase"],
                type: "password", required: true, autocomplete: "current-password"),
        ]
        if replacing {
            fields.append(
                Field.input(
                    "current", label: "A code from your old app (or a recovery code)",
                    error: problems["current"], required: true, autocomplete: "off",
                    width: "short"))
        }
        content.append(
            Field.form(
                action: "/second-factor/confirm", csrf: visitor.csrf, submit: "Confirm", fields))
        if secret == nil {
            // The key is shown once; someone unsure they typed it right starts again.
            content.append(
                Field.form(
                    action: "/second-factor/key", csrf: visitor.csrf,
                    submit: "Start again with a new key", []))
        }
        return Page("Set up your authenticator app", status: status, content)
    }

    @Sendable func confirm(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        var problems = Field.Problems()
        let code = form["code"].trimmingCharacters(in: .whitespaces)
        if code.isEmpty { problems.add("code", "Enter the 6 digits your app shows") }
        if form["passphrase"].isEmpty { problems.add("passphrase", "Enter your passphrase") }
        let current = form["current"].trimmingCharacters(in: .whitespaces)
        guard problems.isEmpty else {
            return keyPage(visitor, secret: nil, problems: problems, status: .badRequest)
                .response(for: visitor)
        }
        let codes: [String]
        do {
            codes = try await SecondFactorRoutes(server: server).enrol(
                visitor.signedIn, passphrase: try Passphrase(form["passphrase"]), code: code,
                current: current.isEmpty ? nil : current, request: request, context: context)
        } catch {
            let mapped = Errors.map(error)
            switch mapped.status {
            case .conflict:
                return Page.redirect(to: "/second-factor")
            case .unauthorized, .forbidden, .badRequest, .tooManyRequests:
                problems.add(
                    "code",
                    mapped.status == .tooManyRequests
                        ? "Too many failed attempts. Wait a few minutes before trying again"
                        : "That code and passphrase do not confirm the app. Check the key you "
                            + "typed and use the code showing now")
                return keyPage(visitor, secret: nil, problems: problems, status: mapped.status)
                    .response(for: visitor)
            default: throw error
            }
        }
        return Page(
            "Your recovery codes",
            [
                H.h1("Your authenticator app is set up"),
                H.p(
                    "These ten recovery codes each sign you in once when your phone is not to "
                        + "hand. They are shown only now: print them or write them down, and keep "
                        + "them somewhere safe, away from your phone.", [("class", "warning")]),
                .element(
                    "ol", [("class", "codes")], codes.map { .element("li", [], [H.strong($0)]) }),
                H.p([], [H.link("Continue to your home page", to: "/")]),
            ]
        ).response(for: visitor)
    }
}
