import ArgumentParser
import Foundation
import PaymentChannels

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Key sets for the sandbox channels and test fleets.", subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a fresh TEST-ONLY key set (like config/sandbox/) into a folder, files mode 0600.")

        @Option(help: "The folder to write into; it is created if missing.") var out: String
        @Flag(help: "Replace files that already exist.") var force = false

        func run() async throws {
            let directory = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let files = try KeySetGenerator.generate()
            for file in files {
                let target = directory.appendingPathComponent(file.name)
                if !force, FileManager.default.fileExists(atPath: target.path) {
                    throw ValidationError("\(target.path) exists; pass --force to replace the set")
                }
            }
            for file in files {
                let target = directory.appendingPathComponent(file.name)
                guard FileManager.default.createFile(
                    atPath: target.path, contents: Data(file.contents.utf8), attributes: [.posixPermissions: 0o600])
                else { throw ValidationError("cannot write \(target.path)") }
                print(target.path)
            }
            print("wrote \(files.count) TEST-ONLY files; point a config's key paths at them (config/payfleet.example.yaml)")
        }
    }
}
