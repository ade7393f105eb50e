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
        let paged = try await disk.store.pagedLabels(pageSize: 5).map(\.record)
        // Storage order is sealing order.
        #expect(paged == labels.map(\.record))
        let memory = MemoryVaultStore()
        try await memory.transaction { tx in
            for label in labels {
                try await tx.insert(
                    StoredRecord(
                        record: label.record, labelBytes: label.canonical, sealedBytes: [],
                        slots: []), learner: label.learner, author: label.author)
            }
        }
        let inMemory = try await memory.pagedLabels(pageSize: 4).map(\.record)
        #expect(inMemory == labels.map(\.record))
        let hale = try await disk.session("hale")
        var streamed: [RecordID] = []
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
        let stored = try await disk.store.pagedLabels(pageSize: 100).map(\.record)
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
        // New forms: the 23 above, imported again, would be recognised and skipped.
        var lines = (23..<46).map(line)
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

    // Envelopes of 2–3 KB pack into 8 KiB pages without a page each, and an open's commit writes
    // small pages; a batch of shred keys, keyed by random record ids, dirties small pages in the
    // key store.
    @Test("a new vault uses 8 KiB pages and its key store 4 KiB pages")
    func pageSize() async throws {
        let disk = try await DiskVault()
        func pageSize(_ name: String) throws -> Int {
            let file = disk.directory.appendingPathComponent(name)
            let header = try FileHandle(forReadingFrom: file).read(upToCount: 18) ?? Data()
            // Bytes 16–17 of the SQLite header: the page size, big-endian.
            #expect(header.count == 18)
            return header.count == 18 ? Int(header[16]) << 8 | Int(header[17]) : 0
        }
        #expect(try pageSize(SQLiteVaultStore.fileName) == 8192)
        #expect(try pageSize(SQLiteVaultStore.keyStoreFileName) == 4096)
    }
}
