import Foundation
import Tutela
import TutelaCrypto
import TutelaPostgres
import TutelaSQLite

/// Everything measured on one vault of `records` records.
struct ScaleResult {
    /// The store measured.
    var store = "SQLite (embedded, WAL, synchronous=FULL)"
    var records = 0
    var learners = 0
    var formBytes = 0
    var setup = 0.0
    var unlock = 0.0
    var check = 0.0
    var seal = 0.0
    var sealFloor = 0.0
    /// The bare floor of #26: AEAD, one sealed box and one signature per record, on one core.
    var bareFloor = 0.0
    var importPeak = Peak()
    var slotsPerRecord = 0.0
    var sharesPerRecord = 0.0
    var open: [Double] = []
    var openFloor = 0.0
    var openUnpinned: [Double] = []
    var openOneSession: [Double] = []
    /// Each pinned open until its pin was saved: what a command or request waits for.
    var openSettled: [Double] = []
    /// One durable commit of one row on the same disk (sorted samples).
    var commitFloor: [Double] = []
    /// The same commit made through the store protocol's async transaction, as Tutela makes it
    /// (sorted samples): the floor plus the hand-offs to the writer thread and back.
    var storeCommit: [Double] = []
    /// Reading one form's JSON into a progress review, as an open does after decrypting.
    var decode = 0.0
    var openPeak = Peak()
    /// Reading a record and proving it against the state root, and reading it alone (sorted).
    var proof: [Double] = []
    var read: [Double] = []
    /// Hashing what one proof hashes, with nothing else.
    var proofFloor = 0.0
    /// One label's step of the label chain, and one bare hash of the same label.
    var chainStep = 0.0
    var chainFloor = 0.0
    var list: [Double] = []
    /// `records list` as the importing tutor (every record theirs), its first page: best of 3.
    var recordsPage: [Double] = []
    /// `records list` as a tutor of three learners (300 records) who wrote none: best of 3.
    var tutorPage: [Double] = []
    var retention = 0.0
    var retentionRuns: [Double] = []
    var retentionPeak = Peak()
    var retentionCounts: [String: Int] = [:]
    var verify = 0.0
    var verifyEntries = 0
    var verifyFloor = 0.0
    var verifyPeak = Peak()
    /// `audit log --record`: best of three.
    var recordLog: [Double] = []
    var append = 0.0
    var appendCount = 0
    var appendFloor = 0.0
    var storageBytes = 0
    var storage: [(name: String, rows: Int?, bytes: Int)] = []
    var rewrapBoxes = 0
    var rewrap = 0.0
    var rewrapFloor = 0.0
    var rewrapPeak = Peak()
    /// The web pages, measured at the re-wrap size.
    var pages: PageResult?

    var averageForm: Double { Double(formBytes) / Double(max(records, 1)) }
    var bytesPerRecord: Double { Double(storageBytes) / Double(max(records, 1)) }
}

/// The benchmark's centre: a trust office (authority), ten tutors, a head of centre, a safeguarding
/// lead and a record keeper; one learner per 100 records; a third of learners have left.
struct ScaleBenchmark {
    let records: Int
    let policy: (text: [UInt8], source: String)
    let openSamples: Int
    let listSamples: Int
    let appendEntries: Int
    let rewrap: Bool
    let root: URL
    /// The PostgreSQL server to measure on instead of SQLite (`--store postgres`).
    var postgres: PostgresTarget?

    static let tutors = (1...10).map { String(format: "t%02d", $0) }
    static let asOf = CalendarDate(daysSinceEpoch: 20_421)  // 2025-11-29

    func passphrase(_ who: String) throws -> Passphrase {
        try Passphrase("benchmark passphrase for \(who)")
    }

    /// A principal id the benchmark spells out.
    func who(_ id: String) throws(TutelaError) -> PrincipalID { try PrincipalID(id) }

    func tutor(of learner: Int) -> String { Self.tutors[learner % Self.tutors.count] }

