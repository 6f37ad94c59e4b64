import Foundation

/// Files of this repository that tests read, found from this file's own path.
public enum Repository {
    /// The repository's root folder.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/TestSupport/Repository.swift
        return url.path
    }()

    /// A path below the root: `Repository.path("packaging/misdirect-milter.yml")`.
    public static func path(_ relative: String) -> String {
        root + "/" + relative
    }

    /// The Public Suffix List the tests classify with, pinned (Debian's `publicsuffix`
    /// 20230209, copied into Tests/Fixtures) so that no result depends on the machine's list.
    /// The milter itself reads the system's (`public_suffix_list:`).
    public static let publicSuffixListPath = path("Tests/Fixtures/public_suffix_list.dat")

    /// The pinned list's text.
    public static let publicSuffixListText: String = {
        guard let text = try? String(contentsOfFile: publicSuffixListPath, encoding: .utf8) else {
            fatalError("\(publicSuffixListPath) is missing: it is part of the repository")
        }
        return text
    }()
}
