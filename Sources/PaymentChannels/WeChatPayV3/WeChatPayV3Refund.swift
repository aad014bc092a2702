/// The decrypted resource of a `REFUND.*` notification (the fields PayFleet reads).
struct WeChatPayV3Refund: Decodable {
    struct Amount: Decodable {
        var refund: Int64?
    }

    var mchid: String?
    var outTradeNo: String?
    var outRefundNo: String?
    var refundID: String?
    var transactionID: String?
    var refundStatus: String?
    var successTime: String?
    var amount: Amount?

    enum CodingKeys: String, CodingKey {
        case mchid, amount
        case outTradeNo = "out_trade_no"
        case outRefundNo = "out_refund_no"
        case refundID = "refund_id"
        case transactionID = "transaction_id"
        case refundStatus = "refund_status"
        case successTime = "success_time"
    }
}
