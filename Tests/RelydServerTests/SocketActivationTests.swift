import RelydServer
import Testing

/// Reading systemd's socket-activation variables (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES).
@Suite struct SocketActivationTests {
    /// Without the variables relyd binds its configured path.
    @Test func noVariables_isNotActivated() {
        #expect(SocketActivation(environment: [:], pid: 42) == .notActivated)
        #expect(SocketActivation(environment: ["LISTEN_FDS": "1"], pid: 42) == .notActivated)
        #expect(SocketActivation(environment: [:], pid: 42).listeningDescriptor == nil)
    }

    /// Our pid and one descriptor: fd 3 is adopted, with its name.
    @Test func ourPidAndOneDescriptor_adoptsDescriptorThree() {
        let activation = SocketActivation(
            environment: ["LISTEN_PID": "42", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "relyd"], pid: 42)
        #expect(activation == .activated(count: 1, names: ["relyd"]))
        #expect(activation.listeningDescriptor == 3)
        #expect(activation.extraDescriptors.isEmpty)
    }

    /// Variables meant for another process (an activated parent) are ignored.
    @Test func anotherPid_isIgnored() {
        let activation = SocketActivation(environment: ["LISTEN_PID": "41", "LISTEN_FDS": "1"], pid: 42)
        #expect(activation == .ignored(reason: "LISTEN_PID is another process"))
        #expect(activation.listeningDescriptor == nil)
    }

    /// Malformed or zero counts and pids are ignored, never trusted.
    @Test func malformedValues_areIgnored() {
        for (pid, count) in [("42", "0"), ("42", "-1"), ("42", "x"), ("x", "1"), ("0", "1"), ("42", "")] {
            let activation = SocketActivation(environment: ["LISTEN_PID": pid, "LISTEN_FDS": count], pid: 42)
            #expect(activation.listeningDescriptor == nil, "LISTEN_PID=\(pid) LISTEN_FDS=\(count)")
            #expect(activation != .notActivated)
        }
    }

    /// Several descriptors: the first is served, the others are reported for closing; names that do not match
    /// the count are dropped.
    @Test func severalDescriptors_servesTheFirstAndListsTheRest() {
        let activation = SocketActivation(
            environment: ["LISTEN_PID": "42", "LISTEN_FDS": "3", "LISTEN_FDNAMES": "a:b"], pid: 42)
        #expect(activation == .activated(count: 3, names: []))
        #expect(activation.listeningDescriptor == 3)
        #expect(activation.extraDescriptors == [4, 5])
    }
}
