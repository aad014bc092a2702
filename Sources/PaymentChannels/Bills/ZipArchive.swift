import CZlib

/// A minimal ZIP reader and writer, and gzip inflation, for channel bill files (Alipay's zip of GBK CSVs,
/// WeChat Pay's `tar_type=GZIP` bills). Pure: bytes in, bytes out.
///
/// The reader follows the end-of-central-directory record to the central directory and from each central
/// header to its local header; it reads methods 0 (stored) and 8 (deflate), checks every entry's CRC-32 and
/// size, and refuses ZIP64, encryption, multi-disk archives and more than ``maximumUncompressedBytes`` in total,
/// so a corrupt or hostile archive (bad offsets, lying sizes, a zip bomb) fails with
/// ``ChannelError/Code/malformedBody`` instead of trapping or exhausting memory.
enum ZipArchive {
    /// One file of an archive. `name` is the raw bytes of the stored name: Alipay writes GBK names without the
    /// UTF-8 flag, so names are matched as bytes.
    struct Entry: Equatable, Sendable {
        var name: [UInt8]
        var data: [UInt8]
        /// Whether the name is UTF-8 (general purpose flag bit 11).
        var nameIsUTF8: Bool

        init(name: [UInt8], data: [UInt8], nameIsUTF8: Bool = false) {
            self.name = name
            self.data = data
            self.nameIsUTF8 = nameIsUTF8
        }
    }

    /// The most an archive (all entries together) or a gzip stream may inflate to: 64 MiB.
    static let maximumUncompressedBytes = 64 << 20
    /// The most entries an archive may hold.
    static let maximumEntries = 1024

    private static let localSignature: UInt32 = 0x0403_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let endSignature: UInt32 = 0x0605_4B50

    // MARK: Reading

    /// Every file entry of `archive` (directories are left out), in central-directory order.
    static func read(
        _ archive: [UInt8], maximumUncompressedBytes limit: Int = maximumUncompressedBytes
    ) throws(ChannelError) -> [Entry] {
        let bytes = ByteReader(archive)
        let end = try endOfCentralDirectory(bytes)
        let disk = try bytes.u16(end + 4)
        let directoryDisk = try bytes.u16(end + 6)
        let entriesOnDisk = try bytes.u16(end + 8)
        let entryCount = try bytes.u16(end + 10)
        let directorySize = try bytes.u32(end + 12)
        let directoryOffset = try bytes.u32(end + 16)
        guard entryCount != 0xFFFF, directorySize != 0xFFFF_FFFF, directoryOffset != 0xFFFF_FFFF else {
            throw .malformed("the zip is ZIP64, which bills never are")
        }
        guard disk == 0, directoryDisk == 0, entriesOnDisk == entryCount else {
            throw .malformed("the zip spans several disks")
        }
        guard Int(entryCount) <= maximumEntries else {
            throw .malformed("the zip holds too many entries", detail: "\(entryCount) entries")
        }
        let directoryStart = Int(directoryOffset)
        guard directoryStart + Int(directorySize) <= end else {
            throw .malformed(
                "the zip's central directory lies outside the archive",
                detail: "offset \(directoryOffset), size \(directorySize), end record at \(end)")
        }

        var entries: [Entry] = []
        var budget = limit
        var position = directoryStart
        for index in 0..<Int(entryCount) {
            guard try bytes.u32(position) == centralSignature else {
                throw .malformed("the zip's central directory is corrupt", detail: "entry \(index) at \(position)")
            }
            let flags = try bytes.u16(position + 8)
            let method = try bytes.u16(position + 10)
            let crc = try bytes.u32(position + 16)
            let compressedSize = Int(try bytes.u32(position + 20))
            let uncompressedSize = Int(try bytes.u32(position + 24))
            let nameLength = Int(try bytes.u16(position + 28))
            let extraLength = Int(try bytes.u16(position + 30))
            let commentLength = Int(try bytes.u16(position + 32))
            let localOffset = Int(try bytes.u32(position + 42))
            let name = try bytes.slice(position + 46, nameLength)
            position += 46 + nameLength + extraLength + commentLength
            guard position <= directoryStart + Int(directorySize) else {
                throw .malformed("the zip's central directory is corrupt", detail: "entry \(index) overruns it")
            }
            guard flags & 0x0001 == 0 else { throw .malformed("the zip entry is encrypted") }
            if name.last == UInt8(ascii: "/") { continue }  // a directory

            guard uncompressedSize <= budget else {
                throw .malformed(
                    "the zip inflates to more than \(limit >> 20) MiB",
                    detail: "entry \(index) declares \(uncompressedSize) bytes")
            }
            guard localOffset + 30 <= directoryStart, try bytes.u32(localOffset) == localSignature else {
                throw .malformed("the zip entry's local header is missing", detail: "entry \(index) at \(localOffset)")
            }
            let localNameLength = Int(try bytes.u16(localOffset + 26))
            let localExtraLength = Int(try bytes.u16(localOffset + 28))
            let dataStart = localOffset + 30 + localNameLength + localExtraLength
            guard dataStart + compressedSize <= directoryStart else {
                throw .malformed(
                    "the zip entry's data lies outside the archive",
                    detail: "entry \(index): \(compressedSize) bytes at \(dataStart)")
            }
            let stored = Array(archive[dataStart..<(dataStart + compressedSize)])

            let data: [UInt8]
            switch method {
            case 0:
                guard compressedSize == uncompressedSize else {
                    throw .malformed("the stored zip entry's sizes differ", detail: "entry \(index)")
                }
                data = stored
            case 8:
                data = try inflate(stored, windowBits: -15, limit: uncompressedSize)
                guard data.count == uncompressedSize else {
                    throw .malformed(
                        "the zip entry inflates to another size than it declares",
                        detail: "entry \(index): \(data.count) bytes, declared \(uncompressedSize)")
                }
            default:
                throw .malformed("the zip entry uses an unsupported compression method", detail: "method \(method)")
            }
            guard crc32(data) == crc else {
                throw .malformed("the zip entry fails its CRC-32 check", detail: "entry \(index)")
            }
            budget -= data.count
            entries.append(Entry(name: name, data: data, nameIsUTF8: flags & 0x0800 != 0))
        }
        return entries
    }

