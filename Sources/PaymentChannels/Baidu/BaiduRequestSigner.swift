import Crypto
import Foundation
import _CryptoExtras

/// Signs what PayFleet sends to Baidu's cashier with the developer private key ("开发者私钥", whose public half
/// is uploaded as "开发者公钥" in the smart-program console): SHA1withRSA (PKCS#1 v1.5), base64, sent as
/// `rsaSign`. Pure: no I/O, no clock.
///
/// The signed content is Baidu's "签名与验签" rule, as its PHP `NuomiRsaSign::genSignWithRsa` builds it: every
/// parameter but `rsaSign`, `sign` and `sign_type`, sorted by key in byte order, `key=value` joined with `&`, values
/// raw (not URL-encoded), empty values kept (see ``BaiduSignContent``). Its description never shows the key.
public struct BaiduRequestSigner: Sendable, CustomStringConvertible {
    /// The payment `appKey` the key belongs to.
    public let appKey: String
    private let privateKey: _RSA.Signing.PrivateKey

    public init(appKey: String, privateKey: _RSA.Signing.PrivateKey) {
        self.appKey = appKey
        self.privateKey = privateKey
    }

    /// Loads the developer private key: PEM `PRIVATE KEY` (PKCS#8, the Java demos' `rsa_private_key_pkcs8.pem`)
    /// or `RSA PRIVATE KEY` (PKCS#1), or bare base64; RSA of 1024 bits or more (Baidu's key tool makes 1024).
    public static func load(appKey: String, privateKeyFile: String) throws(ChannelError) -> BaiduRequestSigner {
        guard !appKey.isEmpty else { throw .keyFile("Baidu appKey is empty") }
        let text = try PEMKeys.readText(privateKeyFile)
        guard let der = PEMKeys.derBytes(in: text, labels: ["PRIVATE KEY", "RSA PRIVATE KEY"]) else {
            throw .keyFile("key file \(privateKeyFile): no PEM PRIVATE KEY or RSA PRIVATE KEY block found")
        }
        do {
            let key = try _RSA.Signing.PrivateKey(unsafeDERRepresentation: der)
            guard key.keySizeInBits >= 1024 else { throw ChannelError.keyFile("short") }
            return BaiduRequestSigner(appKey: appKey, privateKey: key)
        } catch {
            throw .keyFile("key file \(privateKeyFile): not an RSA private key of 1024 bits or more")
        }
    }

    public var description: String {
        "BaiduRequestSigner(appKey: \(appKey))"
    }

    /// The content `rsaSign` covers, as text; see the type's documentation.
    public static func signContent(_ parameters: [String: String]) -> String {
        String(decoding: BaiduSignContent.bytes(of: parameters.map { (key: $0.key, value: $0.value) }), as: UTF8.self)
    }

    /// The base64 SHA1withRSA signature of `parameters`' sign content.
    public func sign(_ parameters: [String: String]) -> String {
        let content = BaiduSignContent.bytes(of: parameters.map { (key: $0.key, value: $0.value) })
        do {
            return try privateKey.signature(for: Insecure.SHA1.hash(data: content), padding: .insecurePKCS1v1_5)
                .rawRepresentation.base64EncodedString()
        } catch {
            // BoringSSL fails to sign a digest with a valid key only when out of memory.
            preconditionFailure("RSA signing failed: \(error)")
        }
    }

    /// `parameters` plus their `rsaSign`.
    public func signed(_ parameters: [String: String]) -> [String: String] {
        var signed = parameters
        signed["rsaSign"] = sign(parameters)
        return signed
    }
}
