#!/usr/bin/env python3
"""End-to-end benchmark: what misdirect-milter costs a real Postfix.

A private Postfix on loopback gets one smtpd listener per configuration below; smtp-source
sends the same load to each in turn (alternated rounds, so drift hits every configuration
alike), Postfix relays everything to an smtp-sink. Printed per configuration: messages/s
(median of the rounds), ratios against Postfix alone and against the smallest C libmilter milter
(floor-milter.c), the milter's CPU time per message, and its RSS before and after. A last phase
checks that the milter's RSS stays flat from 10k to 100k messages.

Run as root on a quiet machine, from the repository:
    python3 benchmarks/end-to-end/run.py                 # defaults below
    python3 benchmarks/end-to-end/run.py --rounds 5 --messages 4000
"""

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))

PROTECTED = "protected: [mil, gov, gov.uk, example.org]\n"


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


class Milter:
    """One milter process behind one smtpd listener."""

    def __init__(self, name, command, socket_spec, postfix_spec, root):
        self.name, self.command, self.socket, self.postfix_spec = name, command, socket_spec, postfix_spec
        self.log = open(os.path.join(root, f"{name}.log"), "w")
        self.process = None

    def start(self):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="messages per run (default 2000)")
    parser.add_argument("--sessions", type=int, default=10, help="parallel SMTP sessions (default 10)")
    parser.add_argument("--recipients", type=int, default=5, help="recipients per message (default 5)")
    parser.add_argument("--size", type=int, default=3000, help="message size in bytes (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds (default 3)")
    parser.add_argument("--rss-messages", type=int, default=100000,
                        help="messages for the RSS phase, 0 to skip (default 100000)")
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
    if args.only:
        wanted = set(name.strip() for name in args.only.split(";"))
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


def send(args, port, messages):
    command = ["smtp-source", "-s", str(args.sessions), "-m", str(messages), "-r", str(args.recipients),
               "-l", str(args.size), "-f", "alice@example.org", "-t", "someone@army.mil", "-N",
               f"127.0.0.1:{port}"]
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def run_rounds(args, configs, ports, conf):
    names = list(configs)
    results = {name: {"rates": [], "cpu_ms": [], "rss_before": None, "rss_after": None} for name in names}
    for milter_name, milter in configs.items():
        if milter:
            results[milter_name]["rss_before"] = rss_mb(milter.process.pid)
    # Warm-up: every path once, not counted.
    for name in names:
        send(args, ports[name], max(50, args.messages // 20))
    wait_for(lambda: queue_empty(conf), 300, "queue to drain")
    for round_number in range(args.rounds):
        order = names[round_number % len(names):] + names[:round_number % len(names)]
        for name in order:
            milter = configs[name]
            cpu_before = cpu_seconds(milter.process.pid) if milter else 0
            elapsed = send(args, ports[name], args.messages)
            rate = args.messages / elapsed
            results[name]["rates"].append(rate)
            if milter:
                results[name]["cpu_ms"].append((cpu_seconds(milter.process.pid) - cpu_before) * 1000 / args.messages)
            wait_for(lambda: queue_empty(conf), 300, "queue to drain")
            print(f"round {round_number + 1}/{args.rounds}  {name:40s} {rate:8.1f} msg/s", file=sys.stderr)
    for name, milter in configs.items():
        if milter:
            results[name]["rss_after"] = rss_mb(milter.process.pid)
    return results


def print_table(args, configs, results):
    median = {name: statistics.median(r["rates"]) for name, r in results.items()}
    alone = median["postfix alone"]
    floor_unix = median.get("C floor, unix")
    ours_unix = median.get("enforce, unix")
    print(f"\n{args.messages} messages x {args.recipients} recipients, {args.sessions} sessions, "
          f"{args.size} bytes, median of {args.rounds} alternated rounds\n")
    print("| configuration | msg/s | vs Postfix alone | vs C floor (unix) | vs ours (unix) | milter CPU ms/msg | RSS MB before → after |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in configs:
        r = results[name]
        cpu = f"{statistics.median(r['cpu_ms']):.3f}" if r["cpu_ms"] else "–"
        rss = f"{r['rss_before']:.1f} → {r['rss_after']:.1f}" if r["rss_before"] is not None else "–"
        vs_floor = f"{median[name] / floor_unix:.2f}" if floor_unix else "–"
        vs_ours = f"{median[name] / ours_unix:.2f}" if ours_unix else "–"
        print(f"| {name} | {median[name]:.0f} | {median[name] / alone:.2f} | {vs_floor} | {vs_ours} | {cpu} | {rss} |")
    print()


def rss_phase(args, configs, ports, conf):
    name = "enforce, unix"
    if name not in configs:
        return None
    pid = configs[name].process.pid
    sent, marks = 0, {}
    for target in (10000, args.rss_messages):
        while sent < target:
            batch = min(5000, target - sent)
            send(args, ports[name], batch)
            sent += batch
            wait_for(lambda: queue_empty(conf), 600, "queue to drain")
        marks[target] = rss_mb(pid)
    print(f"RSS of misdirect-milter (enforce, unix): {marks[10000]:.1f} MB after 10,000 messages, "
          f"{marks[args.rss_messages]:.1f} MB after {args.rss_messages:,} "
          f"(difference {marks[args.rss_messages] - marks[10000]:+.1f} MB)")
    return marks


if __name__ == "__main__":
    main()
