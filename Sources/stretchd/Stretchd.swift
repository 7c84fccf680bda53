import ALSA
import DBus
import EpollExecutor
import Logging
import ServiceLifecycle
import StretchAudio
import StretchConfig
import StretchCore
import StretchDaemon
import StretchDesktop
import StretchSettings
import StretchSystem
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

@main
struct Stretchd {
    var config: String?
    var socket: String?
    var logLevel: Logger.Level

    static func main() async {
        switch DaemonArguments.parse(Array(CommandLine.arguments.dropFirst())) {
        case .success(.help):
            print(DaemonArguments.helpText)
        case .success(.version):
            print(DaemonArguments.versionText, terminator: "")
        case .failure(let error):
            writeToStderr(DaemonArguments.message(for: error))
            exit(EX_USAGE)
        case .success(.run(let arguments)):
            do {
                try await Stretchd(config: arguments.config, socket: arguments.socket, logLevel: arguments.logLevel)
                    .run()
            } catch let code as ExitCode {
                exit(code.status)
            } catch {
                writeToStderr("Error: \(error)\n")
                exit(1)
            }
        }
    }

    private static func writeToStderr(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

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
        for warning in settings.config.warnings { logger.warning("config: \(warning)") }
        for warning in settings.warnings { logger.warning("skipped routine file: \(warning)") }
        let sounds = UserSounds(overridesIn: paths.soundsDirectory, logger: logger)

        // The event loop this process runs on (see Executors.swift); descriptors (the wall clock's timerfd,
        // the D-Bus sockets, inotify on /dev/snd) are waited for on it too.
        let loop = EpollLoop.installed ?? {
            logger.warning("running on libdispatch's executors, which wake the process every second")
            let loop = EpollLoop()
            loop.startThread()
            return loop
        }()
        let daemon = Daemon(
            settings: settings, loadSettings: load,
            makeAudio: {
                ALSABreakAudio(device: $0.device, volume: $0.volume, sounds: sounds, logger: logger, voice: $0.voice)
            },
            // Sleeps on the loop's CLOCK_BOOTTIME timerfd: the kernel wakes the process once, at the deadline, and
            // time asleep counts. Cancelled ones (a command wakes the daemon early) leave no deadline behind.
            clock: LoopClock(loop: loop), time: SystemTime(), history: HistoryStore(stateHome: paths.stateHome),
            state: StateStore(stateHome: paths.stateHome),
            systemd: SystemdNotifier(environment: environment), logger: logger)
        // SIGHUP is trapped from here on, before the socket listens and systemd hears READY=1.
        let reloader = await HangupReloader(daemon: daemon)
        var server = ControlServer(
            path: socketPath, handler: daemon, logger: logger, loop: loop,
            folderPolicy: socket == nil ? .privateFolder : .chosenFolder)
        server.timeoutClock = LoopClock(loop: loop)
        // The desktop: each D-Bus source a Service reporting to the daemon; the buses are shared, connected on
        // first use, and picked up again when they come back.
        let buses = BusConnections(loop: loop, logger: logger)
        let notifications = DesktopNotifications(buses: buses, events: daemon, logger: logger)
        let sleep = SleepWatch(buses: buses, events: daemon, logger: logger)
        let desktop: [any Service] = [
            DesktopOutputs(requests: daemon.desktopRequests, notifications: notifications, sleep: sleep),
            notifications, sleep,
            PresenceWatch(
                buses: buses, events: daemon, logger: logger, idleWatch: DaemonConfig.shortestStartWhenIdle),
            DoNotDisturbWatch(buses: buses, events: daemon, logger: logger),
            CallWatch(buses: buses, events: daemon, logger: logger, loop: loop),
        ]
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .named(daemon),
                    .named(server, onEnd: .gracefullyShutdownGroup),
                    .named(reloader),
                    .named(WallClockMonitor(
                        logger: logger, changes: { WallClockMonitor.clockSettings(on: loop) }
                    ) { await daemon.wallClockChanged() }),
                ] + desktop.map { .named($0) },
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

/// Carries what the daemon asks of the desktop, in order, to the notification server and logind's sleep lock.
struct DesktopOutputs: Service {
    let requests: AsyncStream<DesktopRequest>
    let notifications: DesktopNotifications
    let sleep: SleepWatch

    func run() async {
        // Ends at a graceful shutdown: the sources it feeds shut down then too (withdrawing the notification,
        // releasing the sleep lock), before the daemon, which is shut down last.
        for await request in requests.cancelOnGracefulShutdown() {
            switch request {
            case .notify(let title, let body): notifications.show(title: title, body: body)
            case .withdrawNotification: notifications.withdraw()
            case .holdSleepLock(let hold): sleep.holdSleepLock(hold)
            }
        }
    }
}

extension ServiceGroupConfiguration.ServiceConfiguration {
    /// `service` named by its type. Unnamed, ServiceLifecycle names it `"\(service)"`, describing the whole value by
    /// reflection, reported as 43% of the CPU time before READY (issue 24).
    static func named(_ service: any Service, onEnd: TerminationBehavior = .cancelGroup) -> Self {
        .init(service: service, successTerminationBehavior: onEnd, failureTerminationBehavior: onEnd,
              serviceName: "\(type(of: service))")
    }
}

/// Stops start-up with this exit status (what was wrong is logged first).
struct ExitCode: Error {
    var status: Int32
    init(_ status: Int32) { self.status = status }
}
