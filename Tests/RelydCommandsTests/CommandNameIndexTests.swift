@testable import RelydCommands
import Testing

/// The dispatcher's lookup of a command by its wire name.
@Suite struct CommandNameIndexTests {
    /// Every command of the table is found at its own place, which is where its counters are kept.
    @Test func everyCommand_isFoundAtItsPlace() {
        for (index, handler) in CommandTable.handlers.enumerated() {
            let found = CommandTable.handler(named: handler.commandName)
            #expect(found?.index == index)
            #expect(found.map { $0.handler == handler } == true)
        }
    }

    /// Names that are not commands are not found, however close to one they are.
    @Test(arguments: ["", "healt", "health ", "Health", "healthh", "get_site\u{0}", "gét_site", "get_sitE",
                      String(repeating: "x", count: 10_000)])
    func otherNames_areNotFound(_ name: String) {
        #expect(CommandTable.handler(named: name) == nil)
    }

    /// A full probe sequence ends: with more names than the first size fits, colliding names and duplicates, every
    /// name is found at its first place and an unknown one is refused.
    @Test func manyNamesAndDuplicates_areIndexedByTheirFirstPlace() {
        let names = (0..<100).map { "command_\($0 % 60)" }
        let index = CommandNameIndex(names)
        for (position, name) in names.enumerated() {
            #expect(index.position(of: name) == (position < 60 ? position : position - 60))
        }
        #expect(index.position(of: "command_60") == nil)
        #expect(CommandNameIndex([]).position(of: "health") == nil)
    }

    /// Names are compared as bytes, as they are hashed: canonically equivalent spellings are other names, and two
    /// such names given to `init` keep their own places.
    @Test func canonicallyEquivalentSpellings_areOtherNames() {
        let index = CommandNameIndex(["get_K", "caf\u{e9}", "cafe\u{301}"])
        #expect(index.position(of: "get_\u{212A}") == nil)
        #expect(index.position(of: "get_K") == 0)
        #expect(index.position(of: "caf\u{e9}") == 1)
        #expect(index.position(of: "cafe\u{301}") == 2)
    }
}
