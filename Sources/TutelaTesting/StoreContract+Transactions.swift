public import Tutela
import TutelaCrypto

// The store contract's checks of listing and of a transaction's own writes: a store may hold
// writes back until its transaction reads or commits (PostgreSQL's does).
extension StoreContract {
    static func listing(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        try await store.transaction { tx in
            try await tx.put(StoredObject(kind: "test-b", id: "1", key: "k", body: [1]))
            try await tx.put(StoredObject(kind: "test-a", id: "1", key: "k", body: [1]))
        }
        let kinds = try await store.objectKinds()
        try expect(kinds == kinds.sorted(), "kinds in order")
        try expect(
            kinds.contains("test-a") && kinds.contains("test-b") && Set(kinds).count == kinds.count,
            "each kind once")
        try await store.transaction { tx in try await tx.deleteObject(kind: "test-a", id: "1") }
        try expect(
            try await !store.objectKinds().contains("test-a"), "a kind with no rows is not listed")
        let ids = try await store.shredKeyIDs()
        try expect(ids == ids.sorted(), "shred keys in order")
        for label in labels {
            try expect(
                ids.contains { ShredKeyID($0)?.record == label.record },
                "the shred key of \(label.record) is listed")
        }
    }

    /// A store may hold writes back until its transaction reads or commits (PostgreSQL's does):
    /// whatever it holds, each read and each delete sees every write made before it.
    static func ownWrites(_ store: any VaultStore) async throws {
        let (_, labels) = try await sealed(store)
        guard let stored = try await store.record(labels[0].record),
            let slot = stored.slots.first
        else { throw Failure(description: "no sealed record") }
        let copy = try RecordID("ownwrites-1")
        let label = try await store.label(labels[0].record)
        try await store.transaction { tx in
            try await tx.insert(
                StoredRecord(
                    record: copy, labelBytes: stored.labelBytes, sealedBytes: stored.sealedBytes,
                    slots: []), learner: "sam", author: "price")
            let extra = Slot(record: copy, recipient: slot.recipient, box: slot.box)
            try await tx.insert(extra)
            try await expect(
                try tx.record(copy)?.slots == [extra], "a record and its slot, read back at once")
            try await tx.deleteSlot(record: copy, recipient: slot.recipient)
            try await expect(
                try tx.record(copy)?.slots.isEmpty == true, "a slot deleted after it was added")
            let share = StoredShare(record: copy, holder: "group:tutor#1", body: [1])
            try await tx.put(share)
            try await tx.put(StoredShare(record: copy, holder: "group:tutor#1", body: [2]))
            try await expect(
                try tx.shares(record: copy).map(\.body) == [[2]], "the last share put is kept")
            try await tx.shred(copy)
            try await expect(try tx.record(copy) == nil, "shredded after it was stored")
        }
        try expect(try await store.record(copy) == nil, "the shred committed")
        try expect(try await store.label(copy) != nil, "its label stays")
        try expect(label != nil, "the first label reads")
        try await expectError(.exists, "one record stored twice in one transaction") {
            try await store.transaction { tx in
                let twice = try RecordID("ownwrites-2")
                for _ in 0..<2 {
                    try await tx.insert(
                        StoredRecord(
                            record: twice, labelBytes: stored.labelBytes,
                            sealedBytes: stored.sealedBytes, slots: []), learner: "sam",
                        author: "price")
                }
            }
        }
        try expect(
            try await store.label(try RecordID("ownwrites-2")) == nil, "and nothing of it landed")
        do {
            try await store.transaction { tx in
                try await tx.insert(
                    Slot(record: try RecordID("ownwrites-3"), recipient: "price", box: [1]))
            }
            throw Failure(description: "a slot for a record that is not stored was accepted")
        } catch is TutelaError {}
    }

