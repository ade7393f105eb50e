public import Tutela
public import TutelaCrypto

extension Administration {
    /// For tests: enrols a person in one step, as the administrator's invitation and the person's
    /// own activation with the code would, both in this process.
    @discardableResult
    public func enrol(
        _ id: PrincipalID, name: String, roles: [Role], passphrase: Passphrase
    ) async throws -> Principal {
        let code = try await invite(id, name: name, roles: roles)
        try await session.vault.activate(id, code: code.text, passphrase: passphrase)
        try await session.refresh()
        guard let enrolled = session.directory.principals[id] else {
            throw TutelaError(.internal, "the enrolment of \(id) was lost")
        }
        return enrolled
    }

    /// For tests: new keys for `id` under `passphrase` in one step — the authority re-keying
    /// itself, or anyone else's reissue and their own activation.
    public func rekey(_ id: PrincipalID, passphrase: Passphrase) async throws {
        if id == session.principal.id, session.principal.isAuthority {
            try await rekeyAuthority(passphrase: passphrase)
            return
        }
        let code = try await reissue(id)
        try await session.vault.activate(id, code: code.text, passphrase: passphrase)
        try await session.refresh()
    }
}
