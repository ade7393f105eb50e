import Foundation
import Hummingbird
import Tutela

/// For a page whose form issues credentials or changes who may read (enrolling, revoking,
/// moving a caseload): the person proves who they are again in the same form, unless they did
/// within the last few minutes — a session cookie alone does not give these away.
enum RecentSignIn {
    /// The boxes that ask for the passphrase (and code), or nothing when the session proved who
    /// it is recently.
    static func fields(_ visitor: Visitor, server: ServerState, problems: Field.Problems) async
        -> HTML
    {
        guard await !server.isRecent(visitor.signedIn) else { return .empty }
        return .element(
            "fieldset", [("class", "form-section")],
            [
                .element(
                    "legend", [("class", "section-legend")], [HTML("Confirm it is you")]),
                H.p(
                    "This changes who can read records, so Tutela asks for your passphrase again.",
                    [("class", "hint")]),
                Field.input(
                    "confirmPassphrase", label: "Your passphrase",
                    error: problems["confirmPassphrase"], type: "password",
                    autocomplete: "current-password"),
                Field.input(
                    "confirmCode", label: "Code from your authenticator app (if you have one)",
                    autocomplete: "off", width: "short"),
            ])
    }

    /// Checks the passphrase (and code) the form carries, when it carries one, then whether the
    /// session proved who it is recently.
    /// - Returns: true to go on; false with `problems` saying what to do.
    static func check(
        _ form: PageForm, _ visitor: Visitor, server: ServerState, request: Request,
        context: TutelaRequestContext, problems: inout Field.Problems
    ) async throws -> Bool {
        if !form["confirmPassphrase"].isEmpty {
            let code = form["confirmCode"].trimmingCharacters(in: .whitespaces)
            do {
                try await server.confirm(
                    visitor.signedIn, passphrase: try Passphrase(form["confirmPassphrase"]),
                    code: code.isEmpty ? nil : code, request: request, context: context)
            } catch {
                let mapped = Errors.map(error)
                guard [.unauthorized, .tooManyRequests].contains(mapped.status) else { throw error }
                problems.add(
                    "confirmPassphrase",
                    mapped.status == .tooManyRequests
                        ? "Too many failed attempts. Wait a few minutes before trying again"
                        : "That passphrase and code are not right")
                return false
            }
        }
        guard await server.isRecent(visitor.signedIn) else {
            problems.add("confirmPassphrase", "Enter your passphrase to confirm it is you")
            return false
        }
        return true
    }
}
