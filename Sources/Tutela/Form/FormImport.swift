import Foundation

/// The import path of `tutela import`: a JSON-lines file of progress-review forms, checked whole
/// first, then sealed in batches with one unlock. A library function so that the benchmark measures
/// exactly what the command does.
public enum FormImport {
    /// Checks every line of `path`, keeping nothing but the count. A bad line names its number.
    /// - Throws: not found (66) if the file cannot be read; a data error (65) for the first bad line.
    public static func check(_ path: String) throws -> Int {
        let handle = try open(path)
        defer { try? handle.close() }
        return try check(LineReader(handle: handle), source: path)
    }

    /// Checks every line of JSON lines held in memory (a server's request body); `source` names
    /// them in errors ("the request line 3").
    public static func check(jsonLines bytes: [UInt8], source: String) throws -> Int {
        try check(LineReader(bytes: bytes), source: source)
    }

    static func check(_ lines: LineReader, source path: String) throws -> Int {
        var total = 0
        var reader = lines
        var lines: [(line: [UInt8], number: Int)] = []
        func flush() throws {
            // Parsed on every core, 1000 lines at a time; the first bad line in file order wins.
            _ = try Session.inParallel(lines) { item throws(TutelaError) in
                _ = try ProgressReview.parse(item.line, source: "\(path) line \(item.number)")
            }
            total += lines.count
            lines.removeAll(keepingCapacity: true)
        }
        while let (line, number) = try reader.next() {
            lines.append((line, number))
            if lines.count == 1000 { try flush() }
        }
        try flush()
        return total
    }

    static func open(_ path: String) throws(TutelaError) -> FileHandle {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TutelaError.notFound("cannot read \(path)")
        }
        return handle
    }
}

/// A form an import did not seal again: it was sealed before, by this person into this vault.
public struct SkippedForm: Sendable, Equatable {
    /// The form's line in the file.
    public let line: Int
    /// The record it was sealed as — earlier, or from an earlier line of the same file.
    public let record: RecordID
    /// The record was destroyed since (its certificate remains).
    public let destroyed: Bool
}

extension Session {
    /// Seals every form in `path` (checked first with ``FormImport/check(_:)``), `batchSize` forms
    /// per transaction, each batch with its audit entries. A form this person imported into this
    /// vault before — the same content, by its keyed digest (``ImportIndex``) — is not sealed
    /// again: `onSkip` is told its line and record. `onBatch` sees each batch's labels, so a
    /// caller keeps only what it needs: memory stays flat however long the file.
    /// - Returns: the number of records sealed.
    @discardableResult
    public func importForms(
        _ path: String, confidential: Bool, batchSize: Int = 500,
        onBatch: ([Label]) throws -> Void = { _ in },
        onSkip: (SkippedForm) throws -> Void = { _ in }
    ) async throws -> Int {
        let handle = try FormImport.open(path)
        defer { try? handle.close() }
        return try await importForms(
            from: LineReader(handle: handle), source: path, confidential: confidential,
            batchSize: batchSize, onBatch: onBatch, onSkip: onSkip)
    }

    /// ``importForms(_:confidential:batchSize:onBatch:onSkip:)`` for JSON lines held in memory (a
    /// server's request body, never written to a file); `source` names them in errors. Check them
    /// first with ``FormImport/check(jsonLines:source:)``.
    @discardableResult
    public func importForms(
        jsonLines bytes: [UInt8], source: String, confidential: Bool, batchSize: Int = 500,
        onBatch: ([Label]) throws -> Void = { _ in },
        onSkip: (SkippedForm) throws -> Void = { _ in }
    ) async throws -> Int {
        try await importForms(
            from: LineReader(bytes: bytes), source: source, confidential: confidential,
            batchSize: batchSize, onBatch: onBatch, onSkip: onSkip)
    }

