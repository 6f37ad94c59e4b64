/// The Public Suffix List (publicsuffix.org): which parts of a domain name are registry-run
/// suffixes (`mil`, `gov.uk`, `co.uk`), so that `army.mil` splits into the name `army` under
/// the suffix `mil`.
///
/// Parsed from the list's text; reading the file is the caller's business (Debian ships it in
/// the `publicsuffix` package at ``debianPath``).
public struct PublicSuffixList: Sendable {
    /// Where Debian's `publicsuffix` package installs the list.
    public static let debianPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    private var rules: Set<String> = []
    private var wildcards: Set<String> = []
    private var exceptions: Set<String> = []

    /// The number of rules read.
    public var count: Int { rules.count + wildcards.count + exceptions.count }

    /// Parses the list's text.
    /// - Parameters:
    ///   - text: the contents of `public_suffix_list.dat`.
    ///   - includePrivate: also take the private section (`github.io`, `blogspot.com`, …). Off
    ///     by default: misdirection is about the registries' suffixes.
    public init(parsing text: String, includePrivate: Bool = false) {
        var inPrivate = false
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            if line.hasPrefix("//") {
                if rawLine.contains("===BEGIN PRIVATE DOMAINS===") { inPrivate = true }
                if rawLine.contains("===END PRIVATE DOMAINS===") { inPrivate = false }
                continue
            }
            if line.isEmpty || (inPrivate && !includePrivate) { continue }
            let rule = line.lowercased()
            if rule.hasPrefix("!") {
                exceptions.insert(String(rule.dropFirst()))
            } else if rule.hasPrefix("*.") {
                wildcards.insert(String(rule.dropFirst(2)))
            } else {
                rules.insert(rule)
            }
        }
    }

    /// A list with just these plain rules, for tests and when no list file is available.
    public init(rules: [String]) {
        self.rules = Set(rules.map { $0.lowercased() })
    }

    /// The public suffix of a lower-case domain: its longest matching rule, or its last label
    /// when no rule matches (the list's implicit `*` rule).
    public func suffix(of domain: String) -> String {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty else { return domain }
        for start in labels.indices {
            let candidate = labels[start...].joined(separator: ".")
            if exceptions.contains(candidate) {
                return labels[(start + 1)...].joined(separator: ".")
            }
            if rules.contains(candidate) { return candidate }
            if start + 1 < labels.count, wildcards.contains(labels[(start + 1)...].joined(separator: ".")) {
                return candidate
            }
        }
        return String(labels[labels.count - 1])
    }

    /// True when the domain's last label is a top-level domain the list names (`army.mil`, but
    /// not `J.Smith`).
    public func isListedTopLevel(of domain: String) -> Bool {
        guard let last = domain.split(separator: ".").last else { return false }
        let label = String(last)
        return rules.contains(label) || wildcards.contains(label)
    }

    /// True when the whole name is a public suffix (`mil`, `gov.uk`).
    public func isSuffix(_ domain: String) -> Bool {
        suffix(of: domain) == domain
    }

    /// The registrable domain (the suffix plus one label: `army.mil` for `hq.army.mil`), or nil
    /// when the name is itself a suffix.
    public func registrableDomain(of domain: String) -> String? {
        let suffix = suffix(of: domain)
        guard domain.count > suffix.count else { return nil }
        let name = domain.dropLast(suffix.count + 1)
        let label = name.split(separator: ".").last.map(String.init) ?? String(name)
        return "\(label).\(suffix)"
    }
}
