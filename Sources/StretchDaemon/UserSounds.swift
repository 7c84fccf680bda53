import EpollExecutor
import Logging
import StretchAudio
import StretchSettings
import Synchronization

/// The cue sounds with the user's overrides, read the first time a break needs them rather than at start-up:
/// reading and decoding a dozen WAV files would delay READY by 10-15 ms. Read once, on `BlockingThread.shared`
/// (never on the event loop); a file that cannot be used is logged then, once, and its built-in sound kept.
public final class UserSounds: Sendable {
    private let reading: Mutex<Task<SoundSet, Never>?> = Mutex(nil)
    private let directory: String
    private let logger: Logger

    public init(overridesIn directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// The sounds, read on the first call; later and concurrent calls wait for the same read.
    public func sounds() async -> SoundSet {
        let task = reading.withLock { reading in
            if let reading { return reading }
            let directory = directory, logger = logger
            let task = Task {
                let (sounds, problems) = await BlockingThread.shared.run { SoundSet.load(overridesIn: directory) }
                for problem in problems { logger.warning("using the built-in sound instead of \(problem)") }
                return sounds
            }
            reading = task
            return task
        }
        return await task.value
    }
}
