import Clocks

extension TestClock<Duration> {
    /// Waits until some task is actually asleep on this clock.
    ///
    /// Code under test announces a sleep just before it starts it; advancing the clock in between would move
    /// time past a deadline nobody is waiting for yet, and the sleep that follows would never end.
    public func waitForSleeper() async {
        // `checkSuspension` throws exactly when a sleep is pending.
        while (try? await checkSuspension()) != nil { await Task.yield() }
    }
}
