import Foundation
import Testing

@testable import Tutela

@Suite("Head pins on disk")
struct HeadPinTests {
    let root: URL
    let store: FileHeadPinStore
    let vault = "00aa11bb22cc33dd"

    init() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("tutela-pins-\(UUID().uuidString)")
        store = FileHeadPinStore(directory: root.appendingPathComponent("heads"))
    }

    static func pin(_ entries: Int64) -> HeadPin {
        HeadPin(
            entries: entries,
            head: String(repeating: String(format: "%02x", entries % 256), count: 32))
    }

    func bytes() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: store.file(vault)))
    }

    func overwrite(_ bytes: [UInt8]) throws {
        try Data(bytes).write(to: store.file(vault))
    }

    @Test("a pin reads back, moves only forward, and moves back only when replacing")
    func forwardOnly() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try store.load(vaultID: vault) == nil)
        try store.save(Self.pin(5), vaultID: vault, replacing: false)
        #expect(try store.load(vaultID: vault) == Self.pin(5))
        for n in Int64(6)...9 { try store.save(Self.pin(n), vaultID: vault, replacing: false) }
        #expect(try store.load(vaultID: vault) == Self.pin(9))
        try store.save(Self.pin(3), vaultID: vault, replacing: false)
        #expect(try store.load(vaultID: vault) == Self.pin(9))
        try store.save(Self.pin(3), vaultID: vault, replacing: true)
        #expect(try store.load(vaultID: vault) == Self.pin(3))
        #expect(try bytes().count == FileHeadPinStore.fileSize)
        let mode =
            try FileManager.default.attributesOfItem(atPath: store.file(vault).path)[
                .posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("a torn or damaged newest slot falls back to the one before it; never to nothing")
    func tornSlot() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        for n in Int64(1)...4 { try store.save(Self.pin(n), vaultID: vault, replacing: false) }
        let good = try bytes()
        // Counter 4 lives in slot 0 (offset 0), counter 3 in slot 1 (offset 512).
        var damaged = 0
        for offset in 0..<FileHeadPinStore.slotSize {
            for bit in [0, 7] {
                var torn = good
                torn[offset] ^= 1 << bit
                try overwrite(torn)
                #expect(try store.load(vaultID: vault) == Self.pin(3))
                damaged += 1
            }
        }
        #expect(damaged == 2 * FileHeadPinStore.slotSize)
        // A write that never reached the disk: the slot is still zero.
        var zeroed = good
        for i in 0..<FileHeadPinStore.slotSize { zeroed[i] = 0 }
        try overwrite(zeroed)
        #expect(try store.load(vaultID: vault) == Self.pin(3))
        // The next save overwrites the damaged slot, not the good one.
        try store.save(Self.pin(7), vaultID: vault, replacing: false)
        #expect(try store.load(vaultID: vault) == Self.pin(7))
        var secondDamaged = try bytes()
        secondDamaged[FileHeadPinStore.slotStride + 40] ^= 1
        try overwrite(secondDamaged)
        #expect(try store.load(vaultID: vault) == Self.pin(7))
    }

    @Test("a pin file damaged in both slots, cut short or emptied is refused (65), not ignored")
    func unreadable() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try store.save(Self.pin(2), vaultID: vault, replacing: false)
        try store.save(Self.pin(3), vaultID: vault, replacing: false)
        let good = try bytes()
        var both = good
        both[20] ^= 1
        both[FileHeadPinStore.slotStride + 20] ^= 1
        for variant in [both, Array(good.prefix(600)), []] {
            try overwrite(variant)
            #expect(throws: TutelaError.self) { try store.load(vaultID: vault) }
            do {
                _ = try store.load(vaultID: vault)
            } catch let error as TutelaError {
                #expect(error.kind.exitCode == 65)
                #expect(error.message.contains("unreadable"))
            }
            // An ordinary save must not paper over it ...
            #expect(throws: TutelaError.self) {
                try store.save(Self.pin(9), vaultID: vault, replacing: false)
            }
            // ... only an accepted restore starts the file afresh.
            try store.save(Self.pin(9), vaultID: vault, replacing: true)
            #expect(try store.load(vaultID: vault) == Self.pin(9))
        }
    }

    @Test("a pin saved as JSON by an earlier version is read, carried over and the JSON removed")
    func legacyJSON() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: store.directory, withIntermediateDirectories: true)
        let legacy = store.directory.appendingPathComponent("\(vault).json")
        try JSONEncoder().encode(Self.pin(12)).write(to: legacy)
        #expect(try store.load(vaultID: vault) == Self.pin(12))
        // A save behind the legacy pin keeps the legacy one.
        try store.save(Self.pin(10), vaultID: vault, replacing: false)
        #expect(try store.load(vaultID: vault) == Self.pin(12))
        #expect(!FileManager.default.fileExists(atPath: legacy.path))
        try store.save(Self.pin(13), vaultID: vault, replacing: false)
        #expect(try store.load(vaultID: vault) == Self.pin(13))
    }

    @Test("concurrent saves from many threads leave the furthest pin")
    func concurrentSaves() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try store.save(Self.pin(1), vaultID: vault, replacing: false)
        let store = self.store
        let vault = self.vault
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in Int64(2)...41 {
                group.addTask { try store.save(Self.pin(n), vaultID: vault, replacing: false) }
            }
            try await group.waitForAll()
        }
        #expect(try store.load(vaultID: vault) == Self.pin(41))
    }

    @Test("a vault id that is not plain hex is refused before any path is built")
    func badVaultID() {
        for id in ["", "../x", "00aa/11", "zz"] {
            #expect(throws: TutelaError.self) { try store.load(vaultID: id) }
            #expect(throws: TutelaError.self) {
                try store.save(Self.pin(1), vaultID: id, replacing: false)
            }
        }
    }
}
