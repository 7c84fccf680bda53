/// The version of stretchd and stretchctl, which `--version` shows; one number for both, changed at each release.
public enum StretchdVersion {
    public static let current = "0.7.0"
}
