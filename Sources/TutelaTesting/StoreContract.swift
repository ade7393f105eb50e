public import Tutela
import TutelaCrypto

/// What every ``VaultStore`` must do, as checks any store's tests run: the in-memory and SQLite
/// stores today, PostgreSQL next. A check throws ``StoreContract/Failure`` naming what broke.
///
/// Each check gets a store holding no vault yet, made for it alone.
public enum StoreContract {
    /// A broken promise of the store under test.
    public struct Failure: Error, CustomStringConvertible {
        /// What the store did wrong.
        public let description: String
    }

    /// One named check.
    public struct Check: Sendable, CustomStringConvertible {
        /// What the check proves, in a sentence.
        public let description: String
        /// Runs the check against a new, empty store.
        public let run: @Sendable (any VaultStore) async throws -> Void
    }

    /// Every check, in a stable order.
    public static let checks: [Check] = [
        Check(description: "a store with no vault says so (not found)", run: noVault),
        Check(description: "a vault is created once; a second create is refused", run: createOnce),
        Check(description: "records round-trip with their slots and labels", run: records),
        Check(description: "label pages cover every label once", run: labelPages),
        Check(description: "objects are replaced by id, filed by key, ordered by id", run: objects),
        Check(description: "shares page by holder and are counted per holder", run: shares),
        Check(
            description: "slots are added, refused twice, found by recipient, deleted", run: slots),
        Check(description: "a transaction that throws leaves nothing behind", run: atomicity),
        Check(description: "a chain takes only its next link", run: chainOrder),
        Check(description: "concurrent transactions never lose a commit", run: oneWriter),
        Check(
            description: "shred keys: stored, copied, refused twice, deleted, orphans", run: keys),
        Check(description: "shredding keeps the label and drops contents and slots", run: shred),
        Check(description: "every object kind and every shred key is listed", run: listing),
        Check(description: "a transaction reads its own writes, in order", run: ownWrites),
        Check(description: "rows read ahead read as they would have", run: prefetch),
        Check(description: "rows read ahead by key read as they would have", run: prefetchByKey),
    ]

