import PayFleetMessages

extension PaymentStatus {
    /// A `payments.status` value as stored; anything else is ``StoreError/Code/inconsistentData``.
    init(stored text: String, paymentNo: String) throws {
        guard let status = PaymentStatus(rawValue: text) else {
            throw StoreError(
                code: .inconsistentData, message: "payment \(paymentNo) has an unknown status", detail: "status \(text)")
        }
        self = status
    }
}

extension RefundStatus {
    /// A `refunds.status` value as stored; anything else is ``StoreError/Code/inconsistentData``.
    init(stored text: String, refundNo: String) throws {
        guard let status = RefundStatus(rawValue: text) else {
            throw StoreError(
                code: .inconsistentData, message: "refund \(refundNo) has an unknown status", detail: "status \(text)")
        }
        self = status
    }
}

/// Where an order's stock is (`orders.inventory_status`).
public enum InventoryStatus: String, Sendable, CaseIterable {
    /// payment.create reserved it.
    case reserved
    /// The payment closed or was rejected and gave the reservation back.
    case released
    /// inventory-worker deducted it (from the reservation, or from free stock).
    case confirmed
    /// The money came after the release and free stock could not cover it: refunded automatically.
    case oversold

    init(stored text: String, orderNo: String) throws {
        guard let status = InventoryStatus(rawValue: text) else {
            throw StoreError(
                code: .inconsistentData, message: "order \(orderNo) has an unknown inventory status",
                detail: "inventory_status \(text)")
        }
        self = status
    }
}
