import EpollExecutor
import Logging
import StretchHistory

/// Appends the daemon's history records beside its loop, in order, each written and fsync'd on the blocking-work
/// thread; tells the loop what was written (`.recorded`), and when everything queued before a `flush` is written
/// (`.recordsWritten`), so that a machine about to sleep waits for the session's record and no longer.
final class HistoryWriter: Sendable {
    private enum Job: Sendable {
        case append(HistoryRecord)
        case flush(Waiter)
    }

    private let jobs: AsyncStream<Job>.Continuation
    private let writing: Task<Void, Never>

    init(store: HistoryStore, inbox: AsyncStream<DaemonInput>.Continuation, logger: Logger) {
        let (queued, jobs) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .unbounded)
        self.jobs = jobs
        writing = Task {
            for await job in queued {
                switch job {
                case .append(let record):
                    do {
                        try await BlockingThread.shared.run { () throws(HistoryStore.WriteError) in try store.append(record) }
                        inbox.yield(.recorded(record))
                    } catch {
                        logger.error("cannot record history", metadata: ["error": "\(error)"])
                    }
                case .flush(let waiter):
                    if case .terminated = inbox.yield(.recordsWritten([waiter])) {
                        DaemonLoopEnd.answer(.recordsWritten([waiter]))
                    }
                }
            }
        }
    }

    func append(_ record: HistoryRecord) { jobs.yield(.append(record)) }

    /// Posts `.recordsWritten([waiter])` once every record appended before is written.
    func flush(then waiter: Waiter) { jobs.yield(.flush(waiter)) }

    /// Writes what is queued, then returns; nothing is taken after.
    func finish() async {
        jobs.finish()
        await writing.value
    }
}
