import PaymentChannels
import Testing

@Suite("ConstantTime")
struct ConstantTimeTests {
    @Test("compares bytes, lengths included")
    func equals() {
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals(Array("digest".utf8), Array("digest".utf8)))
        #expect(!ConstantTime.equals(Array("digest".utf8), Array("digesT".utf8)))
        #expect(!ConstantTime.equals(Array("digest".utf8), Array("diges".utf8)))
        #expect(!ConstantTime.equals(Array("diges".utf8), Array("digest".utf8)))
        #expect(!ConstantTime.equals([0], [UInt8]()))
        #expect(!ConstantTime.equals([UInt8](repeating: 0, count: 256), [UInt8]()))
    }
}
