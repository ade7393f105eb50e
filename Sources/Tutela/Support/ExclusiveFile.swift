import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Files Tutela makes for people outside the vault (a backup, a report, a checkpoint, a share):
/// created exclusively — a file or a symbolic link already at the path is refused, never followed
/// or replaced — readable by their owner only (0600), and written through the descriptor that
/// created them.
public enum ExclusiveFile {
    /// Creates `path` for writing.
    /// - Returns: the open descriptor, which the caller closes.
    /// - Throws: `.exists` when anything (a file, a symbolic link) is at `path` already;
    ///   `.notFound` when its folder is missing; `.permissionDenied`; `.tryAgain` otherwise.
    public static func create(_ path: String) throws(TutelaError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd < 0 else { return fd }
        let code = errno
        let reason = String(cString: strerror(code))
        switch code {
        case EEXIST, ELOOP:
            throw TutelaError(.exists, "\(path) exists already", hint: "choose a new file name")
        case ENOENT, ENOTDIR:
            throw TutelaError(
                .notFound, "cannot create \(path): \(reason)",
                hint: "the folder it goes in must exist")
        case EACCES, EPERM, EROFS:
            throw TutelaError(.permissionDenied, "cannot create \(path): \(reason)")
        default:
            throw TutelaError(.tryAgain, "cannot create \(path): \(reason)")
        }
    }

    /// Copies the file at `source` into a new file at `path`.
    /// - Throws: `.exists` when anything (a file, a symbolic link) is at `path` already;
    ///   `.notFound` when its folder is missing; `.permissionDenied`; `.tryAgain` for a failed write.
    public static func copy(_ source: String, to path: String) throws(TutelaError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("read the backup being made", source) }
        defer { close(input) }
        let output = try create(path)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var isOpen = true
        do throws(TutelaError) {
            while true {
                let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw failure("read the backup being made", source) }
                if count == 0 { break }
                var offset = 0
                while offset < count {
                    let written = buffer.withUnsafeBytes {
                        write(output, $0.baseAddress?.advanced(by: offset), count - offset)
                    }
                    if written < 0, errno == EINTR { continue }
                    guard written > 0 else { throw failure("write", path) }
                    offset += written
                }
            }
            guard fsync(output) == 0 else { throw failure("write", path) }
            isOpen = false
            guard close(output) == 0 else { throw failure("write", path) }
        } catch {
            if isOpen { close(output) }
            unlink(path)
            throw error
        }
    }

    private static func failure(_ what: String, _ path: String) -> TutelaError {
        TutelaError(
            .tryAgain, "cannot \(what) \(path): \(String(cString: strerror(errno)))",
            hint: "check there is space on the disk; nothing was left behind")
    }
}
