import Foundation

// The JSON shapes of records that the command line's `--json` output and the HTTP API share
// (`../shared/CLI.md`, `../shared/API.md`): outside tools read both, so they are one definition.
// None holds more than its value gives it; a label never carries contents.

/// A record's label as JSON: what `tutorial seal`, `import` and `records list` print.
public struct LabelJSON: Encodable, Sendable {
    public let record: String
    public let label: String
    public let `class`: String
    public let learner: String
    public let author: String
    public let created: String
    public let tutorialDate: String
    public let policyVersion: String
    /// For an addendum, the record it adds to.
    public let amends: String?

    /// The JSON of `label`.
    public init(_ label: Label) {
        record = label.record.text
        self.label = label.envelopeText
        `class` = label.recordClass.rawValue
        learner = label.learner.text
        author = label.author.text
        created = label.created.description
        tutorialDate = label.tutorialDate.description
        policyVersion = label.policyVersion
        amends = label.amends?.text
    }
}

/// An opened record as JSON: its label's fields, its corrections and its form or note.
public struct OpenedJSON: Encodable, Sendable {
    public let record: String
    public let label: String
    public let `class`: String
    public let learner: String
    public let author: String
    public let resealedBy: String?
    public let amends: String?
    public let void: VoidJSON?
    public let addenda: [LabelJSON]
    public let form: ContentJSON

    /// The JSON of `opened`.
    public init(_ opened: OpenedRecord) {
        let l = opened.label
        record = l.record.text
        label = l.envelopeText
        `class` = l.recordClass.rawValue
        learner = l.learner.text
        author = l.author.text
        resealedBy = opened.resealedBy?.text
        amends = l.amends?.text
        void = opened.void.map(VoidJSON.init)
        addenda = opened.addenda.map(LabelJSON.init)
        form = ContentJSON(content: opened.content)
    }
}

/// A record's contents as the JSON object of its form or note.
public struct ContentJSON: Encodable, Sendable {
    public let content: RecordContent

    /// The JSON of `content`.
    public init(content: RecordContent) { self.content = content }

    /// Encodes the form, note or addendum itself.
    public func encode(to encoder: any Encoder) throws {
        switch content {
        case .progressReview(let form): try form.encode(to: encoder)
        case .informalNote(let note): try note.encode(to: encoder)
        case .addendum(let addendum): try addendum.encode(to: encoder)
        }
    }
}

/// A void statement as JSON: who, when (UTC) and why.
public struct VoidJSON: Encodable, Sendable {
    public let by: String
    public let time: String
    public let reason: String

    /// The JSON of `statement`.
    public init(_ statement: VoidStatement) {
        by = statement.voidedBy.text
        time = Timestamp.iso(statement.time)
        reason = statement.reason
    }
}

/// A listed record as JSON: its label's fields, with the learner's name and marks a list adds.
public struct ListedJSON: Encodable, Sendable {
    public let label: LabelJSON
    public let learnerName: String?
    public let marks: [String]

    /// The JSON of `listed`.
    public init(_ listed: ListedRecord) {
        label = LabelJSON(listed.label)
        learnerName = listed.learnerName
        marks = listed.marks
    }

    enum Key: String, CodingKey { case learnerName, marks }

    /// Encodes the label's fields and the list's beside them, in one object.
    public func encode(to encoder: any Encoder) throws {
        try label.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(learnerName, forKey: .learnerName)
        try container.encode(marks, forKey: .marks)
    }
}

/// A page of a record list as JSON.
public struct RecordPageJSON: Encodable, Sendable {
    public let records: [ListedJSON]
    public let total: Int
    public let page: Int
    public let pages: Int

    /// The JSON of `page`.
    public init(_ page: RecordPage) {
        records = page.records.map(ListedJSON.init)
        total = page.total
        self.page = page.page
        pages = page.pages
    }
}

extension ListedRecord {
    /// What a list writes beside the label: "destroyed", "void", "flagged", "addendum".
    public var marks: [String] {
        (destroyed ? ["destroyed"] : []) + (void ? ["void"] : []) + (flagged ? ["flagged"] : [])
            + (label.amends != nil ? ["addendum"] : [])
    }
}

/// A copy of a learner's records for them or their family, as JSON: what the recipient may read,
/// with no trace of anything left out.
public struct CopyJSON: Encodable, Sendable {
    public let learner: String
    public let records: [OpenedJSON]

    /// The JSON of `copy`, made of `learner`'s records.
    public init(learner: LearnerID, _ copy: LearnerCopy) {
        self.learner = learner.text
        records = copy.records.map(OpenedJSON.init)
    }
}
