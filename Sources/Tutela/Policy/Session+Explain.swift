extension Session {
    /// Allow or deny, and the rule that decided, for `action` on `recordID` by this person.
    public func explain(_ recordID: RecordID, action: PolicyAction) async throws -> Decision {
        let policy = try policy()
        guard let stored = try await verifiedRecord(recordID) else {
            throw TutelaError.notFound("there is no record \(recordID)")
        }
        let label = try verifiedEnvelope(stored, id: recordID).label
        try await concealFromFamily(label, action: .auditRead)
        if action == .seal { return policy.decideSeal(label.recordClass, actor: principal) }
        return policy.decide(action, actor: principal, label: label, directory: directory)
    }
}
