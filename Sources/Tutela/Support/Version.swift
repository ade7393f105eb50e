/// Tutela's version, printed by `tutela --version`.
public enum TutelaVersion {
    public static let string = "0.1.0"
}
