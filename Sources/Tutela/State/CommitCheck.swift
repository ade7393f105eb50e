extension Principal {
    /// Whether `position` and `other` fall in the same key period: the key that signed something
    /// made under one is the key that was theirs under the other.
    func sameKey(at position: Int64, as other: Int64) -> Bool {
        guard let a = keyPeriods.firstIndex(where: { $0.covers(position) }) else { return false }
        return keyPeriods[a].covers(other)
    }
}

/// Who committed what: every stored fact and label was signed by the actor of the audit entry that
/// wrote it, with the key that actor held then — so a fact or record signed by someone's retired
/// key, backdated to a position where it was valid, and committed by a colleague with database
/// access, is found (#19).
enum CommitCheck {
    /// What is wrong with `label` (the `index`th label row), or nil.
    static func label(
        _ bytes: [UInt8], index: Int64,
        adds: [LabelAdds],
        cursor: inout Int, directory: Directory
    ) -> String? {
        while cursor < adds.count, adds[cursor].upTo <= index { cursor += 1 }
        // A label beyond the entries walked was written since (a write racing `audit verify`);
        // the state's label chain still covers it.
        guard cursor < adds.count else { return nil }
        guard let label = try? Label.parse(bytes) else { return "label row \(index)" }
        let add = adds[cursor]
        guard label.author == add.actor,
            directory.principals[add.actor]?.sameKey(
                at: label.sealedUnder, as: add.position) == true
        else {
            return
                "the label of \(label.record) (written by \(label.author) but committed by "
                + "\(add.entries), by \(add.actor) under another key)"
        }
        return nil
    }
}

extension CommitCheck {
    /// What is wrong with a stored fact whose last writer was `writer` (the actor and directory
    /// position of the entry that added or replaced it), or nil.
    static func fact(
        _ body: [UInt8], kind: FactKind, id: String,
        writer: (actor: PrincipalID, position: Int64, sequence: Int64), directory: Directory
    ) -> String? {
        guard let (signer, madeUnder) = FactCodec.signer(of: body) else {
            return "the \(kind.rawValue) fact \(id)"
        }
        guard signer == writer.actor,
            directory.principals[signer]?.sameKey(at: madeUnder, as: writer.position) == true
        else {
            return
                "the \(kind.rawValue) fact \(id) (signed by \(signer) but written by audit entry "
                + "\(writer.sequence), by \(writer.actor) under another key)"
        }
        return nil
    }
}
