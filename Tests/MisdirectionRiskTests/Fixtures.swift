import Foundation
import MisdirectionRisk

enum Fixtures {
    /// Debian's list when installed (CI installs `publicsuffix`), else a few rules.
    static let suffixes: PublicSuffixList = {
        if let text = try? String(contentsOfFile: PublicSuffixList.debianPath, encoding: .utf8) {
            return PublicSuffixList(parsing: text)
        }
        return PublicSuffixList(rules: ["mil", "ml", "gov", "uk", "gov.uk", "co.uk", "com", "org", "il"])
    }()

    /// The walking skeleton's default protection plus an organisation's own partner.
    static let classifier = Classifier(
        protectedDomains: ["mil", "gov", "gov.uk", "army.mil", "example.org"],
        trustedDomains: ["real-partner.ml"],
        suffixes: suffixes)

    static func verdict(_ text: String) -> RecipientVerdict {
        classifier.classify(path: EmailAddress.parseAddressOrDomain(text), input: text)
    }
}

extension Fixtures {
    /// Specific protected domains only (no whole suffix), as an organisation lists its partners.
    static let partners = Classifier(
        protectedDomains: ["army.mil", "example.org", "microsoft.com", "paypal.com", "bankofamerica.com", "mod.gov.uk"],
        trustedDomains: ["real-partner.ml"],
        suffixes: suffixes)

    static func partnerVerdict(_ text: String) -> RecipientVerdict {
        partners.classify(path: EmailAddress.parseAddressOrDomain(text), input: text)
    }
}
