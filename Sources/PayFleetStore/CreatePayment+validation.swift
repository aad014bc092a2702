import PayFleetMessages

extension CreatePayment {
    /// Why the job cannot be honoured as sent, or nil when it is well-formed.
    /// The text names fields and rules, never a customer's data.
    public func validationProblem() -> String? {
        if !Self.isValidIdentifier(orderNo, maxLength: 64) {
            return "order_no must be 1 to 64 characters without control characters"
        }
        if !Self.isValidIdentifier(merchant, maxLength: 64) {
            return "merchant must be 1 to 64 characters without control characters"
        }
        if userID.unicodeScalars.count > 128 || userID.unicodeScalars.contains(where: Self.isControl) {
            return "user_id must be at most 128 characters without control characters"
        }
        if description.unicodeScalars.contains("\u{0}") {
            return "description must not contain NUL characters"
        }
        if amountMinor <= 0 {
            return "amount_minor must be greater than zero"
        }
        if !Self.isCurrencyCode(currency) {
            return "currency must be three upper-case letters (ISO 4217)"
        }
        if items.isEmpty {
            return "items must hold at least one item"
        }
        for (index, item) in items.enumerated() {
            if !Self.isValidSKU(item.sku) {
                return "items[\(index)].sku must be 1 to 64 characters without control characters"
            }
            if item.quantity <= 0 {
                return "items[\(index)].quantity must be greater than zero"
            }
        }
        if let paymentNo, !PaymentNumber.isValid(paymentNo) {
            return "payment_no must be 1 to 32 letters and digits"
        }
        return nil
    }

    /// The quantity of each sku, repeated lines added up, sorted by sku (the locking order).
    var quantitiesBySKU: [(sku: String, quantity: Int64)] {
        var totals: [String: Int64] = [:]
        for item in items { totals[item.sku, default: 0] += Int64(item.quantity) }
        return totals.map { (sku: $0.key, quantity: $0.value) }.sorted { Self.skuOrder($0.sku, $1.sku) }
    }

    /// The order PostgreSQL's "C" collation gives: UTF-8 bytes.
    static func skuOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    static func isValidSKU(_ sku: String) -> Bool {
        isValidIdentifier(sku, maxLength: 64)
    }

    static func isCurrencyCode(_ text: String) -> Bool {
        text.utf8.count == 3 && text.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    static func isValidIdentifier(_ text: String, maxLength: Int) -> Bool {
        let scalars = text.unicodeScalars
        return !scalars.isEmpty && scalars.count <= maxLength && !scalars.contains(where: isControl)
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control
    }
}
