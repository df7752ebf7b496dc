/// Finds a command's place in ``CommandTable/handlers`` from its wire name, once per request.
///
/// A `Dictionary` hashed the name with seeded SipHash and finalised it, about 300 instructions of a `health`
/// request's 15,000 (a fifth of the dispatcher's own work). The names are few and fixed at start-up, so an
/// open-addressed table keyed by FNV-1a of the name's bytes finds them in a fraction of that. A hostile name cannot
/// make it slow: the table never changes after `init` and always keeps free slots, so a lookup probes at most every
/// slot once, and the slot count is a small multiple of the command count.
struct CommandNameIndex: Sendable {
    private let names: [String]
    /// For each slot, a position in `names`, or -1 for a free slot. At least three in four slots are free.
    private let slots: [Int]
    private let mask: Int

    /// Indexes `names` by position; of two equal names the first is found.
    init(_ names: [String]) {
        var capacity = 8
        while capacity < names.count * 4 { capacity *= 2 }
        var slots = Array(repeating: -1, count: capacity)
        for (position, name) in names.enumerated() {
            var slot = Self.hash(name) & (capacity - 1)
            while slots[slot] >= 0, names[slots[slot]] != name { slot = (slot + 1) & (capacity - 1) }
            if slots[slot] < 0 { slots[slot] = position }
        }
        self.names = names
        self.slots = slots
        self.mask = capacity - 1
    }

    /// The position of `name` in the names given to `init`, nil when it is not one of them.
    func position(of name: String) -> Int? {
        var slot = Self.hash(name) & mask
        while true {
            let position = slots[slot]
            if position < 0 { return nil }
            if names[position] == name { return position }
            slot = (slot + 1) & mask
        }
    }

    /// FNV-1a (64-bit) of the UTF-8 bytes, folded so that the low bits, which pick the slot, depend on all of them.
    /// Read from the string's contiguous bytes: iterating `utf8` by index cost 40 instructions a byte.
    private static func hash(_ name: String) -> Int {
        if let hash = name.utf8.withContiguousStorageIfAvailable(hash) { return hash }
        var contiguous = name
        return contiguous.withUTF8(hash)
    }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }
}
