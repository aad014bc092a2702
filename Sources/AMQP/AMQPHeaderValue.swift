/// A value in a message's headers table.
///
/// Inbound tables may carry other AMQP field kinds (arrays, nested tables, decimals); those
/// entries are left out of ``AMQPDelivery/headers``. All integer kinds arrive as ``int(_:)``.
public enum AMQPHeaderValue: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case bool(Bool)

    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    public var intValue: Int64? {
        if case .int(let value) = self { value } else { nil }
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }
}

extension AMQPHeaderValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension AMQPHeaderValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .bool(let value): String(value)
        }
    }
}
