public import Tutela

/// Ids spelled as literals in tests: `"R-0000-0000-0000"` where a ``RecordID`` is wanted. Tests
/// only; a literal that is not a valid id stops the test run.
extension ID: ExpressibleByStringLiteral {
    /// The id `text`, which must be valid.
    public init(stringLiteral text: String) {
        guard let id = ID(validating: text) else {
            preconditionFailure("'\(text)' is not a valid id")
        }
        self = id
    }
}

/// A recipient spelled by its stored name in tests: `"price"` or `"group:tutor#1"`.
extension Recipient: ExpressibleByStringLiteral {
    /// The recipient named `text`, which must be a principal id or a group key's name.
    public init(stringLiteral text: String) {
        guard let recipient = Recipient(text) else {
            preconditionFailure("'\(text)' names no recipient")
        }
        self = recipient
    }
}
