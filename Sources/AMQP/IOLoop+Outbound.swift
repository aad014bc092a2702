import CRabbitMQ
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Publishes written in batches: on a plain TCP connection the I/O thread encodes each publish's frames (with
/// rabbitmq-c's own method and property encoders) into one buffer and writes the buffer once per turn of its loop,
/// where `amqp_basic_publish` made three `send` calls per message, the last one pushing a segment through loopback's
/// TCP stack on the publisher's CPU. RabbitMQ then reads many publishes per read as well. Over TLS, rabbitmq-c owns
/// the stream, so each publish still goes through `amqp_basic_publish`.
///
/// The buffer is written before the I/O thread calls into rabbitmq-c for anything else (other commands, reading
/// frames), so frames on the socket keep the order the commands came in.
final class OutboundFrames {
    static let frameEnd = UInt8(AMQP_FRAME_END)
    /// Room for one method's arguments or one header's properties (a frame at most).
    static let scratchCapacity = Int(IOLoop.frameMax)

    var bytes: [UInt8] = []
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchCapacity, alignment: 8)

    deinit {
        scratch.deallocate()
    }

    var isEmpty: Bool { bytes.isEmpty }

    /// Appends basic.publish, its content header and its body frames. Returns false, appending nothing, when
    /// rabbitmq-c cannot encode the method or the properties (a name over 255 bytes, properties over a frame).
    func appendPublish(
        channel: amqp_channel_t, method: inout amqp_basic_publish_t, properties: inout amqp_basic_properties_t,
        body: UnsafeRawBufferPointer, frameMax: Int
    ) -> Bool {
        let mark = bytes.count
        let encodedMethod = amqp_encode_method(
            Method.basicPublish, &method, amqp_bytes_t(len: Self.scratchCapacity, bytes: scratch))
        guard encodedMethod >= 0 else { return false }
        appendFrameHeader(type: FrameType.method, channel: channel, size: 4 + Int(encodedMethod))
        appendUInt32(Method.basicPublish)
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: Int(encodedMethod)))
        bytes.append(Self.frameEnd)

        let encodedProperties = amqp_encode_properties(
            Method.basicClass, &properties, amqp_bytes_t(len: Self.scratchCapacity, bytes: scratch))
        guard encodedProperties >= 0 else {
            bytes.removeSubrange(mark...)
            return false
        }
        appendFrameHeader(type: FrameType.header, channel: channel, size: 12 + Int(encodedProperties))
        appendUInt16(Method.basicClass)
        appendUInt16(0)  // weight
        appendUInt64(UInt64(body.count))
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: Int(encodedProperties)))
        bytes.append(Self.frameEnd)

        // Frame header (7 bytes) and frame end (1) count against frame_max.
        let chunk = max(1, frameMax - 8)
        var offset = 0
        while offset < body.count {
            let count = min(chunk, body.count - offset)
            appendFrameHeader(type: FrameType.body, channel: channel, size: count)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: body[offset..<(offset + count)]))
            bytes.append(Self.frameEnd)
            offset += count
        }
        return true
    }

    /// Writes everything buffered to `socket`, waiting (up to `timeout`) while the socket's send buffer is full.
    /// Returns nil when all was written, else why not; the buffer is empty afterwards either way.
    func write(to socket: Int32, timeout: Duration) -> String? {
        defer { bytes.removeAll(keepingCapacity: true) }
        let deadline = ContinuousClock.now + timeout
        return bytes.withUnsafeBytes { raw -> String? in
            var offset = 0
            while offset < raw.count {
                let sent = send(socket, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent > 0 {
                    offset += sent
                    continue
                }
                let code = errno
                if sent < 0 && code == EINTR { continue }
                guard sent < 0 && (code == EAGAIN || code == EWOULDBLOCK) else {
                    return sent == 0 ? "the socket accepted nothing" : String(cString: strerror(code))
                }
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else { return "timed out writing publishes: RabbitMQ reads nothing" }
                var descriptor = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
                _ = poll(&descriptor, 1, Int32(clamping: max(1, remaining.milliseconds)))
            }
            return nil
        }
    }

    private func appendFrameHeader(type: UInt8, channel: amqp_channel_t, size: Int) {
        bytes.append(type)
        appendUInt16(channel)
        appendUInt32(UInt32(size))
    }

    private func appendUInt16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    private func appendUInt32(_ value: UInt32) {
        appendUInt16(UInt16(truncatingIfNeeded: value >> 16))
        appendUInt16(UInt16(truncatingIfNeeded: value))
    }

    private func appendUInt64(_ value: UInt64) {
        appendUInt32(UInt32(truncatingIfNeeded: value >> 32))
        appendUInt32(UInt32(truncatingIfNeeded: value))
    }
}
