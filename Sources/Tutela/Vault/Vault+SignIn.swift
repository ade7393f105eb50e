import TutelaCrypto

extension Vault {
    /// Signs a person in for a server: ``unlock(_:passphrase:acceptingRestore:)``, except that
    /// every reason someone cannot sign in — no one enrolled under that id, an enrolment not yet
    /// activated, a revoked person, reissued keys, a wrong passphrase — is the same refusal, after
    /// the same work (one Argon2id derivation at the vault's cost). A server's answers and timing
    /// then tell an outsider nothing about who is enrolled.
    /// - Throws: ``signInRefused`` (`.permissionDenied`) for all of those; `.tampered` and
    ///   `.tryAgain` as `unlock` does, since they are the vault's state, not the person's.
    public func signIn(_ principalID: PrincipalID, passphrase: Passphrase) async throws -> Session {
        do {
            return try await unlock(
                principalID, passphrase: passphrase, acceptingRestore: false, evenly: true)
        } catch let error as TutelaError
            where error.kind == .notFound || error.kind == .permissionDenied
        {
            throw Self.signInRefused
        }
    }

    /// The one answer to a sign-in that does not succeed for a reason of the person's.
    public static let signInRefused = TutelaError(
        .permissionDenied,
        "that id and passphrase (and code, for those who use an authenticator app) do not sign in",
        hint:
            "passphrases are case-sensitive; a code counts once and for about a minute and a half; "
            + "after a few failures ask an administrator")
}

extension Passphrase {
    /// Derives a key from this passphrase at `cost` and throws it away: the work a real unlock
    /// does, spent where there is nothing to unlock.
    static func spendDerivation(_ passphrase: Passphrase, cost: PasswordKDF.Cost) {
        let salt = [UInt8](repeating: 0, count: PasswordKDF.saltByteCount)
        _ = try? PasswordKDF.deriveKey(passphrase: passphrase.bytes, salt: salt, cost: cost)
    }
}
