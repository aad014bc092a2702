import AsyncHTTPClient
import Configuration
import Foundation
import NIOCore
import NIOHTTP1

/// One queue as an operator judges it: what waits, who consumes, how fast messages come and go.
public struct QueueActivity: Sendable, Equatable, Codable {
    public var name: String
    /// Ready plus unacknowledged.
    public var messages: Int
    public var ready: Int
    public var unacked: Int
    public var consumers: Int
    /// Messages per second published to the queue, averaged over the last minute; nil when the broker has no rates.
    public var publishRate: Double?
    /// Messages per second acknowledged by its consumers, averaged over the last minute.
    public var ackRate: Double?
    /// How long the queue takes to empty at the current rates: 0 when empty, nil when it is not shrinking or has no
    /// consumer.
    public var drainSeconds: Double?

    public init(
        name: String, messages: Int, ready: Int, unacked: Int, consumers: Int, publishRate: Double?, ackRate: Double?
    ) {
        self.name = name
        self.messages = messages
        self.ready = ready
        self.unacked = unacked
        self.consumers = consumers
        self.publishRate = publishRate
        self.ackRate = ackRate
        if messages == 0 {
            drainSeconds = 0
        } else if consumers == 0 {
            // Nobody consumes it: the acks of the last minute were someone else's, before they stopped.
            drainSeconds = nil
        } else if let publishRate, let ackRate, ackRate - publishRate > 0.01 {
            drainSeconds = Double(messages) / (ackRate - publishRate)
        } else {
            drainSeconds = nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, messages, ready, unacked, consumers
        case publishRate = "publish_rate"
        case ackRate = "ack_rate"
        case drainSeconds = "drain_seconds"
    }
}

/// RabbitMQ's management API (the `rabbitmq_management` plugin), read-only: queue depths, consumers and message
/// rates over the last minute, for `payfleet status`.
///
/// Key: `amqp.management_url` (`http://user:password@host:port`; scripts/services prints it as
/// `PAYFLEET_AMQP_MANAGEMENT_URL`). Without it: the AMQP URL's host, port 15672 and its credentials. The vhost
/// is the AMQP URL's.
public struct RabbitMQManagement: Sendable {
    let baseURL: String
    let authorization: String
    let vhost: String

    public init(reader: ConfigReader) throws {
        let amqp = URLComponents(string: reader.string(forKey: "amqp.url") ?? "")
        var components = URLComponents(string: reader.string(forKey: "amqp.management_url") ?? "") ?? URLComponents()
        if components.host == nil {
            components = URLComponents()
            components.scheme = "http"
            components.host = amqp?.host ?? "127.0.0.1"
            components.port = 15672
        }
        guard let scheme = components.scheme, scheme == "http" || scheme == "https", let host = components.host else {
            throw PayFleetError(
                .invalidSetting, "amqp.management_url is not an http(s) URL (e.g. http://user:password@127.0.0.1:15672)")
        }
        let user = components.user ?? amqp?.user ?? "guest"
        let password = components.password ?? amqp?.password ?? "guest"
        baseURL = "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
        authorization = "Basic " + Data("\(user.removingPercentEncoding ?? user):\(password.removingPercentEncoding ?? password)".utf8).base64EncodedString()
        let path = amqp?.percentEncodedPath ?? "/"
        let raw = path.hasPrefix("/") ? String(path.dropFirst()) : path
        vhost = raw.isEmpty ? "/" : (raw.removingPercentEncoding ?? raw)
    }

    /// Where it asks, without credentials: for messages.
    public var endpoint: String { baseURL }

    /// The queues named (in that order; one the broker does not have is left out).
    public func queues(_ names: [String], timeout: Duration = .seconds(5)) async throws -> [QueueActivity] {
        let encodedVhost = vhost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? vhost
        var request = HTTPClientRequest(
            url: "\(baseURL)/api/queues/\(encodedVhost)?msg_rates_age=60&msg_rates_incr=5")
        request.headers.add(name: "Authorization", value: authorization)
        let response = try await HTTPClient.shared.execute(request, timeout: .init(timeout))
        let body = try await response.body.collect(upTo: 8 << 20)
        guard response.status == .ok else {
            throw PayFleetError(
                .invalidSetting, "RabbitMQ's management API at \(baseURL) answered HTTP \(response.status.code)")
        }
        let all = try JSONDecoder().decode([QueueReply].self, from: Data(Array(buffer: body)))
        let byName = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return names.compactMap { name in
            byName[name].map { queue in
                QueueActivity(
                    name: name, messages: queue.messages ?? 0, ready: queue.messagesReady ?? 0,
                    unacked: queue.messagesUnacknowledged ?? 0, consumers: queue.consumers ?? 0,
                    publishRate: queue.messageStats?.publishDetails.map { $0.avgRate ?? $0.rate ?? 0 } ?? 0,
                    ackRate: queue.messageStats?.ackDetails.map { $0.avgRate ?? $0.rate ?? 0 } ?? 0)
            }
        }
    }

    private struct QueueReply: Decodable {
        var name: String
        var messages: Int?
        var messagesReady: Int?
        var messagesUnacknowledged: Int?
        var consumers: Int?
        var messageStats: Stats?

        struct Stats: Decodable {
            var publishDetails: Rate?
            var ackDetails: Rate?

            enum CodingKeys: String, CodingKey {
                case publishDetails = "publish_details"
                case ackDetails = "ack_details"
            }
        }

        struct Rate: Decodable {
            var rate: Double?
            /// Over `msg_rates_age` (the last minute), when the broker has the samples.
            var avgRate: Double?

            enum CodingKeys: String, CodingKey {
                case rate
                case avgRate = "avg_rate"
            }
        }

        enum CodingKeys: String, CodingKey {
            case name, messages, consumers
            case messagesReady = "messages_ready"
            case messagesUnacknowledged = "messages_unacknowledged"
            case messageStats = "message_stats"
        }
    }
}
