@_spi(ExperimentalCustomExecutors) import _Concurrency
@_spi(ExperimentalCustomExecutors) import EpollExecutor

/// The process's main and default executor: one epoll loop on the main thread, so the idle daemon never wakes
/// (libdispatch's executors, Swift's default on Linux, wake the process every second).
typealias DefaultExecutorFactory = EpollExecutorFactory
