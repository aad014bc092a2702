import PaymentChannels
import Testing

@Suite("Money")
struct MoneyTests {
    @Test(
        "parses exact decimals into minor units",
        arguments: [
            ("88.88", 8888), ("0.01", 1), ("100", 10000), ("100.5", 10050), ("0", 0), ("0.00", 0),
            ("007.50", 750), ("92233720368547758.07", Int64.max),
        ] as [(String, Int64)])
    func parses(_ text: String, _ minor: Int64) throws {
        #expect(try Money.parseDecimal(text) == minor)
    }

    @Test(
        "rejects what is not a plain decimal",
        arguments: [
            "", "-1.00", "+1.00", "1e3", "1E3", " 1.00", "1.00 ", "1 00", "1.001", ".5", "5.", "1..0", "1.0.0",
            "92233720368547758.08", "99999999999999999999", "١٢٣", "１２３", "0x10", "1,00", "NaN", "∞",
        ])
    func rejects(_ text: String) {
        #expect {
            try Money.parseDecimal(text)
        } throws: { error in
            (error as? ChannelError)?.code == .malformedBody
        }
    }

    @Test("honours the exponent")
    func exponent() throws {
        #expect(try Money.parseDecimal("12", exponent: 0) == 12)
        #expect(throws: ChannelError.self) { try Money.parseDecimal("12.5", exponent: 0) }
        #expect(try Money.parseDecimal("1.234", exponent: 3) == 1234)
        #expect(try Money.parseDecimal("1.2", exponent: 3) == 1200)
    }

    @Test(
        "formats minor units",
        arguments: [
            (8888, "88.88"), (1, "0.01"), (10, "0.10"), (0, "0.00"), (10000, "100.00"), (-150, "-1.50"),
            (Int64.max, "92233720368547758.07"),
        ] as [(Int64, String)])
    func formats(_ minor: Int64, _ text: String) {
        #expect(Money.formatDecimal(minor) == text)
    }

    @Test("formats with other exponents and round-trips")
    func formatsOtherExponents() throws {
        #expect(Money.formatDecimal(8888, exponent: 0) == "8888")
        #expect(Money.formatDecimal(5, exponent: 3) == "0.005")
        for minor: Int64 in [0, 1, 99, 100, 12345, 999_999_999] {
            #expect(try Money.parseDecimal(Money.formatDecimal(minor)) == minor)
        }
    }
}
