import StretchCore

/// The version both binaries show with `--version`: `git describe` of the tree they were built from, so two
/// builds can be told apart; from a tarball without git, the release number in Version.swift.
public enum BuildVersion {
    public static let current = gitDescribed ?? StretchdVersion.current
}
