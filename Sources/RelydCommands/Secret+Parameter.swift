import RelydBasics
import RelydProtocol

extension Secret {
    /// A token parameter, kept secret from here on. An empty one is refused with `invalid_parameter` before any
    /// OP call: the OP could only refuse it too, one round trip later and in its own words.
    init(nonEmptyParameter value: String, named name: String) throws(RelydError) {
        guard !value.isEmpty else { throw RelydError(.invalidParameter, "'params.\(name)' must not be empty") }
        self.init(value)
    }
}
