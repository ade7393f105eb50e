/// A safeguarding flag: who flagged a record, when, and why.
public struct SafeguardingFlag: Sendable, Equatable {
    public let record: String
    public let flaggedBy: String
    public let time: Int64
    public let reason: String

    var fields: [UInt8] {
        var w = CanonicalWriter()
        w.u8(1)
        w.string(record)
        w.i64(time)
        w.string(reason)
        return w.bytes
    }

    static func parse(_ object: StoredObject, directory: Directory) throws(TutelaError)
        -> SafeguardingFlag
    {
        let (fields, signer) = try SignedObject.open(object, directory: directory)
        var r = CanonicalReader(fields, context: "flag \(object.id)")
        guard try r.u8("version") == 1 else {
            throw .tampered("flag \(object.id) has an unknown version")
        }
        let flag = SafeguardingFlag(
            record: try r.string("record", max: 64), flaggedBy: signer.id, time: try r.i64("time"),
            reason: try r.string("reason", max: 2000))
        try r.finish()
        guard flag.record == object.id, object.key == object.id else {
            throw .tampered("flag \(object.id) was moved from another record")
        }
        return flag
    }
}

/// A break-glass request: an officer asks to open an unflagged record.
public struct BreakGlassRequest: Sendable, Equatable {
    public let id: String
    public let record: String
    public let requester: String
    public let reason: String
    public let created: Int64
    public let expires: Int64
    /// Approvals needed (the policy's k when requested).
    public let approvalsNeeded: Int

    var fields: [UInt8] {
        var w = CanonicalWriter()
        w.u8(1)
        w.string(id)
        w.string(record)
        w.string(reason)
        w.i64(created)
        w.i64(expires)
        w.u8(UInt8(approvalsNeeded))
        return w.bytes
    }

    static func parse(_ object: StoredObject, directory: Directory) throws(TutelaError)
        -> BreakGlassRequest
    {
        let (fields, signer) = try SignedObject.open(object, directory: directory)
        var r = CanonicalReader(fields, context: "break-glass request \(object.id)")
        guard try r.u8("version") == 1 else {
            throw .tampered("request \(object.id) has an unknown version")
        }
        let request = BreakGlassRequest(
            id: try r.string("id", max: 64), record: try r.string("record", max: 64),
            requester: signer.id,
            reason: try r.string("reason", max: 2000), created: try r.i64("created"),
            expires: try r.i64("expires"), approvalsNeeded: Int(try r.u8("approvals")))
        try r.finish()
        guard request.id == object.id, request.record == object.key else {
            throw .tampered("break-glass request \(object.id) was altered")
        }
        return request
    }
}

/// One approver's release of their group's share, re-sealed to the requester.
public struct Approval: Sendable, Equatable {
    public let request: String
    public let approver: String
    /// The approver role whose group share this releases.
    public let role: Role
    public let time: Int64
    /// `crypto_box_seal(version ‖ request id ‖ serialised share)` to the requester.
    let box: [UInt8]

    var fields: [UInt8] {
        var w = CanonicalWriter()
        w.u8(1)
        w.string(request)
        w.string(role.rawValue)
        w.i64(time)
        w.data(box)
        return w.bytes
    }

    static func parse(_ object: StoredObject, directory: Directory) throws(TutelaError) -> Approval
    {
        let (fields, signer) = try SignedObject.open(object, directory: directory)
        var r = CanonicalReader(fields, context: "approval \(object.id)")
        guard try r.u8("version") == 1 else {
            throw .tampered("approval \(object.id) has an unknown version")
        }
        let request = try r.string("request", max: 64)
        guard let role = Role(rawValue: try r.string("role", max: 64)) else {
            throw .tampered("approval \(object.id) names an unknown role")
        }
        let approval = Approval(
            request: request, approver: signer.id, role: role, time: try r.i64("time"),
            box: try r.data("box", max: 512))
        try r.finish()
        guard object.id == "\(request)/\(signer.id)", object.key == request else {
            throw .tampered("approval \(object.id) was moved from another request")
        }
        return approval
    }
}

/// A disclosure or break-glass opening waiting for, or having had, its review after the fact.
public struct ReviewItem: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case disclosure
        case breakGlass = "break-glass"
    }
    public enum Outcome: String, Sendable, CaseIterable { case justified, unjustified }

    public let id: String
    public let kind: Kind
    public let record: String
    /// Who opened the record.
    public let actor: String
    public let time: Int64
    public let reason: String
    public var outcome: Outcome?
    public var reviewer: String?
    public var note: String?

    var fields: [UInt8] {
        var w = CanonicalWriter()
        w.u8(1)
        w.string(id)
        w.string(kind.rawValue)
        w.string(record)
        w.i64(time)
        w.string(reason)
        return w.bytes
    }

    static func parse(_ object: StoredObject, directory: Directory) throws(TutelaError)
        -> ReviewItem
    {
        let (fields, signer) = try SignedObject.open(object, directory: directory)
        var r = CanonicalReader(fields, context: "review \(object.id)")
        guard try r.u8("version") == 1 else {
            throw .tampered("review \(object.id) has an unknown version")
        }
        let id = try r.string("id", max: 64)
        guard let kind = Kind(rawValue: try r.string("kind", max: 32)) else {
            throw .tampered("review \(object.id) has an unknown kind")
        }
        let item = ReviewItem(
            id: id, kind: kind, record: try r.string("record", max: 64), actor: signer.id,
            time: try r.i64("time"), reason: try r.string("reason", max: 2000))
        try r.finish()
        guard item.id == object.id, item.record == object.key else {
            throw .tampered("review \(object.id) was altered")
        }
        return item
    }

    static func outcomeFields(_ outcome: Outcome, note: String, time: Int64) -> [UInt8] {
        var w = CanonicalWriter()
        w.u8(1)
        w.string(outcome.rawValue)
        w.string(note)
        w.i64(time)
        return w.bytes
    }

    static func parseOutcome(
        _ object: StoredObject, directory: Directory
    ) throws(TutelaError) -> (Outcome, String, String) {
        let (fields, signer) = try SignedObject.open(object, directory: directory)
        var r = CanonicalReader(fields, context: "review outcome \(object.id)")
        guard try r.u8("version") == 1,
            let outcome = Outcome(rawValue: try r.string("outcome", max: 32))
        else {
            throw .tampered("review outcome \(object.id) is malformed")
        }
        let note = try r.string("note", max: 2000)
        _ = try r.i64("time")
        try r.finish()
        return (outcome, note, signer.id)
    }
}

/// A notice in someone's inbox: the audit entry it points to, verified.
public struct Notice: Sendable, Equatable {
    public let sequence: Int64
    public let entry: AuditEntry
}
