import MisdirectionRisk
#if canImport(Glibc)
import Glibc
#endif

/// What several targets classify with: the packaged protection (`mil`, `gov`, `gov.uk`) plus a
/// registrable domain and a trusted partner, over Debian's Public Suffix List when installed.
public enum Fixtures {
    public static let suffixes: PublicSuffixList = {
        if let text = readFile(PublicSuffixList.debianPath) { return PublicSuffixList(parsing: text) }
        return PublicSuffixList(rules: ["mil", "ml", "gov", "gv", "uk", "gov.uk", "co.uk", "com", "org", "il"])
    }()

    public static let protected = ["mil", "gov", "gov.uk", "army.mil", "example.org"]
    public static let trusted = ["real-partner.ml"]

    public static let classifier = Classifier(protectedDomains: protected, trustedDomains: trusted, suffixes: suffixes)

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
