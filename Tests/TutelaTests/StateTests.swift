import Foundation
import Testing
import TutelaTesting

@testable import Tutela

/// The vault's state (#18): each audit entry commits to the directory's head, every label row and
/// a Merkle map over records, facts and counts. Each test edits the stored rows as someone with the
/// database files open would, and checks that what relies on them refuses (65).
@Suite("The vault's state (#18)")
struct StateTests {
    static let asOf = CalendarDate(year: 2026, month: 12, day: 1)

    @Test(
        "a revocation deleted from the directory is refused at unlock, in every write and by verify"
    )
    func directoryCut() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        try await f.session("office").administration.revoke("jones")
        // The revocation's statement is deleted; its audit entry stays.
        await f.store.tamper(chain: .directory) { Array($0.dropLast()) }
        let error = await expectError(.tampered) {
            try await f.vault.unlock("jones", passphrase: Fixture.passphrase("jones"))
        }
        #expect(error?.message.contains("does not end where its audit log says") == true)
        await expectError(.tampered) {
            try await price.seal(Fixture.form(), confidential: false)
        }
        await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
    }

    @Test("label rows deleted, reordered or added are refused by the retention check and verify")
    func labelRows() async throws {
        let attacks: [(String, @Sendable (inout MemoryVaultStore.State) -> Void)] = [
            (
                "deleted",
                { state in
                    let id = state.order[0]
                    state.labels[id] = nil
                    state.learners[id] = nil
                    state.records[id] = nil
                }
            ),
            ("reordered", { state in state.order.swapAt(0, 1) }),
            (
                "added",
                { state in
                    // A copy of a label row filed as a record of its own.
                    let id = state.order[0]
                    let copy: RecordID = "R-0000-0000-0001"
                    state.labels[copy] = state.labels[id]
                    state.learners[copy] = state.learners[id]
                    state.order.append(copy)
                }
            ),
        ]
        for (name, attack) in attacks {
            let f = try await Fixture.make()
            for marker in ["one", "two"] {
                _ = try await f.session("price").seal(
                    Fixture.form(marker: marker), confidential: false)
            }
            await f.store.tamper(attack)
            let check = await expectError(.tampered) {
                try await f.session("hale").retention.check(asOf: Self.asOf)
            }
            #expect(check != nil, "a label row \(name) passed the retention check")
            await expectError(.tampered) {
                try await f.vault.verifyAudit(checkpoint: nil)
            }
        }
    }

    @Test(
        "the map's own rows edited, deleted, or rolled back with the facts they cover are refused")
    func mapRows() async throws {
        // A flag, then each attack on the stored rows; Sam's copy and the queue rely on them.
        func flagged() async throws -> (Fixture, RecordID, MemoryVaultStore.Snapshot) {
            let s = try await SafeguardingFixture.make()
            let label = try await s.session("price").seal(Fixture.form(), confidential: true)
            let before = await s.f.store.snapshot()
            try await s.session("price").safeguarding.flag(label.record, reason: "concern")
            return (s.f, label.record, before)
        }
        // A bucket's body changed.
        do {
            let (f, record, _) = try await flagged()
            let bucket = StateMap.prefix(StateKey.record(record).bucket, depth: 4)
            await f.store.tamper(object: StateMap.bucketKind, id: bucket) { body in
                var body = body
                body[body.count - 1] ^= 1
                return body
            }
            await expectError(.tampered) { try await f.session("price").open(record) }
            await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        }
        // Every node row deleted.
        do {
            let (f, record, _) = try await flagged()
            await f.store.tamper { state in state.objects[StateMap.nodeKind] = nil }
            await expectError(.tampered) { try await f.session("price").open(record) }
        }
        // The flag deleted, and the map's rows put back as they were before it (consistent with
        // each other, but not with the root the flag's audit entry signed).
        do {
            let (f, record, before) = try await flagged()
            await f.store.tamper { state in
                state.objects[FactKind.flag.rawValue] = nil
            }
            let old = await Self.mapRows(of: before)
            await f.store.tamper { state in
                state.objects[StateMap.bucketKind] = old.buckets
                state.objects[StateMap.nodeKind] = old.nodes
            }
            await expectError(.tampered) { try await f.session("sam").export(learner: "sam") }
            await expectError(.tampered) { try await f.session("price").open(record) }
            await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        }
    }

    /// The ways a node row (one per node, docs/FORMAT.md "State map") can be rewritten that leave
    /// its children's hashes readable: each is refused, never read around.
    enum NodeEdit: String, CaseIterable, Sendable {
        case version, maskWithoutHash, refiled, childRows
    }

    @Test(
        "a node row in any other shape is refused: another version, a mask naming a missing hash, filed under another key, split into a row per child",
        arguments: NodeEdit.allCases)
    func nodeRowShape(_ edit: NodeEdit) async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(
            Fixture.form(marker: "kept"), confidential: false)
        let root = StateMap.parentKey("")
        await f.store.tamper { state in
            guard let row = state.objects[StateMap.nodeKind]?[root] else { return }
            var nodes = state.objects[StateMap.nodeKind] ?? [:]
            switch edit {
            case .version:
                nodes[root] = StoredObject(
                    kind: row.kind, id: row.id, key: row.key, body: [2] + row.body.dropFirst())
            case .maskWithoutHash:
                // A bit the row holds no hash for: the first clear one (or, were every bit set, one
                // taken away from a hash it holds). Setting fixed bits was a no-op whenever the
                // random record ids already filled them.
                var body = row.body
                let mask = UInt16(body[1]) << 8 | UInt16(body[2])
                let clear = (0..<UInt16(16)).first(where: { mask & (1 << $0) == 0 })
                let flipped: UInt16 = mask ^ (1 << (clear ?? 0))
                body[1] = UInt8(flipped >> 8)
                body[2] = UInt8(flipped & 0xff)
                nodes[root] = StoredObject(kind: row.kind, id: row.id, key: row.key, body: body)
            case .refiled:
                nodes[root] = StoredObject(kind: row.kind, id: row.id, key: "/0", body: row.body)
            case .childRows:
                nodes[root] = nil
                let children = try! StateMap.children("", rows: [row])
                for (digit, child) in children.enumerated() where child != StateMap.zero {
                    let id = String(digit, radix: 16)
                    nodes[id] = StoredObject(kind: row.kind, id: id, key: root, body: child)
                }
            }
            state.objects[StateMap.nodeKind] = nodes
        }
        await expectError(.tampered) { try await f.session("price").open(label.record) }
        await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
    }

    @Test("a node row edited after a session proved it is refused by the next session and verify")
    func provenAcrossEntries() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(
            Fixture.form(marker: "kept"), confidential: false)
        let session = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        _ = try await session.open(label.record)
        // Every node row deleted after the open proved the record's path and wrote the record's
        // index of entries: the session carried its proof over to the root its open committed,
        // and its next open, which writes the index again, finds the stored rows changed under it.
        await f.store.tamper { state in state.objects[StateMap.nodeKind] = nil }
        await expectError(.tampered) { try await session.open(label.record) }
        let fresh = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        await expectError(.tampered) { try await fresh.open(label.record) }
        await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
    }

    @Test(
        "a bucket row planted after a session proved it is refused when that session writes to it")
    func provenRowOverwritten() async throws {
        let s = try await SafeguardingFixture.make()
        let price = try await s.session("price")
        let label = try await price.seal(Fixture.form(), confidential: true)
        _ = try await price.open(label.record)
        // A row planted in the record's bucket after the open proved it (empty). The flag writes
        // that bucket: it must report the planted row, not overwrite it unseen.
        let name = StateMap.prefix(StateKey.record(label.record).bucket, depth: 4)
        let planted = StateMap.encode([StateKey.facts(.flag, label.record.text).text: [1, 2, 3]])
        await s.f.store.tamper { state in
            state.objects[StateMap.bucketKind, default: [:]][name] = StoredObject(
                kind: StateMap.bucketKind, id: name, key: name, body: planted)
        }
        await expectError(.tampered) {
            try await price.safeguarding.flag(label.record, reason: "concern")
        }
    }

    @Test("only the hashes worked out on the way up are kept for a path's own slots")
    func provenPathSlots() throws {
        let b: UInt16 = 0x1234
        let bucketHash = [UInt8](repeating: 7, count: 32)
        var stored: [String: [[UInt8]]] = [:]
        for depth in 0...3 {
            // Every slot stored as junk, the path's own slots included.
            stored[StateMap.prefix(b, depth: depth)] = [[UInt8]](
                repeating: [UInt8](repeating: 9, count: 32), count: 16)
        }
        let (root, rows) = try StateMap.path(bucket: b, hash: bucketHash, children: stored)
        #expect(rows[StateMap.prefix(b, depth: 3)]?[0x4] == bucketHash)
        let level3 = try StateMap.nodeHash(
            StateMap.prefix(b, depth: 3), rows[StateMap.prefix(b, depth: 3)] ?? [])
        #expect(rows[StateMap.prefix(b, depth: 2)]?[0x3] == level3)
        #expect(rows[StateMap.prefix(b, depth: 3)]?[0x5] == [UInt8](repeating: 9, count: 32))
        #expect(
            try StateMap.root(bucket: b, hash: bucketHash, children: stored) == root)
    }

    /// The map's rows in a snapshot.
    static func mapRows(of snapshot: MemoryVaultStore.Snapshot) async -> (
        buckets: [String: StoredObject]?, nodes: [String: StoredObject]?
    ) {
        let store = MemoryVaultStore()
        await store.restore(snapshot)
        return await store.tamperRead { state in
            (state.objects[StateMap.bucketKind], state.objects[StateMap.nodeKind])
        }
    }

    @Test("a bucket that is not in canonical form is refused")
    func bucketEncoding() throws {
        let key = StateKey.record("R-0000-0000-0000")
        let good = StateMap.encode([key.text: [1, 2, 3]])
        #expect(try StateMap.decode(good, bucket: key.bucket) == [key.text: [1, 2, 3]])
        // Filed in another bucket, with trailing bytes, with an empty value.
        #expect(throws: TutelaError.self) { try StateMap.decode(good, bucket: key.bucket &+ 1) }
        #expect(throws: TutelaError.self) { try StateMap.decode(good + [0], bucket: key.bucket) }
        let empty = StateMap.encode([key.text: []])
        #expect(throws: TutelaError.self) { try StateMap.decode(empty, bucket: key.bucket) }
        // Keys out of order: written by hand.
        var w = CanonicalWriter()
        w.u8(1)
        w.u32(2)
        for k in ["R:b", "R:a"] {
            w.string(k)
            w.data([1])
        }
        #expect(throws: TutelaError.self) { try StateMap.decode(w.bytes, bucket: 0) }
    }

    @Test("a forged last audit row is refused, and once it is put right the session works again")
    func forgedLastEntryIsNotRemembered() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        let links = try await f.store.links(.audit)
        let last = try #require(links.last)
        // A row appended as the newest entry that is not genuine (its signature is not).
        let forged = ChainLink(
            sequence: last.sequence + 1, previousHash: last.hash, signer: last.signer,
            body: last.body, signature: [UInt8](repeating: 7, count: 64),
            hash: [UInt8](repeating: 9, count: 32))
        await f.store.tamper(chain: .audit) { _ in links + [forged] }
        let error = await expectError(.tampered) { try await price.open(label.record) }
        #expect(error?.message.contains("not genuine") == true, "\(error?.message ?? "")")
        // The session never took the forged row for the newest entry it saw.
        await f.store.tamper(chain: .audit) { _ in links }
        _ = try await price.open(label.record)
    }

    @Test("the directory as it stood after each statement is what verifying that many gives")
    func directoryAsOf() async throws {
        let f = try await Fixture.make()
        try await f.session("office").administration.setRoles("jones", [.headOfCentre])
        try await f.session("office").administration.revoke("price")
        let (meta, directory) = try await f.vault.verifiedDirectory()
        let links = try await f.store.links(.directory)
        // Out of order, so replays start from kept directories before and after.
        for count in (1...directory.statementCount).reversed() + [3, 7, directory.statementCount] {
            let then = try directory.asOf(count)
            let verified = try Directory.verify(
                Array(links.prefix(Int(count))), pinnedAuthorityKey: meta.authoritySigningKey)
            #expect(then.statementCount == count)
            #expect(then.principals == verified.principals)
            #expect(then.learners == verified.learners)
            #expect(then.policy?.version == verified.policy?.version)
            #expect(then.groups.mapValues(\.version) == verified.groups.mapValues(\.version))
        }
        await expectError(.tampered) { try directory.asOf(directory.statementCount + 1) }
        await expectError(.tampered) { try directory.asOf(0) }
    }

    @Test("a session whose proof cache fills part-way through a proof is not told of tampering")
    func fullCache() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        var records: [RecordID] = []
        for i in 0..<12 {
            records.append(
                try await price.seal(Fixture.form(marker: "c\(i)"), confidential: false).record)
        }
        // A cache that keeps two buckets: it empties while the proofs below remember theirs.
        let cache = StateCache(maxBuckets: 2)
        let reader = StateReader(store: f.store, directory: price.directory, cache: cache)
        let (_, state) = try await reader.committed()
        var claims = StateClaims()
        for id in records { try claims.addRecord(id, try await f.store.record(id)) }
        for round in 0..<3 {
            let bad = try await reader.firstMismatch(claims, in: state)
            #expect(bad == nil, "round \(round): \(String(describing: bad))")
        }
    }

    @Test("a session's proofs carry over its own transaction, and only from the root it began on")
    func cacheAdvances() {
        func head(_ byte: UInt8) -> StateHead {
            var head = StateHead.empty
            head.root = [UInt8](repeating: byte, count: 32)
            return head
        }
        let cache = StateCache()
        cache.remember(link: [1], state: head(1))
        cache.remember(bucket: 1, ["R1": [1]], children: [:], root: head(1).root)
        // Its own transaction, on the root it had proven: what it knew stays, with what it wrote.
        cache.advance(
            from: head(1).root, link: [2], state: head(2), buckets: [2: ["R2": [2]]], children: [:])
        #expect(cache.bucket(1, root: head(2).root) == ["R1": [1]])
        #expect(cache.bucket(2, root: head(2).root) == ["R2": [2]])
        #expect(cache.bucket(1, root: head(1).root) == nil)
        // One that began on a root the session had moved on from carries nothing else over.
        cache.advance(
            from: head(9).root, link: [3], state: head(3), buckets: [3: ["R3": [3]]], children: [:])
        #expect(cache.bucket(1, root: head(3).root) == nil)
        #expect(cache.bucket(3, root: head(3).root) == ["R3": [3]])
        #expect(cache.state(link: [3])?.root == head(3).root)
    }
}
