import Foundation
import MisdirectionRisk

/// One loaded configuration, ready to classify: immutable, shared by every connection that
/// started while it was current.
struct Engine: Sendable {
    let configuration: Configuration
    let classifier: Classifier
    /// Counts loads: 1 at start, one more per successful reload.
    let generation: Int

    var policy: Policy { configuration.policy }

    /// Builds an engine, reading the public suffix list the configuration names.
    /// - Parameter file: the configuration file, for error messages.
    static func load(_ configuration: Configuration, file: String, generation: Int) throws(ConfigurationError) -> Engine {
        let path = configuration.publicSuffixListPath
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                file: file, line: nil, key: "public_suffix_list",
                message: "cannot read \(path) (on Debian: apt-get install publicsuffix)")
        }
        let suffixes = PublicSuffixList(parsing: text)
        guard suffixes.count > 0 else {
            throw ConfigurationError(file: file, line: nil, key: "public_suffix_list", message: "\(path) holds no rules")
        }
        let classifier = Classifier(
            protectedDomains: configuration.protectedDomains,
            trustedDomains: configuration.trustedDomains,
            suffixes: suffixes)
        return Engine(configuration: configuration, classifier: classifier, generation: generation)
    }

    /// A recipient's verdict, with what the correspondent history says when there is one.
    func classify(path: ParsedPath, input: String, history: HistorySnapshot?) -> RecipientVerdict {
        let verdict = classifier.classify(path: path, input: input)
        return history?.assess(verdict, lowering: historyLowers) ?? verdict
    }

    /// `established` lowers look-alikes unless the rule is tried in log-only mode.
    var historyLowers: Bool { configuration.rules[.established]?.mode != .logOnly }

    /// Reads the configuration file and builds an engine from it.
    static func load(path: String, generation: Int) throws(ConfigurationError) -> Engine {
        try load(ConfigurationLoader.load(path: path), file: path, generation: generation)
    }
}
