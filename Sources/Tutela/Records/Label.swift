/// The class of a record, which decides its envelope text and who gets a key slot.
public enum RecordClass: String, Sendable, CaseIterable, Codable {
    /// A tutorial the learner agreed may be shared with the assigned tutor.
    case tutorial
    /// A "totally confidential" tutorial: the sealed envelope.
    case confidentialTutorial = "confidential-tutorial"

    /// The words written on the envelope, before the date.
    var envelopeWording: String {
        switch self {
        case .tutorial: return "Tutorial"
        case .confidentialTutorial: return "Confidential tutorial"
        }
    }
}

/// The visible, authenticated part of a record: what is written on the outside of the envelope.
///
/// Never contains form content. Its canonical encoding is the associated data of the content
/// encryption and part of what the author signs, so a label cannot be changed, and a ciphertext
/// cannot be moved under another label, without detection.
public struct Label: Sendable, Equatable {
    public let record: String
    public let recordClass: RecordClass
    public let learner: String
    public let author: String
    /// The day the record was sealed (system clock).
    public let created: CalendarDate
    /// The date of the tutorial itself, as on the form.
    public let tutorialDate: CalendarDate
    /// The version of the access policy the record was sealed under.
    public let policyVersion: String

    /// "Confidential tutorial – 2026-11-20".
    public var envelopeText: String { "\(recordClass.envelopeWording) – \(tutorialDate)" }

    static let version: UInt8 = 1

    /// The canonical encoding (see docs/FORMAT.md).
    var canonical: [UInt8] {
        var w = CanonicalWriter()
        w.u8(Self.version)
        w.string(record)
        w.string(recordClass.rawValue)
        w.string(learner)
        w.string(author)
        w.string(created.description)
        w.string(tutorialDate.description)
        w.string(policyVersion)
        w.string(envelopeText)
        return w.bytes
    }

    /// Strictly parses a canonical label.
    static func parse(_ bytes: [UInt8]) throws(TutelaError) -> Label {
        guard bytes.count <= 1024 else {
            throw .tampered("a label is larger than any Tutela writes")
        }
        var r = CanonicalReader(bytes, context: "label")
        guard try r.u8("version") == version else {
            throw .tampered("label has an unknown version")
        }
        let record = try r.string("record id", max: Identifier.maximumLength)
        let rawClass = try r.string("class", max: 64)
        guard let recordClass = RecordClass(rawValue: rawClass) else {
            throw .tampered("label names an unknown record class")
        }
        let label = Label(
            record: record, recordClass: recordClass,
            learner: try r.string("learner", max: Identifier.maximumLength),
            author: try r.string("author", max: Identifier.maximumLength),
            created: try r.date("created"), tutorialDate: try r.date("tutorial date"),
            policyVersion: try r.string("policy version", max: 64))
        let text = try r.string("envelope text", max: 128)
        try r.finish()
        guard text == label.envelopeText, label.canonical == bytes else {
            throw .tampered("label of \(record) is not in canonical form")
        }
        return label
    }
}
