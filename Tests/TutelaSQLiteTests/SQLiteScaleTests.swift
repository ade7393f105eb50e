import Foundation
import Testing

@testable import Tutela
@testable import TutelaSQLite

/// The paths that must stay flat in memory at scale read in pages; these check the pages join up.
@Suite("SQLite store at scale")
struct SQLiteScaleTests {
    @Test(
        "labels read page by page come out whole, in sealing order, each once; a streamed retention check agrees"
    )
    func labelPages() async throws {
        let disk = try await DiskVault()
        let price = try await disk.session("price")
        let labels = try await price.sealBatch(
            try (0..<23).map { (try disk.form("page \($0)"), false) })
        var paged: [String] = []
        var cursor: Int64? = 0
        while let from = cursor {
            let page = try await disk.store.labelPage(from: from, limit: 5)
            #expect(page.labels.count <= 5)
            paged += page.labels.map(\.record)
            cursor = page.next
        }
        // Storage order is sealing order.
        #expect(paged == labels.map(\.record))
        let memory = MemoryVaultStore()
        try await memory.transaction { tx in
            for label in labels {
                try await tx.insert(
                    StoredRecord(
                        record: label.record, labelBytes: label.canonical, envelopeBytes: [],
                        slots: []), learner: label.learner)
            }
        }
        var inMemory: [String] = []
        cursor = 0
        while let from = cursor {
            let page = await memory.labelPage(from: from, limit: 4)
            inMemory += page.labels.map(\.record)
            cursor = page.next
        }
        #expect(inMemory == labels.map(\.record).sorted())
        let hale = try await disk.session("hale")
        var streamed: [String] = []
        let asOf = try #require(CalendarDate("2026-11-29"))
        try await hale.retention.check(asOf: asOf) { streamed.append($0.label.record) }
        #expect(streamed == paged)
        #expect(try await hale.retention.check(asOf: asOf).map(\.label.record) == paged)
    }

    @Test(
        "a pipelined import commits its batches whole and in file order; a bad line stops it after the batches before it"
    )
    func pipelinedImport() async throws {
        let disk = try await DiskVault()
        let price = try await disk.session("price")
        func line(_ i: Int) -> String {
            #"{"learner": "sam", "date": "2026-11-20", "course": "Maths", "comments": "line \#(i)"}"#
        }
        let file = disk.root.appendingPathComponent("forms.jsonl")
        try (0..<23).map(line).joined(separator: "\n").write(
            to: file, atomically: true, encoding: .utf8)
        var batches: [[Label]] = []
        let sealed = try await price.importForms(file.path, confidential: false, batchSize: 5) {
            batches.append($0)
        }
        #expect(sealed == 23)
        #expect(batches.map(\.count) == [5, 5, 5, 5, 3])
        // Storage order, callback order and file order agree.
        var stored: [String] = []
        var cursor: Int64? = 0
        while let from = cursor {
            let page = try await disk.store.labelPage(from: from, limit: 100)
            stored += page.labels.map(\.record)
            cursor = page.next
        }
        #expect(stored == batches.flatMap { $0.map(\.record) })
        for (i, record) in stored.enumerated() {
            guard case .progressReview(let form) = try await price.open(record).content else {
                Issue.record("\(record) is not a progress review")
                continue
            }
            #expect(form.comments == "line \(i)")
        }
        // A line that fails only at sealing time (an unknown learner) in the fourth batch: the
        // three batches before it are stored, counted and reported; nothing of the fourth is.
        let mixed = disk.root.appendingPathComponent("mixed.jsonl")
        var lines = (0..<23).map(line)
        lines[17] = lines[17].replacingOccurrences(of: "\"sam\"", with: "\"nobody\"")
        try lines.joined(separator: "\n").write(to: mixed, atomically: true, encoding: .utf8)
        var reported = 0
        await #expect(throws: TutelaError.self) {
            _ = try await price.importForms(mixed.path, confidential: false, batchSize: 5) {
                reported += $0.count
            }
        }
        #expect(reported == 15)
        let after = try await disk.store.labels(learner: nil).count
        #expect(after == 23 + 15)
    }

    @Test("objects are paged by id and filtered by the end of the id")
    func objectPages() async throws {
        let disk = try await DiskVault()
        let objects = (0..<12).map { i in
            StoredObject(
                kind: "share", id: String(format: "R-%02d/group:g#%d", i, i % 2 + 1),
                key: String(format: "R-%02d", i), body: [UInt8(i)])
        }
        try await disk.store.transaction { tx in for o in objects { try await tx.put(o) } }
        var found: [String] = []
        var after: String?
        while true {
            let page = try await disk.store.objects(
                kind: "share", after: after, idSuffix: "/group:g#1", limit: 4)
            guard let last = page.last else { break }
            found += page.map(\.id)
            after = last.id
        }
        #expect(found == objects.map(\.id).filter { $0.hasSuffix("/group:g#1") })
        let memory = MemoryVaultStore()
        try await memory.transaction { tx in for o in objects { try await tx.put(o) } }
        #expect(
            await memory.objects(kind: "share", after: nil, idSuffix: "/group:g#2", limit: 100)
                .map(\.id) == objects.map(\.id).filter { $0.hasSuffix("/group:g#2") })
    }

    @Test("a new vault uses 32 KiB pages, so 2–3 KB envelopes pack without a page each")
    func pageSize() async throws {
        let disk = try await DiskVault()
        let file = disk.directory.appendingPathComponent(SQLiteVaultStore.fileName)
        let header = try FileHandle(forReadingFrom: file).read(upToCount: 18) ?? Data()
        // Bytes 16–17 of the SQLite header: the page size, big-endian.
        #expect(header.count == 18 && Int(header[16]) << 8 | Int(header[17]) == 32768)
    }
}
