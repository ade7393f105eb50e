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

    // MARK: - State

    /// Whether `record` is flagged (by a valid, signed flag) and has an open break-glass request, read
    /// inside a transaction (as `open` does, so its audit entry records the state it decided on).
    static func recordState(
        _ record: String, tx: any VaultTransaction, directory: Directory, now: Int64
    ) async throws -> RecordState {
        var state = RecordState()
        state.flagged = try await !facts(
            SafeguardingFlag.self, about: record, tx: tx, directory: directory
        ).isEmpty
        for request in try await facts(
            BreakGlassRequest.self, about: record, tx: tx, directory: directory)
        where request.expires > now {
            if try await facts(BreakGlassUse.self, about: request.id, tx: tx, directory: directory)
                .isEmpty
            {
                state.breakGlassOpen = true
            }
        }
        return state
    }

    /// The same, read outside a transaction.
    func recordState(_ record: String) async throws -> RecordState {
        var state = RecordState()
        state.flagged = try await flag(record) != nil
        let now = vault.clock.now()
        for request in try await facts(BreakGlassRequest.self, about: record)
        where request.expires > now {
            if try await fact(BreakGlassUse.self, about: request.id) == nil {
                state.breakGlassOpen = true
            }
        }
        return state
    }

    func flag(_ record: String) async throws -> SafeguardingFlag? {
        try await fact(SafeguardingFlag.self, about: record)
    }

    func auditEntry(
        _ action: AuditEntry.Action, subject: String?, outcome: AuditEntry.Outcome = .allowed,
        reason: String?
    ) -> AuditEntry {
        AuditEntry(
            action: action, actor: principal.id, subject: subject, outcome: outcome, reason: reason,
            time: vault.clock.now(), policyVersion: policyVersion)
    }

    static func requireReason(_ reason: String, for what: String) throws(TutelaError) -> String {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw .usage("a reason is required to \(what)", hint: "pass --reason TEXT")
        }
        guard trimmed.count <= 2000,
            !trimmed.unicodeScalars.contains(where: {
                $0.properties.generalCategory == .control && $0 != "\n"
            })
        else { throw .usage("the reason must be at most 2000 characters of ordinary text") }
        return trimmed
    }

    /// Notice rows pointing `recipients` at audit entry `sequence`.
    static func notices(_ recipients: Set<String>, sequence: Int64) -> [StoredObject] {
        recipients.sorted().map { r in
            var w = CanonicalWriter()
            w.i64(sequence)
            return StoredObject(
                kind: ObjectKind.notice, id: "\(r)/\(String(format: "%012lld", sequence))", key: r,
                body: w.bytes)
        }
    }

    /// Appends `entry` and notices it to `recipients` (not to the actor), with `objects`, in one
    /// transaction. Returns nothing until it is durable.
    func record(
        _ entry: AuditEntry, notify recipients: Set<String>, objects: [StoredObject] = []
    ) async throws {
        let identity = self.identity
        let notify = recipients.subtracting([principal.id])
        try await auditedWrite { tx in
            for o in objects { try await tx.put(o) }
            try await Self.appendAudit(entry, tx: tx, signer: identity)
            guard let link = try await tx.lastLink(.audit) else {
                throw TutelaError.internal("no audit head")
            }
            for n in Self.notices(notify, sequence: link.sequence) { try await tx.put(n) }
        }
    }

    var headsOfCentre: Set<String> { Set(directory.holders(of: .headOfCentre).map(\.id)) }

    // MARK: - Flag

    /// Flags a record for safeguarding: seals its key to the groups that open flagged records, records
    /// who, when and why, and moves it onto the safeguarding retention schedule.
    @discardableResult
    public func flag(_ recordID: String, reason: String) async throws -> SafeguardingFlag {
        let reason = try Self.requireReason(reason, for: "flag a record")
        let policy = try policy()
        let (stored, envelope) = try await load(recordID)
        let state = try await recordState(recordID)
        let decision = policy.decide(
            .flag, actor: principal, label: envelope.label, state: state, directory: directory)
        guard decision.allowed else {
            try await audit(.flag, subject: recordID, outcome: .denied, reason: decision.rule)
            throw TutelaError.denied("'\(principal.id)' may not flag \(recordID): \(decision.rule)")
        }
        let rules = try policy.rules(for: envelope.label.recordClass)
        guard let slot = stored.slots.first(where: { $0.recipient == principal.id }) else {
            throw TutelaError.denied(
                "\(recordID) has no key for '\(principal.id)'; someone who can open it must flag it"
            )
        }
        var groups: [GroupKey] = []
        for role in rules.safeguarding.openFlagged.map(\.value) {
            guard let group = directory.groups[role] else {
                throw TutelaError.notFound(
                    "the \(role.rawValue) group has no key, so a flagged record could not be opened by it",
                    hint:
                        "an administrator creates it first: tutela group create \(role.rawValue) --as ID"
                )
            }
            groups.append(group)
        }
        let key = try slot.open(with: identity, expecting: recordID)
        let slots = try groups.filter { g in !stored.slots.contains { $0.recipient == g.recipient }
        }
        .map { g throws(TutelaError) in
            try Slot.make(record: recordID, key: key, recipient: g.recipient, to: g.publicKey)
        }
        key.wipe()
        let flag = SafeguardingFlag(
            record: recordID, flaggedBy: principal.id, time: vault.clock.now(), reason: reason)
        let object = try sign(flag)
        let officers = Set(groups.flatMap { directory.holders(of: $0.role).map(\.id) })
        let entry = auditEntry(.flag, subject: recordID, reason: reason)
        let identity = self.identity
        let notify = officers.union([envelope.label.author]).subtracting([principal.id])
        try await write { tx in
            for s in slots { try await tx.insert(s) }
            try await tx.put(object)
            try await Self.appendAudit(entry, tx: tx, signer: identity)
            guard let link = try await tx.lastLink(.audit) else {
                throw TutelaError.internal("no audit head")
            }
            for n in Self.notices(notify, sequence: link.sequence) { try await tx.put(n) }
        }
        return flag
    }

    /// Flagged records, oldest first, with who flagged them and whether an officer has opened them.
    public func safeguardingQueue() async throws -> [(
        label: Label, flag: SafeguardingFlag, disclosures: Int
    )] {
        let policy = try policy()
        var result: [(Label, SafeguardingFlag, Int)] = []
        for flag in try await facts(SafeguardingFlag.self, about: nil) {
            guard let stored = try await store.record(flag.record) else { continue }
            let label = try Label.parse(stored.labelBytes)
            let state = RecordState(flagged: true)
            guard
                policy.decide(
                    .viewLabel, actor: principal, label: label, state: state, directory: directory
                ).allowed
            else { continue }
            let disclosures = try await facts(ReviewItem.self, about: flag.record).count
            result.append((label, flag, disclosures))
        }
        guard !result.isEmpty || principal.has(.safeguardingOfficer) else {
            try await audit(
                .auditRead, subject: nil, outcome: .denied, reason: "safeguarding queue")
            throw TutelaError.denied("'\(principal.id)' may not see the safeguarding queue")
        }
        return result.sorted { $0.1.time < $1.1.time }
    }

    // MARK: - Disclosure

    /// An officer opens a flagged record with a recorded reason. The audit entry, the review item and
    /// the notices to the author and heads of centre are durable before anything is decrypted.
    public func disclose(_ recordID: String, reason: String) async throws -> OpenedRecord {
        let reason = try Self.requireReason(reason, for: "open a flagged record")
        let policy = try policy()
        let (directory, principal) = (self.directory, self.principal)
        let item = ReviewItem(
            id: try newID("RV"), kind: .disclosure, record: recordID, actor: principal.id,
            time: vault.clock.now(), reason: reason)
        let review = try sign(item)
        let heads = headsOfCentre
        let released = try await release(recordID, action: .disclose) {
            input, _ -> ReleaseVerdict<(Role, Slot)> in
            let label = input.envelope.label
            let decision = policy.decide(
                .disclose, actor: principal, label: label, state: input.state,
                directory: directory)
            guard decision.allowed else {
                return .refuse(
                    rule: decision.rule,
                    message:
                        "'\(principal.id)' may not open \(recordID) as a disclosure: \(decision.rule)"
                )
            }
            let roles = try policy.rules(for: label.recordClass).safeguarding.openFlagged.map(
                \.value)
            for role in roles where principal.has(role) {
                guard let group = directory.groups[role],
                    let slot = input.stored.slots.first(where: { $0.recipient == group.recipient })
                else { continue }
                return .release(
                    reason: reason, grant: (role, slot), objects: [review],
                    notify: heads.union([label.author]))
            }
            return .refuse(
                rule: "no key slot for a safeguarding group '\(principal.id)' belongs to",
                message:
                    "\(recordID) has no key for the safeguarding group '\(principal.id)' belongs to",
                hint: "the record must be flagged again after a group key rotation")
        } open: { envelope, grant in
            let (role, slot) = grant
            let key = try slot.open(with: try await groupKey(role), expecting: recordID)
            defer { key.wipe() }
            return OpenedRecord(
                label: envelope.label, content: try await decrypt(envelope, dataKey: key))
        }
        switch released {
        case .released(let record): return record
        case .missing: try await missing(recordID, action: .disclose)
        case .skipped: throw TutelaError.internal("a disclosure was skipped")
        }
    }
}