    static func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        guard condition else { throw Failure(description: what()) }
    }

    static func expectError(
        _ kind: TutelaError.Kind, _ what: String, _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch let error as TutelaError {
            try expect(error.kind == kind, "\(what): \(error.kind), not \(kind): \(error.message)")
            return
        }
        throw Failure(description: "\(what) was accepted")
    }

    /// A centre in `store` with three of Sam's records sealed by Price.
    static func sealed(_ store: any VaultStore) async throws -> (Centre<AnyStore>, [Label]) {
        let centre = try await Centre.make(store: AnyStore(store))
        var labels: [Label] = []
        for marker in ["one", "two", "three"] {
            labels.append(
                try await centre.session("price").seal(
                    Centre<AnyStore>.form(marker: marker), confidential: false))
        }
        return (centre, labels)
    }

    static func noVault(_ store: any VaultStore) async throws {
        try await expectError(.notFound, "meta of an empty store") { _ = try await store.meta() }
    }

    static func createOnce(_ store: any VaultStore) async throws {
        let meta = VaultMeta(
            vaultID: "v", authorityID: "office", authoritySigningKey: [1, 2, 3],
            kdfProfile: "interactive", createdAt: 7)
        try await store.transaction { tx in try await tx.create(meta) }
        try expect(try await store.meta() == meta, "meta reads back as created")
        let other = VaultMeta(
            vaultID: "w", authorityID: "x", authoritySigningKey: [4], kdfProfile: "interactive",
            createdAt: 8)
        try await expectError(.exists, "a second create") {
            try await store.transaction { tx in try await tx.create(other) }
        }
        try expect(try await store.meta() == meta, "the first vault is untouched")
    }

    static func records(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        let rows = try await store.labels(learner: nil)
        try expect(try await store.recordCount() == labels.count, "every record is counted")
        for label in labels {
            let stored = try await store.record(label.record)
            try expect(stored?.record == label.record, "\(label.record) reads back")
            let row = rows.first { $0.record == label.record }
            try expect(row?.learner == "sam", "its label row names its learner")
            try expect(try await store.label(label.record) == row, "its label row reads alone")
            try expect(
                stored?.labelBytes == row?.labelBytes, "its label reads back byte for byte")
            try expect(stored?.slots.isEmpty == false, "its slots read back")
            try expect(
                stored?.slots.allSatisfy { $0.record == label.record } == true,
                "its slots name it")
        }
        let sams = try await store.labels(learner: "sam").map(\.record)
        try expect(sams == labels.map(\.record), "a learner's labels, in the order stored")
        try expect(try await store.labels(learner: "alex").isEmpty, "no labels for Alex")
        let authors = Dictionary(grouping: labels, by: \.author)
        for (author, theirs) in authors {
            let rows = try await store.labels(author: author)
            try expect(
                rows.map(\.record) == theirs.map(\.record),
                "\(author)'s labels, in the order stored")
            var bytes: [[UInt8]?] = []
            for label in theirs { bytes.append(try await store.record(label.record)?.labelBytes) }
            try expect(rows.map(\.labelBytes) == bytes, "\(author)'s labels read back")
        }
        try expect(try await store.labels(author: "hale").isEmpty, "no labels by Hale")
        try expect(try await store.record("R-0000-0000-0000") == nil, "an unknown record is nil")
        try expect(try await store.label("R-0000-0000-0000") == nil, "an unknown label is nil")
    }

    static func labelPages(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        var seen: [RecordID] = []
        var cursor: LabelCursor?
        repeat {
            let page = try await store.labels(from: cursor, limit: 2)
            try expect(page.labels.count <= 2, "a page holds at most its limit")
            seen += page.labels.map(\.record)
            cursor = page.next
        } while cursor != nil
        try expect(
            seen == labels.map(\.record), "pages cover every label once, in the order stored")
    }

    static func objects(_ store: any VaultStore) async throws {
        let a = StoredObject(kind: "test", id: "b", key: "k1", body: [1])
        let b = StoredObject(kind: "test", id: "a", key: "k1", body: [2])
        let c = StoredObject(kind: "test", id: "c", key: "k2", body: [3])
        try await store.transaction { tx in
            for o in [a, b, c] { try await tx.put(o) }
        }
        try expect(
            try await store.objects(kind: "test", key: "k1") == [b, a], "filed by key, by id")
        try expect(try await store.objects(kind: "test", key: nil) == [b, a, c], "all, by id")
        try expect(try await store.objects(kind: "other", key: nil).isEmpty, "kinds are apart")
        let many = try await store.objects(kind: "test", keys: ["k2", "k1", "k1", "none"])
        try expect(
            Set(many.map(\.id)) == ["a", "b", "c"] && many.count == 3,
            "by many keys at once: each object once, none of another key")
        let otherKind = try await store.objects(kind: "other", keys: ["k1"])
        let noKeys = try await store.objects(kind: "test", keys: [])
        try expect(otherKind.isEmpty && noKeys.isEmpty, "by many keys: kinds apart, no keys none")
        let byID = try await store.objects(kind: "test", ids: ["c", "a", "a", "none"])
        try expect(
            Set(byID.map(\.id)) == ["a", "c"] && byID.count == 2,
            "by many ids at once: each object once, none missing or extra")
        let otherByID = try await store.objects(kind: "other", ids: ["a"])
        let noIDs = try await store.objects(kind: "test", ids: [])
        try expect(otherByID.isEmpty && noIDs.isEmpty, "by many ids: kinds apart, no ids none")
        let replaced = StoredObject(kind: "test", id: "b", key: "k2", body: [9])
        try await store.transaction { tx in try await tx.put(replaced) }
        try expect(
            try await store.objects(kind: "test", key: "k2") == [replaced, c],
            "a put replaces the object with its id, key and all")
        try await store.transaction { tx in
            try await expect(
                try tx.object(kind: "test", id: "a") == b, "read by id in a transaction")
            try await expect(try tx.objects(kind: "test", key: "k1") == [b], "and by key")
            try await tx.deleteObject(kind: "test", id: "a")
        }
        try expect(try await store.objects(kind: "test", key: "k1").isEmpty, "deleted")
    }

    static func shares(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        // Each record was sealed with its break-glass shares, one per approver group; the check
        // adds shares for two groups the policy never seals to, so none replaces those.
        let sealedWith = [Role.headOfCentre, .safeguardingOfficer].map {
            Recipient.group($0, version: 1)
        }
        let tutors = Recipient.group(.tutor, version: 1)
        let keepers = Recipient.group(.recordKeeper, version: 1)
        @Sendable func share(_ record: RecordID, _ holder: Recipient) -> StoredShare {
            StoredShare(record: record, holder: holder, body: [7])
        }
        let original = try await store.shares(record: labels[0].record)
        try expect(
            original.map(\.holder) == sealedWith, "a record's break-glass shares, by holder")
        try await store.transaction { tx in
            for label in labels {
                try await tx.put(share(label.record, tutors))
                try await tx.put(share(label.record, keepers))
            }
        }
        let counted = try await store.boxCount(recipient: tutors).shares
        try expect(counted == labels.count, "one share per record for the holder, counted")
        var seen: [StoredShare] = []
        var after: RecordID?
        while true {
            let page = try await store.shares(holder: tutors, after: after, limit: 2)
            guard let last = page.last else { break }
            try expect(page.count <= 2, "a page holds at most its limit")
            seen += page
            after = last.record
        }
        try expect(
            seen.map(\.record).sorted() == labels.map(\.record).sorted()
                && seen.allSatisfy { $0.holder == tutors },
            "pages of one holder's shares cover each once, none of another holder's")
        let first = try await store.shares(record: labels[0].record)
        try expect(
            first.map(\.holder)
                == (sealedWith + [tutors, keepers]).sorted { $0.description < $1.description }
                && first.filter { [tutors, keepers].contains($0.holder) }.allSatisfy {
                    $0.body == [7]
                } && first.filter { sealedWith.contains($0.holder) } == original,
            "shares by record, by holder")
        try await store.transaction { tx in
            try await expect(
                try tx.shares(record: labels[0].record).count == 4, "read in a transaction")
            try await tx.deleteShare(record: labels[0].record, holder: tutors)
            try await tx.deleteShare(record: labels[0].record, holder: tutors)
        }
        try expect(
            try await store.shares(record: labels[0].record).map(\.holder)
                == (sealedWith + [keepers]).sorted { $0.description < $1.description },
            "a share is deleted, and deleting it again does nothing")
        try await expectError(.invalidInput, "a share of no record") {
            try await store.transaction { tx in
                try await tx.put(share("R-NONE-NONE-NONE", tutors))
            }
        }
    }

    static func slots(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        let record = labels[0].record
        let before = try await store.slots(recipient: "price", limit: 100)
        try expect(before.count == labels.count, "the author's slot on each record")
        let slot = Slot(record: record, recipient: "visitor", box: [1, 2, 3])
        try await store.transaction { tx in try await tx.insert(slot) }
        try expect(
            try await store.record(record)?.slots.contains(slot) == true, "a slot is added")
        try await expectError(.exists, "a second slot for one recipient") {
            try await store.transaction { tx in
                try await tx.insert(Slot(record: record, recipient: "visitor", box: [9]))
            }
        }
        try expect(
            try await store.slots(recipient: "visitor", limit: 10) == [slot], "found by recipient")
        // Inside a transaction, the slots it sees include one it added itself.
        let other = Slot(record: labels[1].record, recipient: "visitor", box: [4, 5])
        let seen = try await store.transaction { tx in
            try await tx.insert(other)
            return try await tx.slots(recipient: "visitor")
        }
        try expect(
            Set(seen.map(\.record)) == [record, other.record] && seen.count == 2,
            "found by recipient in a transaction, with one it added")
        try await store.transaction { tx in
            try await tx.deleteSlot(record: record, recipient: "visitor")
            try await tx.deleteSlot(record: other.record, recipient: "visitor")
        }
        try expect(
            try await store.record(record)?.slots.contains(slot) == false, "and deleted")
    }

    static func atomicity(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        let head = try await store.links(.audit).last
        struct Abandon: Error {}
        do {
            try await store.transaction { tx in
                try await tx.put(StoredObject(kind: "test", id: "x", key: "k", body: [1]))
                try await tx.deleteSlot(record: labels[0].record, recipient: "price")
                throw Abandon()
            }
            throw Failure(description: "the throwing transaction returned")
        } catch is Abandon {}
        try expect(try await store.objects(kind: "test", key: nil).isEmpty, "no object landed")
        try expect(
            try await store.record(labels[0].record)?.slots.contains { $0.recipient == "price" }
                == true, "no slot was deleted")
        try expect(try await store.links(.audit).last == head, "the log did not move")
    }

    static func chainOrder(_ store: any VaultStore) async throws {
        _ = try await sealed(store)
        let links = try await store.links(.audit)
        guard let last = links.last else { throw Failure(description: "no audit log") }
        try expect(
            try await store.links(.audit, from: 1, limit: 2) == Array(links[1..<3]),
            "links page from a sequence number")
        try expect(try await store.link(.audit, at: last.sequence) == last, "one link by number")
        try await store.transaction { tx in
            try await expect(try tx.lastLink(.audit) == last, "the last link, in a transaction")
            try await expect(
                try tx.link(.audit, at: 1) == links[1], "one link by number, in a transaction")
            try await expect(
                try tx.link(.audit, at: last.sequence + 1) == nil, "no link past the last")
        }
        let gap = ChainLink(
            sequence: last.sequence + 2, previousHash: last.hash, signer: "x", body: [],
            signature: [], hash: [])
        let again = ChainLink(
            sequence: last.sequence, previousHash: last.previousHash, signer: "x", body: [],
            signature: [], hash: [])
        for (name, link) in [("a link after a gap", gap), ("a second link at one number", again)] {
            do {
                try await store.transaction { tx in try await tx.append(link, to: .audit) }
                throw Failure(description: "\(name) was appended")
            } catch is TutelaError {}
        }
        try expect(try await store.links(.audit) == links, "the log is as it was")
    }

    static func oneWriter(_ store: any VaultStore) async throws {
        // Each transaction reads a counter, suspends, and writes it back one higher: if two bodies
        // ever ran at once from the same state, one increment would be lost.
        let writers = 20
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<writers {
                group.addTask {
                    try await store.transaction { tx in
                        let counter = try await tx.object(kind: "test", id: "counter")
                        await Task.yield()
                        let n = counter?.body.first ?? 0
                        try await tx.put(
                            StoredObject(kind: "test", id: "counter", key: "k", body: [n + 1]))
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try await store.objects(kind: "test", key: "k").first?.body.first
        try expect(final == UInt8(writers), "\(writers) increments, \(final ?? 0) landed")
    }

    static func keys(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        let record = labels[0].record
        let key = try SecretBytes.random(count: 32)
        defer { key.wipe() }
        try await store.putShredKeys([("T-1", key), ("T-2", key)])
        let read = try await store.shredKey("T-1")
        try expect(read?.unprotectedCopy() == key.unprotectedCopy(), "a key reads back")
        read?.wipe()
        try expect(
            try await store.shredKey("T-1")?.unprotectedCopy() == key.unprotectedCopy(),
            "wiping a copy leaves the store's own")
        try await expectError(.exists, "a second key for one record") {
            try await store.putShredKeys([("T-3", key), ("T-1", key)])
        }
        try expect(try await store.shredKey("T-3") == nil, "a refused batch stores nothing")
        try await expectError(.exists, "one record's key twice in one batch") {
            try await store.putShredKeys([("T-4", key), ("T-5", key), ("T-4", key)])
        }
        let (four, five) = (try await store.shredKey("T-4"), try await store.shredKey("T-5"))
        try expect(four == nil && five == nil, "and nothing of that batch is stored")
        try await store.deleteShredKeys(["T-2"])
        try expect(try await store.shredKey("T-2") == nil, "a deleted key is gone")
        let orphans = try await store.orphanShredKeys()
        try expect(orphans.contains("T-1"), "a key whose record has no envelope is an orphan")
        let own = try await store.orphanShredKeys().filter { $0.hasPrefix(record.text) }
        try expect(own.isEmpty, "a sealed record's key is no orphan")
    }

    static func shred(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        let record = labels[0].record
        try await store.transaction { tx in try await tx.shred(record) }
        try expect(try await store.record(record) == nil, "the contents are gone")
        try expect(
            try await store.recordCount() == labels.count - 1, "and no longer counted")
        try expect(
            try await store.labels(learner: "sam").contains { $0.record == record },
            "the label stays, for the tombstone")
        try expect(try await store.label(record) != nil, "the label reads alone")
        try expect(
            try await store.slots(recipient: "price", limit: 100).allSatisfy {
                $0.record != record
            }, "its slots are gone")
    }
}
