import Testing

@testable import TutelaSQLite

@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test("the module links")
    func links() {
        #expect(Bool(true))
    }
}
