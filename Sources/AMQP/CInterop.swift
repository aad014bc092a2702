import CRabbitMQ
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// AMQP 0-9-1 method ids (the C macros are casts, which Swift does not import).
enum Method {
    static let connectionClose: amqp_method_number_t = 0x000A_0032
    static let connectionCloseOK: amqp_method_number_t = 0x000A_0033
    static let connectionBlocked: amqp_method_number_t = 0x000A_003C
    static let connectionUnblocked: amqp_method_number_t = 0x000A_003D
    static let channelFlow: amqp_method_number_t = 0x0014_0014
    static let channelFlowOK: amqp_method_number_t = 0x0014_0015
    static let channelClose: amqp_method_number_t = 0x0014_0028
    static let channelCloseOK: amqp_method_number_t = 0x0014_0029
    static let basicCancel: amqp_method_number_t = 0x003C_001E
    static let basicCancelOK: amqp_method_number_t = 0x003C_001F
    static let basicPublish: amqp_method_number_t = 0x003C_0028
    static let basicReturn: amqp_method_number_t = 0x003C_0032
    static let basicDeliver: amqp_method_number_t = 0x003C_003C
    static let basicAck: amqp_method_number_t = 0x003C_0050
    static let basicNack: amqp_method_number_t = 0x003C_0078
    /// The basic class, whose content header frames carry a message's properties.
    static let basicClass: UInt16 = 0x003C
}

enum FrameType {
    static let method = UInt8(AMQP_FRAME_METHOD)
    static let header = UInt8(AMQP_FRAME_HEADER)
    static let body = UInt8(AMQP_FRAME_BODY)
}

/// Owns C memory for the duration of one call into rabbitmq-c: every string handed to the
/// library is copied here (a Swift string's buffer is only valid inside a closure), and freed
/// when the arena goes away.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    /// A NUL-terminated copy; the `amqp_bytes_t` length excludes the NUL.
    func bytes(_ string: String) -> amqp_bytes_t {
        let pointer = cString(string)
        return amqp_bytes_t(len: strlen(pointer), bytes: UnsafeMutableRawPointer(pointer))
    }

    func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        guard let copy = strdup(string) else { fatalError("out of memory") }
        allocations.append(UnsafeMutableRawPointer(copy))
        return copy
    }

    func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        guard let raw = malloc(max(1, count) * MemoryLayout<T>.stride) else { fatalError("out of memory") }
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    func table(_ entries: [(String, FieldValue)]) -> amqp_table_t {
        guard !entries.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let buffer = allocate(amqp_table_entry_t.self, count: entries.count)
        for (index, (key, value)) in entries.enumerated() {
            (buffer + index).initialize(to: amqp_table_entry_t(key: bytes(key), value: fieldValue(value)))
        }
        return amqp_table_t(num_entries: Int32(entries.count), entries: buffer)
    }

    func table(_ headers: [String: AMQPHeaderValue]) -> amqp_table_t {
        table(
            headers.sorted { $0.key < $1.key }.map { key, value in
                switch value {
                case .string(let string): (key, .string(string))
                case .int(let int): (key, .int(int))
                case .bool(let bool): (key, .bool(bool))
                }
            })
    }

    private func fieldValue(_ value: FieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .string(let string):
            field.kind = UInt8(truncatingIfNeeded: AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(string)
        case .int(let int):
            field.kind = UInt8(truncatingIfNeeded: AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = int
        case .bool(let bool):
            field.kind = UInt8(truncatingIfNeeded: AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = bool ? 1 : 0
        case .table(let entries):
            field.kind = UInt8(truncatingIfNeeded: AMQP_FIELD_KIND_TABLE.rawValue)
            field.value.table = table(entries)
        }
        return field
    }

    indirect enum FieldValue {
        case string(String)
        case int(Int64)
        case bool(Bool)
        case table([(String, FieldValue)])
    }
}

extension String {
    /// Copies rabbitmq-c bytes (not NUL-terminated) into a Swift string.
    init(amqpBytes bytes: amqp_bytes_t) {
        guard bytes.len > 0, let base = bytes.bytes else {
            self = ""
            return
        }
        self = String(decoding: UnsafeRawBufferPointer(start: base, count: bytes.len), as: UTF8.self)
    }
}

extension [UInt8] {
    init(amqpBytes bytes: amqp_bytes_t) {
        guard bytes.len > 0, let base = bytes.bytes else {
            self = []
            return
        }
        self = Array(UnsafeRawBufferPointer(start: base, count: bytes.len))
    }
}

enum CTable {
    /// Copies the entries PayFleet understands out of an inbound table.
    static func decode(_ table: amqp_table_t) -> [String: AMQPHeaderValue] {
        guard table.num_entries > 0, let entries = table.entries else { return [:] }
        var result: [String: AMQPHeaderValue] = [:]
        for index in 0..<Int(table.num_entries) {
            let entry = entries[index]
            if let value = decode(entry.value) {
                result[String(amqpBytes: entry.key)] = value
            }
        }
        return result
    }

    static func decode(_ field: amqp_field_value_t) -> AMQPHeaderValue? {
        let kind = UInt32(field.kind)
        switch kind {
        case AMQP_FIELD_KIND_UTF8.rawValue, AMQP_FIELD_KIND_BYTES.rawValue:
            return .string(String(amqpBytes: field.value.bytes))
        case AMQP_FIELD_KIND_BOOLEAN.rawValue:
            return .bool(field.value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: return .int(Int64(field.value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: return .int(Int64(field.value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: return .int(Int64(field.value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: return .int(Int64(field.value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: return .int(Int64(field.value.i32))
        case AMQP_FIELD_KIND_U32.rawValue: return .int(Int64(field.value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: return .int(field.value.i64)
        case AMQP_FIELD_KIND_U64.rawValue, AMQP_FIELD_KIND_TIMESTAMP.rawValue:
            return .int(Int64(truncatingIfNeeded: field.value.u64))
        default:
            return nil
        }
    }
}

extension InboundProperties {
    init(_ p: amqp_basic_properties_t) {
        let flags = p._flags
        if flags & amqp_flags_t(AMQP_BASIC_MESSAGE_ID_FLAG) != 0 { messageID = String(amqpBytes: p.message_id) }
        if flags & amqp_flags_t(AMQP_BASIC_TYPE_FLAG) != 0 { type = String(amqpBytes: p.type) }
        if flags & amqp_flags_t(AMQP_BASIC_CONTENT_TYPE_FLAG) != 0 { contentType = String(amqpBytes: p.content_type) }
        if flags & amqp_flags_t(AMQP_BASIC_TIMESTAMP_FLAG) != 0 {
            timestamp = Date(timeIntervalSince1970: TimeInterval(p.timestamp))
        }
        if flags & amqp_flags_t(AMQP_BASIC_HEADERS_FLAG) != 0 { headers = CTable.decode(p.headers) }
    }
}

extension timeval {
    static var zero: timeval { timeval(Duration.zero) }

    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, seconds) * 1_000_000 + max(0, attoseconds / 1_000_000_000_000)
        self = payfleet_timeval_from_microseconds(micros)
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// A human-readable rabbitmq-c status.
func amqpStatusText(_ status: Int32) -> String {
    guard let text = amqp_error_string2(status) else { return "status \(status)" }
    return String(cString: text)
}
