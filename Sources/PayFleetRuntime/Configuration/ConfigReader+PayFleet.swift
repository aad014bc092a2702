import Configuration
import Foundation
import SystemPackage

extension ConfigReader {
    /// The configuration every PayFleet process reads, most specific first:
    /// `overrides` (command-line flags) → environment (`PAYFLEET_*`, e.g. `PAYFLEET_POSTGRES_URL`
    /// for `postgres.url`) → the YAML file (`PAYFLEET_CONFIG`, default `config/payfleet.yaml`)
    /// → the defaults written beside each read.
    ///
    /// A file named by `PAYFLEET_CONFIG` must exist; the default file may be absent.
    public static func payfleet(
        overrides: [AbsoluteConfigKey: ConfigValue] = [:],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> ConfigReader {
        let explicitPath = environment["PAYFLEET_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path = explicitPath ?? "config/payfleet.yaml"
        if explicitPath != nil, !FileManager.default.fileExists(atPath: path) {
            throw PayFleetError(
                .configFile,
                "PAYFLEET_CONFIG names \(path), which does not exist; point it at a config file "
                    + "(config/payfleet.example.yaml documents every key)")
        }
        let file: FileProvider<YAMLSnapshot>
        do {
            file = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path), allowMissing: true)
        } catch {
            throw PayFleetError(.configFile, "cannot read config file \(path): it is not valid YAML", detail: "\(error)")
        }
        let env = KeyMappingProvider(
            upstream: EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .dynamic { key, _ in
                    key.hasSuffix("_URL") || key.contains("PASSWORD") || key.contains("SECRET")
                }
            ),
            keyMapper: { key in key.prepending(["payfleet"]) }
        )
        return ConfigReader(providers: [InMemoryProvider(values: overrides), env, file])
    }

    /// A required string with an error that says which setting is missing and how to set it.
    public func requiredSetting(_ key: String, isSecret: Bool = false, hint: String = "") throws -> String {
        guard let value = string(forKey: ConfigKey(key), isSecret: isSecret), !value.isEmpty else {
            let env = "PAYFLEET_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
            throw PayFleetError(
                .missingSetting, "\(env) is not set (config key `\(key)`)" + (hint.isEmpty ? "" : "; \(hint)"))
        }
        return value
    }
}
