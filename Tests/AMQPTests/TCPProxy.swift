import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP proxy in front of the broker, so that a test can cut connections and refuse new
/// ones without stopping the RabbitMQ that other tests share.
final class TCPProxy: Sendable {
    let targetPort: UInt16
    private let state = Mutex<State>(State())

    private struct State {
        var listener: Int32 = -1
        var port: UInt16 = 0
        var sockets: Set<Int32> = []
        var paused = false
    }

    init(targetPort: UInt16) {
        self.targetPort = targetPort
    }

    var port: UInt16 { state.withLock { $0.port } }

    /// Listens (on an ephemeral port the first time, on the same port afterwards) and forwards.
    func start() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProxyError("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw ProxyError("bind/listen: errno \(errno)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        state.withLock {
            $0.listener = fd
            $0.port = UInt16(bigEndian: actual.sin_port)
        }
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.start()
    }

    /// Stops listening and cuts every forwarded connection: the broker looks gone.
    func stop() {
        let (listener, sockets) = state.withLock { state in
            defer {
                state.listener = -1
                state.sockets.removeAll()
            }
            return (state.listener, state.sockets)
        }
        if listener >= 0 {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Stops forwarding without closing anything: the broker looks silent (a network black hole).
    func pause() { state.withLock { $0.paused = true } }

    func resume() { state.withLock { $0.paused = false } }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let accepted = state.withLock { state in
                guard state.listener == listener, connected == 0 else { return false }
                state.sockets.insert(client)
                state.sockets.insert(upstream)
                return true
            }
            guard accepted else {
                close(client)
                close(upstream)
                continue
            }
            let done = Mutex(0)
            for (from, to) in [(client, upstream), (upstream, client)] {
                let thread = Thread { [self] in
                    pump(from: from, to: to)
                    shutdown(to, Int32(SHUT_RDWR))
                    let both = done.withLock { count in
                        count += 1
                        return count == 2
                    }
                    if both {
                        state.withLock {
                            $0.sockets.remove(client)
                            $0.sockets.remove(upstream)
                        }
                        close(client)
                        close(upstream)
                    }
                }
                thread.start()
            }
        }
    }

    private func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            while state.withLock({ $0.paused }) { usleep(10_000) }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    struct ProxyError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
