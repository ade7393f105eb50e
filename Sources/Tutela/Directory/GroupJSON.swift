/// The JSON shapes of group keys and people's roles, shared by the command line's `--json` and
/// the server's answers.

/// One group of `group list --json` and `GET /api/v1/groups`.
public struct GroupJSON: Encodable, Sendable {
    public let role: String
    public let version: Int
    /// Whether someone who held it left, so that the next member makes a new one.
    public let rotationDue: Bool

    public init(_ group: GroupKey) {
        role = group.role.rawValue
        version = group.version
        rotationDue = group.rotationDue != nil
    }
}

/// The answer to `group create|rotate --json` and their routes: the version made.
public struct GroupVersionJSON: Encodable, Sendable {
    public let group: String
    public let version: Int

    public init(_ group: GroupKey) {
        self.group = group.role.rawValue
        version = group.version
    }
}

/// The answer to `group sync --json` and its route.
public struct GroupSyncJSON: Encodable, Sendable {
    public let group: String
    /// Who was given the key by this run.
    public let added: [String]

    public init(_ role: Role, added: [String]) {
        group = role.rawValue
        self.added = added
    }
}

/// The answer to `principal roles --json` and `PUT /api/v1/principals/{id}/roles`.
public struct RolesSetJSON: Encodable, Sendable {
    public let principal: String
    public let roles: [String]
    /// The groups whose keys are now due to be replaced (someone left them).
    public let groupKeysDue: [String]

    public init(_ principal: PrincipalID, roles: [Role], due: [Role]) {
        self.principal = principal.text
        self.roles = roles.map(\.rawValue)
        groupKeysDue = due.map(\.rawValue)
    }
}
