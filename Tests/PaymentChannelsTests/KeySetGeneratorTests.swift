import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

/// A generated key set works end to end: the merchant loaders accept its files and a
/// notification signed with its private halves verifies with its public halves.
struct KeySetGeneratorTests {
    @Test func aGeneratedSetLoadsAndSignsNotificationsThatVerify() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try KeySetGenerator.generate()
        #expect(files.allSatisfy { $0.name.contains("TEST-ONLY") })
        // The same names as the committed set, so a generated set can replace it.
        let committed = try FileManager.default.contentsOfDirectory(
            atPath: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/sandbox").path)
        #expect(Set(files.map(\.name)) == Set(committed.filter { $0.contains("TEST-ONLY") }))
        #expect(Set(files.map(\.name)).count == files.count)
        for file in files {
            try file.contents.write(to: directory.appendingPathComponent(file.name), atomically: true, encoding: .utf8)
        }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        // WeChat Pay v3: certificate-mode key and public-key-mode key both verify.
        let merchant = try WeChatPayV3Merchant.load(
            id: "gen", mchID: "1900000109", appID: "wxgen",
            apiV3KeyFile: path("wechatpay-apiv3-key-TEST-ONLY.txt"),
            platformCertificateFiles: [path("wechatpay-platform-cert-TEST-ONLY.pem")],
            publicKeys: [
                (
                    id: KeySetGenerator.weChatPublicKeyID,
                    path: path("wechatpay-public-key-\(KeySetGenerator.weChatPublicKeyID)-TEST-ONLY.pem")
                )
            ])
        let certificate = try PEMKeys.loadCertificate(path: path("wechatpay-platform-cert-TEST-ONLY.pem"))
        #expect(certificate.serial.count == 40)
        let signer = WeChatPayV3NotificationSigner(
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: path("wechatpay-platform-private-key-TEST-ONLY.pem")),
            serial: certificate.serial, apiV3Key: merchant.apiV3Key)
        let now = Date()
        let signed = try signer.signTransactionSuccess(
            mchID: "1900000109", appID: "wxgen", outTradeNo: "GEN1", transactionID: "4200GEN1", amountMinor: 100,
            successTime: now, id: "EV-GEN", now: now)
        let verified = try WeChatPayV3Verifier(merchant: merchant).verify(
            ChannelRequest(headers: signed.headers, body: signed.body), now: now)
        guard case .payment(let payment) = verified else {
            Issue.record("expected a payment, got \(verified)")
            return
        }
        #expect(payment.amountMinor == 100)

        // Alipay: the generated pair signs and verifies.
        let alipay = try AlipayMerchant.load(
            id: "gen", appID: "2021000000000009", sellerID: nil,
            publicKeyFiles: [path("alipay-public-key-TEST-ONLY.pem")])
        let body = AlipayNotificationSigner(
            privateKey: try PEMKeys.loadRSAPrivateKey(path: path("alipay-private-key-TEST-ONLY.pem"))
        ).signTradeSuccess(
            appID: "2021000000000009", sellerID: nil, outTradeNo: "GEN2", tradeNo: "2026GEN2", totalAmount: 8888,
            notifyID: "N-GEN", gmtPayment: now)
        #expect(throws: Never.self) {
            try AlipayVerifier(merchant: alipay).verify(ChannelRequest(headers: [:], body: body), now: now)
        }

        // The other channels' secrets and keys load.
        let v2 = try WeChatPayV2Merchant.load(
            id: "gen", mchID: "1", appID: "wx", apiKeyFile: path("wechatpay-v2-api-key-TEST-ONLY.txt"))
        #expect(v2.apiKey.count == 32)
        let stripe = try StripeMerchant.load(id: "gen", endpointSecretFiles: [path("stripe-endpoint-secret-TEST-ONLY.txt")])
        #expect(stripe.endpointSecrets.count == 1)
        let baidu = try BaiduMerchant.load(
            id: "gen", appKey: "k", dealID: "1", platformPublicKeyFiles: [path("baidu-platform-public-key-TEST-ONLY.pem")])
        #expect(baidu.platformPublicKeys.count == 1)
        // The Baidu developer key signs orderInfo that its public half verifies; the Stripe secret key loads.
        let developer = try BaiduRequestSigner.load(
            appKey: "k", privateKeyFile: path("baidu-developer-private-key-TEST-ONLY.pem"))
        let orderInfoSign = try #require(Data(base64Encoded: developer.sign(["tpOrderId": "PF1", "totalAmount": "1"])))
        #expect(
            try PEMKeys.loadRSAPublicKey(path: path("baidu-developer-public-key-TEST-ONLY.pem")).isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: orderInfoSign),
                for: Insecure.SHA1.hash(data: Array("totalAmount=1&tpOrderId=PF1".utf8)), padding: .insecurePKCS1v1_5))
        #expect(try StripeSecretKey.load(path: path("stripe-secret-key-TEST-ONLY.txt")).isTestMode)

        // Two runs never produce the same secrets.
        let again = try KeySetGenerator.generate()
        #expect(
            again.first { $0.name == "wechatpay-apiv3-key-TEST-ONLY.txt" }
                != files.first { $0.name == "wechatpay-apiv3-key-TEST-ONLY.txt" })
    }
}
