#!/usr/bin/env python3
"""End-to-end benchmark: what misdirect-milter costs a real Postfix.

A private Postfix on loopback gets one smtpd listener per configuration below; smtp-source
sends the same load to each in turn (alternated rounds, so drift hits every configuration
alike), Postfix relays everything to an smtp-sink. Printed per configuration: messages/s
(median of the rounds), ratios against Postfix alone and against the smallest C libmilter milter
(floor-milter.c), the milter's CPU time per message, and its RSS before and after. After each
round's load, one SMTP session at a time times each transaction (MAIL FROM to the 250 after the
final dot): p50 and p99, and what each adds to the C floor's. A last phase checks that the
milter's RSS stays flat from 10k to 100k messages.

Mail goes to someone@army.mil (clean) except in the "flagged" rows, whose recipients are at
army.il: medium under the packaged policy, so each is delivered tagged and its decision recorded
in the history store (history.decisions), or not, in the row with "decisions: false": the two
rows together are what recording decisions costs.

The "default" rows run packaging/misdirect-milter.yml as users run it (correspondent history in
SQLite, a line per decision at info to syslog), read at run time with only what a test machine
needs changed: the socket, the history's state directory, and, when no syslog daemon listens on
/dev/log, syslog_socket pointing at a receiver of our own. They must be at 0.95 of the C floor or
more; the table says whether they are, and whether in every round. Two more rows take one cost
out of the default (log_level warning; history: false). The "enforce" rows are the lean
configuration (log_level warning, no history).

Run as root on a quiet machine, from the repository:
    python3 benchmarks/end-to-end/run.py                 # defaults below
    python3 benchmarks/end-to-end/run.py --rounds 5 --messages 4000
    python3 benchmarks/end-to-end/run.py --only "C floor, unix;default, unix" --rss-messages 0
    python3 benchmarks/end-to-end/run.py --only "default, unix, flagged" --rounds 1 --rss-configuration "default, unix, flagged"
"""

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))

PROTECTED = "protected: [mil, gov, gov.uk, example.org]\n"
# The recipients of every row but the flagged ones, and of those (tagged under the packaged policy).
CLEAN_RECIPIENT = "someone@army.mil"
FLAGGED_RECIPIENT = "someone@army.il"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def syslog_daemon_listening(path="/dev/log"):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


def receive_syslog(sock, path, count):
    """Child process: what a syslog daemon does with the milter's datagrams, minus the parsing:
    each becomes a line of a file. Scheduled ahead of the load: a container's
    net.unix.max_dgram_qlen is often the kernel's 10 (systemd raises it to 512 on a host), and
    the milter drops a line rather than wait when the queue is full."""
    os.nice(-10)
    with open(path, "ab", buffering=0) as out:
        while True:
            datagram = sock.recv(65536)
            out.write(datagram + b"\n")
            count.value += 1