    func run() async throws -> ScaleResult {
        var result = ScaleResult()
        result.records = records
        let learners = max(20, records / 100)
        result.learners = learners
        let vaultDirectory = root.appendingPathComponent("vault")
        let postgresStore = try await postgres?.open()
        let store: any VaultStore =
            try postgresStore ?? SQLiteVaultStore(directory: vaultDirectory, create: true)
        let pins = FileHeadPinStore(directory: root.appendingPathComponent("state"))
        let vault = Vault(store: store, pins: pins)
        if let postgresStore { result.store = try await postgresStore.serverDescription() }

        // The centre.
        say("\(count(records)): enrolling staff and \(learners) learners")
        result.setup = try await secondsAsync {
            try await Vault.create(
                store: store, authorityID: try who("office"), authorityName: "Trust office",
                passphrase: passphrase("office"), kdf: .interactive, pins: pins, policy: policy)
            let office = try await vault.unlock(try who("office"), passphrase: passphrase("office"))
            let staff: [(String, Role)] =
                Self.tutors.map { ($0, .tutor) } + [
                    ("head", .headOfCentre), ("dsl", .safeguardingOfficer),
                    ("keeper", .recordKeeper),
                ]
            for (id, role) in staff {
                let code = try await office.administration.invite(
                    try who(id), name: "Staff \(id)", roles: [role])
                try await vault.activate(try who(id), code: code.text, passphrase: passphrase(id))
            }
            for (id, role) in [("head", Role.headOfCentre), ("dsl", .safeguardingOfficer)] {
                try await vault.unlock(try who(id), passphrase: passphrase(id)).lifecycle
                    .createGroupKey(role)
            }
            for i in 0..<learners {
                try await office.administration.addLearner(
                    try learnerID(i), name: "Learner \(i)", tutor: try who(tutor(of: i)),
                    dateOfBirth: CalendarDate(daysSinceEpoch: 12_000 + i % 1500), programme: nil)
                if i % 3 == 0 {
                    try await office.administration.learnerLeft(
                        try learnerID(i), on: CalendarDate(daysSinceEpoch: 17_000 + i % 3000))
                }
            }
        }

        // The forms, written as `tutela import` reads them.
        let forms = root.appendingPathComponent("forms.jsonl")
        result.formBytes = try writeForms(
            to: forms, count: records, learners: learners, tutorOf: tutor(of:))

        // The floor of sealing, measured now and again after the import (1.9 slots as a guess; the
        // second measurement uses the real count).
        let before1 = try BareFloor(
            .init(
                plaintextByteCount: result.formBytes / records, labelByteCount: 160, slots: 1,
                shares: 1, auditByteCount: 200))
        let before2 = try BareFloor(
            .init(
                plaintextByteCount: result.formBytes / records, labelByteCount: 160, slots: 2,
                shares: 1, auditByteCount: 200))
        let floorSamples = min(5000, max(500, records / 10))
        let b1 = perOperation(floorSamples) { before1.sealRecord() }
        let b2 = perOperation(floorSamples) { before2.sealRecord() }
        let sealFloorBefore = b1 + 0.9 * (b2 - b1)
        let bareBefore = perOperation(floorSamples) { before1.sealBare() }

        // Import: check, unlock, seal.
        say("\(count(records)): importing")
        result.check = try seconds { _ = try FormImport.check(forms.path) }
        var session: Session?
        result.unlock = try await secondsAsync {
            session = try await vault.unlock(try who("t01"), passphrase: passphrase("t01"))
        }
        guard let author = session else { throw BenchError("no session") }
        var sample: [RecordID] = []
        let every = max(1, records / openSamples)
        var seen = 0
        result.importPeak = try await PeakMemory.of {
            result.seal = try await secondsAsync {
                try await author.importForms(forms.path, confidential: false) { labels in
                    for label in labels {
                        if seen % every == 0 { sample.append(label.record) }
                        seen += 1
                    }
                }
            }
        }
        // One form as an open decodes it, for the open's breakdown.
        let oneForm = try String(contentsOf: forms, encoding: .utf8)
            .prefix { $0 != "\n" }.utf8.map { $0 }
        try? FileManager.default.removeItem(at: forms)

        // Storage, with the WAL folded in (on PostgreSQL, each table with its indexes, after a
        // VACUUM ANALYZE so the row counts are exact).
        if let postgresStore {
            try await postgres?.analyze(postgresStore)
            result.storage = try await postgresStore.storageStatistics()
            result.storageBytes = result.storage.map(\.bytes).reduce(0, +)
        } else {
            try StoreFloor.checkpoint(vault: vaultDirectory)
            result.storageBytes = try FileManager.default.contentsOfDirectory(
                at: vaultDirectory, includingPropertiesForKeys: nil
            ).map(fileSize).reduce(0, +)
            result.storage = try StoreFloor.storageStatistics(vault: vaultDirectory)
        }
        let rows = Dictionary(
            result.storage.compactMap { s in s.rows.map { (s.name, $0) } },
            uniquingKeysWith: +)
        result.slotsPerRecord = Double(rows["slots"] ?? 0) / Double(records)
        // Break-glass shares have their own table (schema v4).
        result.sharesPerRecord = Double(rows["shares"] ?? 0) / Double(records)

        // The floor of sealing one record like these.
        let shape = { (slots: Int) in
            BareFloor.Shape(
                plaintextByteCount: Int(result.averageForm), labelByteCount: 160, slots: slots,
                shares: Int(result.sharesPerRecord.rounded()), auditByteCount: 200)
        }
        let floors = min(5000, max(500, records / 10))
        let one = try BareFloor(shape(1))
        let two = try BareFloor(shape(2))
        let floor1 = perOperation(floors) { one.sealRecord() }
        let floor2 = perOperation(floors) { two.sealRecord() }
        // Averaged with the floor measured just before the import, as the machine's speed drifts.
        result.sealFloor =
            (floor1 + (result.slotsPerRecord - 1) * (floor2 - floor1) + sealFloorBefore) / 2
        result.bareFloor = (perOperation(floors) { one.sealBare() } + bareBefore) / 2

        // Open: one record at a time, as `tutela open` does after its unlock. Each record is also
        // opened without this machine's rollback pin (a slot written and synced after every audit
        // entry), to show what the pin costs; which goes first alternates, so neither always
        // meets a cold cache or the WAL checkpoint that follows the import.
        say("\(count(records)): opening \(sample.count) records")
        let unpinned = try await Vault(store: store).unlock(
            try who("t01"), passphrase: passphrase("t01"))
        result.openPeak = try await PeakMemory.of {
            for (i, id) in sample.enumerated() {
                for pinned in i % 2 == 0 ? [true, false] : [false, true] {
                    let session = pinned ? author : unpinned
                    // To plaintext (the audit entry durable), then until the pin is saved too, as a
                    // command completes.
                    let time = try await secondsAsync { _ = try await session.open(id) }
                    let settle = try await secondsAsync { try await session.settle() }
                    if pinned {
                        result.open.append(time)
                        result.openSettled.append(time + settle)
                    } else {
                        result.openUnpinned.append(time)
                    }
                }
            }
        }
        // The same records again, by one session one after another, as a signed-in person on a
        // server opens them: what it proved of the state at each open carries to the next (above,
        // every open follows the other session's entry, as a fresh command's does).
        for id in sample {
            result.openOneSession.append(
                try await secondsAsync {
                    _ = try await author.open(id)
                    try await author.settle()
                })
        }
        result.openOneSession.sort()
        result.open.sort()
        result.openUnpinned.sort()
        result.openSettled.sort()
        result.openFloor = perOperation(floors) { one.openRecord() }
        result.commitFloor = try StoreFloor.commitFloor(
            directory: root, samples: max(50, sample.count))
        result.storeCommit = try await StoreFloor.storeCommit(
            directory: root, samples: max(50, sample.count))
        result.decode = perOperation(floors) {
            _ = try? ProgressReview.parse(oneForm, source: "bench")
        }

        // The state proof an open makes, apart from the open: the record read and proven, and read
        // alone; and the bare hashing of what a proof covers.
        for id in sample {
            result.read.append(
                try await secondsAsync { try await StateCost.readRecord(author, id) })
            result.proof.append(
                try await secondsAsync { try await StateCost.proveRecord(author, id) })
        }
        result.read.sort()
        result.proof.sort()
        if let first = sample.first {
            let parts = try await StateCost.proofBytes(author, first)
            result.proofFloor = perOperation(floors) {
                for part in parts { _ = try? BLAKE2b.hash(part) }
            }
        }
        let labelRows = try await store.labels(from: nil, limit: 1).labels
        if let row = labelRows.first {
            var chain = [UInt8](repeating: 0, count: 32)
            result.chainStep = perOperation(floors) {
                chain = (try? StateCost.chainStep(chain, row)) ?? chain
            }
            result.chainFloor = perOperation(floors) { _ = try? BLAKE2b.hash(row.labelBytes) }
        }

        // List one learner's labels.
        for i in stride(from: 0, to: learners, by: max(1, learners / listSamples)) {
            let time = try await secondsAsync {
                _ = try await author.labels(learner: try learnerID(i))
            }
            result.list.append(time)
        }
        result.list.sort()
        // The importing tutor's records (every record theirs), newest first, first page; and an
        // everyday tutor's: one given three learners (300 records), who wrote none of them.
        for _ in 0..<3 {
            result.recordsPage.append(
                try await secondsAsync {
                    _ = try await author.finding.records(RecordQuery(perPage: 20))
                })
        }
        let office = try await vault.unlock(try who("office"), passphrase: passphrase("office"))
        let code = try await office.administration.invite(
            try who("t11"), name: "Staff t11", roles: [.tutor])
        try await vault.activate(try who("t11"), code: code.text, passphrase: passphrase("t11"))
        try await office.administration.reassign(
            try (1...3).map(learnerID), to: try who("t11"), confirmed: true)
        let everyday = try await vault.unlock(try who("t11"), passphrase: passphrase("t11"))
        for _ in 0..<3 {
            result.tutorPage.append(
                try await secondsAsync {
                    _ = try await everyday.finding.records(RecordQuery(perPage: 20))
                })
        }

        // Retention check over every record.
        say("\(count(records)): retention check")
        let keeper = try await vault.unlock(try who("keeper"), passphrase: passphrase("keeper"))
        var report: RetentionReport?
        result.retentionPeak = try await PeakMemory.of {
            // Three runs; the report gives the first (cold) and the best. Each is what `tutela
            // retention check` does: every record counted, the standings to act on kept.
            for run in 0..<3 {
                let time = try await secondsAsync {
                    report = try await keeper.retention.report(
                        asOf: Self.asOf, listing: RetentionReport.actionable)
                }
                result.retentionRuns.append(time)
                say("\(count(records)): retention check \(run + 1): \(duration(time))")
            }
        }
        result.retention = result.retentionRuns.min() ?? 0
        for standing in RetentionStatus.Standing.allCases {
            if let n = report?.count(standing), n > 0 {
                result.retentionCounts[standing.rawValue] = n
            }
        }

        // Audit: append, then verify the whole log.
        say("\(count(records)): audit append and verify")
        result.appendCount = appendEntries
        result.append = try await secondsAsync {
            try await office.appendSyntheticAuditEntries(count: appendEntries)
        }
        result.appendFloor = perOperation(floors) { one.appendEntry() }
        result.verifyPeak = try await PeakMemory.of {
            result.verify = try await secondsAsync {
                result.verifyEntries = Int(try await vault.verifyAudit(checkpoint: nil).entries)
            }
        }
        result.verifyFloor = perOperation(floors) { one.verifyEntry() }
        // One record's entries, as `audit log --record` reads them: through the state's index of
        // the record's entries, not the log (each call adds its own entry about the record).
        if let record = labelRows.first?.record {
            for _ in 0..<3 {
                result.recordLog.append(
                    try await secondsAsync { _ = try await keeper.auditLog(record: record) })
            }
        }

        // Group re-wrap: the head-of-centre key is rotated (someone left); every break-glass share
        // sealed to the old key moves to the new one.
        if rewrap {
            say("\(count(records)): group re-wrap")
            let head = try await vault.unlock(try who("head"), passphrase: passphrase("head"))
            try await head.lifecycle.rotateGroupKey(.headOfCentre)
            result.rewrapPeak = try await PeakMemory.of {
                result.rewrap = try await secondsAsync {
                    let summary = try await head.lifecycle.rewrapGroup(.headOfCentre)
                    result.rewrapBoxes = summary.slots + summary.shares
                }
            }
            result.rewrapFloor = perOperation(floors) { one.rewrapBox() }
            result.pages = try await PageBenchmark(
                vault: vault, tutor: try who("t01"), passphrase: "benchmark passphrase for t01",
                sample: sample, records: records
            ).run()
        }
        _ = one.checksum ^ two.checksum
        await postgresStore?.close()
        return result
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
