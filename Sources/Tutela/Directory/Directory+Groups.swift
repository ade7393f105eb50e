public import TutelaCrypto

/// Group keys and every published X25519 key, as the directory checks them while it replays.
extension Directory {
    /// `bytes` as an X25519 key published for others to seal to, remembered so that no later
    /// statement publishes it again: refused if nothing could be sealed to it (a point of small
    /// order, which would make every seal to it fail) or if any principal or group published it
    /// before (a "new" group key that is the old one would end a rotation without one).
    mutating func publishAgreementKey(
        _ bytes: [UInt8], of what: String
    ) throws(TutelaError) -> KeyAgreementPublicKey {
        let key: KeyAgreementPublicKey
        do { key = try KeyAgreementPublicKey(validating: bytes) } catch {
            throw .invalidInput("\(what) is not a key anything can be sealed to: \(error)")
        }
        guard publishedAgreementKeys.insert(bytes).inserted else {
            throw .invalidInput("\(what) was published before: every key must be new")
        }
        return key
    }

    /// `role`'s group key, for sealing something new to it (a flagged record's slot, a
    /// break-glass share), or nil when the group has none.
    /// - Throws: `.notFound` when the key is due to be replaced and none of its holders now held
    ///   the role when it fell due: whoever left may still have it, and no one who holds the role
    ///   now has it (a member given the role since has no copy: their first command makes the new
    ///   key).
    public func groupToSealTo(_ role: Role) throws(TutelaError) -> GroupKey? {
        guard let group = groups[role] else { return nil }
        guard group.rotationDue != nil else { return group }
        let holders = holders(of: role)
        if holders.isEmpty {
            throw .notFound(
                "the \(role.rawValue) group key is due to be replaced and no one holds the role, "
                    + "so nothing new is sealed to it",
                hint: "an administrator gives someone the \(role.rawValue) role; their first "
                    + "command makes the new key")
        }
        guard holders.contains(where: { group.keptBy.contains($0.id) }) else {
            throw .notFound(
                "the \(role.rawValue) group key is due to be replaced and no one who holds the "
                    + "role now held it then, so nothing new is sealed to it",
                hint: "the next command of a \(role.rawValue) makes the new key (or 'tutela group "
                    + "rotate \(role.rawValue)')")
        }
        return group
    }

    /// Marks the groups of `roles` that have a key as due for a new one from statement `position`:
    /// someone who held it has left the role (`leaving`), been revoked or had their keys reissued.
    /// The holders who remain are remembered: until the next key, something new is sealed to the
    /// due one only while one of them holds the role. The next holder to run a command makes it
    /// (``Lifecycle/rotateDueGroups()``).
    mutating func markRotationDue(_ roles: [Role], at position: Int64, leaving: PrincipalID?) {
        for role in roles where groups[role] != nil && groups[role]?.rotationDue == nil {
            let kept = Set(holders(of: role).map(\.id).filter { $0 != leaving })
            groups[role]?.rotationDue = position
            groups[role]?.keptBy = kept
        }
    }
}

/// A published group key: version `version` of the key every holder of `role` can use.
public struct GroupKey: Sendable, Equatable {
    /// The role whose holders share this key.
    public let role: Role
    /// The key's version: 1 for the first, one more for each replacement.
    public let version: Int
    /// The X25519 public key that slots and break-glass shares for the group are sealed to.
    public let publicKey: KeyAgreementPublicKey
    /// The directory position from which this key is due to be replaced, because someone who held
    /// it left the group; nil while no one has. A holder of the role replaces it.
    public internal(set) var rotationDue: Int64?
    /// While ``rotationDue``: the holders of the role when it fell due, less whoever left. Only
    /// they may have a copy of this key; someone given the role since has none.
    public internal(set) var keptBy: Set<PrincipalID> = []

    /// Who slots and shares sealed to this key are for.
    public var holder: Recipient { .group(role, version: version) }
}
