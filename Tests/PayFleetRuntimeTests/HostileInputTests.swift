import Configuration
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PaymentChannels
import Testing
import _CryptoExtras

/// Hostile input on every channel, through the receiver's HTTP route: each request is answered in that channel's own
/// failure format and publishes nothing. A genuine notification posted after them is the only message published, so
/// the harness demonstrably sees a publish when there is one.
@Suite struct HostileInputTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var request: SandboxNotifier.SignedNotification
        /// 4xx: the channel should not retry it. 5xx only where the fault is our configuration (a resource sealed
        /// with a key we do not hold), so the channel retries once the operator fixes it.
        var statuses: ClosedRange<Int> = 400...499
        var description: String { name }
    }

    /// A second key of every kind, nobody's: what an attacker who does not hold the channel's key signs with.
    static let foreignKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    static let oversized = Array(repeating: UInt8(ascii: "a"), count: 9000)

    @Test(arguments: ChannelID.allCases)
    func hostileInputIsRefusedInTheChannelsFormatAndPublishesNothing(channel: ChannelID) async throws {
        let publisher = NotifyReceiverTests.RecordingPublisher()
        let reader = try await NotifyReceiverTests.sandboxReader()
        let cases = try Self.cases(channel, reader: reader, sandbox: SandboxNotifier(reader: reader))
        #expect(cases.count >= 8, "\(channel): \(cases.map(\.name))")
        try await NotifyReceiverTests.withReceiver(publisher: publisher) { client, sandbox in
            for hostile in cases {
                let reply = try await NotifyReceiverTests.execute(client, hostile.request)
                #expect(hostile.statuses.contains(reply.status), "\(channel) \(hostile.name): HTTP \(reply.status)")
                #expect(Self.isFailureFormat(channel, reply.body), "\(channel) \(hostile.name): \(reply.body.prefix(200))")
            }
            #expect(publisher.messages.isEmpty, "\(channel): hostile input was published")
            let genuine = try sandbox.paymentSucceeded(
                channel: channel, merchant: "demo", payment: .init(paymentNo: "GENUINE1", amountMinor: 777))
            #expect(try await NotifyReceiverTests.execute(client, genuine).status < 300)
        }
        #expect(publisher.messages.count == 1)
    }

    /// The channel's failure format: WeChat Pay v3 and Stripe `{"code":"FAIL","message":…}`, v2 XML return_code
    /// FAIL, Alipay `fail`, Baidu `{"errno":1,…}`.
    static func isFailureFormat(_ channel: ChannelID, _ body: String) -> Bool {
        switch channel {
        case .wechatpay, .stripe: body.hasPrefix(#"{"code":"FAIL","message":"#)
        case .wechatpayV2: body.hasPrefix("<xml><return_code><![CDATA[FAIL]]></return_code>")
        case .alipay: body == "fail"
        case .baidu: body.hasPrefix(#"{"errno":1,"msg":"#)
        }
    }

    // MARK: The cases

    static func cases(_ channel: ChannelID, reader: ConfigReader, sandbox: SandboxNotifier) throws -> [Case] {
        let payment = SandboxNotifier.Payment(paymentNo: "HOSTILE1", amountMinor: 4321, notificationID: "EV-HOSTILE")
        let genuine = try sandbox.paymentSucceeded(channel: channel, merchant: "demo", payment: payment)
        var cases: [Case] = []
        func add(_ name: String, _ change: (inout SandboxNotifier.SignedNotification) throws -> Void) rethrows {
            var request = genuine
            try change(&request)
            cases.append(Case(name: name, request: request))
        }
        // Every channel.
        // The amount where it travels in clear (WeChat Pay v3 encrypts it; the ciphertext is covered below), and
        // the payment number or event id, which every channel's signed body carries.
        if channel != .wechatpay {
            add("tampered amount") { $0.body = replacing($0.body, "4321", "4322", or: "43.21", "43.22") }
        }
        add("tampered id") { $0.body = replacing($0.body, "HOSTILE", "HOSTILF", or: nil, nil) }
        add("malformed body, signature of the original") { $0.body = Array("{not even <xml>".utf8) }
        add("oversized body") { $0.body = oversized }
        add("wrong content type") { $0.headers["Content-Type"] = "text/plain" }
        add("unknown merchant") { $0.path = "/notify/\(channel.rawValue)/nosuch" }
        add("empty body") { $0.body = [] }

        switch channel {
        case .wechatpay:
            let merchant = try WeChatPayV3Channel.merchant(reader: reader, id: "demo")
            let serial = genuine.headers["Wechatpay-Serial"] ?? ""
            let foreign = WeChatPayV3NotificationSigner(platformPrivateKey: foreignKey, serial: serial, apiV3Key: merchant.apiV3Key)
            let forged = try foreign.signTransactionSuccess(
                mchID: merchant.mchID, appID: merchant.appID, outTradeNo: "HOSTILE1", transactionID: "4200HOSTILE",
                amountMinor: 4321, successTime: Date(), id: "EV-FORGED", now: Date())
            cases.append(Case(name: "signed by another key", request: .init(path: genuine.path, headers: forged.headers, body: forged.body)))
            for (name, offset) in [("stale timestamp", -360.0), ("future timestamp", 360.0)] {
                let dated = try sandbox.paymentSucceeded(
                    channel: channel, merchant: "demo", payment: payment, signedAt: Date().addingTimeInterval(offset))
                cases.append(Case(name: name, request: dated))
            }
            for header in ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"] {
                add("missing \(header)") { $0.headers[header] = nil }
            }
            add("Wechatpay-Signature-Type not RSA") { $0.headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3" }
            add("unknown serial") { $0.headers["Wechatpay-Serial"] = "5157F09EFDC096DE15EBE81A47057A7200000000" }
            let platform = try PEMKeys.loadRSAPrivateKey(path: try Self.setting(reader, "sandbox.wechatpay.platform_private_key"))
            let own = WeChatPayV3NotificationSigner(platformPrivateKey: platform, serial: serial, apiV3Key: merchant.apiV3Key)
            for (name, mchID, appID) in [("another mchid", "1900009999", merchant.appID), ("another appid", merchant.mchID, "wx0000000000000000")] {
                let signed = try own.signTransactionSuccess(
                    mchID: mchID, appID: appID, outTradeNo: "HOSTILE1", transactionID: "4200HOSTILE", amountMinor: 4321,
                    successTime: Date(), id: "EV-\(name)", now: Date())
                cases.append(Case(name: name, request: .init(path: genuine.path, headers: signed.headers, body: signed.body)))
            }
            // Signed by the platform, but the resource does not open: another APIv3 key, or not a transaction inside.
            let otherKey = WeChatPayV3NotificationSigner(platformPrivateKey: platform, serial: serial, apiV3Key: SymmetricKey(size: .bits256))
            let sealedElsewhere = try otherKey.signTransactionSuccess(
                mchID: merchant.mchID, appID: merchant.appID, outTradeNo: "HOSTILE1", transactionID: "4200HOSTILE",
                amountMinor: 4321, successTime: Date(), id: "EV-SEALED", now: Date())
            cases.append(
                Case(
                    name: "resource sealed with another APIv3 key",
                    request: .init(path: genuine.path, headers: sealedElsewhere.headers, body: sealedElsewhere.body), statuses: 500...500))
            let garbage = try own.sign(
                eventType: "TRANSACTION.SUCCESS", id: "EV-GARBAGE", resource: Array(#"{"out_trade_no":42}"#.utf8), now: Date(), nonce: "HOSTILENONCE")
            cases.append(Case(name: "resource not a transaction", request: .init(path: genuine.path, headers: garbage.headers, body: garbage.body)))
        case .alipay:
            let merchant = try AlipayChannel.merchant(reader: reader, id: "demo")
            let body = AlipayNotificationSigner(privateKey: foreignKey).signTradeSuccess(
                appID: merchant.appID, sellerID: merchant.sellerID, outTradeNo: "HOSTILE1", tradeNo: "2026HOSTILE",
                totalAmount: 4321, notifyID: "N-FORGED", gmtPayment: Date())
            add("signed by another key") { $0.body = body }
            add("missing sign") { $0.body = removing($0.body, parameter: "sign") }
            add("sign_type RSA (SHA1)") { $0.body = replacing($0.body, "sign_type=RSA2", "sign_type=RSA", or: nil, nil) }
            let key = try PEMKeys.loadRSAPrivateKey(path: try Self.setting(reader, "sandbox.alipay.private_key"))
            for (name, appID, seller) in [("another app_id", "2021000000009999", merchant.sellerID), ("another seller_id", merchant.appID, "2088000000009999")] {
                let signed = AlipayNotificationSigner(privateKey: key).signTradeSuccess(
                    appID: appID, sellerID: seller, outTradeNo: "HOSTILE1", tradeNo: "2026HOSTILE", totalAmount: 4321,
                    notifyID: "N-\(name)", gmtPayment: Date())
                add(name) { $0.body = signed }
            }
        case .wechatpayV2:
            let merchant = try WeChatPayV2Channel.merchant(reader: reader, id: "demo")
            let forged = WeChatPayV2NotificationSigner(apiKey: Array("0123456789abcdef0123456789abcdef".utf8)).signPaymentSuccess(
                appID: merchant.appID, mchID: merchant.mchID, outTradeNo: "HOSTILE1", transactionID: "4200HOSTILE",
                totalFee: 4321, timeEnd: Date())
            add("signed with another API key") { $0.body = forged }
            add("missing sign") {
                let text = String(decoding: $0.body, as: UTF8.self)
                $0.body = Array(text.replacingOccurrences(of: #"<sign><!\[CDATA\[[^\]]*\]\]></sign>"#, with: "", options: .regularExpression).utf8)
            }
            add("XML with a DTD and an entity") {
                $0.body = Array(("<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                    + String(decoding: $0.body, as: UTF8.self).replacingOccurrences(of: "HOSTILE1", with: "&x;")).utf8)
            }
            let own = WeChatPayV2NotificationSigner(apiKey: merchant.apiKey)
            for (name, appID, mchID) in [("another appid", "wx0000000000000000", merchant.mchID), ("another mch_id", merchant.appID, "1900009999")] {
                let signed = own.signPaymentSuccess(
                    appID: appID, mchID: mchID, outTradeNo: "HOSTILE1", transactionID: "4200HOSTILE", totalFee: 4321,
                    timeEnd: Date())
                add(name) { $0.body = signed }
            }
        case .baidu:
            let merchant = try BaiduChannel.merchant(reader: reader, id: "demo")
            let forged = BaiduNotificationSigner(platformPrivateKey: foreignKey).signedBody(
                params: BaiduNotificationSigner.paymentParameters(
                    dealID: merchant.dealID, orderID: "8HOSTILE", tpOrderID: "HOSTILE1", totalMoney: 4321, payTime: Date()))
            add("signed by another key") { $0.body = forged }
            add("missing rsaSign") { $0.body = removing($0.body, parameter: "rsaSign") }
            let key = try PEMKeys.loadRSAPrivateKey(path: try Self.setting(reader, "sandbox.baidu.platform_private_key"))
            let otherDeal = BaiduNotificationSigner(platformPrivateKey: key).signedBody(
                params: BaiduNotificationSigner.paymentParameters(
                    dealID: "999999999", orderID: "8HOSTILE", tpOrderID: "HOSTILE1", totalMoney: 4321, payTime: Date()))
            add("another dealId") { $0.body = otherDeal }
        case .stripe:
            let merchant = try StripeChannel.merchant(reader: reader, id: "demo")
            let event = StripeNotificationSigner.paymentIntentEvent(
                eventID: "evt_forged", paymentIntentID: "pi_forged", outTradeNo: "HOSTILE1", amount: 4321, currency: "cny",
                created: Date())
            let forged = StripeNotificationSigner(endpointSecret: Array("whsec_not_the_endpoints_secret".utf8))
                .sign(body: event, timestamp: Date())
            cases.append(Case(name: "signed with another secret", request: .init(path: genuine.path, headers: forged.headers, body: forged.body)))
            for (name, offset) in [("stale timestamp", -600.0), ("future timestamp", 600.0)] {
                let dated = StripeNotificationSigner(endpointSecret: merchant.endpointSecrets[0])
                    .sign(body: event, timestamp: Date().addingTimeInterval(offset))
                cases.append(Case(name: name, request: .init(path: genuine.path, headers: dated.headers, body: dated.body)))
            }
            add("missing Stripe-Signature") { $0.headers["Stripe-Signature"] = nil }
            add("Stripe-Signature without v1") {
                $0.headers["Stripe-Signature"] = $0.headers["Stripe-Signature"]?.components(separatedBy: ",").first
            }
        }
        return cases
    }

    static func replacing(_ body: [UInt8], _ a: String, _ b: String, or c: String?, _ d: String?) -> [UInt8] {
        let text = String(decoding: body, as: UTF8.self)
        if text.contains(a) { return Array(text.replacingOccurrences(of: a, with: b).utf8) }
        if let c, let d, text.contains(c) { return Array(text.replacingOccurrences(of: c, with: d).utf8) }
        Issue.record("the body holds neither \(a) nor \(c ?? "-"): nothing to tamper with")
        return body
    }

    /// The form body without `parameter`.
    static func removing(_ body: [UInt8], parameter: String) -> [UInt8] {
        let pairs = String(decoding: body, as: UTF8.self).split(separator: "&").filter { !$0.hasPrefix(parameter + "=") }
        return Array(pairs.joined(separator: "&").utf8)
    }

    static func setting(_ reader: ConfigReader, _ key: String) throws -> String {
        guard let value = reader.string(forKey: ConfigKey(key)) else { throw TestServicesError("\(key) is not set") }
        return value
    }
}
