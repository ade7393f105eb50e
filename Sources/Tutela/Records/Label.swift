/// The class of a record, which the policy maps to its envelope text, readers and retention.
public enum RecordClass: String, Sendable, CaseIterable, Codable {
    /// A tutorial the learner agreed may be shared as the policy says.
    case tutorial
    /// A "totally confidential" tutorial: the sealed envelope.
    case confidentialTutorial = "confidential-tutorial"
    /// An informal support conversation, recorded as a minimum entry.
    case informalNote = "informal-note"
}

/// The visible, authenticated part of a record: what is written on the outside of the envelope.
///
/// Never contains form content. Its canonical encoding is the associated data of the content
/// encryption and part of what the author signs, so a label cannot be changed, and a ciphertext
/// cannot be moved under another label, without detection.
public struct Label: Sendable, Equatable {
    /// The record id.
    public let record: RecordID
    /// The record's class, which the policy maps to its envelope text, readers and retention.
    public let recordClass: RecordClass
    /// The id of the learner the record is about.
    public let learner: LearnerID
    /// The principal id of the record's author, who signed its original envelope.
    public let author: PrincipalID
    /// The day the record was sealed (system clock).
    public let created: CalendarDate
    /// The date of the tutorial or conversation itself.
    public let tutorialDate: CalendarDate
    /// The version of the access policy the record was sealed under.
    public let policyVersion: String
    /// The copy recipients the learner agreed to (the form's "Copies to" box).
    public let copies: [CopyKind]
    /// What is written on the envelope: "Confidential tutorial – 2026-11-20".
    public let envelopeText: String
    /// How many directory statements the author's session had verified when it sealed: the
    /// author's signature counts only under the key that was theirs at that position.
    public let sealedUnder: Int64
    /// For an addendum, the record it adds to (written by the same author, for the same learner,
    /// class and copies); nil for every other record.
    public let amends: RecordID?

    /// The records whose flag flags this one: itself, and for an addendum the record it amends
    /// (an addendum is flagged with its record wherever a record's state is read).
    var flagSubjects: [RecordID] { [record] + (amends.map { [$0] } ?? []) }

    /// 2 since #19: the label names the directory position it was sealed under. 3: the record an
    /// addendum amends.
    static let version: UInt8 = 3

    init(
        record: RecordID, recordClass: RecordClass, learner: LearnerID, author: PrincipalID,
        created: CalendarDate,
        tutorialDate: CalendarDate, policyVersion: String, copies: [CopyKind], wording: String,
        sealedUnder: Int64, amends: RecordID? = nil
    ) {
        self.init(
            record: record, recordClass: recordClass, learner: learner, author: author,
            created: created, tutorialDate: tutorialDate, policyVersion: policyVersion,
            copies: CopyKind.allCases.filter(copies.contains),
            envelopeText: "\(wording) – \(tutorialDate)", sealedUnder: sealedUnder, amends: amends)
    }

    /// A parsed label: copies already in canonical order, envelope text already checked.
    private init(
        record: RecordID, recordClass: RecordClass, learner: LearnerID, author: PrincipalID,
        created: CalendarDate, tutorialDate: CalendarDate, policyVersion: String,
        copies: [CopyKind], envelopeText: String, sealedUnder: Int64, amends: RecordID?
    ) {
        self.sealedUnder = sealedUnder
        self.amends = amends
        self.record = record
        self.recordClass = recordClass
        self.learner = learner
        self.author = author
        self.created = created
        self.tutorialDate = tutorialDate
        self.policyVersion = policyVersion
        self.copies = copies
        self.envelopeText = envelopeText
    }

    /// The canonical encoding (see docs/FORMAT.md).
    var canonical: [UInt8] {
        var w = CanonicalWriter()
        w.u8(Self.version)
        w.string(record.text)
        w.string(recordClass.rawValue)
        w.string(learner.text)
        w.id(author)
        w.string(created.description)
        w.string(tutorialDate.description)
        w.string(policyVersion)
        w.strings(copies.map(\.rawValue))
        w.string(envelopeText)
        w.i64(sealedUnder)
        w.optionalString(amends?.text)
        return w.bytes
    }

    // Typed exactly as `CanonicalReader.oneOf` takes them: a table whose tuple labels differed
    // would be converted, element by element, on every call.
    static let classSpellings: [(utf8: [UInt8], value: RecordClass)] = RecordClass.allCases.map {
        (Array($0.rawValue.utf8), $0)
    }
    static let copySpellings: [(utf8: [UInt8], value: (kind: CopyKind, index: Int))] =
        CopyKind.allCases.enumerated().map {
            (Array($0.element.rawValue.utf8), (kind: $0.element, index: $0.offset))
        }
    static let textSeparator = Array(" – ".utf8)

    /// The author a canonical label names, or nil when it does not parse (for a store filing its
    /// rows by author).
    package static func author(ofCanonical bytes: [UInt8]) -> PrincipalID? {
        try? parse(bytes).author
    }

