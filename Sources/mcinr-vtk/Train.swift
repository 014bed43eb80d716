import ArgumentParser

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Encode a dataset as an .mci model (not implemented yet).")
    @Argument var inputs: [String]
    func run() throws { throw CLIError("train: not implemented yet") }
}
