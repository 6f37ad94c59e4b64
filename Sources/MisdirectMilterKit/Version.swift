/// The release, in the one place it is written: `--version` prints it, `packaging/build-deb`
/// reads it from this file for the package and the man pages, and checks that
/// `packaging/debian/changelog`'s last entry agrees.
package enum Version {
    package static let current = "0.1.0"
}
