#ifndef TUTELA_CSODIUM_SHIM_H
#define TUTELA_CSODIUM_SHIM_H

#include <sodium.h>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

/// prctl(2) is variadic and cannot be called from Swift: mark the process not dumpable, so no core
/// file or ptrace attach by an unprivileged peer can read keys or plaintext out of its memory.
/// Returns 0 on success, -1 on failure, and 0 where the platform has no such switch.
static inline int tutela_disable_dumpable(void) {
#if defined(__linux__)
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#else
    return 0;
#endif
}

/// The process's dumpable flag: 0 when not dumpable, 1 when dumpable, -1 on error.
static inline int tutela_dumpable(void) {
#if defined(__linux__)
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
#else
    return 0;
#endif
}

#endif /* TUTELA_CSODIUM_SHIM_H */
