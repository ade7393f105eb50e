import Testing
import TutelaTesting

@testable import Tutela

/// `audit log --record` reads a record's entries through the state's index of them, not the whole
/// log (#21 item 9): exactly the entries the log holds about the record, each genuine, none left
/// out, added or moved without its being tampering.
@Suite("A record's audit entries without the whole log")
struct RecordLogTests {
    /// Price seals a record for Sam and opens it; Jones, not Sam's tutor, is refused it.
    static func scene() async throws -> (Fixture, Label) {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        _ = try await price.open(label.record)
        await expectError(.permissionDenied) { try await f.session("jones").open(label.record) }
        return (f, label)
    }

    @Test("a record's entries are the log's entries about it, its sealing first")
    func sameAsTheLog() async throws {
        let (f, label) = try await Self.scene()
        let hale = try f.session("hale")
        let fast = try await hale.auditLog(record: label.record)
        let full = try await hale.auditLog(record: nil).filter {
            $0.entry.subject == label.record.text
        }
        #expect(fast == full)
        #expect(
            fast.map { "\($0.entry.action.rawValue) \($0.entry.actor) \($0.entry.outcome)" } == [
                "seal price allowed", "open price allowed", "open jones denied",
                "audit-read hale allowed",
            ])
        // Each entry names the one before it about the record; the sealing names none.
        #expect(
            fast.map(\.entry.previous) == [-1, -1] + fast.dropFirst().dropLast().map(\.sequence))
        // A record id never sealed has only the reading's own entry.
        let none = try await hale.auditLog(record: "R-AAAA-BBBB-CCCC")
        #expect(none.map(\.entry.action) == [.auditRead])
        // An addendum is a record of its own, sealed by its own entry.
        let addendum = try await f.session("price").corrections.addendum(
            to: label.record, text: "more")
        let its = try await hale.auditLog(record: addendum.record)
        #expect(its.map(\.entry.action) == [.addendum, .auditRead])
        try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test(
        "an entry about the record rewritten, or where its sealing is moved or deleted: tampering")
    func tampering() async throws {
        do {
            // Jones's refusal rewritten (his signature no longer holds).
            let (f, label) = try await Self.scene()
            await f.store.tamper(chain: .audit) { links in
                links.map { link in
                    guard let entry = try? AuditEntry.parse(link.body, context: "test"),
                        entry.actor == "jones", entry.subject == label.record.text
                    else { return link }
                    var body = link.body
                    body[body.count - 200] ^= 1
                    return ChainLink(
                        sequence: link.sequence, previousHash: link.previousHash,
                        signer: link.signer, body: body, signature: link.signature, hash: link.hash)
                }
            }
            await expectError(.tampered) {
                try await f.session("hale").auditLog(record: label.record)
            }
        }
        do {
            // The row saying where the sealing is, deleted before the record's first other entry
            // binds it: that entry is refused.
            let f = try await Fixture.make()
            let price = try f.session("price")
            let label = try await price.seal(Fixture.form(), confidential: false)
            await f.store.base.tamper { state in state.objects[ObjectKind.auditMade] = nil }
            let error = await expectError(.tampered) { try await price.open(label.record) }
            #expect(error?.message.contains("sealed") == true)
        }
        do {
            // Moved to the sealing of a record of Jones's own: refused the same way.
            let (f, price, label, his) = try await Self.twoSealings()
            await f.store.base.tamper { state in
                let moved = SubjectIndex.madeRow(label.record.text, sequence: his.sequence)
                state.objects[ObjectKind.auditMade] = (state.objects[ObjectKind.auditMade] ?? [:])
                    .filter { $0.value.key != label.record.text }
                state.objects[ObjectKind.auditMade, default: [:]][moved.id] = moved
            }
            await expectError(.tampered) { try await price.open(label.record) }
        }
        do {
            // A row planted under the sequence the next sealing will have, filed under another
            // record: the sealing is refused, and the planted row left as evidence.
            let f = try await Fixture.make()
            let price = try f.session("price")
            let first = try await price.seal(Fixture.form(), confidential: false)
            let next = try #require(try await f.store.links(.audit).last).sequence + 1
            let planted = SubjectIndex.madeRow(first.record.text, sequence: next)
            await f.store.base.tamper { state in
                state.objects[ObjectKind.auditMade, default: [:]][planted.id] = planted
            }
            await expectError(.tampered) {
                try await price.seal(Fixture.form(marker: "second"), confidential: false)
            }
            let kept = await f.store.base.tamperRead { state in
                state.objects[ObjectKind.auditMade]?[planted.id]
            }
            #expect(kept == planted)
        }
        do {
            // A second row for the record beside the true one (naming Jones's sealing): refused,
            // not chosen between.
            let (f, price, label, his) = try await Self.twoSealings()
            await f.store.base.tamper { state in
                let second = SubjectIndex.madeRow(label.record.text, sequence: his.sequence)
                state.objects[ObjectKind.auditMade, default: [:]]["x" + second.id] = second
            }
            let error = await expectError(.tampered) { try await price.open(label.record) }
            #expect(error?.message.contains("twice") == true)
        }
        do {
            // Once bound, the sealing re-signed in place by its own author, with another reason:
            // its digest is no longer the one the index holds.
            let (f, label) = try await Self.scene()
            let price = try f.session("price")
            await f.store.tamper(chain: .audit) { links in
                links.map { link in
                    guard var entry = try? AuditEntry.parse(link.body, context: "test"),
                        entry.action == .seal, entry.subject == label.record.text
                    else { return link }
                    entry = AuditEntry(
                        action: entry.action, actor: entry.actor, subject: entry.subject,
                        outcome: entry.outcome, reason: "sealed on another day",
                        time: entry.time, policyVersion: entry.policyVersion,
                        previous: entry.previous, state: entry.state)
                    let signed = SignedChain.signedBytes(
                        chain: .audit, sequence: link.sequence, previousHash: link.previousHash,
                        signer: link.signer, body: entry.canonical)
                    let signature = try! price.identity.sign(signed)
                    return ChainLink(
                        sequence: link.sequence, previousHash: link.previousHash,
                        signer: link.signer, body: entry.canonical, signature: signature,
                        hash: try! SignedChain.linkHash(signed: signed, signature: signature))
                }
            }
            let error = await expectError(.tampered) {
                try await f.session("hale").auditLog(record: label.record)
            }
            #expect(error?.message.contains("sealed") == true, "\(error?.message ?? "")")
        }
        do {
            // The index rolled back to before Jones's refusal, in the database only.
            let f = try await Fixture.make()
            let price = try f.session("price")
            let label = try await price.seal(Fixture.form(), confidential: false)
            _ = try await price.open(label.record)
            let before = await Self.index(f, label.record)
            await expectError(.permissionDenied) {
                try await f.session("jones").open(label.record)
            }
            await Self.rewriteIndex(f, label.record, to: before)
            await expectError(.tampered) {
                try await f.session("hale").auditLog(record: label.record)
            }
        }
    }

    @Test("an insider who signs a state hiding an entry about a record is found by audit verify")
    func insiderHidesAnEntry() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        _ = try await price.open(label.record)
        let before = await Self.index(f, label.record)
        let jones = try f.session("jones")
        await expectError(.permissionDenied) { try await jones.open(label.record) }
        // Jones, who writes the database and holds his own key, puts the index back as it was
        // before his refusal and signs an entry committing to that state.
        let root = await Self.rewriteIndex(f, label.record, to: before)
        try await Self.signHead(f, as: jones, root: root)
        // The replay of the whole log finds the index does not match …
        let error = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(
            error?.message.contains("index of the audit entries about \(label.record)") == true,
            "\(error?.message ?? "")")
        // … a reading of the record's entries rests on the newest signed state, as every reading
        // does, and no longer shows the refusal …
        let shown = try await f.session("hale").auditLog(record: label.record)
        #expect(!shown.contains { $0.entry.actor == "jones" })
        // … and once an entry about the record follows the forged index, the replay names it.
        let named = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(
            named?.message
                == "audit entry \(shown.last?.sequence ?? -1) does not follow the entry before it "
                + "about \(label.record)")
    }

    @Test("an insider's own record sealed by an entry naming another record is found by verify")
    func sealingNamesAnotherRecord() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        // Jones files a record of his own under an entry that says it seals Price's: what he
        // would point Price's `audit-made` row at, to stand in for its sealing.
        let jones = try f.session("jones")
        let prepared = try await jones.prepareSeal([
            (.progressReview(Fixture.form(learner: "alex")), .tutorial)
        ])
        let (record, learner, _, _) = try #require(prepared.records.first)
        try await f.store.transaction(
            jones.committedWrite(as: .seal, subject: label.record.text) { tx in
                try await tx.insert(record)
            })
        let error = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(
            error?.message.contains("not each filed by the entry that sealed its record") == true,
            "\(error?.message ?? "")")
    }

    @Test("rows taken away while a record's index is made, then put back: the next entry binds it")
    func bindingWaitsForTheRecord() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let id = label.record
        let (record, made) = await f.store.base.tamperRead { state in
            (
                state.records[id],
                try! #require(
                    state.objects[ObjectKind.auditMade]?.values.first { $0.key == id.text })
            )
        }
        await f.store.base.tamper { state in
            state.records[id] = nil
            state.objects[ObjectKind.auditMade]?[made.id] = nil
        }
        // Read while the record's rows are gone: its index is made without its sealing.
        let hale = try f.session("hale")
        _ = try await hale.auditLog(record: id)
        await f.store.base.tamper { state in
            state.records[id] = record
            state.objects[ObjectKind.auditMade]?[made.id] = made
        }
        // Not stuck: the next entry about it binds the sealing, and the vault verifies.
        let log = try await hale.auditLog(record: id)
        #expect(log.first?.entry.action == .seal)
        _ = try await f.session("price").open(id)
        try await f.vault.verifyAudit(checkpoint: nil)
        // A row planted for an id that is no record is never read.
        let planted: RecordID = "R-AAAA-BBBB-CCCC"
        await f.store.base.tamper { state in
            let row = SubjectIndex.madeRow(planted.text, sequence: 999_999)
            state.objects[ObjectKind.auditMade, default: [:]][row.id] = row
        }
        #expect(try await hale.auditLog(record: planted).map(\.entry.action) == [.auditRead])
    }

    // MARK: - An insider's tools

    /// A record of Price's, then one of Jones's: Price's session, its label, and the entry that
    /// sealed Jones's record.
    static func twoSealings() async throws -> (Fixture, Session, Label, ChainLink) {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        _ = try await f.session("jones").seal(Fixture.form(learner: "alex"), confidential: false)
        let his = try #require(try await f.store.links(.audit).last { $0.signer == "jones" })
        return (f, price, label, his)
    }

    /// The state's index of `record`'s entries as stored.
    static func index(_ f: Fixture, _ record: RecordID) async -> [UInt8]? {
        let key = StateKey.audit(record.text)
        let name = StateMap.prefix(key.bucket, depth: 4)
        return await f.store.base.tamperRead { state in
            state.objects[StateMap.bucketKind]?[name].flatMap {
                try? StateMap.decode($0.body, bucket: key.bucket)[key.text]
            }
        }
    }

    /// Sets the index of `record`'s entries to `value` in the database and re-hashes the nodes
    /// above it, as someone with write access to the files could.
    /// - Returns: the map's root after.
    @discardableResult
    static func rewriteIndex(_ f: Fixture, _ record: RecordID, to value: [UInt8]?) async
        -> [UInt8]
    {
        let key = StateKey.audit(record.text)
        let name = StateMap.prefix(key.bucket, depth: 4)
        return await f.store.base.tamperReturning { state in
            var entries: [String: [UInt8]] = [:]
            if let row = state.objects[StateMap.bucketKind]?[name] {
                entries = try! StateMap.decode(row.body, bucket: key.bucket)
            }
            entries[key.text] = value
            state.objects[StateMap.bucketKind, default: [:]][name] = StoredObject(
                kind: StateMap.bucketKind, id: name, key: name, body: StateMap.encode(entries))
            var hash = try! StateMap.bucketHash(key.bucket, entries)
            var child = name
            for depth in stride(from: 3, through: 0, by: -1) {
                let prefix = StateMap.prefix(key.bucket, depth: depth)
                let id = StateMap.parentKey(prefix)
                let row = state.objects[StateMap.nodeKind]?[id]
                var children = try! StateMap.children(prefix, rows: row.map { [$0] } ?? [])
                children[child.last!.hexDigitValue!] = hash
                state.objects[StateMap.nodeKind, default: [:]][id] = StateMap.nodeRow(
                    prefix, children)
                hash = try! StateMap.nodeHash(prefix, children)
                child = prefix
            }
            return hash
        }
    }

    /// Appends an entry `insider` signs, committing to the state of the log's last entry with
    /// `root` for its map.
    static func signHead(_ f: Fixture, as insider: Session, root: [UInt8]) async throws {
        let last = try #require(try await f.store.lastLink(.audit))
        let previous = try AuditEntry.parse(last.body, context: "test")
        var entry = insider.auditEntry(.inboxRead, subject: nil, reason: "nothing to see")
        entry = entry.stamped(previous.time)
        entry.state = previous.state
        entry.state.root = root
        let link = try SignedChain.link(
            .audit, after: last, body: entry.canonical, signer: insider.identity)
        await f.store.tamper(chain: .audit) { links in links + [link] }
    }
}

extension MemoryVaultStore {
    /// ``tamper(_:)`` that hands back what the change worked out.
    func tamperReturning<T: Sendable>(_ change: @Sendable (inout State) -> T) -> T {
        change(&state)
    }
}
