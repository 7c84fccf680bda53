import ArgumentParser
import Logging
import ServiceLifecycle
import StretchConfig
import StretchCore
import StretchDaemon

@main
struct Stretchd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stretchd",
        abstract: "The stretchd daemon: reminds you to take stretch breaks during work hours.",
        discussion: """
            Runs in the foreground and logs to stderr. Built-in defaults: Monday to Friday, 09:00-12:30 and \
            13:30-17:30 local time, a break every 50 minutes of work; time away of 5 minutes or more (a \
            suspended laptop, lunch) counts as a break. Breaks offer the routines in turn. SIGINT or SIGTERM \
            stops it.
            """
    )

    @Option(help: "Lowest level to log.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let environment = Environment.variables
        let level = logLevel
        let journal = environment["JOURNAL_STREAM"] != nil
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level, journal: journal) }
        let logger = Logger(label: "stretchd")

        let service = BreakService(
            schedule: .standard, settings: BreakTimer.Settings(), routines: RoutineLibrary.builtIn,
            clock: ContinuousClock(), time: SystemTime(), logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

