extension String {
    /// The string if it has at most `octets` UTF-8 octets; otherwise its first whole scalars and
    /// `...`, `octets` long at most. Replies and headers have limits in octets, not characters.
    func truncated(toOctets octets: Int) -> String {
        guard utf8.count > octets else { return self }
        var out = String.UnicodeScalarView()
        var length = 3
        for scalar in unicodeScalars {
            length += UTF8.width(scalar)
            if length > octets { break }
            out.append(scalar)
        }
        return String(out) + "..."
    }
}
