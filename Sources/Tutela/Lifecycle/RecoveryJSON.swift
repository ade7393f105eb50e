/// The JSON shapes of identity recovery, shared by the command line's `--json` and the server's
/// answers.

/// One open request of `recovery list --json` and `GET /api/v1/recovery`.
public struct RecoveryRequestJSON: Encodable, Sendable {
    public let request: String
    public let principal: String
    public let requester: String
    public let expires: String
    public let approvalsNeeded: Int
    public let reason: String

    public init(_ r: RecoveryRequest) {
        request = r.id.text
        principal = r.principal.text
        requester = r.requester.text
        expires = Timestamp.iso(r.expires)
        approvalsNeeded = r.approvalsNeeded
        reason = r.reason
    }
}

/// The answer to `recovery approve --json` and its route.
public struct RecoveryApprovedJSON: Encodable, Sendable {
    public let request: String
    public let approvals: Int
    public let needed: Int

    public init(_ request: RequestID, approvals: Int, needed: Int) {
        self.request = request.text
        self.approvals = approvals
        self.needed = needed
    }
}

/// The answer to `recovery cancel --json` and its route.
public struct RecoveryCancelledJSON: Encodable, Sendable {
    public let request: String
    public let cancelled = true

    public init(_ request: RequestID) { self.request = request.text }
}

/// The answer to `principal activate --json`, `recovery finish --json` and their routes: the
/// person's new keys, by fingerprint. `active` for an activation, `recovered` for a recovery.
public struct NewKeysJSON: Encodable, Sendable {
    public let principal: String
    public let active: Bool?
    public let recovered: Bool?
    public let fingerprint: String

    public init(activated principal: PrincipalID, _ identity: PublicIdentity) {
        self.principal = principal.text
        active = true
        recovered = nil
        fingerprint = identity.fingerprint
    }

    public init(recovered principal: PrincipalID, _ identity: PublicIdentity) {
        self.principal = principal.text
        active = nil
        recovered = true
        fingerprint = identity.fingerprint
    }
}