    private static func endOfCentralDirectory(_ bytes: ByteReader) throws(ChannelError) -> Int {
        let count = bytes.count
        guard count >= 22 else { throw .malformed("the body is too short to be a zip", detail: "\(count) bytes") }
        // The record is 22 bytes plus a comment of at most 65535; scan back for the signature whose comment
        // length reaches exactly the end of the archive.
        var candidate = count - 22
        let lowest = max(0, count - 22 - 0xFFFF)
        while candidate >= lowest {
            if (try? bytes.u32(candidate)) == endSignature, let comment = try? bytes.u16(candidate + 20),
                candidate + 22 + Int(comment) == count
            {
                return candidate
            }
            candidate -= 1
        }
        throw .malformed("the body is not a zip (no end-of-central-directory record)")
    }

    // MARK: Writing

    /// An archive of `entries`, deflated where that makes an entry smaller, else stored. `dosDate`/`dosTime`
    /// are the MS-DOS modification stamp written for every entry (default 1980-01-01 00:00).
    static func write(_ entries: [Entry], dosDate: UInt16 = 0x0021, dosTime: UInt16 = 0) -> [UInt8] {
        precondition(entries.count < 0xFFFF, "too many zip entries")
        var archive: [UInt8] = []
        var directory: [UInt8] = []
        for entry in entries {
            precondition(entry.data.count < 0xFFFF_FFFF && entry.name.count <= 0xFFFF, "zip entry too large")
            let deflated = deflate(entry.data)
            let (method, payload): (UInt16, [UInt8]) =
                deflated.count < entry.data.count ? (8, deflated) : (0, entry.data)
            let crc = crc32(entry.data)
            let flags: UInt16 = entry.nameIsUTF8 ? 0x0800 : 0
            let offset = archive.count

            append32(localSignature, to: &archive)
            for field: UInt16 in [20, flags, method, dosTime, dosDate] { append16(field, to: &archive) }
            append32(crc, to: &archive)
            append32(UInt32(payload.count), to: &archive)
            append32(UInt32(entry.data.count), to: &archive)
            append16(UInt16(entry.name.count), to: &archive)
            append16(0, to: &archive)
            archive += entry.name
            archive += payload

            append32(centralSignature, to: &directory)
            for field: UInt16 in [20, 20, flags, method, dosTime, dosDate] { append16(field, to: &directory) }
            append32(crc, to: &directory)
            append32(UInt32(payload.count), to: &directory)
            append32(UInt32(entry.data.count), to: &directory)
            for field: UInt16 in [UInt16(entry.name.count), 0, 0, 0, 0] { append16(field, to: &directory) }
            append32(0, to: &directory)
            append32(UInt32(offset), to: &directory)
            directory += entry.name
        }
        let directoryOffset = archive.count
        archive += directory
        append32(endSignature, to: &archive)
        for field: UInt16 in [0, 0, UInt16(entries.count), UInt16(entries.count)] { append16(field, to: &archive) }
        append32(UInt32(directory.count), to: &archive)
        append32(UInt32(directoryOffset), to: &archive)
        append16(0, to: &archive)
        return archive
    }

