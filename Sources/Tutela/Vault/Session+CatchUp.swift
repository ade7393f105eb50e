extension Session {
    /// Does the work queued for this person, as their next command (or sign-in) does whatever it
    /// is: closes requests to recover keys they plainly have, rebuilds keys whose shares a
    /// recovery released and left unfinished, makes, rotates and shares their groups' keys, splits
    /// their keys among the recovery approvers, and makes the key slots waiting on records they
    /// can open. Work that cannot be done now (busy, refused) is left for next time; tampering
    /// stops it, as anywhere.
    /// - Parameter passphrase: theirs, to seal replacement keys under when a recovery left them
    ///   exposed.
    /// - Returns: the session to go on with (a new one when the keys were replaced) and what was
    ///   done, in words for this person; a learner or parent is told only of their own keys.
    public func catchUp(passphrase: Passphrase) async throws -> (session: Session, notes: [String])
    {
        var session = self
        var notes: [String] = []
        do {
            for request in try await identityRecovery.cancelOwnRequests() {
                notes.append(
                    "Cancelled \(request), a request to recover your keys: you have your "
                        + "passphrase. If you did not ask for it, tell your safeguarding lead.")
            }
            // Shares of these keys released to a recovery that closed unfinished rebuild them for
            // whoever kept its code: new keys first, under the same passphrase.
            if try await identityRecovery.renewIfReleased(passphrase: passphrase) {
                try await settle()
                session = try await vault.unlock(principal.id, passphrase: passphrase)
                if !session.principal.isFamily {
                    notes.append(
                        "Replaced your keys: shares of them were released to a recovery that "
                            + "closed unfinished (tutela inbox).")
                }
            }
            let done = try await session.lifecycle.catchUpGroups()
            for group in done.rotated {
                notes.append(
                    "Made a new \(group.role.rawValue) group key (\(group.holder)): someone "
                        + "left the group. Move older records to it: tutela group rewrap "
                        + group.role.rawValue)
            }
            for group in done.created {
                notes.append(
                    "Made the \(group.role.rawValue) group's first key (\(group.holder)), which "
                        + "the policy needs for safeguarding and break-glass.")
            }
            for (role, members) in done.synced where !members.isEmpty {
                notes.append(
                    "Gave the \(role.rawValue) group key to " + members.joined(separator: ", ")
                        + ".")
            }
            // Said to staff; a learner or parent is told nothing they did not ask about.
            if try await session.identityRecovery.catchUpEscrow(), !session.principal.isFamily {
                notes.append(
                    "Split your keys among the recovery approvers' groups, so a lost "
                        + "passphrase loses nothing (tutela recovery --help).")
            }
            let granted = try await session.lifecycle.grantPending()
            if !granted.isEmpty {
                notes.append(
                    "Brought the key slots of \(granted.count) records you can open in line "
                        + "with the policy (a new tutor, a linked parent, the safeguarding "
                        + "team, or someone it no longer names).")
            }
        } catch let error as TutelaError
            where [.tryAgain, .permissionDenied, .notFound, .exists].contains(error.kind)
        {
            // A learner or parent is never shown why: the work may concern a record hidden from
            // them.
            notes.append(
                "Group keys and grants were not brought up to date this time"
                    + (session.principal.isFamily ? "." : ": " + error.message))
        }
        return (session, notes)
    }
}
