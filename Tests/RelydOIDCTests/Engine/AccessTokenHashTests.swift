import RelydBasics
import RelydOIDC
import Testing

/// The store key of an access token: SHA-256, lower-case hex, leading zeros kept.
@Suite struct AccessTokenHashTests {
    @Test func isLowerCaseHexOfSHA256() throws {
        // FIPS 180-2 test vector; its digest has bytes below 0x10 (0x01, 0x03, 0x00), which must keep their zero.
        #expect(try AccessTokenHash.of(Secret("abc"))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
