import ALSA
import ArgumentParser
import EpollExecutor
import Logging
import ServiceLifecycle
import StretchAudio
import StretchConfig
import StretchCore
import StretchDaemon
import StretchSettings
import StretchSystem
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

@main
struct Stretchd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stretchd",
        abstract: "The stretchd daemon: stretch breaks during work hours, cued by sound.",
        discussion: """
            Reads ~/.config/stretchd/config.toml (built-in defaults when there is none; `stretchctl config \
            --default` prints a documented one), reminds you when a break is due, and runs a stretch session \
            hands-free. `stretchctl` controls it through a Unix socket. Logs go to stderr (with journal level \
            prefixes under systemd). SIGHUP reloads the config; SIGINT or SIGTERM stops it. Exit status: 0 \
            stopped by a signal, 1 cannot start, 64 a bad command line, 78 a bad config (systemd then stops \
            restarting it).
            """,
        version: "stretchd \(StretchdVersion.current)"
    )

    @Option(help: ArgumentHelp("Config file (default: $XDG_CONFIG_HOME/stretchd/config.toml).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp(
        "Control socket (default: $XDG_RUNTIME_DIR/stretchd/control.sock).", valueName: "path"))
    var socket: String?

    @Option(help: "Lowest level to log.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        // Files and the socket are the user's alone.
        umask(0o077)
        let environment = Environment.variables
        let paths = XDGPaths(environment: environment)
        let level = logLevel
        let journal = stderrIsJournal(environment: environment)
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level, journal: journal) }
        let logger = Logger(label: "stretchd")
        ALSALog.route { logger.debug("\($0)") }

        guard let socketPath = socket ?? paths.runtimeDirectory.map({ $0 + "/stretchd/control.sock" }) else {
            logger.critical(
                "XDG_RUNTIME_DIR is not set, so there is no private place for the control socket; it is set in a normal login session, or pass --socket PATH")
            throw ExitCode(1)
        }
        let configPath = config
        let load: @Sendable () -> Result<DaemonSettings, ConfigError> = {
            DaemonSettings.load(configPath: configPath, paths: paths)
        }
        let settings: DaemonSettings
        switch load() {
        case .success(let loaded): settings = loaded
        case .failure(let error):
            for problem in error.problems { logger.critical("bad config: \(problem)") }
            // 78 (sysexits.h): the unit tells systemd not to restart on it, as the same config fails the same way.
            throw ExitCode(EX_CONFIG)
        }
        for warning in settings.warnings { logger.warning("skipped routine file: \(warning)") }
        let (sounds, problems) = SoundSet.load(overridesIn: paths.soundsDirectory)
        for problem in problems { logger.warning("using the built-in sound instead of \(problem)") }

        // The event loop this process runs on (see Executors.swift); descriptors (the wall clock's timerfd,
        // notify-send's pidfd) are waited for on it too.
        let loop = EpollLoop.installed ?? {
            logger.warning("running on libdispatch's executors, which wake the process every second")
            let loop = EpollLoop()
            loop.startThread()
            return loop
        }()
        let daemon = Daemon(
            settings: settings, loadSettings: load,
            makeAudio: { ALSABreakAudio(device: $0.device, volume: $0.volume, sounds: sounds, logger: logger) },
            // Sleeps on the loop's CLOCK_BOOTTIME timerfd: the kernel wakes the process once, at the deadline, and
            // time asleep counts. Cancelled ones (a command wakes the daemon early) leave no deadline behind.
            clock: LoopClock(loop: loop), time: SystemTime(), history: HistoryStore(stateHome: paths.stateHome),
            notifier: NotifySend(environment: environment, logger: logger, loop: loop),
            systemd: SystemdNotifier(environment: environment), logger: logger)
        // SIGHUP is trapped from here on, before the socket listens and systemd hears READY=1.
        let reloader = await HangupReloader(daemon: daemon)
        var server = ControlServer(
            path: socketPath, handler: daemon, logger: logger,
            folderPolicy: socket == nil ? .privateFolder : .chosenFolder)
        server.timeoutClock = LoopClock(loop: loop)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: daemon),
                    .init(service: server,
                          successTerminationBehavior: .gracefullyShutdownGroup,
                          failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: reloader),
                    .init(service: WallClockMonitor(
                        logger: logger, changes: { WallClockMonitor.clockSettings(on: loop) }
                    ) { await daemon.wallClockChanged() }),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as ControlServer.StartError {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        logger.info("stopped")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
