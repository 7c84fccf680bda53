import ServiceLifecycle
import UnixSignals

/// Reloads the config on SIGHUP, as `systemctl --user reload stretchd` sends it.
///
/// Hangups are coalesced and spaced (see `runCoalescing`): at most one reload starts per `spacing` (1 s), and
/// the hangups that come meanwhile make one more reload after it. A thousand signals in a second reload twice,
/// not a thousand times; a lone signal reloads at once.
public struct HangupReloader<C: Clock>: Service where C.Duration == Duration {
    private let daemon: Daemon<C>
    private let spacing: Duration
    private let hangups: UnixSignalsSequence

    /// Traps SIGHUP from now on: create it before the daemon says it is ready, since an untrapped SIGHUP
    /// (`systemctl reload` right after start) would end the process.
    public init(daemon: Daemon<C>, spacing: Duration = .seconds(1)) async {
        self.daemon = daemon
        self.spacing = spacing
        self.hangups = await UnixSignalsSequence(trapping: .sighup)
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { [hangups, spacing, daemon] in
            try await runCoalescing(hangups, spacing: spacing, clock: ContinuousClock()) { _ = await daemon.reload() }
        }
    }
}

/// Runs `action` for the requests in `requests`, one run at a time, merging requests that come while it runs: a
/// request that arrives during a run, or within `spacing` of its start, makes it run once more after that, at
/// most. No request is lost (one arriving after a run started is served by a later run), and a flood costs one
/// run per `spacing`. Returns when `requests` ends and the last run (and its spacing) is over.
public func runCoalescing<Requests: AsyncSequence & Sendable, C: Clock<Duration>>(
    _ requests: Requests, spacing: Duration, clock: C, _ action: @escaping @Sendable () async -> Void
) async throws where Requests.Element: Sendable {
    // Holds at most one waiting request: a newer one replaces it.
    let (pending, waiting) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask {
            defer { waiting.finish() }
            for try await _ in requests { waiting.yield() }
        }
        for await _ in pending {
            let started = clock.now
            await action()
            // Rest until `spacing` after the start; requests meanwhile wait in `pending` as one. Cancelled, the
            // rest ends at once and so does the loop.
            try? await clock.sleep(until: started.advanced(by: spacing), tolerance: nil)
        }
    }
}
