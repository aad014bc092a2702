import Configuration
import Foundation
import ServiceLifecycle

/// Runs a role's ServiceGroup until SIGTERM/SIGINT, turning start-up errors into one clear
/// line on stderr and exit status 1 (no stack dump for a missing setting or key file).
public enum RoleMain {
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
