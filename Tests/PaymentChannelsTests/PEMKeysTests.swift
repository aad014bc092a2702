import Foundation
import PaymentChannels
import Testing
import X509
import _CryptoExtras

@Suite("PEMKeys")
struct PEMKeysTests {
    @Test("reads a platform certificate's serial as WeChat Pay writes it, and its key")
    func certificate() throws {
        let certificate = try PEMKeys.loadCertificate(path: Sandbox.platformCertificate)
        #expect(certificate.serial == Sandbox.platformSerial)
        #expect(certificate.publicKey.keySizeInBits == 2048)
        let merchantCertificate = try PEMKeys.loadCertificate(path: Sandbox.merchantAPICertificate)
        #expect(merchantCertificate.serial == Sandbox.merchantAPISerial)
    }

    @Test("serial hex drops the DER sign byte and keeps two digits a byte")
    func serialHex() {
        #expect(PEMKeys.serialHex(Certificate.SerialNumber(bytes: [0x00, 0xD7, 0xCE, 0x59])) == "D7CE59")
        #expect(PEMKeys.serialHex(Certificate.SerialNumber(bytes: [0x0A, 0x01])) == "0A01")
        #expect(PEMKeys.serialHex(Certificate.SerialNumber(bytes: [0x7F])) == "7F")
    }

    @Test("accepts PUBLIC KEY, RSA PUBLIC KEY and bare base64 public keys")
    func publicKeyForms() throws {
        let spki = try PEMKeys.loadRSAPublicKey(path: Sandbox.alipayPublicKey)
        let pkcs1 = try PEMKeys.rsaPublicKey(pem: spki.pkcs1PEMRepresentation)
        #expect(spki.pkcs1PEMRepresentation.hasPrefix("-----BEGIN RSA PUBLIC KEY-----"))
        #expect(pkcs1.derRepresentation == spki.derRepresentation)
        let bare = try PEMKeys.rsaPublicKey(pem: spki.derRepresentation.base64EncodedString() + "\n")
        #expect(bare.derRepresentation == spki.derRepresentation)

        let file = try TemporaryFile(contents: "comment before\n" + spki.pkcs1PEMRepresentation + "\ntrailing\n")
        #expect(try PEMKeys.loadRSAPublicKey(path: file.path).derRepresentation == spki.derRepresentation)
    }

    @Test("accepts PRIVATE KEY and RSA PRIVATE KEY private keys")
    func privateKeyForms() throws {
        let pkcs8 = try PEMKeys.loadRSAPrivateKey(path: Sandbox.alipayPrivateKey)
        let pkcs1 = try PEMKeys.rsaPrivateKey(pem: pkcs8.pemRepresentation)
        #expect(pkcs8.pemRepresentation.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        #expect(pkcs1.publicKey.derRepresentation == pkcs8.publicKey.derRepresentation)
    }

    @Test("errors name the file and never its contents")
    func errors() throws {
        let missing = "/nonexistent/payfleet/key-TEST-ONLY.pem"
        let missingError = #expect(throws: ChannelError.self) { try PEMKeys.loadRSAPublicKey(path: missing) }
        #expect(missingError?.code == .keyFile)
        #expect(missingError?.description.contains(missing) == true)
        #expect(missingError?.httpStatus == 500)

        // A private key where a public key is expected: the error must not echo it.
        let privateText = try String(contentsOfFile: Sandbox.alipayPrivateKey, encoding: .utf8)
        let secretLine = privateText.split(separator: "\n")[1]
        let wrongKind = #expect(throws: ChannelError.self) {
            try PEMKeys.loadRSAPublicKey(path: Sandbox.alipayPrivateKey)
        }
        #expect(wrongKind?.code == .keyFile)
        #expect(wrongKind?.description.contains(Sandbox.alipayPrivateKey) == true)
        #expect(wrongKind?.description.contains(secretLine) == false)
        #expect(wrongKind?.debugDescription.contains(secretLine) == false)

        let garbage = try TemporaryFile(
            contents: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
        let notCertificate = #expect(throws: ChannelError.self) { try PEMKeys.loadCertificate(path: garbage.path) }
        #expect(notCertificate?.code == .keyFile)
        #expect(notCertificate?.description.contains(garbage.path) == true)
    }
}

/// A file in the temporary directory, removed when released.
final class TemporaryFile {
    let path: String

    init(contents: String) throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("payfleet-channels-\(UUID().uuidString)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
