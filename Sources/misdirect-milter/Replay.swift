import ArgumentParser

/// `misdirect-milter replay`: placeholder while the parsers are written.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the policy over past traffic.")
    func run() throws {}
}
