import Testing

@testable import Tutela

@Suite("Tutela")
struct VersionTests {
    @Test("the version is semantic: three numbers")
    func semantic() {
        let parts = TutelaVersion.string.split(separator: ".")
        #expect(parts.count == 3)
        #expect(parts.allSatisfy { Int($0) != nil })
    }
}
