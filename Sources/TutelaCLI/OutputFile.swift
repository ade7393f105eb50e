import Foundation
import Tutela

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
