import Foundation
import MisdirectionRisk

/// One loaded configuration, ready to classify: immutable, shared by every connection that
/// started while it was current.
package struct Engine: Sendable {
    package let configuration: Configuration
    package let classifier: Classifier
    /// Counts loads: 1 at start, one more per successful reload.
    package let generation: Int

    package var policy: Policy { configuration.policy }

    package init(configuration: Configuration, classifier: Classifier, generation: Int) {
        self.configuration = configuration
        self.classifier = classifier
        self.generation = generation
    }

    /// Builds an engine, reading the public suffix list the configuration names.
    /// - Parameter file: the configuration file, for error messages.
    package static func load(_ configuration: Configuration, file: String, generation: Int) throws(ConfigurationError) -> Engine {
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
    package func classify(path: ParsedPath, input: String, history: HistorySnapshot?) -> RecipientVerdict {
        let verdict = classifier.classify(path: path, input: input)
        return history?.assess(verdict, lowering: historyLowers) ?? verdict
    }

    /// `established` lowers look-alikes unless the rule is tried in log-only mode.
    package var historyLowers: Bool { configuration.rules[.established]?.mode != .logOnly }

    /// Reads the configuration file and builds an engine from it.
    package static func load(path: String, generation: Int) throws(ConfigurationError) -> Engine {
        try load(ConfigurationLoader.load(path: path), file: path, generation: generation)
    }
}
