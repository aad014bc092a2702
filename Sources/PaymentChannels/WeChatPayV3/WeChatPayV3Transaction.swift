/// A WeChat Pay v3 transaction (the fields PayFleet reads): the decrypted resource of a
/// `TRANSACTION.*` notification and the body of a query reply share this schema.
struct WeChatPayV3Transaction: Decodable {
    struct Amount: Decodable {
        var total: Int64?
        var currency: String?
    }

    var mchid: String?
    var appid: String?
    var outTradeNo: String?
    var transactionID: String?
    var tradeState: String?
    var tradeStateDesc: String?
    var successTime: String?
    var amount: Amount?

    enum CodingKeys: String, CodingKey {
        case mchid, appid, amount
        case outTradeNo = "out_trade_no"
        case transactionID = "transaction_id"
        case tradeState = "trade_state"
        case tradeStateDesc = "trade_state_desc"
        case successTime = "success_time"
    }
}
