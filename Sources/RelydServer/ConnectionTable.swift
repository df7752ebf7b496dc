/// An event loop's connections, found by the token epoll hands back with each of their events.
///
/// A token is the connection's slot in an array, with the slot's generation above it. Finding the connection of an
/// event is then an array read, where a dictionary keyed by connection id hashed the id on every event (about 140
/// instructions of a `health` request's 10,100). The generation changes each time a slot is freed, so an event still
/// queued for a connection closed earlier in the turn cannot reach the connection that took its slot since. Slots
/// stay below 2^32 and so tokens below the loop's reserved ones (`UInt64.max`, `UInt64.max - 1`). Loop thread only.
struct ConnectionTable {
    private var slots: [(generation: UInt32, connection: Connection?)] = []
    private var freeSlots: [Int] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Every connection in the table.
    var all: [Connection] { slots.compactMap(\.connection) }

    /// Adds the connection `make` builds for the token it is given.
    mutating func add(_ make: (_ token: UInt64) -> Connection) -> Connection {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = slots.count
            slots.append((generation: 0, connection: nil))
        }
        let connection = make(UInt64(slots[slot].generation) << 32 | UInt64(slot))
        slots[slot].connection = connection
        count += 1
        return connection
    }

    /// The connection `token` was given to, if it is still in the table.
    subscript(token: UInt64) -> Connection? {
        guard let slot = slot(of: token) else { return nil }
        return slots[slot].connection
    }

    /// Removes the connection `token` was given to; false when it was not in the table.
    @discardableResult
    mutating func remove(token: UInt64) -> Bool {
        guard let slot = slot(of: token), slots[slot].connection != nil else { return false }
        slots[slot].connection = nil
        slots[slot].generation &+= 1
        freeSlots.append(slot)
        count -= 1
        return true
    }

    mutating func removeAll() {
        slots = []
        freeSlots = []
        count = 0
    }

    private func slot(of token: UInt64) -> Int? {
        let slot = Int(truncatingIfNeeded: token & 0xFFFF_FFFF)
        guard slot < slots.count, slots[slot].generation == UInt32(truncatingIfNeeded: token >> 32) else { return nil }
        return slot
    }
}
