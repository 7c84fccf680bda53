import ALSA
import ArgumentParser
import Logging
import ServiceLifecycle
import StretchAudio
import StretchConfig
import StretchCore
import StretchDaemon

@main
struct Stretchd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stretchd",
        abstract: "The stretchd daemon: stretch breaks during work hours, cued by sound.",
        discussion: """
            Runs in the foreground and logs to stderr. Built-in defaults: Monday to Friday, 09:00-12:30 and \
            13:30-17:30 local time, a break every 50 minutes of work; time away of 5 minutes or more (a \
            suspended laptop, lunch) counts as a break. At a break it plays a chime, waits the lead-in, then \
            runs a stretch session hands-free; hips-for-back and desk-basics take turns. With no usable sound \
            device it logs why and keeps reminding. SIGINT or SIGTERM stops it.
            """
    )

    @Option(help: "Lowest level to log.")
    var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp(
        "ALSA device: default, hw:1,0, plughw:1,0, pipewire, pulse, null, or file:'/path/out.wav',wav.",
        valueName: "name"))
    var device = "default"

    @Option(help: ArgumentHelp("Volume from 0 to 1.", valueName: "level"))
    var volume: Float = 0.8

    @Option(help: ArgumentHelp(
        "Time from the chime to the session's first countdown, e.g. 30s; off plays the chime only.",
        valueName: "duration"))
    var leadIn = "30s"

    func validate() throws {
        guard (0...1).contains(volume) else { throw ValidationError("--volume must be from 0 to 1, got \(volume).") }
        if leadIn != "off", DurationText.parse(leadIn) == nil {
            throw ValidationError("--lead-in takes a duration such as 30s or 1m, or off; got \"\(leadIn)\".")
        }
    }

    func run() async throws {
        let environment = Environment.variables
        let level = logLevel
        let journal = environment["JOURNAL_STREAM"] != nil
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level, journal: journal) }
        let logger = Logger(label: "stretchd")
        ALSALog.route { logger.debug("\($0)") }

        let (sounds, problems) = SoundSet.load(overridesIn: XDGPaths(environment: environment).soundsDirectory)
        for problem in problems { logger.warning("using the built-in sound instead of \(problem)") }
        let clock = ContinuousClock()
        let runner = AudioBreakRunner(
            clock: clock, device: device, volume: volume, sounds: sounds, leadIn: DurationText.parse(leadIn),
            logger: logger)
        let service = BreakService(
            schedule: .standard, settings: BreakTimer.Settings(), routines: RoutineLibrary.builtIn, runner: runner,
            clock: clock, time: SystemTime(), logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
