// misdirect-eval: recall per kind of look-alike and the false-positive rate of the classifier
// on the labelled corpus in evaluation/ (see scripts/make-corpus).
//
//     swift run -c release misdirect-eval [--verdicts] [DIRECTORY]     (default: evaluation)
//
// Prints a Markdown table (kinds that miss their aim are marked), the false positives, and a
// few misses per kind; with --verdicts, every domain's verdict in full instead (to diff before
// and after a change to the classifier).
import Foundation
import MisdirectionRisk

func readText(_ path: String) -> String? {
    try? String(contentsOfFile: path, encoding: .utf8)
}

func fail(_ message: String, status: Int32) -> Never {
    var text = "misdirect-eval: \(message)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}

let printsVerdicts = CommandLine.arguments.contains("--verdicts")
let directory = CommandLine.arguments.dropFirst().first { $0 != "--verdicts" } ?? "evaluation"
guard let protectedText = readText("\(directory)/protected.txt"), let corpus = Evaluation.readCorpus(in: directory, read: readText) else {
    fail("cannot read \(directory)/protected.txt and \(directory)/corpus.tsv", status: 66)
}
guard let suffixText = readText(PublicSuffixList.debianPath) else {
    fail("cannot read \(PublicSuffixList.debianPath) (apt-get install publicsuffix)", status: 69)
}
let protected = protectedText.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
let suffixes = PublicSuffixList(parsing: suffixText)
if printsVerdicts {
    Evaluation.forEachVerdict(protected: protected, corpus: corpus, suffixes: suffixes) { _, _, verdict in
        print(String(reflecting: verdict))
    }
    exit(0)
}
let evaluation = Evaluation(protected: protected, corpus: corpus, suffixes: suffixes)
print("misdirect-eval: \(protected.count) protected domains, corpus \(Evaluation.corpusFiles.map { "\(directory)/\($0)" }.joined(separator: ", "))\n")
print(evaluation.table)
print("\nfalse positives: \(evaluation.falsePositives.isEmpty ? "none" : evaluation.falsePositives.joined(separator: ", "))")
for (kind, domains) in evaluation.missed.sorted(by: { $0.key < $1.key }) {
    print("missed \(kind): \(domains.joined(separator: ", "))")
}
print(evaluation.meetsAims ? "\nevery aim met" : "\nsome aims missed")
