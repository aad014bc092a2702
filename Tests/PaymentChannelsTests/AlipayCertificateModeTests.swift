import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite("Alipay certificate mode")
struct AlipayCertificateModeTests {
    let signer: AlipayNotificationSigner

    init() throws {
        signer = try Sandbox.alipaySigner()
    }

    func body(signedBy signer: AlipayNotificationSigner) -> ChannelRequest {
        let params = AlipayNotificationSigner.tradeParameters(
            appID: Sandbox.alipayAppID, sellerID: Sandbox.alipaySellerID, outTradeNo: "PF20261118000048",
            tradeNo: "2026111822001400000000000048", totalAmount: 100, notifyID: "2026111800222030635000000048",
            gmtPayment: Sandbox.now, tradeStatus: "TRADE_SUCCESS")
        return ChannelRequest(
            headers: ["Content-Type": AlipayNotificationSigner.contentType], body: signer.signedBody(params: params))
    }

    @Test("the key of an Alipay public-key certificate verifies notifications")
    func certificateOnly() throws {
        let merchant = try AlipayMerchant.load(
            id: "ali-cert", appID: Sandbox.alipayAppID, sellerID: Sandbox.alipaySellerID, publicKeyFiles: [],
            alipayPublicCertFiles: [Sandbox.alipayPublicCertificate])
        #expect(merchant.publicKeys.count == 1)
        let plain = try PEMKeys.loadRSAPublicKey(path: Sandbox.alipayPublicKey)
        #expect(merchant.publicKeys[0].derRepresentation == plain.derRepresentation)
        let result = try AlipayVerifier(merchant: merchant).verify(body(signedBy: signer), now: Sandbox.now)
        guard case .payment(let payment) = result else {
            Issue.record("expected a payment, got \(result)")
            return
        }
        #expect(payment.merchant == "ali-cert")
        #expect(payment.amountMinor == 100)
    }

    @Test("key files and certificates are live side by side, e.g. while switching modes")
    func mixed() throws {
        let otherKeyFile = try TemporaryFile(contents: try otherPublicKeyPEM())
        let merchant = try AlipayMerchant.load(
            id: "ali-mixed", appID: Sandbox.alipayAppID, sellerID: nil, publicKeyFiles: [otherKeyFile.path],
            alipayPublicCertFiles: [Sandbox.alipayPublicCertificate])
        #expect(merchant.publicKeys.count == 2)
        let verifier = AlipayVerifier(merchant: merchant)
        let other = AlipayNotificationSigner(
            privateKey: try PEMKeys.loadRSAPrivateKey(path: Sandbox.platformPrivateKey))
        #expect(throws: Never.self) { try verifier.verify(body(signedBy: signer), now: Sandbox.now) }
        #expect(throws: Never.self) { try verifier.verify(body(signedBy: other), now: Sandbox.now) }
    }

    @Test("at least one file is required; a file that is not a certificate is named")
    func loading() throws {
        let none = #expect(throws: ChannelError.self) {
            try AlipayMerchant.load(
                id: "a", appID: Sandbox.alipayAppID, sellerID: nil, publicKeyFiles: [], alipayPublicCertFiles: [])
        }
        #expect(none?.code == .keyFile)
        let notCertificate = #expect(throws: ChannelError.self) {
            try AlipayMerchant.load(
                id: "a", appID: Sandbox.alipayAppID, sellerID: nil, publicKeyFiles: [],
                alipayPublicCertFiles: [Sandbox.alipayPublicKey])
        }
        #expect(notCertificate?.code == .keyFile)
        #expect(notCertificate?.description.contains(Sandbox.alipayPublicKey) == true)
        // The original overload is unchanged.
        let plain = try AlipayMerchant.load(
            id: "a", appID: Sandbox.alipayAppID, sellerID: nil, publicKeyFiles: [Sandbox.alipayPublicKey])
        #expect(plain.publicKeys.count == 1)
    }

    func otherPublicKeyPEM() throws -> String {
        try PEMKeys.loadRSAPrivateKey(path: Sandbox.platformPrivateKey).publicKey.pemRepresentation
    }
}
