import TutelaCrypto

/// Applying the statements of enrolment by the person (#19): an administrator's invitation or
/// reissue, and the person's own activation. Part of ``Directory/apply(_:signer:isGenesis:time:)``.
extension Directory {
    mutating func applyInvite(
        _ data: DirectoryStatement.InviteData, signer: PrincipalID, time: Int64
    ) throws(TutelaError) {
        guard principals[data.id] == nil else {
            throw .exists("principal '\(data.id)' is already enrolled")
        }
        // Never over another invitation, live or expired: a statement's time is its signer's
        // word, so "expired" could be post-dated. An old one is withdrawn first, openly.
        if let waiting = invitations[data.id] {
            throw .exists(
                "'\(data.id)' has an enrolment waiting (its code expires "
                    + "\(Timestamp.iso(waiting.expires)))",
                hint:
                    "withdraw it first with 'tutela principal revoke \(data.id)', then invite again"
            )
        }
        try requireDistinct(data.id.text, learner: false)
        guard !data.roles.isEmpty, Set(data.roles).count == data.roles.count else {
            throw .usage("give each role once, and at least one")
        }
        guard data.expires > time else { throw .usage("an enrolment code must expire later") }
        personFolds[data.id.text.lowercased()] = data.id
        invitations[data.id] = Invitation(
            principal: data.id, name: data.name, roles: data.roles.sorted(),
            invitedBy: signer, codeKey: try Invitation.codeKey(data.codeKey),
            invitedAt: time, expires: data.expires, reissue: false)
    }

    mutating func applyReissue(
        _ id: PrincipalID, codeKey: [UInt8], expires: Int64, signer: PrincipalID, time: Int64,
        validFrom: Int64
    ) throws(TutelaError) {
        guard let p = principals[id] else { throw .notFound("no one is enrolled as '\(id)'") }
        guard !p.isAuthority else {
            throw .denied(
                "the authority's keys are not reissued",
                hint: "a lost authority passphrase is recovered from its trustees' shares")
        }
        guard !p.revoked else {
            throw .usage("'\(id)' was revoked; enrol them again under a new id")
        }
        guard id != signer else { throw .usage("no one reissues their own keys") }
        guard expires > time else { throw .usage("an enrolment code must expire later") }
        // The old key stops here, whether or not the new one is ever activated.
        principals[id]?.retireKey(at: validFrom)
        principals[id]?.awaitingKeys = true
        markRotationDue(p.roles, at: validFrom, leaving: id)
        invitations[id] = Invitation(
            principal: id, name: p.name, roles: p.roles, invitedBy: signer,
            codeKey: try Invitation.codeKey(codeKey), invitedAt: time, expires: expires,
            reissue: true)
    }

    mutating func applyActivate(
        _ id: PrincipalID, signingKey: [UInt8], agreementKey: [UInt8], proof: [UInt8],
        signer: PrincipalID, time: Int64, validFrom: Int64
    ) throws(TutelaError) {
        guard let invitation = invitations[id] else {
            throw .notFound("there is no enrolment waiting for '\(id)'")
        }
        guard signer == id else { throw .denied("only '\(id)' activates their own enrolment") }
        // An invitation stands only while whoever made it may still make one: a leaver's, or
        // one made by someone no longer an administrator, is void.
        guard administrator(invitation.invitedBy) != nil else {
            throw .denied(
                "the enrolment of '\(id)' was made by '\(invitation.invitedBy)', who is no longer "
                    + "an administrator",
                hint: "ask an administrator to withdraw it and invite them again")
        }
        guard time <= invitation.expires else {
            throw .denied(
                "the enrolment code for '\(id)' expired on \(Timestamp.iso(invitation.expires))",
                hint: "ask an administrator for a new one")
        }
        let identity: PublicIdentity
        do {
            identity = PublicIdentity(
                signingKey: try SigningPublicKey(bytes: signingKey),
                agreementKey: try KeyAgreementPublicKey(bytes: agreementKey))
        } catch { throw .invalidInput("bad public key: \(error)") }
        do {
            try invitation.codeKey.verify(
                proof,
                for: Invitation.activationMessage(
                    vaultID: vaultID, principal: id, identity: identity))
        } catch {
            throw .denied("the activation of '\(id)' does not prove its enrolment code")
        }
        _ = try publishAgreementKey(agreementKey, of: "the key of '\(id)'")
        invitations[id] = nil
        let period = KeyPeriod(signingKey: identity.signingKey, from: validFrom)
        if invitation.reissue, var existing = principals[id] {
            existing.identity = identity
            existing.keyPeriods.append(period)
            existing.awaitingKeys = false
            principals[id] = existing
        } else {
            principals[id] = Principal(
                id: id, name: invitation.name, roles: invitation.roles, identity: identity,
                isAuthority: false, enrolledBy: invitation.invitedBy, keyPeriods: [period])
        }
    }
}
