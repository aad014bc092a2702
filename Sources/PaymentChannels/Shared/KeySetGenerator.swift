import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// Makes a fresh set of every key and secret the sandbox channels and the test fleet use,
/// laid out like `config/sandbox/` (`payfleet keys generate`): for a new environment, or to
/// replace the committed TEST-ONLY set. Every file name says `TEST-ONLY`: these stand in for
/// the channels' own keys, which in production come from the channels, never from here.
public enum KeySetGenerator {
    /// One generated file: its name and contents.
    public struct File: Sendable, Equatable {
        public var name: String
        public var contents: String
    }

    /// The WeChat Pay public key id the set's public-key-mode key is filed under.
    public static let weChatPublicKeyID = "PUB_KEY_ID_0114232134912410000000000000000001"

    /// Generates the set (RSA 2048 keys, self-signed X.509 certificates valid for `years`,
    /// random symmetric secrets from the system's CSPRNG).
    public static func generate(now: Date = Date(), years: Int = 5) throws -> [File] {
        var files: [File] = []
        func keyPair(private privateName: String, public publicName: String?) throws -> _RSA.Signing.PrivateKey {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            files.append(File(name: privateName, contents: key.pemRepresentation + "\n"))
            if let publicName {
                files.append(File(name: publicName, contents: key.publicKey.pemRepresentation + "\n"))
            }
            return key
        }
        func certificate(_ fileName: String, commonName: String, key: _RSA.Signing.PrivateKey) throws {
            var serial = [UInt8](repeating: 0, count: 20)
            for index in serial.indices { serial[index] = UInt8.random(in: 0...255) }
            serial[0] &= 0x7F  // a positive INTEGER
            serial[0] |= 0x10  // and no leading zero byte, so the hex serial has 40 digits
            let name = try DistinguishedName { CommonName(commonName) }
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(bytes: serial), publicKey: .init(key.publicKey),
                notValidBefore: now, notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86_400),
                issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: Certificate.Extensions(), issuerPrivateKey: .init(key))
            files.append(File(name: fileName, contents: try certificate.serializeAsPEM().pemString + "\n"))
        }
        func secret(_ name: String, prefix: String = "", length: Int) {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
            let text = prefix + String((0..<length).map { _ in alphabet.randomElement()! })
            files.append(File(name: name, contents: text + "\n"))
        }

        // The names of config/sandbox/, so a generated set can replace the committed one.
        let platform = try keyPair(private: "wechatpay-platform-private-key-TEST-ONLY.pem", public: nil)
        try certificate(
            "wechatpay-platform-cert-TEST-ONLY.pem", commonName: "PayFleet TEST-ONLY WeChat Pay platform", key: platform)
        _ = try keyPair(
            private: "wechatpay-public-key-\(weChatPublicKeyID)-private-TEST-ONLY.pem",
            public: "wechatpay-public-key-\(weChatPublicKeyID)-TEST-ONLY.pem")
        let merchantAPI = try keyPair(private: "wechatpay-merchant-api-private-key-TEST-ONLY.pem", public: nil)
        try certificate(
            "wechatpay-merchant-api-cert-TEST-ONLY.pem", commonName: "PayFleet TEST-ONLY merchant API", key: merchantAPI)
        secret("wechatpay-apiv3-key-TEST-ONLY.txt", length: 32)
        secret("wechatpay-v2-api-key-TEST-ONLY.txt", length: 32)
        files += try weChatPayV2TLS(now: now, years: years)
        let alipay = try keyPair(private: "alipay-private-key-TEST-ONLY.pem", public: "alipay-public-key-TEST-ONLY.pem")
        try certificate("alipay-public-cert-TEST-ONLY.pem", commonName: "PayFleet TEST-ONLY Alipay public key", key: alipay)
        _ = try keyPair(
            private: "baidu-platform-private-key-TEST-ONLY.pem", public: "baidu-platform-public-key-TEST-ONLY.pem")
        _ = try keyPair(
            private: "baidu-developer-private-key-TEST-ONLY.pem", public: "baidu-developer-public-key-TEST-ONLY.pem")
        secret("stripe-endpoint-secret-TEST-ONLY.txt", prefix: "whsec_", length: 32)
        secret("stripe-secret-key-TEST-ONLY.txt", prefix: "sk_test_", length: 99)
        return files
    }
}
