import Crypto
import Foundation
import _CryptoExtras

/// The `req_info` of WeChat Pay v2 refund notifications: base64 of AES-256-ECB with PKCS#7 padding, keyed
/// with the 32 lower-case hex digits of MD5(API key) taken as the 32 key bytes.
///
/// swift-crypto has no ECB mode; ECB is the AES block permutation applied to each 16-byte block on its own.
enum WeChatPayV2ReqInfo {
    static let blockSize = 16

    /// The AES-256 key: the lower-case hex MD5 of the API key, as ASCII bytes.
    static func key(apiKey: [UInt8]) -> SymmetricKey {
        SymmetricKey(data: Array(Hex.encode(Insecure.MD5.hash(data: apiKey)).utf8))
    }

    /// Decodes and decrypts `text`. Throws ``ChannelError/Code/malformedBody`` when it is not base64 of whole
    /// blocks and ``ChannelError/Code/decryptionFailed`` when the padding is wrong (another key).
    static func decrypt(_ text: String, apiKey: [UInt8]) throws(ChannelError) -> [UInt8] {
        guard let data = Data(base64Encoded: text), !data.isEmpty, data.count % blockSize == 0 else {
            throw .malformed("req_info is not base64 of whole AES blocks")
        }
        let key = key(apiKey: apiKey)
        var bytes = Array(data)
        for start in stride(from: 0, to: bytes.count, by: blockSize) {
            do {
                try AES.inversePermute(&bytes[start..<(start + blockSize)], key: key)
            } catch {
                // Only for a block or key of the wrong size, which the checks above rule out.
                throw ChannelError(code: .decryptionFailed, message: "req_info cannot be decrypted")
            }
        }
        let padding = Int(bytes[bytes.count - 1])
        guard (1...blockSize).contains(padding),
            bytes.suffix(padding).allSatisfy({ Int($0) == padding })
        else {
            throw ChannelError(
                code: .decryptionFailed, message: "req_info does not decrypt with the merchant's API key; check the key"
            )
        }
        return Array(bytes.dropLast(padding))
    }

    /// Pads and encrypts `plaintext`, base64-encoded: what WeChat Pay sends, for the sandbox and tests.
    static func encrypt(_ plaintext: [UInt8], apiKey: [UInt8]) -> String {
        let key = key(apiKey: apiKey)
        let padding = blockSize - plaintext.count % blockSize
        var bytes = plaintext + Array(repeating: UInt8(padding), count: padding)
        for start in stride(from: 0, to: bytes.count, by: blockSize) {
            do {
                try AES.permute(&bytes[start..<(start + blockSize)], key: key)
            } catch {
                preconditionFailure("AES block permutation of a 16-byte block with a 32-byte key failed: \(error)")
            }
        }
        return Data(bytes).base64EncodedString()
    }
}
