extension Duration {
    /// The milliseconds that have fully elapsed, rounded toward zero (10.9 ms is 10, −1.5 ms is −1), as a latency
    /// bucket or a log line counts them; a duration beyond `Int64`'s range of milliseconds saturates at its bound
    /// instead of trapping.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components  // both carry the duration's sign
        let (secondsPart, overflowed) = seconds.multipliedReportingOverflow(by: 1000)
        let (total, overflowedAgain) = secondsPart.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !overflowed, !overflowedAgain else { return seconds < 0 ? .min : .max }
        return total
    }
}