    /// ``VaultTransaction/prefetch(kind:ids:)`` is a hint only: every row read after it reads as
    /// it would have without it — the transaction's own writes and deletes, before and after the
    /// hint, and rows that are not there.
    static func prefetch(_ store: any VaultStore) async throws {
        _ = try await sealed(store)
        let row = aheadRow
        try await store.transaction { tx in
            for id in ["a", "b", "c"] { try await tx.put(row(id, 1)) }
        }
        try await store.transaction { tx in
            try await tx.put(row("a", 2))
            try await tx.deleteObject(kind: "test-ahead", id: "b")
            try await tx.put(row("d", 1))
            try await tx.prefetch(kind: "test-ahead", ids: ["a", "b", "c", "d", "e", "c"])
            try await tx.prefetch(kind: "other-kind", ids: ["a"])
            try await expect(try tx.object(kind: "test-ahead", id: "a") == row("a", 2), "own write")
            try await expect(try tx.object(kind: "test-ahead", id: "b") == nil, "own delete")
            try await expect(try tx.object(kind: "test-ahead", id: "c") == row("c", 1), "stored")
            try await expect(try tx.object(kind: "test-ahead", id: "d") == row("d", 1), "new row")
            try await expect(try tx.object(kind: "test-ahead", id: "e") == nil, "no such row")
            try await expect(try tx.object(kind: "other-kind", id: "a") == nil, "another kind")
            try await tx.put(row("c", 3))
            try await tx.put(row("e", 3))
            try await tx.deleteObject(kind: "test-ahead", id: "d")
            try await expect(
                try tx.object(kind: "test-ahead", id: "c") == row("c", 3), "written after")
            try await expect(
                try tx.object(kind: "test-ahead", id: "e") == row("e", 3), "made after")
            try await expect(try tx.object(kind: "test-ahead", id: "d") == nil, "deleted after")
            try await expect(
                try tx.objects(kind: "test-ahead", key: "k").map(\.body) == [[2], [3], [3]],
                "the kind's rows, by key")
        }
        try expect(
            try await store.objects(kind: "test-ahead", key: "k").map(\.id) == ["a", "c", "e"],
            "what committed")
        // Read ahead as absent, then put, deleted, put again; and put again once sent.
        try await store.transaction { tx in
            try await tx.prefetch(kind: "test-ahead", ids: ["f", "a"])
            try await tx.put(row("f", 1))
            try await tx.deleteObject(kind: "test-ahead", id: "f")
            try await tx.put(row("f", 2))
            _ = try await tx.objects(kind: "test-ahead", key: "k")
            try await tx.put(row("f", 3))
            try await tx.put(row("a", 4))
            try await expect(try tx.object(kind: "test-ahead", id: "f") == row("f", 3), "put again")
        }
        try expect(
            try await store.objects(kind: "test-ahead", key: "k").map(\.body)
                == [[4], [3], [3], [3]],
            "what committed the second time")
    }

    /// ``VaultTransaction/prefetch(kinds:keys:)`` is a hint only: each kind's rows under each key
    /// read as they would have without it — writes before the hint, and puts, moves to another
    /// key and deletes after it — and kinds or keys not named are read as ever.
    static func prefetchByKey(_ store: any VaultStore) async throws {
        _ = try await sealed(store)
        @Sendable func row(_ kind: String, _ id: String, _ key: String, _ body: UInt8)
            -> StoredObject
        {
            StoredObject(kind: kind, id: id, key: key, body: [body])
        }
        try await store.transaction { tx in
            for (id, key) in [("a", "k1"), ("b", "k1"), ("c", "k2")] {
                try await tx.put(row("key-ahead", id, key, 1))
            }
            try await tx.put(row("key-other", "a", "k1", 1))
        }
        @Sendable func ids(_ tx: any VaultTransaction, _ kind: String, _ key: String) async throws
            -> [String]
        {
            try await tx.objects(kind: kind, key: key).map { "\($0.id)\($0.body[0])" }
        }
        try await store.transaction { tx in
            try await tx.put(row("key-ahead", "d", "k1", 2))
            try await tx.prefetch(
                kinds: ["key-ahead", "key-none"], keys: ["k1", "k2", "k3", "k1"])
            try await expect(try ids(tx, "key-ahead", "k1") == ["a1", "b1", "d2"], "own write")
            try await expect(try ids(tx, "key-ahead", "k2") == ["c1"], "another key")
            try await expect(try ids(tx, "key-ahead", "k3").isEmpty, "a key with none")
            try await expect(try ids(tx, "key-none", "k1").isEmpty, "a kind with none")
            try await expect(try ids(tx, "key-other", "k1") == ["a1"], "a kind not named")
            try await tx.put(row("key-ahead", "b", "k2", 3))
            try await tx.put(row("key-ahead", "e", "k3", 3))
            try await tx.deleteObject(kind: "key-ahead", id: "a")
            try await tx.put(row("key-none", "f", "k1", 3))
            try await expect(try ids(tx, "key-ahead", "k1") == ["d2"], "moved and deleted after")
            try await expect(try ids(tx, "key-ahead", "k2") == ["b3", "c1"], "moved here after")
            try await expect(try ids(tx, "key-ahead", "k3") == ["e3"], "made after")
            try await expect(try ids(tx, "key-none", "k1") == ["f3"], "the first of its kind")
        }
        try expect(
            try await store.objects(kind: "key-ahead", key: "k2").map(\.id) == ["b", "c"],
            "what committed")
        // One change after the hint, then a read of what it changed: each alone must be seen.
        try await store.transaction { tx in
            try await tx.prefetch(kinds: ["key-ahead"], keys: ["k1", "k2"])
            try await tx.deleteObject(kind: "key-ahead", id: "c")
            try await expect(try ids(tx, "key-ahead", "k2") == ["b3"], "a delete alone")
        }
        try await store.transaction { tx in
            try await tx.prefetch(kinds: ["key-ahead"], keys: ["k1", "k2"])
            try await tx.put(row("key-ahead", "d", "k2", 4))
            try await expect(try ids(tx, "key-ahead", "k1").isEmpty, "moved away alone")
            try await expect(try ids(tx, "key-ahead", "k2") == ["b3", "d4"], "moved here alone")
        }
    }

    private static func aheadRow(_ id: String, _ body: UInt8) -> StoredObject {
        StoredObject(kind: "test-ahead", id: id, key: "k", body: [body])
    }
}
