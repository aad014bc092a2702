import Crypto
import _CryptoExtras

extension AlipayMerchant {
    /// Loads the Alipay public keys from plain key files (public-key mode, "支付宝公钥") and from Alipay
    /// public-key certificates (certificate mode, `alipayCertPublicKey_RSA2.crt`: X.509 PEM, the key of
    /// its first certificate is used). Both may be configured at once, e.g. while switching modes; at least
    /// one file is required. The certificate chain (`alipayRootCert.crt`) is not checked: the certificate
    /// file is configuration, trusted as the key file is.
    public static func load(
        id: String, appID: String, sellerID: String?, publicKeyFiles: [String], alipayPublicCertFiles: [String]
    ) throws(ChannelError) -> AlipayMerchant {
        guard !appID.isEmpty else { throw .keyFile("Alipay merchant \(id) has an empty app id") }
        guard !publicKeyFiles.isEmpty || !alipayPublicCertFiles.isEmpty else {
            throw .keyFile(
                "Alipay merchant \(id) has no Alipay public key or public-key certificate file to verify notifications")
        }
        var keys: [_RSA.Signing.PublicKey] = []
        for path in publicKeyFiles {
            keys.append(try PEMKeys.loadRSAPublicKey(path: path))
        }
        for path in alipayPublicCertFiles {
            keys.append(try PEMKeys.loadCertificate(path: path).publicKey)
        }
        return AlipayMerchant(id: id, appID: appID, sellerID: sellerID, publicKeys: keys)
    }
}
