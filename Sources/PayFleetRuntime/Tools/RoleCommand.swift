import Configuration
import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Runs a role's ServiceGroup until SIGTERM/SIGINT, turning start-up errors into one clear
/// line on stderr and exit status 1 (no stack dump for a missing setting or key file).
public enum RoleMain {
    /// Makes NIO's event loops Swift concurrency's global executor, so that a task resumed by I/O runs on the loop
    /// that did the I/O instead of hopping to the cooperative pool and back. For roles whose tasks never block
    /// and spend little CPU each (the receiver: ~50 µs of verify, decrypt and JSON per request); not for roles that
    /// parse bills or call slow code on their tasks. Call it first thing in `main`, on the main thread, once.
    public static func runJobsOnEventLoops() {
        if !NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() {
            FileHandle.standardError.write(Data("Swift concurrency keeps its own thread pool: NIO could not take it over\n".utf8))
        }
    }

    public static func run(
        role: String, overrides: [AbsoluteConfigKey: ConfigValue] = [:],
        build: (ConfigReader) async throws -> ServiceGroup
    ) async -> Never {
        do {
            let reader = try await ConfigReader.payfleet(overrides: overrides)
            let group = try await build(reader)
            try await group.run()
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("\(role): \(error)\n".utf8))
            exit(1)
        }
    }

    /// Parses the few flags every role takes: `--concurrency N`, `--ops-port N`,
    /// `--port N` (receiver). Anything else is an error that names the flag.
    public static func overrides(from arguments: [String], allowed: [String: String]) -> [AbsoluteConfigKey: ConfigValue] {
        var result: [AbsoluteConfigKey: ConfigValue] = [:]
        var index = 0
        while index < arguments.count {
            let flag = arguments[index]
            guard let key = allowed[flag], index + 1 < arguments.count, let value = Int(arguments[index + 1]) else {
                let known = allowed.keys.sorted().map { "\($0) N" }.joined(separator: ", ")
                FileHandle.standardError.write(Data("unknown or incomplete argument \(flag); accepted: \(known)\n".utf8))
                exit(64)
            }
            result[AbsoluteConfigKey(ConfigKey(key))] = .init(.int(value), isSecret: false)
            index += 2
        }
        return result
    }
}
