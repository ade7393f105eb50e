/// Tutela's version, printed by `tutela --version`.
public enum TutelaVersion {
    /// The version number, `MAJOR.MINOR.PATCH`.
    public static let string = "0.1.0"
}
