internal import CSodium

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process-level protections applied by the CLI before it touches a key.
public enum ProcessHardening {
    /// Turns core dumps off and marks the process non-dumpable, so a crash cannot write keys or
    /// plaintext to a core file and an unprivileged process of the same user cannot attach to read
    /// memory.
    /// - Throws: ``CryptoError/hardeningFailed(step:)`` naming the step that failed.
    public static func disableCoreDumps() throws(CryptoError) {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(RLIMIT_CORE.rawValue)
        #else
            let resource = RLIMIT_CORE
        #endif
        guard setrlimit(resource, &limit) == 0 else {
            throw .hardeningFailed(step: "setrlimit(RLIMIT_CORE, 0)")
        }
        guard tutela_disable_dumpable() == 0 else {
            throw .hardeningFailed(step: "prctl(PR_SET_DUMPABLE, 0)")
        }
    }

    /// Whether core dumps are currently off (both the soft limit and, on Linux, the dumpable flag).
    public static var coreDumpsDisabled: Bool {
        var limit = rlimit()
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(RLIMIT_CORE.rawValue)
            guard getrlimit(resource, &limit) == 0 else { return false }
            return limit.rlim_cur == 0 && tutela_dumpable() == 0
        #else
            guard getrlimit(RLIMIT_CORE, &limit) == 0 else { return false }
            return limit.rlim_cur == 0
        #endif
    }
}
