import TutelaCrypto

extension Session {
    // MARK: - Groups

    /// This person's copy of `role`'s current group key.
    /// - Throws: permission denied if they hold no copy (not a member, or added since the last sync).
    func groupKey(_ role: Role) async throws -> KeyAgreementPrivateKey {
        try await groupKey(role, version: directory.groups[role]?.version ?? 0)
    }

    /// This person's copy of version `version` of `role`'s group key: the current one, or an
    /// older one they held, kept until a member's re-wrap has moved everything sealed to it.
    /// - Throws: permission denied if they hold no copy of that version.
    func groupKey(_ role: Role, version: Int) async throws -> KeyAgreementPrivateKey {
        guard let group = directory.groups[role], principal.has(role),
            (1...group.version).contains(version),
            let published = try directory.groupPublicKey(role, version: version)
        else {
            throw TutelaError.denied(
                "'\(principal.id)' is not a member of the \(role.rawValue) group")
        }
        let holder = Recipient.group(role, version: version)
        let id = MemberBoxID(group: holder, member: principal.id).description
        guard
            let box = try await store.objects(kind: ObjectKind.groupMember, key: holder.description)
                .first(where: { $0.id == id })
        else {
            throw TutelaError.denied(
                version == group.version
                    ? "'\(principal.id)' has no copy of the \(role.rawValue) group key yet"
                    : "'\(principal.id)' has no copy of \(holder), which this is still sealed to",
                hint: version == group.version
                    ? "a current member runs: tutela group sync \(role.rawValue) --as ID"
                    : "a member who held it runs: tutela group rewrap \(role.rawValue) --as ID")
        }
        return try openMemberBox(box, id: id, publishedKey: published, group: holder)
    }

    /// Every version of every group this person holds a copy of (a member box filed for them),
    /// read before a decision so that it never allows an opening they could not complete.
    func heldGroupVersions() async throws -> Set<Recipient> {
        var held: Set<Recipient> = []
        for group in directory.groups.values where principal.has(group.role) {
            for version in 1...max(1, group.version) {
                let holder = Recipient.group(group.role, version: version)
                let id = MemberBoxID(group: holder, member: principal.id).description
                if try await store.objects(kind: ObjectKind.groupMember, key: holder.description)
                    .contains(where: { $0.id == id })
                {
                    held.insert(holder)
                }
            }
        }
        return held
    }

    /// The newest version of `role`'s group, among those in `held`, that one of `holders` is for:
    /// what a member opens a record's group slot or share with, before or after a re-wrap has
    /// moved it to the current version.
    func newestGroupVersion(
        _ role: Role, among holders: [Recipient], held: Set<Recipient>
    ) -> (index: Int, version: Int)? {
        var best: (index: Int, version: Int)?
        for (index, holder) in holders.enumerated() {
            guard case .group(let r, let version) = holder, r == role, held.contains(holder) else {
                continue
            }
            if version > (best?.version ?? 0) { best = (index, version) }
        }
        return best
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
