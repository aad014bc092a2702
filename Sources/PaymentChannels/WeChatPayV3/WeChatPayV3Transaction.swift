import PayFleetMessages

/// A WeChat Pay v3 transaction (the fields PayFleet reads): the decrypted resource of a
/// `TRANSACTION.*` notification and the body of a query reply share this schema.
struct WeChatPayV3Transaction: JSONObjectDecodable {
    struct Amount: JSONObjectDecodable {
        var total: Int64?
        var currency: String?

        init(json: JSONValue) throws(JSONValue.FieldError) {
            total = try json.optionalInt64("total")
            currency = try json.optionalString("currency")
        }
    }

    var mchid: String?
    var appid: String?
    var outTradeNo: String?
    var transactionID: String?
    var tradeState: String?
    var tradeStateDesc: String?
    var successTime: String?
    var amount: Amount?

    init(json: JSONValue) throws(JSONValue.FieldError) {
        mchid = try json.optionalString("mchid")
        appid = try json.optionalString("appid")
        outTradeNo = try json.optionalString("out_trade_no")
        transactionID = try json.optionalString("transaction_id")
        tradeState = try json.optionalString("trade_state")
        tradeStateDesc = try json.optionalString("trade_state_desc")
        successTime = try json.optionalString("success_time")
        amount = try json.optionalObject("amount").map { (object) throws(JSONValue.FieldError) in try Amount(json: object) }
    }
}
