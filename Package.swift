// swift-tools-version: 6.1
import PackageDescription

/// Every target: an `import` in one file does not make its members visible in the others (SE-0444), so no file
/// reaches Foundation (and its ICU) through another file's import.
let settings: [SwiftSetting] = [.enableUpcomingFeature("MemberImportVisibility")]

let package = Package(
    name: "stretchd",
    products: [
        .executable(name: "stretchd", targets: ["stretchd"]),
        .executable(name: "stretchctl", targets: ["stretchctl"]),
    ],
    // Each at the exact version the tests ran with, so what ships is what was tested. Package.resolved stays out of
    // git: our machines' copies of these packages carry other commit ids than upstream's, so a resolved file made
    // here would fail every real user's build ("Revision ... does not match previously recorded value").
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", exact: "1.1.1"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
    ],
    targets: [
        // libasound, as a system library: only a modulemap and a shim header.
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        // libsystemd's sd-bus (D-Bus client), as a system library: only a modulemap and a shim header.
        .systemLibrary(name: "CSDBus", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // flite (text to speech) with the cmu_us_slt voice, as a system library: a modulemap and a shim header that
        // loads the voice's libraries with dlopen (nothing linked: an idle process maps none of it).
        .systemLibrary(name: "CFlite", providers: [.apt(["flite1-dev"])]),
        // Linux headers the Glibc module leaves out (timerfd): only a modulemap and a shim header.
        .systemLibrary(name: "CLinux"),
        // The executor an idle daemon needs: one epoll loop thread (jobs, timers on the standard clocks, waits on
        // descriptors) that parks without a timeout, a thread for blocking work, and the inotify reader that waits
        // on the loop (`FolderWatch`).
        .target(
            name: "EpollExecutor",
            dependencies: ["CLinux", "StretchSystem", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: settings
        ),
        // Idiomatic Swift over libasound: an owned PCM handle and one error type with ALSA's own text.
        .target(name: "ALSA", dependencies: ["CALSA"], swiftSettings: settings),
        // Idiomatic Swift over sd-bus: an owned connection processed on an EpollLoop, typed values, method calls,
        // signal streams, one error type with sd-bus's text.
        .target(
            name: "DBus",
            dependencies: [
                "CSDBus", "EpollExecutor", "StretchSystem", .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: settings
        ),
        // GLib's variant database format (dconf's database files) read from bytes, bounds-checked: one key's value;
        // no I/O. Fuzzed by `make fuzz`.
        .target(name: "GVDB", swiftSettings: settings),
        // The desktop over D-Bus: one Service per source (notifications with buttons, logind's sleep, lock and
        // idle, Mutter's idle monitor, do-not-disturb, calls), each turning what it sees into `DesktopEvents`.
        .target(
            name: "StretchDesktop",
            dependencies: [
                "DBus", "EpollExecutor", "StretchCore", "StretchSystem", "CLinux", "GVDB",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings
        ),
        // Files, paths and sockets over swift-system: the one place that opens files (typed errors with the
        // system's errno), XDG paths, the environment, Unix socket addresses; and log lines that outside text and
        // repeated events cannot flood (`LogText`, `LogRateLimiter`); the machine's clocks (`SystemTime`), the one
        // place time is read.
        .target(
            name: "StretchSystem",
            dependencies: ["StretchCore", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: settings
        ),
        // Pure timing core: routines, plans, the cue scheduler and the break timer. No I/O, no Foundation.
        .target(name: "StretchCore", swiftSettings: settings),
        // The version `--version` shows: `git describe` at build time (the GitVersion plugin running git-version),
        // else Version.swift's, so it works with plain `swift build`, from a clone or from a tarball.
        .target(
            name: "BuildVersion", dependencies: ["StretchCore"], swiftSettings: settings, plugins: ["GitVersion"]
        ),
        .executableTarget(name: "git-version", swiftSettings: settings),
        .plugin(name: "GitVersion", capability: .buildTool(), dependencies: ["git-version"]),
        // Cue synthesis, the sound set, WAV encoding, and sessions rendered to a WAV or played on an ALSA device.
        // No file access: the sound overrides are read by StretchSettings.
        .target(
            name: "StretchAudio",
            dependencies: ["StretchCore", "ALSA", .product(name: "Logging", package: "swift-log")],
            swiftSettings: settings
        ),
        // Spoken prompts: text -> 48 kHz mono samples at the cue sounds' loudness, with flite's cmu_us_slt voice
        // (loaded for a batch, unloaded after), deterministic, on BlockingThread.shared.
        .target(name: "Speech", dependencies: ["CFlite", "StretchAudio", "EpollExecutor", "StretchSystem"], swiftSettings: settings),
        // A TOML 1.0 reader in pure Swift (no Foundation, no C): every key and value located by line and column.
        .target(name: "TOML", swiftSettings: settings),
        // The toml-test suite's decoder interface over the TOML target (built, not installed).
        .executableTarget(name: "toml-decode", dependencies: ["TOML", "StretchSystem"], swiftSettings: settings),
        // Routine files (TOML) -> `Routine`, with errors that name file, line, key path and what was expected.
        .target(
            name: "StretchConfig",
            dependencies: ["StretchCore", "StretchSystem", "TOML"],
            swiftSettings: settings
        ),
        // What both binaries load from the user's files, the same way: the config with its routines resolved
        // (DaemonSettings), and the sound overrides. So `stretchctl check-config` loads exactly as the daemon does.
        .target(
            name: "StretchSettings", dependencies: ["StretchCore", "StretchConfig", "StretchSystem", "StretchAudio"],
            swiftSettings: settings
        ),
        // The control socket's requests and replies, as JSON lines; no I/O. Uses StretchCore (pure) to parse
        // durations, so that a request is checked in one place.
        .target(name: "ControlProtocol", dependencies: ["StretchCore"], swiftSettings: settings),
        // The history file's line format: a record, the judgement of one line (record, blank or skipped and why) and
        // the quick reader of what the daemon writes; no I/O. Fuzzed by `make fuzz`.
        .target(name: "StretchHistory", dependencies: ["StretchCore"], swiftSettings: settings),
        // The daemon's services: wires the real clocks and local time to the core.
        .target(
            name: "StretchDaemon",
            dependencies: [
                "StretchCore", "StretchConfig", "StretchSystem", "StretchSettings", "StretchAudio", "ALSA",
                "ControlProtocol", "StretchHistory", "CLinux", "EpollExecutor", "StretchDesktop", "Speech", "CFlite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "stretchd",
            dependencies: [
                "StretchDaemon", "StretchDesktop", "DBus", "StretchSettings", "StretchSystem", "EpollExecutor",
                "BuildVersion", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Its `DefaultExecutorFactory` (SE-0466, SPI in Swift 6.3) is declared for a runtime newer than the
            // availability the compiler assumes; without this flag the compiler silently keeps libdispatch's
            // executors (`nm stretchd | grep swift_createExecutors` shows whether the factory was taken).
            swiftSettings: settings + [.unsafeFlags(["-Xfrontend", "-disable-availability-checking"])]
        ),
        .executableTarget(
            name: "stretchctl",
            dependencies: [
                "StretchCore", "StretchConfig", "StretchSystem", "StretchSettings", "StretchAudio", "ALSA",
                "ControlProtocol", "Speech", "CFlite", "CLinux", "BuildVersion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: settings
        ),
        // `make bench`: render speed, live CPU cost and cue placement, in a release build.
        .executableTarget(
            name: "stretchd-bench",
            dependencies: [
                "StretchAudio", "StretchConfig", "StretchCore", "StretchDaemon", "StretchSystem", "ControlProtocol", "TOML",
                "Speech", "CFlite",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings
        ),
        // What the test targets share: waiting for a sleeper on a TestClock, temporary folders, the repository path,
        // private buses with python-dbusmock peers and the trait of the suites that need them.
        .target(
            name: "TestSupport",
            dependencies: [
                "DBus", "EpollExecutor", .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: settings
        ),
        .testTarget(
            name: "StretchCoreTests",
            dependencies: [
                "StretchCore", "TestSupport",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: settings
        ),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"], swiftSettings: settings),
        .testTarget(name: "GVDBTests", dependencies: ["GVDB", "TestSupport"], swiftSettings: settings),
        .testTarget(
            name: "EpollExecutorTests",
            dependencies: [
                "EpollExecutor", "StretchSystem", .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "DBusTests",
            dependencies: [
                "DBus", "EpollExecutor", "TestSupport", .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "StretchDesktopTests",
            dependencies: [
                "StretchDesktop", "DBus", "EpollExecutor", "StretchCore", "StretchSystem", "TestSupport",
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "StretchConfigTests", dependencies: ["StretchConfig", "StretchSystem"], swiftSettings: settings
        ),
        .testTarget(
            name: "StretchSystemTests",
            dependencies: ["StretchSystem", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: settings
        ),
        .testTarget(
            name: "ControlProtocolTests", dependencies: ["ControlProtocol", "StretchCore"], swiftSettings: settings
        ),
        .testTarget(
            name: "StretchAudioTests",
            dependencies: [
                "StretchAudio", "StretchConfig", "TestSupport",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "SpeechTests",
            dependencies: [
                "Speech", "StretchAudio", "StretchCore", "StretchSystem", "TestSupport",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "StretchSettingsTests",
            dependencies: ["StretchSettings", "StretchConfig", "StretchAudio", "StretchCore", "TestSupport"],
            swiftSettings: settings
        ),
        .testTarget(name: "StretchHistoryTests", dependencies: ["StretchHistory"], swiftSettings: settings),
        .testTarget(
            name: "StretchDaemonTests",
            dependencies: [
                "StretchDaemon", "StretchHistory", "StretchSettings", "StretchSystem", "TestSupport", "EpollExecutor",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: settings
        ),
        // Runs the built binaries as a user would.
        .testTarget(
            name: "EndToEndTests", dependencies: ["StretchCore", "StretchSystem", "TestSupport", "DBus", "EpollExecutor"],
            swiftSettings: settings
        ),
    ],
    swiftLanguageModes: [.v6]
)