    func importForms(
        from lines: LineReader, source path: String, confidential: Bool, batchSize: Int,
        onBatch: ([Label]) throws -> Void, onSkip: (SkippedForm) throws -> Void
    ) async throws -> Int {
        guard (1...10_000).contains(batchSize) else {
            throw TutelaError.usage("the batch size must be 1–10000")
        }
        let index = try ImportIndex(identity: identity, vaultID: meta.vaultID)
        defer { index.wipe() }
        var reader = lines
        var sealed = 0
        var lines: [(line: [UInt8], number: Int)] = []
        lines.reserveCapacity(batchSize)
        // Batches are pipelined: while one is written (its own transaction, on the store's
        // thread), the next is parsed and sealed on every core. Batches still commit one at a
        // time and in file order.
        var committing: Task<[Label], any Error>?
        // The batch being written: its digests in order, and the later lines that repeat them.
        var inFlight: (digests: [String], repeats: [(line: Int, index: Int)]) = ([], [])
        func finishCommit() async throws {
            guard let previous = committing else { return }
            committing = nil
            let labels = try await previous.value
            sealed += labels.count
            try onBatch(labels)
            for repeated in inFlight.repeats {
                try onSkip(
                    SkippedForm(
                        line: repeated.line, record: labels[repeated.index].record,
                        destroyed: false))
            }
            inFlight = ([], [])
        }
        func flush() async throws {
            // The directory may have moved since the last batch: a changed policy or group applies
            // from this batch on, and someone revoked part-way through an import stops (77) with
            // the batches before stored (each batch's own transaction also checks, so one sealed
            // while the revocation landed is not stored either, and one sealed while the policy
            // or a reader changed is decided and sealed again before it is stored).
            try await refresh()
            // Forms are parsed and digested on every core; the first bad line (in file order) is
            // the error.
            let (source, directory) = (path, self.directory)
            let forms = try Self.inParallel(lines) { item throws(TutelaError) in
                let typed = RecordContent.progressReview(
                    try ProgressReview.parse(item.line, source: "\(source) line \(item.number)"))
                // The learner as recorded, whatever its case: the digest of a form is the same
                // whether it says "Sam" or "sam", as the record sealed from it is.
                let content = typed.about(directory.resolve(typed.learner))
                let recordClass = confidential ? RecordClass.confidentialTutorial : .tutorial
                return (content, recordClass, try index.digest(content, as: recordClass))
            }
            // A form sealed before (by an earlier import, or an earlier batch of this one, both
            // committed: the store's index rows say) is skipped once its record is confirmed; one
            // repeated in the batch being written, or in this one, is sealed once.
            let known = try await index.lookup(forms.map(\.2), in: store)
            var items: [(RecordContent, RecordClass)] = []
            var digests: [String] = []
            var first: [String: Int] = [:]
            var repeats: [(line: Int, index: Int)] = []
            var repeatsOfInFlight: [(line: Int, index: Int)] = []
            let inFlightIndex = Dictionary(
                inFlight.digests.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            for ((content, recordClass, digest), (_, number)) in zip(forms, lines) {
                if let record = known[digest] {
                    let destroyed = try await confirmImported(record, learner: content.learner)
                    try onSkip(SkippedForm(line: number, record: record, destroyed: destroyed))
                } else if let at = inFlightIndex[digest] {
                    repeatsOfInFlight.append((number, at))
                } else if let at = first[digest] {
                    repeats.append((number, at))
                } else {
                    first[digest] = items.count
                    items.append((content, recordClass))
                    digests.append(digest)
                }
            }
            lines.removeAll(keepingCapacity: true)
            inFlight.repeats += repeatsOfInFlight
            let importing = Importing(index: index, digests: digests)
            let prepared = items.isEmpty ? nil : try await prepareSeal(items, importing: importing)
            try await finishCommit()
            guard let prepared else { return }
            inFlight = (digests, repeats)
            committing = Task {
                try await self.commitSeal(prepared, decidedFrom: items, importing: importing)
            }
        }
        do {
            while let (line, number) = try reader.next() {
                lines.append((line, number))
                if lines.count == batchSize { try await flush() }
            }
            if !lines.isEmpty { try await flush() }
            try await finishCommit()
        } catch {
            // Whatever was already being written finishes (or fails) before the error is reported,
            // so every batch before the one that failed is stored and counted.
            try? await finishCommit()
            throw error
        }
        return sealed
    }

    /// Confirms a record an import index row names: in the vault (as the vault's state says), or
    /// destroyed with a certificate. Returns whether it was destroyed.
    /// - Throws: `.tampered` when it is neither, or is not this person's record about `learner`.
    func confirmImported(_ record: RecordID, learner: LearnerID) async throws -> Bool {
        if let stored = try await verifiedRecord(record) {
            let envelope = try verifiedEnvelope(stored, id: record)
            guard envelope.label.author == principal.id, envelope.label.learner == learner else {
                throw TutelaError.tampered(
                    "the import index names \(record) for a form about \(learner), but \(record) "
                        + "is not \(principal.id)'s record about \(learner)")
            }
            return false
        }
        guard try await fact(DestructionCertificate.self, about: record.text) != nil else {
            throw TutelaError.tampered(
                "the import index names \(record), which is not in the vault and was never "
                    + "destroyed")
        }
        return true
    }
}

/// Reads lines from a file in chunks, or from bytes in memory, refusing a line over 1 MiB.
struct LineReader {
    let handle: FileHandle?
    var buffer: [UInt8] = []
    var start = 0
    var number = 0
    var atEnd = false

    init(handle: FileHandle) {
        self.handle = handle
    }

    init(bytes: [UInt8]) {
        handle = nil
        buffer = bytes
        atEnd = true
    }

    mutating func next() throws -> ([UInt8], Int)? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                number += 1
                try Self.refuseLong(line, number)
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                return (line, number)
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                number += 1
                try Self.refuseLong(line, number)
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
                return (line, number)
            }
            guard buffer.count - start <= Self.longest else {
                throw TutelaError.invalidInput(
                    "line \(number + 1) is longer than 1 MiB; a form never is")
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try handle?.read(upToCount: 1 << 16) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }

    /// A form is never longer than this.
    static let longest = 1 << 20

    static func refuseLong(_ line: [UInt8], _ number: Int) throws(TutelaError) {
        guard line.count <= longest else {
            throw .invalidInput("line \(number) is longer than 1 MiB; a form never is")
        }
    }
}
