import Testing
import Tutela
import TutelaCrypto
import TutelaTesting

/// A store that answers one kind of fact as though it held none: a copy that lost rows.
struct DroppingStore: ForwardingStore {
    let forwarded: any VaultStore
    let dropped: String

    func objectKinds() async throws -> [String] {
        try await forwarded.objectKinds().filter { $0 != dropped }
    }

    func objects(kind: String, key: String?) async throws -> [StoredObject] {
        kind == dropped ? [] : try await forwarded.objects(kind: kind, key: key)
    }
}

@Suite("Copying a vault into another store (tutela migrate)")
struct VaultCopyTests {
    /// A centre with records, a flag (a fact) and break-glass shares, in memory.
    static func centre() async throws -> (Centre<MemoryVaultStore>, [Label]) {
        let centre = try await Centre.make(store: MemoryVaultStore())
        var labels: [Label] = []
        for marker in ["one", "two", "three"] {
            labels.append(
                try await centre.session("price").seal(
                    Centre<MemoryVaultStore>.form(marker: marker), confidential: false))
        }
        return (centre, labels)
    }

    @Test("the copy holds every row, proves itself, and opens as the original does")
    func copies() async throws {
        let (centre, labels) = try await Self.centre()
        let target = MemoryVaultStore()
        let report = try await centre.vault.copy(to: target)
        #expect(report.records == 3)
        #expect(report.shredKeys == 3)
        #expect(report.shares >= 3, "each record's break-glass shares")
        #expect(report.auditEntries == Int64(try await centre.store.links(.audit).count))
        #expect(report.identities == Centre<MemoryVaultStore>.people.count + 1)
        let copied = Vault(store: target, clock: centre.vault.clock)
        let price = try await copied.unlock(
            "price", passphrase: Centre<MemoryVaultStore>.passphrase("price"))
        for label in labels {
            #expect(try await price.open(label.record).label == label)
        }
    }

    @Test("a target holding a vault is refused, and left as it was")
    func occupiedTarget() async throws {
        let (centre, _) = try await Self.centre()
        let (other, _) = try await Self.centre()
        let before = try await other.store.links(.audit)
        await #expect(throws: TutelaError.self) { _ = try await centre.vault.copy(to: other.store) }
        do {
            _ = try await centre.vault.copy(to: other.store)
        } catch let error as TutelaError {
            #expect(error.kind == .exists)
        }
        #expect(try await other.store.links(.audit) == before)
    }

    @Test("a tampered vault is not copied: the target stays empty")
    func tamperedSource() async throws {
        let (centre, labels) = try await Self.centre()
        await centre.store.tamper(record: labels[1].record) { record in
            StoredRecord(
                record: record.record, labelBytes: record.labelBytes,
                sealedBytes: record.sealedBytes.reversed(), slots: record.slots)
        }
        let target = MemoryVaultStore()
        do {
            _ = try await centre.vault.copy(to: target)
            Issue.record("a tampered vault was copied")
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
        }
        await #expect(throws: TutelaError.self) { _ = try await target.meta() }
        #expect(await target.shredKeyIDs().isEmpty)
    }

    @Test("a copy that lost rows is reported, never called proved")
    func lossyCopy() async throws {
        let (centre, labels) = try await Self.centre()
        _ = try await centre.session("price").safeguarding.flag(
            labels[0].record, reason: "worried about home")
        let target = DroppingStore(forwarded: MemoryVaultStore(), dropped: "flag")
        do {
            _ = try await centre.vault.copy(to: target)
            Issue.record("a copy without its flag was reported as proved")
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
            #expect(!error.message.contains("worried"))
        }
    }
}
