import Configuration
import Foundation

extension ConfigReader {
    /// The channel sandbox's configuration, as every PayFleet process reads its own: environment (`PAYFLEET_*`,
    /// e.g. `PAYFLEET_SANDBOX_PORT` for `sandbox.port`) → the YAML file (`PAYFLEET_CONFIG`, default
    /// `config/payfleet.yaml`) → the defaults beside each read. A file named by `PAYFLEET_CONFIG` must exist.
    public static func sandbox(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> ConfigReader {
        let explicitPath = environment["PAYFLEET_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path = explicitPath ?? "config/payfleet.yaml"
        if explicitPath != nil, !FileManager.default.fileExists(atPath: path) {
            throw SandboxError(
                .invalidSetting,
                "PAYFLEET_CONFIG names \(path), which does not exist; point it at a config file "
                    + "(config/sandbox/payfleet.sandbox.yaml for the local fleet)")
        }
        let fileSettings = ConfigReader(
            provider: InMemoryProvider(values: [
                "filePath": .init(.string(path), isSecret: false), "allowMissing": .init(.bool(true), isSecret: false),
            ]))
        let file: FileProvider<YAMLSnapshot>
        do {
            file = try await FileProvider<YAMLSnapshot>(config: fileSettings)
        } catch {
            throw SandboxError(.invalidSetting, "cannot read config file \(path): it is not valid YAML (\(error))")
        }
        let env = KeyMappingProvider(
            upstream: EnvironmentVariablesProvider(environmentVariables: environment),
            keyMapper: { key in key.prepending(["payfleet"]) })
        return ConfigReader(providers: [env, file])
    }
}
