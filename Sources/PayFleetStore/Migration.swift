import Foundation

/// One numbered SQL file of `Migrations/`, e.g. `0001_initial.sql`.
public struct Migration: Sendable, Hashable {
    /// The number the file name starts with; migrations apply in ascending order.
    public let version: Int
    /// The rest of the file name, without the extension (`initial`).
    public let name: String
    /// The file's SQL text.
    public let sql: String
    /// The file name, e.g. `0001_initial.sql`.
    public let fileName: String

    /// - Parameter fileName: defaults to the version padded to four digits, `_`, the name and `.sql`.
    public init(version: Int, name: String, sql: String, fileName: String? = nil) {
        self.version = version
        self.name = name
        self.sql = sql
        if let fileName {
            self.fileName = fileName
        } else {
            let number = String(version)
            self.fileName = String(repeating: "0", count: max(0, 4 - number.count)) + number + "_" + name + ".sql"
        }
    }

    /// The migrations this build ships, from the module's resource bundle, in version order.
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw StoreError(
                code: .migrationsMissing,
                message: "the Migrations folder is missing from the PayFleetStore resource bundle; rebuild the package",
                detail: "bundle: \(Bundle.module.bundlePath)")
        }
        return try load(from: directory)
    }

    /// Reads every `NNNN_name.sql` file of a folder. Other files are ignored; a `.sql` file
    /// with another name, or two files with one version, is an error.
    public static func load(from directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw StoreError(
                code: .migrationsMissing, message: "cannot list the migrations folder",
                detail: "\(directory.path): \(error)")
        }
        var migrations: [Migration] = []
        for fileName in names.sorted() where fileName.hasSuffix(".sql") {
            guard let (version, name) = parse(fileName: fileName) else {
                throw StoreError(
                    code: .migrationFileInvalid,
                    message:
                        "migration file \(fileName) is not named NNNN_name.sql (digits, underscore, lower-case name)")
            }
            let url = directory.appendingPathComponent(fileName)
            let data: Data
            do {
                data = try Data(contentsOf: url)
            } catch {
                throw StoreError(
                    code: .migrationsMissing, message: "cannot read migration file \(fileName)", detail: "\(error)")
            }
            guard let sql = String(data: data, encoding: .utf8) else {
                throw StoreError(code: .migrationFileInvalid, message: "migration file \(fileName) is not UTF-8")
            }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw StoreError(
                    code: .migrationFileInvalid,
                    message: "migration files \(clash.fileName) and \(fileName) share version \(version)")
            }
            migrations.append(Migration(version: version, name: name, sql: sql, fileName: fileName))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    static func parse(fileName: String) -> (Int, String)? {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let digits = stem[..<underscore]
        let name = stem[stem.index(after: underscore)...]
        guard digits.count >= 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int(digits),
            version > 0, !name.isEmpty,
            name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
        else { return nil }
        return (version, String(name))
    }
}
