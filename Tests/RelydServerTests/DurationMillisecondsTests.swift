import RelydBasics
import Testing

@Suite struct DurationMillisecondsTests {
    @Test func wholeMilliseconds_roundsTowardZero() {
        #expect(Duration.zero.wholeMilliseconds == 0)
        #expect(Duration.microseconds(999).wholeMilliseconds == 0)
        #expect(Duration.microseconds(10_900).wholeMilliseconds == 10)
        #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
        #expect(Duration.seconds(2).wholeMilliseconds == 2000)
        #expect((Duration.seconds(1) + .nanoseconds(999_999_999)).wholeMilliseconds == 1999)
        #expect(Duration.microseconds(-1500).wholeMilliseconds == -1)
        #expect(Duration.seconds(-3).wholeMilliseconds == -3000)
    }

    @Test func wholeMilliseconds_saturatesOutsideInt64() {
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
        #expect(Duration.seconds(Int64.min).wholeMilliseconds == .min)
        #expect(Duration.milliseconds(Int64.max).wholeMilliseconds == .max)
        #expect(Duration.milliseconds(Int64.min).wholeMilliseconds == .min)
        #expect((Duration.seconds(Int64.max / 1000) + .milliseconds(999)).wholeMilliseconds == .max)
    }
}
