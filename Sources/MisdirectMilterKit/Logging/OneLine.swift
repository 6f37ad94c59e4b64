/// Text shown on one line (a folded header value, a sender, a reason): control characters, folds
/// included, and runs of spaces become single spaces.
package func oneLine(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        let blank = scalar.value < 0x20 || scalar.value == 0x7F || scalar == " "
        if blank { if out.last != " " { out.append(" ") } } else { out.unicodeScalars.append(scalar) }
    }
    return out
}
