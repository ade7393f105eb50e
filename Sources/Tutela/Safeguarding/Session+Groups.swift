import TutelaCrypto

extension Session {
    // MARK: - Groups

    /// Creates the next version of `role`'s group key and seals it to every current holder of the
    /// role. Administrators only; the public key is a signed directory statement.
    @discardableResult
    public func createGroupKey(_ role: Role) async throws -> GroupKey {
        try requireAdministrator("create group keys")
        let key: KeyAgreementPrivateKey
        do { key = try KeyAgreementPrivateKey() } catch { throw TutelaError.internal("\(error)") }
        let version = (directory.groups[role]?.version ?? 0) + 1
        let binding = "group:\(role.rawValue)#\(version)"
        let members = try directory.holders(of: role).map { member throws(TutelaError) in
            StoredObject(
                kind: ObjectKind.groupMember, id: "\(binding)/\(member.id)", key: binding,
                body: try BoundBox.seal(
                    key.secret, binding: binding, to: member.identity.agreementKey))
        }
        try await appendStatement(
            .groupKey(role: role, version: version, publicKey: key.publicKey.bytes),
            audit: .groupKey,
            subject: binding
        ) { tx in for m in members { try await tx.put(m) } }
        guard let group = directory.groups[role] else {
            throw TutelaError.internal("group key lost")
        }
        return group
    }

    /// Seals `role`'s current group key to holders of the role who do not have it yet (someone enrolled
    /// since). Done by a member, who can open the key.
    /// - Returns: the principals added.
    public func syncGroup(_ role: Role) async throws -> [String] {
        guard let group = directory.groups[role] else {
            throw TutelaError.notFound(
                "the \(role.rawValue) group has no key yet",
                hint: "an administrator creates it: tutela group create \(role.rawValue) --as ID")
        }
        let key = try await groupKey(role)
        var added: [StoredObject] = []
        for member in directory.holders(of: role) {
            let id = "\(group.recipient)/\(member.id)"
            if try await store.objects(kind: ObjectKind.groupMember, key: group.recipient).contains(
                where: { $0.id == id })
            {
                continue
            }
            added.append(
                StoredObject(
                    kind: ObjectKind.groupMember, id: id, key: group.recipient,
                    body: try BoundBox.seal(
                        key.secret, binding: group.recipient, to: member.identity.agreementKey)))
        }
        let entry = auditEntry(
            .groupSync, subject: group.recipient,
            reason: "added " + added.map(\.id).joined(separator: ", "))
        let identity = self.identity
        let batch = added
        try await write { tx in
            for o in batch { try await tx.put(o) }
            try await Self.appendAudit(entry, tx: tx, signer: identity)
        }
        return added.map { String($0.id.split(separator: "/").last ?? "") }
    }

    /// This person's copy of `role`'s current group key.
    /// - Throws: permission denied if they hold no copy (not a member, or added since the last sync).
    func groupKey(_ role: Role) async throws -> KeyAgreementPrivateKey {
        guard let group = directory.groups[role], principal.has(role) else {
            throw TutelaError.denied(
                "'\(principal.id)' is not a member of the \(role.rawValue) group")
        }
        let id = "\(group.recipient)/\(principal.id)"
        guard
            let box = try await store.objects(kind: ObjectKind.groupMember, key: group.recipient)
                .first(where: { $0.id == id })
        else {
            throw TutelaError.denied(
                "'\(principal.id)' has no copy of the \(role.rawValue) group key yet",
                hint: "a current member runs: tutela group sync \(role.rawValue) --as ID")
        }
        let secret = try BoundBox.open(
            box.body, binding: group.recipient, with: identity.agreement, what: "the group key box")
        do {
            let key = try KeyAgreementPrivateKey(secret: secret)
            guard key.publicKey == group.publicKey else { throw CryptoError.invalidPublicKey }
            return key
        } catch {
            throw TutelaError.tampered(
                "the \(role.rawValue) group key box does not match the published key")
        }
    }
}
