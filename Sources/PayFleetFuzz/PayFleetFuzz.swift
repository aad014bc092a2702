import Foundation
import PayFleetFuzzTargets

// payfleet-fuzz: PayFleet's parsers under libFuzzer (scripts/fuzz), or replaying inputs.
//
// Built by scripts/fuzz with `-sanitize=fuzzer,address -DFUZZING`: `main` hands the command line to libFuzzer's
// driver (LLVMFuzzerRunDriver; SwiftPM links an executable's own entry point, so libFuzzer's `main` is not used),
// which calls back with each input for the target named by PAYFLEET_FUZZ_TARGET (xml, form, alipay-response,
// money, verifiers). In an ordinary build it is a replayer: `payfleet-fuzz <target> <file>...` runs each file through
// the target, which is how a crash libFuzzer found is reproduced.

#if FUZZING
private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["PAYFLEET_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("set PAYFLEET_FUZZ_TARGET to one of \(names)\n".utf8))
        exit(64)
    }
    return target
}()

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
enum PayFleetFuzzDriver {
    static func main() {
        _ = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(
            LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
                return 0
            })
    }
}
#else
@main
enum PayFleetFuzzReplay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            FileHandle.standardError.write(Data("usage: payfleet-fuzz <\(names)> <input file>...\n".utf8))
            exit(64)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(66)
            }
            target.run(Array(data))
            print("\(path): ok")
        }
    }
}
#endif
