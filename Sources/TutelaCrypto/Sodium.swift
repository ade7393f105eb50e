internal import CSodium

/// libsodium's one-time initialisation.
///
/// `sodium_init` is called exactly once per process: a `static let` is initialised lazily under
/// `swift_once`, so concurrent first callers block until the single call returns. Every public entry
/// point of this module calls ``ensureInitialized()`` first.
enum Sodium {
    private static let status: Int32 = sodium_init()

    /// Throws if libsodium could not be initialised; cheap after the first call.
    static func ensureInitialized() throws(CryptoError) {
        if status < 0 { throw .initializationFailed }
    }
}

/// Initialises the crypto layer.
///
/// Calling it is optional (every operation initialises on first use) but lets a program fail early
/// and clearly if the library is unusable.
/// - Throws: ``CryptoError/initializationFailed``.
public func initializeCrypto() throws(CryptoError) {
    try Sodium.ensureInitialized()
}

/// The version string of the linked libsodium, for diagnostics.
public var sodiumVersion: String {
    String(cString: sodium_version_string())
}

@inline(__always)
func checkLength(_ what: String, _ actual: Int, _ expected: Int) throws(CryptoError) {
    if actual != expected {
        throw .invalidLength(what: what, expected: String(expected), actual: actual)
    }
}
