import Foundation
import PayFleetMessages
import PaymentChannels

/// What PayFleet's parsers must survive: every byte string. Each target runs one input through one parser and checks
/// what must hold of any input it accepts (a round trip gives the same thing back); a violated property traps, which
/// libFuzzer reports as a crash. Shared by the `payfleet-fuzz` executable (libFuzzer's `LLVMFuzzerTestOneInput`, or
/// replaying files) and by the regression tests that keep every crash found.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The WeChat Pay v2 XML parser: a document it accepts renders and parses back to the same fields.
    case xml
    /// The form codec: what it decodes encodes and decodes back to the same pairs.
    case form
    /// Alipay's response extractor: an extract's content is a byte range of the body.
    case alipayResponse = "alipay-response"
    /// The money parser: an amount it accepts formats and parses back to itself.
    case money
    /// Every channel's notification verifier on arbitrary headers and bodies: throws a ChannelError or returns.
    case verifiers
    /// The JSON parser of the hot paths: a document it accepts, Foundation's JSONSerialization accepts too, with the same
    /// structure, keys and strings (it may refuse more: duplicate keys, deep nesting).
    case json

    /// Runs one input.
    public func run(_ input: [UInt8]) {
        switch self {
        case .xml: Self.xml(input)
        case .form: Self.form(input)
        case .alipayResponse: Self.alipayResponse(input)
        case .money: Self.money(input)
        case .verifiers: Self.verifiers(input)
        case .json: Self.json(input)
        }
    }

    static func xml(_ input: [UInt8]) {
        guard let document = try? SimpleXML.parse(input) else { return }
        guard let again = try? SimpleXML.parse(Array(SimpleXML.render(root: document.root, document.fields).utf8)) else {
            fatalError("xml: a rendered document does not parse")
        }
        precondition(again.root == document.root, "xml: root changed in a round trip")
        precondition(
            again.fields.map(\.key) == document.fields.map(\.key) && again.fields.map(\.value) == document.fields.map(\.value),
            "xml: fields changed in a round trip")
    }

    static func form(_ input: [UInt8]) {
        guard let pairs = try? FormCodec.decode(input) else { return }
        guard let again = try? FormCodec.decode(Array(FormCodec.encode(pairs).utf8)) else {
            fatalError("form: an encoded form does not decode")
        }
        precondition(
            again.map(\.key) == pairs.map(\.key) && again.map(\.value) == pairs.map(\.value),
            "form: pairs changed in a round trip")
    }

    static func alipayResponse(_ input: [UInt8]) {
        guard let extract = try? AlipayResponseExtractor.extract(input, method: "alipay.trade.query") else { return }
        // The signed content must be the body's own bytes, from a brace to its brace.
        precondition(extract.content.first == UInt8(ascii: "{") && extract.content.last == UInt8(ascii: "}"))
        precondition(
            input.count >= extract.content.count
                && (0...(input.count - extract.content.count)).contains {
                    input[$0..<($0 + extract.content.count)].elementsEqual(extract.content)
                }, "alipay-response: content is not a slice of the body")
    }

    static func money(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        for exponent in [0, 2] {
            guard let minor = try? Money.parseDecimal(text, exponent: exponent) else { continue }
            precondition(minor >= 0, "money: a negative amount was accepted")
            let formatted = Money.formatDecimal(minor, exponent: exponent)
            precondition((try? Money.parseDecimal(formatted, exponent: exponent)) == minor, "money: round trip")
        }
    }

    static func json(_ input: [UInt8]) {
        guard let value = try? JSONValue.parse(input) else { return }
        // JSONValue keeps number literals as written; Foundation refuses those beyond Double's range (1.6E615).
        if hasNumberBeyondDouble(value) { return }
        guard let foundation = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed]) else {
            fatalError("json: a document JSONValue accepts, JSONSerialization refuses")
        }
        precondition(sameShape(value, foundation), "json: JSONValue and JSONSerialization read different values")
    }

    static func hasNumberBeyondDouble(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let literal): return !(Double(literal)?.isFinite ?? false)
        case .array(let elements): return elements.contains(where: hasNumberBeyondDouble)
        case .object(let members): return members.contains { hasNumberBeyondDouble($0.value) }
        case .null, .bool, .string: return false
        }
    }

    static func sameShape(_ value: JSONValue, _ other: Any) -> Bool {
        switch value {
        case .null: return other is NSNull
        case .bool(let flag): return (other as? Bool) == flag
        case .number: return other is NSNumber
        case .string(let text): return (other as? String) == text
        case .array(let elements):
            guard let others = other as? [Any], others.count == elements.count else { return false }
            return zip(elements, others).allSatisfy { sameShape($0, $1) }
        case .object(let members):
            guard let others = other as? [String: Any], others.count == members.count else { return false }
            return members.allSatisfy { member in others[member.key].map { sameShape(member.value, $0) } ?? false }
        }
    }

    /// Input: header lines `Name: value` up to an empty line, then the body; sent to every channel's verifier.
    static func verifiers(_ input: [UInt8]) {
        var headers: [String: String] = [:]
        var body = input[...]
        if let split = input.indices.first(where: { $0 + 1 < input.count && input[$0] == 0x0A && input[$0 + 1] == 0x0A }) {
            for line in String(decoding: input[..<split], as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 { headers[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
            body = input[(split + 2)...]
        }
        let request = ChannelRequest(headers: headers, body: Array(body))
        for verifier in FuzzVerifiers.all {
            do {
                _ = try verifier.verify(request, now: Date(timeIntervalSince1970: 1_795_000_000))
            } catch {
                // A ChannelError is the expected answer to nonsense; anything else would not compile (typed throws).
            }
        }
    }
}

/// The verifiers of the sandbox's TEST-ONLY merchants, loaded once from config/sandbox (the working directory must be
/// the repository root, as scripts/fuzz and the tests arrange).
enum FuzzVerifiers {
    static let all: [any NotificationVerifier] = {
        func path(_ name: String) -> String { "config/sandbox/" + name }
        var verifiers: [any NotificationVerifier] = []
        if let merchant = try? WeChatPayV3Merchant.load(
            id: "demo", mchID: "1900000109", appID: "wxd678efh567hg6787",
            apiV3KeyFile: path("wechatpay-apiv3-key-TEST-ONLY.txt"),
            platformCertificateFiles: [path("wechatpay-platform-cert-TEST-ONLY.pem")], publicKeys: [])
        {
            verifiers.append(WeChatPayV3Verifier(merchant: merchant))
        }
        if let merchant = try? AlipayMerchant.load(
            id: "demo", appID: "2021000000000001", sellerID: "2088000000000001",
            publicKeyFiles: [path("alipay-public-key-TEST-ONLY.pem")])
        {
            verifiers.append(AlipayVerifier(merchant: merchant))
        }
        if let merchant = try? BaiduMerchant.load(
            id: "demo", appKey: "MMMabc", dealID: "470193086",
            platformPublicKeyFiles: [path("baidu-platform-public-key-TEST-ONLY.pem")])
        {
            verifiers.append(BaiduVerifier(merchant: merchant))
        }
        if let merchant = try? StripeMerchant.load(id: "demo", endpointSecretFiles: [path("stripe-endpoint-secret-TEST-ONLY.txt")]) {
            verifiers.append(StripeVerifier(merchant: merchant))
        }
        if let merchant = try? WeChatPayV2Merchant.load(
            id: "demo", mchID: "1900000109", appID: "wxd678efh567hg6787",
            apiKeyFile: path("wechatpay-v2-api-key-TEST-ONLY.txt"))
        {
            verifiers.append(WeChatPayV2Verifier(merchant: merchant))
        }
        precondition(verifiers.count == 5, "run from the repository root: config/sandbox's TEST-ONLY keys are needed")
        return verifiers
    }()
}
