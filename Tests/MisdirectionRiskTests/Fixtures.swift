import Foundation
import MisdirectionRisk
import TestSupport

enum Fixtures {
    /// The pinned list in Tests/Fixtures, not the machine's.
    static let suffixes = PublicSuffixList(parsing: Repository.publicSuffixListText)

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
