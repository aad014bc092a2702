import Configuration
import PayFleetMessages
import PaymentChannels

extension GatewayRegistry {
    /// Baidu cashier merchant `id`: ``MerchantRegistry/baiduMerchant(reader:id:)`` (`app_key`, `deal_id`) plus
    /// `channels.baidu.<id>.api.private_key_file`, the developer private key ("开发者私钥") whose public half is
    /// uploaded in the smart-program console. `api.base_url`, when set, serves both Baidu APIs (the sandbox);
    /// otherwise Baidu's OpenAPI and trade API hosts. `api.notify_url` (else `receiver.public_url` +
    /// `/notify/baidu/<id>`, else none) becomes the orderInfo's `notifyUrl`.
    static func baiduGateway(_ loading: GatewayLoading, id: String) throws -> BaiduGateway {
        let merchant = try MerchantRegistry.baiduMerchant(reader: loading.reader, id: id)
        let api = loading.api("baidu", id)
        return try loading.building("baidu", id) {
            let signer = try BaiduRequestSigner.load(
                appKey: merchant.appKey, privateKeyFile: try api.requiredSetting("private_key_file"))
            let notifyURL = try? loading.notifyURL("baidu", id, path: ChannelID.baidu.rawValue)
            let base = loading.baseURL("baidu", id, default: "")
            let configuration =
                base.isEmpty
                ? BaiduClientConfiguration(notifyURL: notifyURL, timeout: loading.timeout("baidu", id))
                : BaiduClientConfiguration(baseURL: base, notifyURL: notifyURL, timeout: loading.timeout("baidu", id))
            return BaiduGateway(
                client: try BaiduClient(
                    merchant: merchant, signer: signer, configuration: configuration, transport: loading.transport))
        }
    }
}
