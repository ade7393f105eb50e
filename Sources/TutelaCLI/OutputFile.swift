import Foundation
import Tutela
import TutelaCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `write(2)`, out of reach of `OutputFile.write` (which it would otherwise mean there).
private func writeOut(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, bytes, count)
}

/// A file the CLI writes for someone (a retention CSV, a checkpoint, an authority share).
///
/// It is always a new file: created exclusively, so a file that appears between a check and the
/// write is never replaced; readable only by its owner; written in chunks, so a long report never
/// sits whole in memory; flushed to disk before the command says it is done; and removed again if
/// the command fails before it is complete, so nobody is left with half a report.
final class OutputFile {
    let path: String
    private var descriptor: Int32
    private var pending: [UInt8] = []
    private static let chunk = 1 << 16

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Creates `path`, runs `body` with it, and makes it durable; removes it if anything fails.
    static func writing<T>(_ path: String, _ body: (OutputFile) async throws -> T) async throws
        -> T
    {
        let file = try create(path)
        do {
            let result = try await body(file)
            try file.finish()
            return result
        } catch {
            file.discard()
            throw error
        }
    }

    /// Writes a whole file at once.
    static func write(_ path: String, _ text: String) throws {
        let file = try create(path)
        do {
            try file.write(text)
            try file.finish()
        } catch {
            file.discard()
            throw error
        }
    }

    /// Writes a whole secret file (an authority share) straight from protected memory.
    static func write(_ path: String, secret: SecretBytes) throws {
        let file = try create(path)
        do {
            try secret.withUnsafeBytes { bytes throws(TutelaError) in
                var offset = 0
                while offset < bytes.count {
                    let written = writeOut(
                        file.descriptor, bytes.baseAddress?.advanced(by: offset),
                        bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw file.cannotWrite()
                    }
                    offset += written
                }
            }
            try file.finish()
        } catch {
            file.discard()
            throw error
        }
    }

    private static func create(_ path: String) throws(TutelaError) -> OutputFile {
        OutputFile(path: path, descriptor: try ExclusiveFile.create(path))
    }

    /// Adds text; written out a chunk at a time.
    func write(_ text: String) throws(TutelaError) {
        pending.append(contentsOf: text.utf8)
        if pending.count >= Self.chunk { try flush() }
    }

    private func flush() throws(TutelaError) {
        var offset = 0
        while offset < pending.count {
            let written = pending.withUnsafeBytes { bytes in
                writeOut(descriptor, bytes.baseAddress?.advanced(by: offset), bytes.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw cannotWrite()
            }
            offset += written
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func finish() throws(TutelaError) {
        try flush()
        guard fsync(descriptor) == 0 else { throw cannotWrite() }
        let fd = descriptor
        descriptor = -1
        guard close(fd) == 0 else { throw cannotWrite() }
    }

    private func cannotWrite() -> TutelaError {
        TutelaError(
            .tryAgain, "cannot write \(path): \(String(cString: strerror(errno)))",
            hint: "check there is space on the disk; nothing was left behind")
    }

    /// Closes and removes a file that was not finished.
    private func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(path)
    }
}

/// A small secret file (a passphrase, an authority share) read with `read(2)` straight into
/// protected memory: no `Data`, no `String`, no stdio buffer holds a copy.
enum SecretFile {
    static func read(_ path: String, maximum: Int, what: String) throws -> SecretBytes {
        // Non-blocking, so a FIFO put in its place cannot hang the command before the check below.
        // Never through a link: one swapped in could point at another private file of the caller's.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw TutelaError(
                    .permissionDenied, "the \(what) \(path) is a link",
                    hint: "name the file itself")
            }
            throw TutelaError(.notFound, "cannot read the \(what) \(path)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw TutelaError(.usage, "the \(what) \(path) is not a file")
        }
        // A secret in a file that others can read, or that someone else owns, is no longer only
        // this person's: refuse it before reading a byte.
        guard info.st_mode & (S_IRWXG | S_IRWXO) == 0, info.st_uid == geteuid() else {
            throw TutelaError(
                .permissionDenied,
                "the \(what) \(path) can be read or changed by people other than you",
                hint: "keep it private: chmod 600 '\(path)' (as its owner)")
        }
        let size = Int(info.st_size)
        guard size <= maximum else {
            throw TutelaError(.usage, "the \(what) \(path) is larger than \(maximum) bytes")
        }
        var filled = 0
        let bytes = try SecretBytes(count: size) { out in
            while filled < size {
                let n = readIn(fd, out.baseAddress.map { $0 + filled }, size - filled)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                filled += n
            }
        }
        guard filled == size else {
            bytes.wipe()
            throw TutelaError(.tryAgain, "the \(what) \(path) changed while it was read")
        }
        return bytes
    }
}

/// `read(2)`, out of reach of `SecretFile.read`.
private func readIn(_ fd: Int32, _ bytes: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, bytes, count)
}
