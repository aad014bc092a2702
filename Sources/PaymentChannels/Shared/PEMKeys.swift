import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// Loads RSA keys and X.509 certificates from PEM files (or from PEM text).
///
/// Errors carry ``ChannelError/Code/keyFile`` and name the file, never its contents.
public enum PEMKeys {
    /// Reads an RSA public key of 2048 bits or more: PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1),
    /// or the bare base64 that the Alipay console hands out.
    public static func loadRSAPublicKey(path: String) throws(ChannelError) -> _RSA.Signing.PublicKey {
        try withPath(path) { text throws(ChannelError) in try rsaPublicKey(pem: text) }
    }

    /// Reads an RSA private key of 2048 bits or more: PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY`
    /// (PKCS#1), or bare base64.
    public static func loadRSAPrivateKey(path: String) throws(ChannelError) -> _RSA.Signing.PrivateKey {
        try withPath(path) { text throws(ChannelError) in try rsaPrivateKey(pem: text) }
    }

    /// Reads an X.509 certificate (PEM `CERTIFICATE`) holding an RSA key, giving its serial number as
    /// WeChat Pay writes it in `Wechatpay-Serial` (see ``serialHex(_:)``) and its public key.
    public static func loadCertificate(
        path: String
    ) throws(ChannelError) -> (serial: String, publicKey: _RSA.Signing.PublicKey) {
        try withPath(path) { text throws(ChannelError) in try certificate(pem: text) }
    }

    /// Parses an RSA public key from PEM text; see ``loadRSAPublicKey(path:)``.
    public static func rsaPublicKey(pem: String) throws(ChannelError) -> _RSA.Signing.PublicKey {
        guard let der = derBytes(in: pem, labels: ["PUBLIC KEY", "RSA PUBLIC KEY"]) else {
            throw .keyFile("no PEM PUBLIC KEY or RSA PUBLIC KEY block found")
        }
        do {
            return try _RSA.Signing.PublicKey(derRepresentation: der)
        } catch {
            throw .keyFile("not an RSA public key of 2048 bits or more")
        }
    }

    /// Parses an RSA private key from PEM text; see ``loadRSAPrivateKey(path:)``.
    public static func rsaPrivateKey(pem: String) throws(ChannelError) -> _RSA.Signing.PrivateKey {
        guard let der = derBytes(in: pem, labels: ["PRIVATE KEY", "RSA PRIVATE KEY"]) else {
            throw .keyFile("no PEM PRIVATE KEY or RSA PRIVATE KEY block found")
        }
        do {
            return try _RSA.Signing.PrivateKey(derRepresentation: der)
        } catch {
            throw .keyFile("not an RSA private key of 2048 bits or more")
        }
    }

    /// Parses an X.509 certificate from PEM text; see ``loadCertificate(path:)``.
    public static func certificate(
        pem: String
    ) throws(ChannelError) -> (serial: String, publicKey: _RSA.Signing.PublicKey) {
        guard let der = derBytes(in: pem, labels: ["CERTIFICATE"]) else {
            throw .keyFile("no PEM CERTIFICATE block found")
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: der)
        } catch {
            throw .keyFile("not an X.509 certificate")
        }
        guard let key = _RSA.Signing.PublicKey(certificate.publicKey), key.keySizeInBits >= 2048 else {
            throw .keyFile("certificate does not hold an RSA key of 2048 bits or more")
        }
        return (serialHex(certificate.serialNumber), key)
    }

    /// Upper-case hex of the serial number's big-endian bytes without the leading zero bytes of its
    /// DER form, two digits a byte: what WeChat Pay sends in `Wechatpay-Serial`.
    public static func serialHex(_ serial: Certificate.SerialNumber) -> String {
        let bytes = serial.bytes.drop { $0 == 0 }
        guard !bytes.isEmpty else { return "00" }
        let digits = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Reads a whole text file.
    static func readText(_ path: String) throws(ChannelError) -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .keyFile("key file \(path) does not exist")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .keyFile("key file \(path) cannot be read; check its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .keyFile("key file \(path) is not text")
        }
        return text
    }

    private static func withPath<T>(
        _ path: String, _ parse: (String) throws(ChannelError) -> T
    ) throws(ChannelError) -> T {
        let text = try readText(path)
        do {
            return try parse(text)
        } catch {
            throw .keyFile("key file \(path): \(error.message)")
        }
    }

    /// The DER bytes of the first PEM block with one of `labels`; or, when the text has no PEM block at
    /// all, of the whole text read as bare base64.
    static func derBytes(in text: String, labels: Set<String>) -> [UInt8]? {
        var label: String?
        var body = ""
        var sawBlock = false
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                sawBlock = true
                label = String(line.dropFirst("-----BEGIN ".count).dropLast(5))
                body = ""
            } else if line.hasPrefix("-----END "), line.hasSuffix("-----") {
                let end = String(line.dropFirst("-----END ".count).dropLast(5))
                if let current = label, current == end, labels.contains(current) {
                    return Data(base64Encoded: body).map { Array($0) }
                }
                label = nil
            } else if label != nil {
                body += line
            }
        }
        guard !sawBlock else { return nil }
        let bare = text.filter { !$0.isWhitespace }
        guard !bare.isEmpty else { return nil }
        return Data(base64Encoded: bare).map { Array($0) }
    }
}