    private static func append16(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8(value >> 8))
    }

    private static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    // MARK: zlib

    /// Inflates a gzip stream (`1f 8b …`), refusing more than `limit` bytes of output.
    static func gunzip(_ bytes: [UInt8], limit: Int = maximumUncompressedBytes) throws(ChannelError) -> [UInt8] {
        try inflate(bytes, windowBits: 15 + 16, limit: limit)
    }

    /// Whether `bytes` starts with the gzip magic number.
    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    private enum InflateOutcome {
        case done
        case tooLarge
        case corrupt(Int32)
    }

    /// Inflates raw deflate (`windowBits` -15) or gzip (31) data; stops, and throws, as soon as the output would
    /// pass `limit`, so a bomb never gets inflated.
    private static func inflate(_ input: [UInt8], windowBits: Int32, limit: Int) throws(ChannelError) -> [UInt8] {
        guard !input.isEmpty else { throw .malformed("the compressed data is empty") }
        guard input.count <= Int(UInt32.max) else { throw .malformed("the compressed data is too large") }
        var stream = z_stream()
        guard payfleet_zlib_inflate_init(&stream, windowBits) == Z_OK else {
            throw .malformed("zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        let outcome: InflateOutcome = input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(source.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (status, buffer.count - Int(stream.avail_out))
                }
                guard output.count + produced <= limit else { return .tooLarge }
                output += chunk[0..<produced]
                switch status {
                case Z_STREAM_END: return .done
                case Z_OK: continue
                default: return .corrupt(status)
                }
            }
        }
        switch outcome {
        case .done:
            return output
        case .tooLarge:
            throw .malformed("the compressed data inflates to more than allowed", detail: "limit \(limit) bytes")
        case .corrupt(let status):
            throw .malformed("the compressed data is corrupt or truncated", detail: "zlib status \(status)")
        }
    }

    /// Raw deflate (no zlib or gzip wrapper), as ZIP method 8 stores it.
    static func deflate(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard payfleet_zlib_deflate_init(&stream, Z_DEFAULT_COMPRESSION, -15) == Z_OK else { return input }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let status: Int32 = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                // zlib accepts a null next_in while avail_in is 0 (an empty entry).
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        // deflateBound guarantees a single Z_FINISH call completes; if it somehow did not, store the entry.
        guard status == Z_STREAM_END else { return input }
        output.removeLast(bound - Int(stream.total_out))
        return output
    }

    /// The CRC-32 of ZIP and gzip.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = CZlib.crc32(0, nil, 0)
            var offset = 0
            while offset < buffer.count {
                let length = min(buffer.count - offset, 1 << 30)
                crc = CZlib.crc32(crc, buffer.baseAddress! + offset, UInt32(length))
                offset += length
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}

/// Little-endian reads that throw instead of trapping when they would leave the buffer.
private struct ByteReader {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var count: Int { bytes.count }

    func u16(_ offset: Int) throws(ChannelError) -> UInt16 {
        guard offset >= 0, offset <= bytes.count - 2 else { throw outside(offset) }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func u32(_ offset: Int) throws(ChannelError) -> UInt32 {
        guard offset >= 0, offset <= bytes.count - 4 else { throw outside(offset) }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    func slice(_ offset: Int, _ length: Int) throws(ChannelError) -> [UInt8] {
        guard offset >= 0, length >= 0, offset <= bytes.count - length else { throw outside(offset) }
        return Array(bytes[offset..<(offset + length)])
    }

    private func outside(_ offset: Int) -> ChannelError {
        .malformed("the zip points outside itself", detail: "offset \(offset) of \(bytes.count) bytes")
    }
}
