import AsyncHTTPClient
import Configuration
import Foundation
import NIOCore
import NIOHTTP1
import PayFleetMessages
import PayFleetRuntime
import PaymentChannels

/// Plays a channel locally: builds the notification the channel would send for a paid
/// payment, signed for real with the channel's TEST-ONLY sandbox keys, and posts it to the
/// receiver. Used by `payfleet sandbox pay`, `scripts/up`'s demo and the integration tests.
///
/// Keys: `sandbox.receiver_url` (default http://127.0.0.1:8080),
/// `sandbox.wechatpay.platform_private_key`, `sandbox.wechatpay.platform_certificate`
/// (the serial the notification names), `sandbox.alipay.private_key`,
/// `sandbox.baidu.platform_private_key`; the merchant's ids, API keys and Stripe endpoint
/// secret come from its `channels.<channel>.<merchant>` settings.
public struct SandboxNotifier: Sendable {
    /// A notification ready to post: where, which headers, which bytes.
    public struct SignedNotification: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: [UInt8]

        public init(path: String, headers: [String: String], body: [UInt8]) {
            self.path = path
            self.headers = headers
            self.body = body
        }
    }

    /// What the receiver answered.
    public struct Reply: Sendable, Equatable {
        public var status: Int
        public var body: String

        public init(status: Int, body: String) {
            self.status = status
            self.body = body
        }
    }

    /// A paid payment, as the channel reports it.
    public struct Payment: Sendable {
        public var paymentNo: String
        public var amountMinor: Int64
        public var currency: String
        public var channelTradeNo: String
        public var notificationID: String
        public var paidAt: Date

        public init(
            paymentNo: String, amountMinor: Int64, currency: String = "CNY", channelTradeNo: String? = nil,
            notificationID: String? = nil, paidAt: Date = Date()
        ) {
            self.paymentNo = paymentNo
            self.amountMinor = amountMinor
            self.currency = currency
            let token = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20)
            self.channelTradeNo = channelTradeNo ?? "42000\(token)"
            self.notificationID = notificationID ?? "EV-\(token)"
            self.paidAt = paidAt
        }
    }

    let reader: ConfigReader
    public let receiverURL: String

    public init(reader: ConfigReader, receiverURL: String? = nil) {
        self.reader = reader
        self.receiverURL = receiverURL ?? reader.string(forKey: "sandbox.receiver_url", default: "http://127.0.0.1:8080")
    }

    /// The signed notification `channel` sends to `merchant` for `payment`; `signedAt` is the
    /// signature's timestamp (WeChat Pay rejects ones more than 5 minutes off).
    public func paymentSucceeded(
        channel: ChannelID, merchant: String, payment: Payment, signedAt: Date = Date()
    ) throws -> SignedNotification {
        let path = "/notify/\(channel.rawValue)/\(merchant)"
        switch channel {
        case .wechatpay:
            let (signer, m) = try wechatPaySigner(merchant: merchant)
            let signed = try signer.signTransactionSuccess(
                mchID: m.mchID, appID: m.appID, outTradeNo: payment.paymentNo, transactionID: payment.channelTradeNo,
                amountMinor: payment.amountMinor, currency: payment.currency, successTime: payment.paidAt,
                id: payment.notificationID, now: signedAt)
            return SignedNotification(path: path, headers: signed.headers, body: signed.body)
        case .alipay:
            let m = try AlipayChannel.merchant(reader: reader, id: merchant)
            let key = try PEMKeys.loadRSAPrivateKey(path: try reader.requiredSetting("sandbox.alipay.private_key"))
            let body = AlipayNotificationSigner(privateKey: key).signTradeSuccess(
                appID: m.appID, sellerID: m.sellerID, outTradeNo: payment.paymentNo, tradeNo: payment.channelTradeNo,
                totalAmount: payment.amountMinor, notifyID: payment.notificationID, gmtPayment: payment.paidAt)
            return SignedNotification(
                path: path, headers: ["Content-Type": AlipayNotificationSigner.contentType], body: body)
        case .wechatpayV2:
            let m = try WeChatPayV2Channel.merchant(reader: reader, id: merchant)
            let body = WeChatPayV2NotificationSigner(apiKey: m.apiKey).signPaymentSuccess(
                appID: m.appID, mchID: m.mchID, outTradeNo: payment.paymentNo, transactionID: payment.channelTradeNo,
                totalFee: payment.amountMinor, timeEnd: payment.paidAt)
            return SignedNotification(
                path: path, headers: ["Content-Type": WeChatPayV2NotificationSigner.contentType], body: body)
        case .baidu:
            let m = try BaiduChannel.merchant(reader: reader, id: merchant)
            let key = try PEMKeys.loadRSAPrivateKey(path: try reader.requiredSetting("sandbox.baidu.platform_private_key"))
            let body = BaiduNotificationSigner(platformPrivateKey: key).signedBody(
                params: BaiduNotificationSigner.paymentParameters(
                    dealID: m.dealID, orderID: payment.channelTradeNo, tpOrderID: payment.paymentNo,
                    totalMoney: payment.amountMinor, payTime: payment.paidAt))
            return SignedNotification(path: path, headers: ["Content-Type": BaiduNotificationSigner.contentType], body: body)
        case .stripe:
            let m = try StripeChannel.merchant(reader: reader, id: merchant)
            let event = StripeNotificationSigner.paymentIntentEvent(
                eventID: "evt_\(payment.notificationID)", paymentIntentID: "pi_\(payment.channelTradeNo)",
                outTradeNo: payment.paymentNo, amount: payment.amountMinor, currency: payment.currency.lowercased(),
                created: payment.paidAt)
            let signed = StripeNotificationSigner(endpointSecret: m.endpointSecrets[0]).sign(body: event, timestamp: signedAt)
            return SignedNotification(path: path, headers: signed.headers, body: signed.body)
        }
    }

    /// WeChat Pay v3's notification signer for `merchant`, keys loaded once: for load generators that sign many.
    public func wechatPaySigner(merchant: String) throws -> (signer: WeChatPayV3NotificationSigner, merchant: WeChatPayV3Merchant) {
        let m = try WeChatPayV3Channel.merchant(reader: reader, id: merchant)
        let key = try PEMKeys.loadRSAPrivateKey(path: try reader.requiredSetting("sandbox.wechatpay.platform_private_key"))
        let certificate = try PEMKeys.loadCertificate(path: try reader.requiredSetting("sandbox.wechatpay.platform_certificate"))
        return (WeChatPayV3NotificationSigner(platformPrivateKey: key, serial: certificate.serial, apiV3Key: m.apiV3Key), m)
    }

    /// Posts `notification` to the receiver and returns its reply.
    public func post(_ notification: SignedNotification, client: HTTPClient = .shared) async throws -> Reply {
        var request = HTTPClientRequest(url: receiverURL + notification.path)
        request.method = .POST
        for (name, value) in notification.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: notification.body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: body))
    }
}