class SyslogReceiver:
    """A unix datagram socket standing in for /dev/log on a machine without a syslog daemon.
    Bound before the milter starts (it connects once at start and would fall back to standard
    error), read by a process of its own so the latency client never waits for it."""

    def __init__(self, root, name):
        self.path = os.path.join(root, f"{name}.syslog.sock")
        self.file = os.path.join(root, f"{name}.syslog")
        self.process = None

    def start(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.count = multiprocessing.Value("q", 0, lock=False)
        self.process = multiprocessing.get_context("fork").Process(
            target=receive_syslog, args=(self.sock, self.file, self.count), daemon=True)
        self.process.start()

    @property
    def lines(self):
        return self.count.value

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.join(5)


def packaged_config(path, socket_spec, state_directory, syslog_socket, log_level=None, history=True, decisions=True):
    """packaging/misdirect-milter.yml as shipped, with only what a test machine must change:
    the socket, the history's state directory, syslog_socket (None: leave /dev/log), no
    user/group. Fails if the file no longer has the SQLite history or the keys this relies on,
    so the default rows cannot quietly become lean ones. `log_level` and `history=False` are for
    the rows that take one cost out of the default, to show what each costs."""
    with open(os.path.join(REPO, "packaging", "misdirect-milter.yml")) as f:
        lines = f.read().split("\n")

    def top_level(key):
        return [i for i, line in enumerate(lines) if re.match(rf"{key}:(\s|$)", line)]

    def value(key):
        found = top_level(key)
        return lines[found[0]].split(":", 1)[1].split("#")[0].strip() if found else None

    for key, wanted in (("log_level", "info"), ("log_target", "syslog"), ("socket", None), ("history", "")):
        if value(key) is None or (wanted is not None and value(key) != wanted):
            raise SystemExit(f"packaging/misdirect-milter.yml: expected {key}: {wanted or '…'}, found {value(key)}; "
                             "update the benchmark's default rows")
    lines[top_level("socket")[0]] = f"socket: {socket_spec}"
    section_start = top_level("history")[0]
    section = section_start + 1
    while section < len(lines) and (lines[section].startswith((" ", "#")) or not lines[section]):
        section += 1
    nested = {m.group(1): i for i in range(section_start + 1, section)
              if (m := re.match(r"  (\w+):\s*(\S+)", lines[i]))}
    if "state_directory" not in nested or not re.match(r"\s*backend:\s*sqlite\b", lines[nested.get("backend", section_start)]):
        raise SystemExit("packaging/misdirect-milter.yml: no SQLite history with a state_directory; update the benchmark")
    lines[nested["state_directory"]] = f"  state_directory: {state_directory}"
    if log_level:
        lines[top_level("log_level")[0]] = f"log_level: {log_level}"
    if not decisions:
        if "decisions" not in nested:
            raise SystemExit("packaging/misdirect-milter.yml: no history.decisions; update the benchmark")
        lines[nested["decisions"]] = "  decisions: false"
    if not history:
        lines[section_start:section] = ["history: false"]
    for key in ("user", "group", "syslog_socket"):
        for i in reversed(top_level(key)):
            del lines[i]
    if syslog_socket:
        lines.append(f"syslog_socket: {syslog_socket}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def history_rows(state_directory):
    """Rows and deliveries in the history's SQLite file: (0, 0) before the first flush."""
    path = os.path.join(state_directory, "history.sqlite")
    if not os.path.exists(path):
        return 0, 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        try:
            return db.execute("SELECT COUNT(*), COALESCE(SUM(messages), 0) FROM correspondent_days").fetchone()
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0, 0


def decision_rows(state_directory):
    """Decisions recorded in the history's SQLite file (0 before the first flush)."""
    path = os.path.join(state_directory, "history.sqlite")
    if not os.path.exists(path):
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


class Milter:
    """One milter process behind one smtpd listener."""

    def __init__(self, name, command, socket_spec, postfix_spec, root, syslog=None, state_directory=None):
        self.name, self.command, self.socket, self.postfix_spec = name, command, socket_spec, postfix_spec
        self.log_path = os.path.join(root, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.process = None
        # Packaged default rows: the syslog receiver (None when a real daemon has /dev/log) and
        # the history's state directory, both read to prove the row logged and learned.
        self.syslog, self.state_directory = syslog, state_directory
        self.recipient = CLEAN_RECIPIENT
        # Flagged rows: whether decisions must have been recorded (None: not checked).
        self.expects_decisions = None

    def start(self):
        if self.syslog:
            self.syslog.start()
        # umask 0: the C floor's unix socket must be writable by Postfix (user postfix).
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=self.log, umask=0)
        if self.socket.startswith("unix:"):
            path = self.socket[5:]
            wait_for(lambda: os.path.exists(path), 20, f"{self.name} socket")
            time.sleep(0.2)
        else:
            port = int(self.socket.split(":")[1].split("@")[0])
            wait_for(lambda: listening(port), 20, f"{self.name} port")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.syslog:
            self.syslog.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="messages per run (default 2000)")
    parser.add_argument("--sessions", type=int, default=10, help="parallel SMTP sessions (default 10)")
    parser.add_argument("--recipients", type=int, default=5, help="recipients per message (default 5)")
    parser.add_argument("--rss-configuration", default="enforce, unix",
                        help="the configuration whose RSS the last phase follows (default: enforce, unix)")
    parser.add_argument("--size", type=int, default=3000, help="message size in bytes (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds (default 3)")
    parser.add_argument("--rss-messages", type=int, default=100000,
                        help="messages for the RSS phase, 0 to skip (default 100000)")
    parser.add_argument("--latency-messages", type=int, default=200,
                        help="timed transactions per configuration and round, one session at a time, "
                             "0 to skip (default 200)")
    parser.add_argument("--binary", help="misdirect-milter binary (default: build release)")
    parser.add_argument("--only", help="configuration names to run, separated by ';'")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark starts a private Postfix")
    for tool in ("postfix", "smtp-source", "smtp-sink", "cc"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            raise SystemExit(f"{tool} is missing (apt-get install postfix gcc libmilter-dev)")

    binary = args.binary
    if not binary:
        subprocess.run(["swift", "build", "-c", "release", "--product", "misdirect-milter"], cwd=REPO, check=True)
        binary = os.path.join(REPO, ".build", "release", "misdirect-milter")
    root = tempfile.mkdtemp(prefix="misdirect-bench-")
    os.chmod(root, 0o755)  # Postfix (user postfix) must reach its data directory and the sockets
    floor = os.path.join(root, "floor-milter")
    subprocess.run(["cc", "-O2", "-o", floor, os.path.join(HERE, "floor-milter.c"), "-lmilter", "-lpthread"], check=True)

    def ours(name, mode, socket_spec):
        path = os.path.join(root, f"{name}.yml")
        with open(path, "w") as f:
            f.write(f"socket: {socket_spec}\nsocket_mode: '666'\nmode: {mode}\n{PROTECTED}log_level: warning\n")
        return [binary, "serve", "--config", path]

    # No syslog daemon on /dev/log (test containers): the default rows log to receivers of ours.
    own_syslog = not syslog_daemon_listening()

    def packaged(name, socket_spec, postfix_spec, log_level=None, history=True, flagged=False, decisions=True):
        state = os.path.join(root, f"{name}-state")
        os.makedirs(state, mode=0o750)
        receiver = SyslogReceiver(root, name) if own_syslog else None
        path = os.path.join(root, f"{name}.yml")
        packaged_config(path, socket_spec, state, receiver.path if receiver else None, log_level, history, decisions)
        milter = Milter(name, [binary, "serve", "--config", path], socket_spec, postfix_spec, root,
                        syslog=receiver, state_directory=state)
        # What the verification expects: decision lines at info, rows with the history on.
        milter.expects_lines, milter.expects_history = log_level in (None, "info", "debug", "trace"), history
        milter.as_shipped = log_level is None and history and decisions
        if flagged:
            # Flagged recipients are never learned; their decisions are recorded, or not.
            milter.recipient, milter.expects_history, milter.expects_decisions = FLAGGED_RECIPIENT, False, decisions
        return milter

    def unix(name):
        return f"unix:{root}/{name}.sock", f"unix:{root}/{name}.sock"

    def tcp():
        port = free_port()
        return f"inet:{port}@127.0.0.1", f"inet:127.0.0.1:{port}"

    configs = {"postfix alone": None}
    s, p = unix("floor-unix"); configs["C floor, unix"] = Milter("floor-unix", [floor, s], s, p, root)
    # The floor with MAIL and headers unanswered, as misdirect-milter negotiates on unix sockets.
    s, p = unix("floor-noreply"); configs["C floor, unix, no-reply"] = Milter("floor-noreply", [floor, s, "noreply"], s, p, root)
    s, p = tcp(); configs["C floor, TCP"] = Milter("floor-tcp", [floor, s], s, p, root)
    s, p = unix("enforce-unix"); configs["enforce, unix"] = Milter("enforce-unix", ours("enforce-unix", "enforce", s), s, p, root)
    s, p = tcp(); configs["enforce, TCP"] = Milter("enforce-tcp", ours("enforce-tcp", "enforce", s), s, p, root)
    s, p = unix("logonly-unix"); configs["log-only, unix"] = Milter("logonly-unix", ours("logonly-unix", "log-only", s), s, p, root)
    s, p = tcp(); configs["log-only, TCP"] = Milter("logonly-tcp", ours("logonly-tcp", "log-only", s), s, p, root)
    s, p = unix("default-unix"); configs["default, unix"] = packaged("default-unix", s, p)
    s, p = tcp(); configs["default, TCP"] = packaged("default-tcp", s, p)
    # The default with one of its two costs taken out: what each costs.
    s, p = unix("default-warning"); configs["default, unix, log_level warning"] = packaged("default-warning", s, p, log_level="warning")
    s, p = unix("default-nohistory"); configs["default, unix, history: false"] = packaged("default-nohistory", s, p, history=False)
    # Every recipient flagged (tagged, delivered): with its decisions recorded, and without.
    s, p = unix("default-flagged"); configs["default, unix, flagged"] = packaged("default-flagged", s, p, flagged=True)
    s, p = unix("default-flagged-nodecisions"); configs["default, unix, flagged, decisions: false"] = packaged(
        "default-flagged-nodecisions", s, p, flagged=True, decisions=False)
    if args.only:
        wanted = set(name.strip() for name in args.only.split(";"))
        unknown = wanted - set(configs)
        if unknown:
            raise SystemExit(f"unknown configuration {', '.join(sorted(unknown))}; known: {'; '.join(configs)}")
        configs = {k: v for k, v in configs.items() if k in wanted or k == "postfix alone"}

    ports = {name: free_port() for name in configs}
    sink_port = free_port()
    conf = os.path.join(root, "postfix")
    for d in ("postfix", "queue", "data", "log"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.chown(os.path.join(root, "data"), "postfix")
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
maillog_file = {root}/log/postfix.log
maillog_file_prefixes = {root}/log
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mta.test.localdomain
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
smtpd_milters =
milter_default_action = tempfail
default_process_limit = 200
smtpd_client_connection_count_limit = 0
""")
    services = [
        "pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
        "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce", "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify", "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap", "smtp unix - - n - - smtp", "relay unix - - n - - smtp",
        "showq unix n - n - - showq", "error unix - - n - - error", "retry unix - - n - - error",
        "discard unix - - n - - discard", "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ]
    with open(os.path.join(conf, "master.cf"), "w") as f:
        for name, milter in configs.items():
            option = f" -o smtpd_milters={milter.postfix_spec}" if milter else ""
            f.write(f"127.0.0.1:{ports[name]} inet n - n - - smtpd{option}\n")
        f.write("\n".join(services) + "\n")

    sink = subprocess.Popen(["smtp-sink", "-u", "postfix", f"127.0.0.1:{sink_port}", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    milters = [m for m in configs.values() if m]
    try:
        wait_for(lambda: listening(sink_port), 10, "smtp-sink")
        for milter in milters:
            milter.start()
        subprocess.run(["postfix", "-c", conf, "start"], check=True, capture_output=True)
        wait_for(lambda: all(listening(p) for p in ports.values()), 20, "postfix listeners")
        results = run_rounds(args, configs, ports, conf)
        print_table(args, configs, results)
        verify_default_rows(configs, results)
        rss = rss_phase(args, configs, ports, conf) if args.rss_messages else None
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"results": results, "rss": rss, "args": vars(args)}, f, indent=2)
    finally:
        subprocess.run(["postfix", "-c", conf, "stop"], capture_output=True)
        for milter in milters:
            milter.stop()
        sink.kill()
        if os.environ.get("KEEP_BENCH_DIR") is None:
            shutil.rmtree(root, ignore_errors=True)


def queue_empty(conf):
    out = subprocess.run(["postqueue", "-c", conf, "-j"], capture_output=True, text=True).stdout
    return not out.strip()


def recipient_of(milter):
    return milter.recipient if milter else CLEAN_RECIPIENT


def send(args, port, messages, recipient=CLEAN_RECIPIENT):
    command = ["smtp-source", "-s", str(args.sessions), "-m", str(messages), "-r", str(args.recipients),
               "-l", str(args.size), "-f", "alice@example.org", "-t", recipient, "-N",
               f"127.0.0.1:{port}"]
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def run_rounds(args, configs, ports, conf):
    names = list(configs)
    results = {name: {"rates": [], "cpu_ms": [], "log_lines": [], "syslog_cpu_ms": [], "latency_ms": [],
                      "rss_before": None, "rss_after": None} for name in names}
    for milter_name, milter in configs.items():
        if milter:
            results[milter_name]["rss_before"] = rss_mb(milter.process.pid)
    # Warm-up: every path once, not counted.
    for name in names:
        send(args, ports[name], max(50, args.messages // 20), recipient_of(configs[name]))
    wait_for(lambda: queue_empty(conf), 300, "queue to drain")
    for round_number in range(args.rounds):
        order = names[round_number % len(names):] + names[:round_number % len(names)]
        for name in order:
            milter = configs[name]
            cpu_before = cpu_seconds(milter.process.pid) if milter else 0
            lines_before = milter.syslog.lines if milter and milter.syslog else 0
            syslog_cpu_before = cpu_seconds(milter.syslog.process.pid) if milter and milter.syslog else 0
            elapsed = send(args, ports[name], args.messages, recipient_of(milter))
            rate = args.messages / elapsed
            results[name]["rates"].append(rate)
            if milter:
                results[name]["cpu_ms"].append((cpu_seconds(milter.process.pid) - cpu_before) * 1000 / args.messages)
            wait_for(lambda: queue_empty(conf), 300, "queue to drain")
            if milter and milter.syslog:
                results[name]["log_lines"].append((milter.syslog.lines - lines_before) / args.messages)
                results[name]["syslog_cpu_ms"].append(
                    (cpu_seconds(milter.syslog.process.pid) - syslog_cpu_before) * 1000 / args.messages)
            print(f"round {round_number + 1}/{args.rounds}  {name:40s} {rate:8.1f} msg/s", file=sys.stderr)
        # Latency: one session at a time, each configuration in the same rotated order.
        for name in order if args.latency_messages else ():
            results[name]["latency_ms"].extend(time_transactions(args, ports[name], args.latency_messages, recipient_of(configs[name])))
            wait_for(lambda: queue_empty(conf), 300, "queue to drain")
    for name, milter in configs.items():
        if milter:
            results[name]["rss_after"] = rss_mb(milter.process.pid)
    return results


class SMTPSession:
    """The client side of one SMTP session, one command at a time (no pipelining), answers
    checked: what a sending MTA without a connection cache does, in its simplest form."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.replies = self.sock.makefile("rb")
        self.expect(None, 220)
        self.expect(b"EHLO latency.test.localdomain", 250)

    def expect(self, command, code):
        if command is not None:
            self.sock.sendall(command + b"\r\n")
        while True:
            line = self.replies.readline()
            if not line:
                raise SystemExit(f"SMTP server closed the session after {command!r}")
            if line[3:4] != b"-":
                break
        if int(line[:3]) != code:
            raise SystemExit(f"SMTP {command!r}: expected {code}, got {line.decode(errors='replace').strip()}")

    def close(self):
        self.expect(b"QUIT", 221)
        self.sock.close()


def time_transactions(args, port, count, recipient=CLEAN_RECIPIENT):
    """Milliseconds per SMTP transaction (MAIL FROM up to the 250 after the final dot: what the
    milter's MAIL, RCPT, header and end-of-message stages add to), one session per message as
    smtp-source opens them, the same sender, recipients and size."""
    body = b"La de da de da 1.\r\n" * max(1, args.size // 19)
    times = []
    for n in range(count):
        session = SMTPSession(port)
        message = (b"From: <alice@example.org>\r\nTo: <%s>\r\n"
                   b"Subject: latency %d\r\nMessage-Id: <%d.%d@latency.test.localdomain>\r\n\r\n"
                   % (recipient.encode(), n, time.monotonic_ns(), n)) + body + b".\r\n"
        started = time.perf_counter()
        session.expect(b"MAIL FROM:<alice@example.org>", 250)
        for r in range(1, args.recipients + 1):
            session.expect(b"RCPT TO:<%d%s>" % (r, recipient.encode()), 250)
        session.expect(b"DATA", 354)
        session.sock.sendall(message)
        session.expect(None, 250)
        times.append((time.perf_counter() - started) * 1000)
        session.close()
    return times


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def verify_default_rows(configs, results):
    """The default rows must have logged to syslog and written the history; a row that did
    neither measured the lean configuration under another name."""
    failed = []
    for name, milter in configs.items():
        if not milter or not milter.state_directory:
            continue
        waits = milter.expects_history or milter.expects_decisions
        deadline = time.time() + (15 if waits else 0)  # flush_interval is 5 s
        while True:
            rows, decisions = history_rows(milter.state_directory), decision_rows(milter.state_directory)
            arrived = (rows[0] > 0 or not milter.expects_history) and (decisions > 0 or not milter.expects_decisions)
            if arrived or time.time() >= deadline:
                break
            time.sleep(0.5)
        with open(milter.log_path, errors="replace") as f:
            fallback = "cannot reach the syslog socket" in f.read()
        if milter.syslog:
            lines = milter.syslog.lines
            logged = f"{lines:,} syslog lines in {milter.syslog.file}"
            # A line per decision, so at least one per message: a start-up warning alone (running
            # as root) is not enough.
            per_message = statistics.median(results[name]["log_lines"]) if results[name]["log_lines"] else 0
            ok_log = not fallback and (per_message >= 1 if milter.expects_lines else True)
        else:
            logged = "logged to the system's /dev/log (not counted)"
            ok_log = not fallback
        results[name]["syslog_lines_total"] = milter.syslog.lines if milter.syslog else None
        results[name]["history_rows"], results[name]["history_messages"] = rows
        print(f"{name}: {logged}{', FELL BACK TO STANDARD ERROR' if fallback else ''}; "
              f"history.sqlite: {rows[0]:,} row{'' if rows[0] == 1 else 's'}, {rows[1]:,} messages recorded")
        results[name]["decisions_recorded"] = decisions
        if milter.expects_decisions is not None:
            print(f"{name}: {decisions:,} decisions recorded")
        if not ok_log or (rows[0] == 0) == milter.expects_history:
            failed.append(name)
        elif milter.expects_decisions is not None and (decisions == 0) == milter.expects_decisions:
            failed.append(name)
    if failed:
        raise SystemExit(f"{'; '.join(failed)}: did not log to syslog, learn into the history or record "
                         "its decisions as configured, so it did not measure what its name says")


def print_table(args, configs, results):
    median = {name: statistics.median(r["rates"]) for name, r in results.items()}
    alone = median["postfix alone"]
    floor_unix = median.get("C floor, unix")
    ours_unix = median.get("enforce, unix")
    print(f"\n{args.messages} messages x {args.recipients} recipients, {args.sessions} sessions, "
          f"{args.size} bytes, median of {args.rounds} alternated rounds\n")
    print("| configuration | msg/s | vs Postfix alone | vs C floor (unix) | vs ours (unix) | milter CPU ms/msg "
          "| syslog lines/msg (receiver CPU ms) | RSS MB before → after | ≥ 0.95 of C floor (lowest round) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in configs:
        r = results[name]
        cpu = f"{statistics.median(r['cpu_ms']):.3f}" if r["cpu_ms"] else "–"
        lines = (f"{statistics.median(r['log_lines']):.1f} ({statistics.median(r['syslog_cpu_ms']):.3f})"
                 if r["log_lines"] else "–")
        rss = f"{r['rss_before']:.1f} → {r['rss_after']:.1f}" if r["rss_before"] is not None else "–"
        vs_floor = f"{median[name] / floor_unix:.2f}" if floor_unix else "–"
        vs_ours = f"{median[name] / ours_unix:.2f}" if ours_unix else "–"
        aim = "–"
        if floor_unix and configs[name] and getattr(configs[name], "as_shipped", False):
            # Rounds run in rotated order, so round i of this row and of the floor ran close together.
            lowest = min(rate / floor for rate, floor in zip(r["rates"], results["C floor, unix"]["rates"]))
            met = median[name] / floor_unix >= 0.95
            aim = f"{'yes' if met else 'NO'}, {'every round' if lowest >= 0.95 else 'not every round'} ({lowest:.2f})"
        print(f"| {name} | {median[name]:.0f} | {median[name] / alone:.2f} | {vs_floor} | {vs_ours} | {cpu} "
              f"| {lines} | {rss} | {aim} |")
    print()
    if not args.latency_messages:
        return
    floor = results.get("C floor, unix", {}).get("latency_ms")
    print(f"Time per SMTP transaction (MAIL FROM to the 250 after the final dot), one session, "
          f"{args.latency_messages} x {args.rounds} transactions per configuration:\n")
    print("| configuration | p50 ms | p99 ms | p50 added vs C floor (unix) | p99 added vs C floor (unix) |")
    print("|---|---:|---:|---:|---:|")
    for name in configs:
        times = results[name]["latency_ms"]
        p50, p99 = percentile(times, 50), percentile(times, 99)
        added = (f"{p50 - percentile(floor, 50):+.2f} | {p99 - percentile(floor, 99):+.2f}" if floor else "– | –")
        print(f"| {name} | {p50:.2f} | {p99:.2f} | {added} |")
    print()


def rss_phase(args, configs, ports, conf):
    name = args.rss_configuration
    if name not in configs:
        return None
    pid = configs[name].process.pid
    sent, marks = 0, {}
    for target in (10000, args.rss_messages):
        while sent < target:
            batch = min(5000, target - sent)
            send(args, ports[name], batch, recipient_of(configs[name]))
            sent += batch
            wait_for(lambda: queue_empty(conf), 600, "queue to drain")
        marks[target] = rss_mb(pid)
    print(f"RSS of misdirect-milter ({name}): {marks[10000]:.1f} MB after 10,000 messages, "
          f"{marks[args.rss_messages]:.1f} MB after {args.rss_messages:,} "
          f"(difference {marks[args.rss_messages] - marks[10000]:+.1f} MB)")
    return marks


if __name__ == "__main__":
    main()
