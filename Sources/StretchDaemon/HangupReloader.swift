import ServiceLifecycle
import UnixSignals

/// Reloads the config on SIGHUP, as `systemctl --user reload stretchd` sends it.
public struct HangupReloader<C: Clock>: Service where C.Duration == Duration {
    private let daemon: Daemon<C>

    public init(daemon: Daemon<C>) { self.daemon = daemon }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups { _ = await daemon.reload() }
        }
    }
}
