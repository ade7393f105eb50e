import TutelaCrypto

extension Session {
    // MARK: - Groups

    /// This person's copy of `role`'s current group key.
    /// - Throws: permission denied if they hold no copy (not a member, or added since the last sync).
    func groupKey(_ role: Role) async throws -> KeyAgreementPrivateKey {
        guard let group = directory.groups[role], principal.has(role) else {
            throw TutelaError.denied(
                "'\(principal.id)' is not a member of the \(role.rawValue) group")
        }
        let id = MemberBoxID(
            group: .group(role, version: group.version), member: principal.id
        ).description
        guard
            let box = try await store.objects(
                kind: ObjectKind.groupMember, key: group.holder.description
            )
            .first(where: { $0.id == id })
        else {
            throw TutelaError.denied(
                "'\(principal.id)' has no copy of the \(role.rawValue) group key yet",
                hint: "a current member runs: tutela group sync \(role.rawValue) --as ID")
        }
        return try openMemberBox(box, id: id, publishedKey: group.publicKey, group: group.holder)
    }

    /// The group key in this person's member box `box` (filed as `id`), confirmed against the
    /// key the directory published for that group version: a box sealed to a member by anyone
    /// else (their public key is public) is refused as tampering, not used.
    func openMemberBox(
        _ box: StoredObject, id: String, publishedKey: KeyAgreementPublicKey, group: Recipient
    ) throws(TutelaError) -> KeyAgreementPrivateKey {
        let secret = try BoundBox.open(
            box.body, kind: .groupMember, binding: id, with: identity.agreement,
            what: "the \(group) box")
        do {
            let key = try KeyAgreementPrivateKey(secret: secret)
            guard key.publicKey == publishedKey else { throw CryptoError.invalidPublicKey }
            return key
        } catch {
            throw TutelaError.tampered("the \(group) box does not match the published key")
        }
    }
}
