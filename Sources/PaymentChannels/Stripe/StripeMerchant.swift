import Foundation

/// One Stripe account's webhook endpoint: the signing secrets (`whsec_…`) that verify its events.
public struct StripeMerchant: Sendable {
    /// Our merchant account id (the `<merchant>` of `/notify/stripe/<merchant>`).
    public var id: String
    /// Endpoint signing secrets, as the bytes of their text (`whsec_` included, as Stripe's libraries use
    /// them). Any of them may verify, so the old and new secret are both live while Stripe rolls it.
    public var endpointSecrets: [[UInt8]]

    public init(id: String, endpointSecrets: [[UInt8]]) {
        self.id = id
        self.endpointSecrets = endpointSecrets
    }

    /// Loads endpoint secrets, one a file: `whsec_` and printable ASCII, surrounding whitespace ignored.
    /// At least one is required.
    public static func load(id: String, endpointSecretFiles: [String]) throws(ChannelError) -> StripeMerchant {
        guard !endpointSecretFiles.isEmpty else {
            throw .keyFile("Stripe merchant \(id) has no endpoint secret file to verify events")
        }
        var secrets: [[UInt8]] = []
        for path in endpointSecretFiles {
            let text = try PEMKeys.readText(path).trimmingCharacters(in: .whitespacesAndNewlines)
            let bytes = Array(text.utf8)
            guard text.hasPrefix("whsec_"), bytes.count > 6, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw .keyFile(
                    "endpoint secret file \(path) must hold one Stripe signing secret starting with whsec_; "
                        + "copy it from the webhook endpoint's page in the Stripe Dashboard")
            }
            secrets.append(bytes)
        }
        return StripeMerchant(id: id, endpointSecrets: secrets)
    }
}
