import Foundation

/// Drops root for the configured `user:`/`group:` once everything privileged is done (the milter
/// socket bound and its group set, the metrics port bound, syslog connected).
///
/// The order is the classic one: supplementary groups (those of `user` in /etc/group, so a user
/// added to `postfix` keeps that membership), then the group id, then the user id, and finally a
/// check that root cannot be regained.
package enum Privileges {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    /// What ``drop(_:)`` did, for the start-up log line.
    package struct Outcome {
        package let user: String
        package let uid: uid_t
        package let gid: gid_t
    }

    /// Switches to `configuration.user` / `configuration.group`. Does nothing when neither is
    /// set; when not running as root it only checks that the process already is who the
    /// configuration says.
    package static func drop(_ configuration: Configuration) throws(Failure) -> Outcome? {
        guard let (uid, gid) = target(configuration) else { return nil }
        let name = configuration.user ?? (getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "\(uid)")
        if geteuid() != 0 {
            guard geteuid() == uid, getegid() == gid else {
                throw Failure(description: "not running as root, so cannot switch to user \(name) (uid \(uid)) and group id \(gid)")
            }
            return Outcome(user: name, uid: uid, gid: gid)
        }
        if let user = configuration.user {
            guard initgroups(user, gid) == 0 else { throw failure("initgroups \(user)") }
        } else {
            var groups = [gid]
            guard setgroups(1, &groups) == 0 else { throw failure("setgroups") }
        }
        guard setgid(gid) == 0 else { throw failure("setgid \(gid)") }
        guard setuid(uid) == 0 else { throw failure("setuid \(uid)") }
        if uid != 0 && setuid(0) == 0 {
            throw Failure(description: "could regain root after switching to \(name): refusing to go on")
        }
        return Outcome(user: name, uid: uid, gid: gid)
    }

    /// The user and group ids `user:`/`group:` name; nil when neither is set.
    package static func target(_ configuration: Configuration) -> (uid: uid_t, gid: gid_t)? {
        guard configuration.user != nil || configuration.group != nil else { return nil }
        let uid = configuration.userID.map { uid_t($0.uid) } ?? getuid()
        let gid = configuration.groupID.map { gid_t($0) } ?? configuration.userID.map { gid_t($0.gid) } ?? getgid()
        return (uid, gid)
    }

    private static func failure(_ call: String) -> Failure {
        Failure(description: "\(call): \(String(cString: strerror(errno)))")
    }
}
