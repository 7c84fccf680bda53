@testable import EpollExecutor
import StretchDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// notify-send's children are reaped through their pidfd on the event loop, not by a thread of their own.
@Suite(.timeLimit(.minutes(1))) struct ChildReaperTests {
    @Test func aChildIsReapedWhenItExits() async throws {
        let loop = EpollLoop()
        loop.startThread()
        defer { loop.stop() }
        // A child that waits until it is told to exit, so the reaper must wait for it.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", "read line"].map { (text: String) in strdup(text) } + [nil]
        defer { argv.forEach { free($0) } }
        #expect(posix_spawn(&pid, "/bin/sh", &actions, nil, &argv, environ) == 0)
        close(fds[0])
        let reaped = ChildReaper.reap(pid, on: loop)
        // It waits on the loop for the child's pidfd; the child is still there.
        for _ in 0..<1_000_000 where loop.waiterCount == 0 { await Task.yield() }
        #expect(loop.waiterCount == 1)
        #expect(kill(pid, 0) == 0)
        close(fds[1])
        await reaped.value
        // Reaped: no zombie is left (a zombie could still be signalled).
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        #expect(loop.waiterCount == 0)
    }
}