    /// Strictly parses a canonical label.
    /// - Parameters:
    ///   - record: the record id stored beside the label, if any: reused when the label's is the
    ///     same, rather than building another string (a million labels in a retention check).
    ///   - learner: likewise, the learner id stored beside it.
    static func parse(
        _ bytes: [UInt8], record knownRecord: RecordID? = nil,
        learner knownLearner: LearnerID? = nil
    ) throws(TutelaError) -> Label {
        guard bytes.count <= 1024 else {
            throw .tampered("a label is larger than any Tutela writes")
        }
        var r = CanonicalReader(bytes, context: "label")
        guard try r.u8("version") == version else {
            throw .tampered("label has an unknown version")
        }
        let record = try r.id("record id", expecting: knownRecord)
        // Only the ids Tutela makes: a record named like a person, a learner or a request would
        // take over the audit entries about them (``SubjectIndex``).
        guard Identifier.isMadeRecordID(record.text) else {
            throw .tampered("label names a record id Tutela does not make")
        }
        guard let recordClass = try r.oneOf("class", max: 64, classSpellings) else {
            throw .tampered("label names an unknown record class")
        }
        let learner = try r.id("learner", expecting: knownLearner)
        let author: PrincipalID = try r.id("author")
        let created = try r.date("created")
        // Kept as bytes too: the envelope text must end with exactly these.
        let (tutorialDate, tutorialDateBytes) = try r.dateWithBytes("tutorial date")
        let policyVersion = try r.string("policy version", max: 64)
        var copies: [CopyKind] = []
        var lastIndex = -1
        for _ in 0..<(try r.count("copies", maxCount: CopyKind.allCases.count)) {
            guard let copy = try r.oneOf("copies", max: 32, copySpellings) else {
                throw .tampered("label names an unknown copy recipient")
            }
            // Canonical: each kind once, in declaration order.
            guard copy.index > lastIndex else {
                throw .tampered("label of \(record) is not in canonical form")
            }
            lastIndex = copy.index
            copies.append(copy.kind)
        }
        let (text, textBytes) = try r.stringWithBytes("envelope text", max: 128)
        let sealedUnder = try r.i64("directory position")
        let amends: RecordID? = try r.optionalID("amended record")
        try r.finish()
        guard sealedUnder >= 1 else {
            throw .tampered("label of \(record) names no directory position")
        }
        guard amends != record else {
            throw .tampered("label of \(record) says it amends itself")
        }
        // Labels are printed to people: text that could drive a terminal was never written here.
        guard !Identifier.hasControlCharacters(textBytes),
            !Identifier.hasControlCharacters(policyVersion.utf8)
        else {
            throw .tampered("label of \(record) holds control characters")
        }
        // The text must end " – YYYY-MM-DD" with the tutorial date; compared as bytes.
        let hasWording = textBytes.count > tutorialDateBytes.count + textSeparator.count
        let endsWithDate = CanonicalReader.hasSuffix(textBytes, tutorialDateBytes)
        let separated = CanonicalReader.hasSuffix(
            textBytes.dropLast(tutorialDateBytes.count), textSeparator)
        guard endsWithDate, separated, hasWording
        else {
            throw .tampered("label of \(record) has envelope text that does not end with its date")
        }
        let label = Label(
            record: record, recordClass: recordClass, learner: learner, author: author,
            created: created, tutorialDate: tutorialDate, policyVersion: policyVersion,
            copies: copies, envelopeText: text, sealedUnder: sealedUnder, amends: amends)
        // Every field above is read in exactly one form (exact lengths, strict dates, copies in
        // order, envelope text rebuilt from its parts), so this label re-encodes to `bytes`; the
        // tests check that property rather than re-encoding every label on every read.
        return label
    }

    /// What a retention count needs from a label's bytes — its class and the day it was made —
    /// read without building any of its strings, or nil unless the bytes name `record` and
    /// `learner` (the columns stored beside them) and read as far as the date. The caller reads
    /// the whole label with ``parse(_:record:learner:)`` whenever it shows it to anyone, and
    /// compares every label's bytes with the signed state's label chain before it reports.
    static func retentionFields(
        _ bytes: [UInt8], record: RecordID, learner: LearnerID
    ) -> (recordClass: RecordClass, created: CalendarDate)? {
        guard bytes.count <= 1024 else { return nil }
        var r = CanonicalReader(bytes, context: "label")
        do {
            guard try r.u8("version") == version,
                try r.matches("record id", max: Identifier.maximumLength, record.text),
                let recordClass = try r.oneOf("class", max: 64, classSpellings),
                try r.matches("learner", max: Identifier.maximumLength, learner.text)
            else { return nil }
            _ = try r.slice("author", max: Identifier.maximumLength)
            return (recordClass, try r.date("created"))
        } catch {
            return nil
        }
    }
}
