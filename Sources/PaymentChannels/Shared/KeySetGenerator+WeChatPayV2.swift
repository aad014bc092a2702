import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

extension KeySetGenerator {
    /// The mutual-TLS set of WeChat Pay v2's refund endpoint in the sandbox: a CA, the sandbox's server
    /// certificate for 127.0.0.1 / localhost and a merchant client certificate (both issued by the CA), and a
    /// self-signed client certificate the CA did not issue (which the sandbox must refuse).
    static func weChatPayV2TLS(now: Date, years: Int) throws -> [File] {
        var files: [File] = []
        let notAfter = now.addingTimeInterval(Double(years) * 365 * 86_400)
        func serial() -> Certificate.SerialNumber {
            var bytes = [UInt8](repeating: 0, count: 20)
            for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
            bytes[0] = (bytes[0] & 0x7F) | 0x10
            return .init(bytes: bytes)
        }
        func key(_ name: String) throws -> _RSA.Signing.PrivateKey {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            files.append(File(name: name, contents: key.pemRepresentation + "\n"))
            return key
        }
        func issue(
            _ fileName: String, subject: DistinguishedName, key: _RSA.Signing.PrivateKey, issuer: DistinguishedName,
            issuerKey: _RSA.Signing.PrivateKey, extensions: Certificate.Extensions
        ) throws {
            let certificate = try Certificate(
                version: .v3, serialNumber: serial(), publicKey: .init(key.publicKey), notValidBefore: now,
                notValidAfter: notAfter, issuer: issuer, subject: subject, signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: extensions, issuerPrivateKey: .init(issuerKey))
            files.append(File(name: fileName, contents: try certificate.serializeAsPEM().pemString + "\n"))
        }
        func name(_ commonName: String) throws -> DistinguishedName {
            try DistinguishedName {
                OrganizationName("PayFleet TEST ONLY")
                CommonName(commonName)
            }
        }

        let caName = try name("PayFleet WeChat Pay v2 sandbox CA TEST ONLY")
        let ca = try key("wechatpay-v2-ca-private-key-TEST-ONLY.pem")
        try issue(
            "wechatpay-v2-ca-cert-TEST-ONLY.pem", subject: caName, key: ca, issuer: caName, issuerKey: ca,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            })
        let server = try key("wechatpay-v2-sandbox-server-private-key-TEST-ONLY.pem")
        try issue(
            "wechatpay-v2-sandbox-server-cert-TEST-ONLY.pem", subject: try name("127.0.0.1"), key: server,
            issuer: caName, issuerKey: ca,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("localhost"),
                ])
            })
        let client = try key("wechatpay-v2-merchant-client-private-key-TEST-ONLY.pem")
        let clientExtensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            try ExtendedKeyUsage([.clientAuth])
        }
        try issue(
            "wechatpay-v2-merchant-client-cert-TEST-ONLY.pem", subject: try name("1900000109"), key: client,
            issuer: caName, issuerKey: ca, extensions: clientExtensions)
        let untrusted = try key("wechatpay-v2-untrusted-client-private-key-TEST-ONLY.pem")
        let untrustedName = try name("1900000109 untrusted")
        try issue(
            "wechatpay-v2-untrusted-client-cert-TEST-ONLY.pem", subject: untrustedName, key: untrusted,
            issuer: untrustedName, issuerKey: untrusted, extensions: clientExtensions)
        return files
    }
}
