import PaymentChannels
import Testing

@Suite("ChannelRequest and ChannelError")
struct ChannelErrorTests {
    @Test("headers are matched case-insensitively")
    func headers() {
        let request = ChannelRequest(headers: ["Wechatpay-Serial": "ABC", "CONTENT-TYPE": "text/plain"], body: [])
        #expect(request.headers == ["wechatpay-serial": "ABC", "content-type": "text/plain"])
        #expect(request.header("wechatpay-serial") == "ABC")
        #expect(request.header("WECHATPAY-SERIAL") == "ABC")
        #expect(request.header("Content-Type") == "text/plain")
        #expect(request.header("Wechatpay-Nonce") == nil)
    }

    @Test("codes map to the suggested HTTP statuses")
    func statuses() {
        let expected: [(ChannelError.Code, Int)] = [
            (.badSignature, 401), (.unknownKey, 401), (.staleTimestamp, 401), (.missingHeader, 401),
            (.malformedBody, 400), (.merchantMismatch, 400), (.unsupportedContentType, 415),
            (.decryptionFailed, 500), (.keyFile, 500),
        ]
        for (code, status) in expected {
            #expect(ChannelError(code: code, message: "m").httpStatus == status, "\(code)")
        }
    }

    @Test("description is plain; debugDescription adds detail")
    func descriptions() {
        let error = ChannelError(code: .badSignature, message: "signature does not verify", detail: "serial X")
        #expect(error.description == "bad_signature: signature does not verify")
        #expect(error.debugDescription.contains("serial X"))
        #expect(!error.description.contains("serial X"))
        #expect(ChannelError.Code.unsupportedContentType.description == "unsupported_content_type")
        #expect(!error.isProbe)
    }
}
