import PayFleetMessages

extension CreateRefund {
    /// Why the job cannot be honoured as sent, or nil when it is well-formed. Names fields and rules, never data.
    public func validationProblem() -> String? {
        if !Self.isValidRefundNo(refundNo) {
            return "refund_no must be 1 to 64 letters, digits, '-' or '_'"
        }
        if paymentNo == nil, orderNo == nil {
            return "name the payment: payment_no or order_no"
        }
        if let paymentNo, !PaymentNumber.isValid(paymentNo) {
            return "payment_no must be 1 to 32 letters and digits"
        }
        if let orderNo, !CreatePayment.isValidIdentifier(orderNo, maxLength: 64) {
            return "order_no must be 1 to 64 characters without control characters"
        }
        if amountMinor <= 0 {
            return "amount_minor must be greater than zero"
        }
        if !CreatePayment.isCurrencyCode(currency) {
            return "currency must be three upper-case letters (ISO 4217)"
        }
        if reason.unicodeScalars.count > 256 || reason.unicodeScalars.contains(where: CreatePayment.isControl) {
            return "reason must be at most 256 characters without control characters"
        }
        return nil
    }
}
