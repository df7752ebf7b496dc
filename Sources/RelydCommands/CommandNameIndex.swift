import RelydBasics

/// Finds a command's place in ``CommandTable/handlers`` from its wire name, once per request.
///
/// A `Dictionary` hashed the name with seeded SipHash and finalised it, about 300 instructions of a `health`
/// request's 15,000 (a fifth of the dispatcher's own work). The names are few and fixed at start-up, so an
/// open-addressed table keyed by FNV-1a of the name's bytes finds them in a fraction of that. A hostile name cannot
/// make it slow: the table never changes after `init` and always keeps free slots, so a lookup probes at most every
/// slot once, and the slot count is a small multiple of the command count.
///
/// Names are compared as they are hashed, byte for byte: a name spelled with other code points is another name,
/// even one `String`'s `==` would call canonically equivalent (`K`, U+212A, and `K`).
struct CommandNameIndex: Sendable {
    private let names: [[UInt8]]
    /// For each slot, a position in `names`, or -1 for a free slot. At least three in four slots are free.
    private let slots: [Int]
    private let mask: Int

    /// Indexes `names` by position; of two equal names the first is found.
    init(_ names: [String]) {
        let names = names.map { Array($0.utf8) }
        var capacity = 8
        while capacity < names.count * 4 { capacity *= 2 }
        var slots = Array(repeating: -1, count: capacity)
        for (position, name) in names.enumerated() {
            var slot = name.withUnsafeBufferPointer(Self.hash) & (capacity - 1)
            while slots[slot] >= 0, names[slots[slot]] != name { slot = (slot + 1) & (capacity - 1) }
            if slots[slot] < 0 { slots[slot] = position }
        }
        self.names = names
        self.slots = slots
        self.mask = capacity - 1
    }

    /// The position of `name` in the names given to `init`, nil when it is not one of them.
    func position(of name: String) -> Int? {
        name.withContiguousUTF8(position(ofBytes:))
    }

    private func position(ofBytes bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Self.hash(bytes) & mask
        while true {
            let position = slots[slot]
            if position < 0 { return nil }
            if names[position].withUnsafeBufferPointer({ $0.hasSameBytes(as: bytes) }) { return position }
            slot = (slot + 1) & mask
        }
    }

    /// FNV-1a (64-bit), folded so that the low bits, which pick the slot, depend on every byte.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }
}
