import PayFleetMessages

/// The decrypted resource of a `REFUND.*` notification (the fields PayFleet reads).
struct WeChatPayV3Refund: JSONObjectDecodable {
    struct Amount: JSONObjectDecodable {
        var refund: Int64?

        init(json: JSONValue) throws(JSONValue.FieldError) {
            refund = try json.optionalInt64("refund")
        }
    }

    var mchid: String?
    var outTradeNo: String?
    var outRefundNo: String?
    var refundID: String?
    var transactionID: String?
    var refundStatus: String?
    var successTime: String?
    var amount: Amount?

    init(json: JSONValue) throws(JSONValue.FieldError) {
        mchid = try json.optionalString("mchid")
        outTradeNo = try json.optionalString("out_trade_no")
        outRefundNo = try json.optionalString("out_refund_no")
        refundID = try json.optionalString("refund_id")
        transactionID = try json.optionalString("transaction_id")
        refundStatus = try json.optionalString("refund_status")
        successTime = try json.optionalString("success_time")
        amount = try json.optionalObject("amount").map { (object) throws(JSONValue.FieldError) in try Amount(json: object) }
    }
}
