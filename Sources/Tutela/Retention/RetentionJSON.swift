// The JSON shapes of retention, shared by the command line's `--json` output and the HTTP API.

/// One record's retention standing, as JSON.
public struct RetentionRowJSON: Encodable, Sendable {
    public let record: String
    public let label: String
    public let `class`: String
    public let learner: String
    public let dueOn: String?
    public let standing: String
    public let flagged: Bool
    public let rule: String
    public let note: String?

    /// The JSON of `s`.
    public init(_ s: RetentionStatus) {
        record = s.label.record.text
        label = s.label.envelopeText
        `class` = s.label.recordClass.rawValue
        learner = s.label.learner.text
        dueOn = s.dueOn?.description
        standing = s.standing.rawValue
        flagged = s.flagged
        rule = s.rule
        note = s.note
    }
}

/// A retention check as JSON: the records to act on by standing, and every record counted by
/// class and standing.
public struct RetentionCheckJSON: Encodable, Sendable {
    public let asOf: String
    public let due: [RetentionRowJSON]
    public let held: [RetentionRowJSON]
    public let review: [RetentionRowJSON]
    public let upcoming: [RetentionRowJSON]
    public let undetermined: [RetentionRowJSON]
    public let counts: [String: [String: Int]]

    /// The JSON of `report`, made as of `date`.
    public init(_ report: RetentionReport, asOf date: CalendarDate) {
        func rows(_ s: RetentionStatus.Standing) -> [RetentionRowJSON] {
            report.records(s).map(RetentionRowJSON.init)
        }
        var counts: [String: [String: Int]] = [:]
        for c in report.classes {
            for s in RetentionStatus.Standing.allCases where report.count(c, s) > 0 {
                counts[c.rawValue, default: [:]][s.rawValue] = report.count(c, s)
            }
        }
        asOf = date.description
        due = rows(.due)
        held = rows(.held)
        review = rows(.review)
        upcoming = rows(.upcoming)
        undetermined = rows(.undetermined)
        self.counts = counts
    }
}

/// A destruction certificate as JSON.
public struct CertificateJSON: Encodable, Sendable {
    public let record: String
    public let labelHash: String
    public let ciphertextHash: String
    public let rule: String
    public let time: String
    public let authorisedBy: String
    public let proposedBy: String?
    /// The directory position the signature was made under: which key of the authoriser's
    /// must verify it.
    public let directoryPosition: Int64
    public let signature: String

    /// The JSON of `c`.
    public init(_ c: DestructionCertificate) {
        record = c.record.text
        labelHash = c.labelHash
        ciphertextHash = c.ciphertextHash
        rule = c.rule
        time = Timestamp.iso(c.time)
        authorisedBy = c.authoriser.text
        proposedBy = c.proposer?.text
        directoryPosition = c.madeUnder
        signature = Hex.encode(c.signature)
    }
}

/// What `destroy` did to one record, as JSON: destroyed (with its certificate), or proposed and
/// waiting for a second person.
public struct DestructionJSON: Encodable, Sendable {
    public let record: String
    public let certificate: CertificateJSON?
    public let proposedBy: String?
    /// Set when this run proposed the destruction and a second person must agree.
    public let pending: PendingJSON?

    /// The JSON of `outcome` for `record`.
    public init(record: RecordID, _ outcome: Retention.DestructionResult) {
        self.record = record.text
        switch outcome {
        case .destroyed(let certificate):
            self.certificate = CertificateJSON(certificate)
            proposedBy = certificate.proposer?.text
            pending = nil
        case .proposed(let by):
            certificate = nil
            proposedBy = by.text
            pending = PendingJSON(record: record.text, proposedBy: by.text)
        }
    }

    /// A destruction waiting for its second person, as JSON.
    public struct PendingJSON: Encodable, Sendable {
        public let record: String
        public let proposedBy: String
    }
}

/// A destruction certificate with what it names, as JSON.
public struct CertifiedJSON: Encodable, Sendable {
    public let certificate: CertificateJSON
    public let label: String
    public let `class`: String
    public let learner: String
    public let learnerName: String?
    public let author: String
    public let sealed: String
    public let verified: Bool

    /// The JSON of `c`, whose certificate has been verified.
    public init(_ c: CertifiedDestruction) {
        certificate = CertificateJSON(c.certificate)
        label = c.label.envelopeText
        `class` = c.label.recordClass.rawValue
        learner = c.label.learner.text
        learnerName = c.learnerName
        author = c.label.author.text
        sealed = c.label.created.description
        verified = true
    }
}

/// The answer to `retention review --json` and `POST /api/v1/records/{id}/review`.
public struct RetentionReviewedJSON: Encodable, Sendable {
    public let record: String
    /// `keep` or `destroy`.
    public let outcome: String
    /// With `keep`: when it is reviewed again.
    public let keepUntil: String?

    public init(_ record: RecordID, keepUntil: CalendarDate?) {
        self.record = record.text
        outcome = keepUntil == nil ? "destroy" : "keep"
        self.keepUntil = keepUntil?.description
    }
}

/// The answer to `retention hold|release --json` and `POST /api/v1/records/{id}/hold`.
public struct HoldJSON: Encodable, Sendable {
    public let record: String
    public let held: Bool

    public init(_ record: RecordID, held: Bool) {
        self.record = record.text
        self.held = held
    }
}
