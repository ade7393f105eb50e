import Foundation
import Tutela
import TutelaCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything the CLI writes: results to stdout, errors and progress to stderr.
enum Terminal {
    static func out(_ text: String, terminator: String = "\n") {
        FileHandle.standardOutput.write(Data((text + terminator).utf8))
    }

    /// Writes `before`, the secret's bytes straight from protected memory, and `after` to stdout.
    static func outSecret(before: String, _ secret: SecretBytes, after: String) {
        FileHandle.standardOutput.write(Data(before.utf8))
        secret.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(1, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
        FileHandle.standardOutput.write(Data(after.utf8))
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// `tutela: error: …` and, where one helps, `tutela: hint: …` on stderr; with `json`, also
    /// `{"error": {"code", "message", "hint"}}` on stdout, the codes of API.md.
    static func error(_ error: TutelaError, json: Bool = false) {
        var text = "tutela: error: \(error.message)\n"
        if let hint = error.hint { text += "tutela: hint: \(hint)\n" }
        FileHandle.standardError.write(Data(text.utf8))
        if json {
            try? Self.json(
                [
                    "error": ErrorJSON(
                        code: error.kind.code, message: error.message, hint: error.hint)
                ])
        }
    }

    /// An error as `--json` prints it.
    struct ErrorJSON: Encodable {
        let code: String
        let message: String
        let hint: String?
    }

    /// `text` safe to print: control characters (escape sequences, carriage returns, newlines
    /// within a cell) and the characters that reorder text on screen are shown as `\u{…}`, so
    /// stored text can never drive someone's terminal or disguise what it says.
    static func printable(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let reorders = (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
            if scalar.properties.generalCategory == .control || reorders {
                result += "\\u{" + String(value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// One JSON document on stdout, keys sorted so output is stable.
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    /// Reads a line from the terminal without echoing it, byte by byte (no stdio buffer keeps a
    /// copy) straight into protected memory.
    static func readSecret(prompt: String) throws -> SecretBytes {
        guard let tty = fopen("/dev/tty", "r+") else {
            throw TutelaError(.usage, "no terminal to ask for a passphrase")
        }
        defer { fclose(tty) }
        let fd = fileno(tty)
        fputs(prompt, tty)
        fflush(tty)
        var saved = termios()
        tcgetattr(fd, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(fd, TCSAFLUSH, &silent)
        defer {
            tcsetattr(fd, TCSAFLUSH, &saved)
            fputs("\n", tty)
        }
        var length = 0
        var ended = false
        let buffer = try SecretBytes(count: Passphrases.maximumFileBytes) { out in
            while length < out.count {
                let n = read(fd, out.baseAddress.map { $0 + length }, 1)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                if out[length] == UInt8(ascii: "\n") {
                    out[length] = 0
                    ended = true
                    return
                }
                length += 1
            }
        }
        defer { buffer.wipe() }
        guard ended || length > 0 else { throw TutelaError(.usage, "no passphrase was entered") }
        guard ended || length < Passphrases.maximumFileBytes else {
            throw TutelaError(
                .usage, "the input is longer than \(Passphrases.maximumFileBytes) bytes")
        }
        return try buffer.slice(0..<length)
    }
}
