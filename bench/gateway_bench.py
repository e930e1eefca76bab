#!/usr/bin/env python3
"""The measuring half of scripts/bench-gateway: runs `faxgate serve` (a release build)
once per case on a temporary configuration and reads its JSON log (--log-format json)
for the moments that matter, then prints one table.

Cases:
  latency   mail landed -> call placed, for the POP3 intake (polled), IMAP with IDLE and
            the built-in SMTP intake. "Landed": for POP3 and IMAP the moment Dovecot's
            LMTP server answers 250 to the delivery (the message is in the Maildir);
            for the SMTP intake the moment faxgate's listener answers 250 (it stores
            the message before it answers). "Call placed": the worker's `call_placed`
            event, logged on the call's thread just before the calling terminal binds
            its socket and sends its first T.38 packet.
  rate      N one-page requests through the SMTP intake, a virtual line with many
            channels, unpaced: first submit -> last delivery final.
  memory    VmRSS of the daemon idle, and with K paced (realtime) calls in progress.

Everything runs on 127.0.0.1 and ports picked free; the caller (scripts/bench-gateway)
starts the mail servers and removes the work directory.
"""

import argparse
import email.message
import json
import os
import random
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime

DOMAIN = "faxgate.test"
SENDER = f"alice@{DOMAIN}"
# A local number: the default address rules (Shenzhen) read it, a national sender may
# call it, and the virtual line answers any number.
SUBJECT = "83235170/Bench"
ATTACHMENT = (
    "faxgate gateway benchmark\n\n"
    "One short page of text: the same small document in every request.\n"
).encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_time(text):
    """Seconds since the epoch of a log timestamp (RFC 3339, UTC, microseconds)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def fax_mail(message_id, to, attachment=ATTACHMENT):
    message = email.message.EmailMessage()
    message["From"] = f"Alice <{SENDER}>"
    message["To"] = to
    message["Subject"] = SUBJECT
    message["Message-ID"] = f"<{message_id}>"
    message["Date"] = email.utils.formatdate()
    message.set_content("Please fax the attachment.\n")
    message.add_attachment(
        attachment, maintype="text", subtype="plain", filename="bench.txt"
    )
    return message.as_bytes()


class Log:
    """faxgate's JSON log, read as it grows."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.pending = b""
        self.events = []
        # Message-ID (without <>) -> request, and when it was taken in.
        self.requests = {}
        self.taken_at = {}
        # request -> first call placed; request -> time its delivery was final.
        self.placed = {}
        self.rendered = {}
        self.final = {}
        self.cached = 0

    def read(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        self.offset += len(chunk)
        data = self.pending + chunk
        lines = data.split(b"\n")
        self.pending = lines.pop()
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append(event)
            self.note(event)

    def note(self, event):
        fields = event.get("fields", {})
        span = event.get("span", {})
        message = fields.get("message", "")
        at = log_time(event["timestamp"])
        if message == "mail taken in as a fax request":
            key = span.get("message_id", "").strip("<>")
            self.requests[key] = fields.get("request")
            self.taken_at[key] = at
        request = span.get("request")
        if request is None:
            return
        if fields.get("call_placed") and request not in self.placed:
            self.placed[request] = at
        if message == "documents rendered" and request not in self.rendered:
            self.rendered[request] = at
            if fields.get("cached"):
                self.cached += 1
        if message == "job call ended" and fields.get("decision", "").startswith(
            ("Done", "GiveUp")
        ):
            self.final[request] = (at, fields.get("outcome"), fields["decision"].startswith("Done"))

    def wait(self, condition, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.read()
            value = condition()
            if value:
                return value
            time.sleep(0.01)
        raise TimeoutError(f"waited {timeout} s for {what}; log: {self.path}")


class Daemon:
    """One `faxgate serve` on its own data directory and ports."""

    def __init__(self, faxgate, work, name, sections):
        self.faxgate = faxgate
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.admin = free_port()
        self.config = os.path.join(self.dir, "faxgate.toml")
        with open(self.config, "w") as f:
            f.write(
                f'[store]\ndata_dir = "{self.dir}/data"\n\n'
                f'[admin]\nlisten = "127.0.0.1:{self.admin}"\nstatus_interval_seconds = 1\n\n'
                "[serve]\nshutdown_grace_seconds = 0\n\n" + sections
            )
        subprocess.run(
            [
                faxgate, "user", "add", "--config", self.config, "--name", "Alice",
                "--email", SENDER, "--permissions", "email",
                "--max-destination", "national", "--json",
            ],
            check=True, stdout=subprocess.DEVNULL,
        )
        self.log = Log(os.path.join(self.dir, "serve.log"))
        env = dict(os.environ, RUST_LOG="warn,faxgate=info")
        self.process = subprocess.Popen(
            [faxgate, "--log-format", "json", "serve", "--config", self.config],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.log.path, "wb"), env=env,
        )
        deadline = time.time() + 30
        while True:
            try:
                self.status()
                break
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"faxgate serve did not start; log: {self.log.path}")
                time.sleep(0.05)

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}{path}", timeout=5) as r:
            return r.read().decode()

    def status(self):
        return json.loads(self.get("/status"))

    def metric(self, name):
        for line in self.get("/metrics").splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def memory_kib(self):
        values = {}
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
        return values

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def lmtp_deliver(socket_path, raw):
    """Delivers to fax@ through Dovecot's LMTP; returns when Dovecot has stored it."""
    with smtplib.LMTP(socket_path) as lmtp:
        lmtp.sendmail(SENDER, [f"fax@{DOMAIN}"], raw)
    return time.time()


def describe(values):
    return {
        "n": len(values),
        "mean": statistics.mean(values),
        "min": min(values),
        "max": max(values),
    }


def latency_case(args, mail, name, sections, send):
    daemon = Daemon(args.faxgate, args.work, name, sections)
    try:
        samples = []
        for i in range(args.latency_mails):
            # A random pause first, so that a polled mailbox is met at every phase of
            # its interval rather than always just after a poll.
            time.sleep(random.uniform(*args.pause))
            key = f"bench-{name}-{i}-{os.getpid()}@{DOMAIN}"
            # A document of its own: each mail is converted, as a new fax would be.
            document = ATTACHMENT + f"Mail {key}.\n".encode()
            landed = send(fax_mail(key, f"fax@{DOMAIN}", document))
            log = daemon.log
            log.wait(lambda: key in log.requests, 120, f"{key} taken in")
            request = log.requests[key]
            placed = log.wait(lambda: log.placed.get(request), 60, f"request {request}'s call")
            samples.append(
                {
                    "taken_in": log.taken_at[key] - landed,
                    "rendered": log.rendered.get(request, placed) - landed,
                    "placed": placed - landed,
                }
            )
        return samples
    finally:
        daemon.stop()


def rate_case(args, same_attachment):
    port = free_port()
    name = "rate-same" if same_attachment else "rate-distinct"
    daemon = Daemon(
        args.faxgate, args.work, name,
        f'[smtpd]\nenabled = true\nlisten = "127.0.0.1:{port}"\n\n'
        f'[[line]]\nname = "virtual"\nkind = "virtual"\nchannels = {args.channels}\n',
    )
    try:
        n = args.requests
        keys = [f"bench-rate-{i}-{os.getpid()}@{DOMAIN}" for i in range(n)]
        # The same attachment every time (a form mailed again and again: the worker
        # reuses the rendering), or one that differs in a line (every request converted).
        mails = [
            fax_mail(
                key,
                f"fax@{DOMAIN}",
                ATTACHMENT if same_attachment else ATTACHMENT + f"Request {i}.\n".encode(),
            )
            for i, key in enumerate(keys)
        ]
        started = time.time()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for raw in mails:
                smtp.sendmail(SENDER, [f"fax@{DOMAIN}"], raw)
        submitted = time.time()
        log = daemon.log
        log.wait(lambda: len(log.final) >= n, 60 + n * 5, f"{n} deliveries final")
        finished = max(at for at, _, _ in log.final.values())
        outcomes = {}
        for _, outcome, _ in log.final.values():
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        delivered = sum(1 for _, _, done in log.final.values() if done)
        conversion = daemon.metric("faxgate_conversion_seconds_sum")
        conversions = daemon.metric("faxgate_conversion_seconds_count")
        requests = daemon.metric('faxgate_requests_total{source="email"}')
        elapsed = finished - started
        return {
            "case": "same attachment" if same_attachment else "a different attachment each",
            "requests": n,
            "delivered": delivered,
            "outcomes": outcomes,
            "cached": log.cached,
            "requests_counted": requests,
            "submit_seconds": submitted - started,
            "elapsed": elapsed,
            "intake_rate": n / (submitted - started),
            "delivery_rate": len(log.final) / elapsed,
            "conversions": conversions,
            "conversion_seconds": conversion,
            "conversion_share": conversion / elapsed,
        }
    finally:
        daemon.stop()


def memory_case(args, k):
    port = free_port()
    daemon = Daemon(
        args.faxgate, args.work, f"memory-{k}",
        f'[smtpd]\nenabled = true\nlisten = "127.0.0.1:{port}"\n\n'
        f'[[line]]\nname = "virtual"\nkind = "virtual"\nchannels = {k}\nrealtime = true\n',
    )

    def busy():
        return daemon.status()["lines"][0]["busy"]

    try:
        log = daemon.log
        # A first request warms up what every call shares (fonts, the renderer, the
        # store's connections), so the idle figure is the daemon's steady state.
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail(SENDER, [f"fax@{DOMAIN}"], fax_mail(f"warm-{k}-{os.getpid()}@{DOMAIN}", f"fax@{DOMAIN}"))
        log.wait(lambda: len(log.final) >= 1, 180, "the warm-up fax")
        time.sleep(1)
        idle = daemon.memory_kib()
        keys = [f"bench-mem-{k}-{i}-{os.getpid()}@{DOMAIN}" for i in range(k)]
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for key in keys:
                smtp.sendmail(SENDER, [f"fax@{DOMAIN}"], fax_mail(key, f"fax@{DOMAIN}"))
        log.wait(lambda: all(log.requests.get(key) in log.placed for key in keys), 120,
                 f"{k} calls placed")
        # Sampled while every call is in its page phase (paced: a page takes seconds).
        samples = []
        for _ in range(10):
            if busy() < k:
                break
            samples.append(daemon.memory_kib()["VmRSS"])
            time.sleep(0.3)
        if not samples:
            raise RuntimeError(f"the {k} calls ended before memory was sampled")
        peak = daemon.memory_kib()["VmHWM"]
        return {
            "k": k,
            "idle_rss": idle["VmRSS"],
            "busy_rss": statistics.median(samples),
            "per_call": (statistics.median(samples) - idle["VmRSS"]) / k,
            "hwm": peak,
            "samples": len(samples),
        }
    finally:
        daemon.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faxgate", required=True)
    parser.add_argument("--mail-env", required=True, help="scripts/mail-servers' env file")
    parser.add_argument("--work", required=True)
    parser.add_argument("--latency-mails", type=int, default=int(os.environ.get("MAILS", 8)))
    parser.add_argument("--poll-interval", type=int, default=int(os.environ.get("POLL_INTERVAL", 10)))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("REQUESTS", 200)))
    parser.add_argument("--channels", type=int, default=int(os.environ.get("CHANNELS", 16)))
    parser.add_argument("--calls", default=os.environ.get("CALLS", "1,4,16"))
    parser.add_argument("--cases", default=os.environ.get("CASES", "latency,rate,memory"))
    args = parser.parse_args()
    mail = {}
    with open(args.mail_env) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            mail[key] = value.strip('"')
    lmtp = os.path.join(mail["MAIL_DIR"], "dovecot", "run", "lmtp")
    cases = args.cases.split(",")
    results = {}

    def mailbox(protocol, port, extra=""):
        return (
            f'[mailbox]\nprotocol = "{protocol}"\nhost = "127.0.0.1"\nport = {port}\n'
            f'tls = "none"\nuser = "fax@{DOMAIN}"\npassword = "fax-pw"\n'
            f"poll_interval_seconds = {args.poll_interval}\n{extra}\n"
            '[[line]]\nname = "virtual"\nkind = "virtual"\nchannels = 4\n'
        )

    if "latency" in cases:
        args.pause = (0.0, float(args.poll_interval))
        results["pop3"] = latency_case(
            args, mail, "pop3", mailbox("pop3", mail["MAIL_POP3_PORT"]),
            lambda raw: lmtp_deliver(lmtp, raw),
        )
        args.pause = (0.2, 1.0)
        results["imap"] = latency_case(
            args, mail, "imap", mailbox("imap", mail["MAIL_IMAP_PORT"], "idle = true\n"),
            lambda raw: lmtp_deliver(lmtp, raw),
        )
        port = free_port()

        def smtp_send(raw):
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                smtp.sendmail(SENDER, [f"fax@{DOMAIN}"], raw)
            return time.time()

        results["smtp"] = latency_case(
            args, mail, "smtp",
            f'[smtpd]\nenabled = true\nlisten = "127.0.0.1:{port}"\n\n'
            '[[line]]\nname = "virtual"\nkind = "virtual"\nchannels = 4\n',
            smtp_send,
        )
    if "rate" in cases:
        results["rate"] = [rate_case(args, True), rate_case(args, False)]
    if "memory" in cases:
        results["memory"] = [memory_case(args, int(k)) for k in args.calls.split(",")]

    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print_table(args, results)


def print_table(args, results):
    ms = lambda seconds: f"{seconds * 1000:.0f}"
    if any(case in results for case in ("pop3", "imap", "smtp")):
        print("\nLatency from the mail landing (ms): landed = Dovecot's LMTP 250 for POP3 and")
        print("IMAP, faxgate's own 250 for the SMTP intake (which stores the request before it")
        print("answers, so its 'taken in' is slightly negative); call placed = the worker's")
        print("call_placed event, as the first T.38 packet goes out; every mail's document")
        print("is its own, so each is converted:\n")
        print("| intake | n | taken in (mean) | rendered (mean) | call placed mean | min | max |")
        print("|---|---|---|---|---|---|---|")
        for case, label in (
            ("pop3", f"POP3, polled every {args.poll_interval} s"),
            ("imap", "IMAP IDLE"),
            ("smtp", "SMTP intake"),
        ):
            if case not in results:
                continue
            samples = results[case]
            placed = describe([s["placed"] for s in samples])
            print(
                f"| {label} | {placed['n']} | {ms(statistics.mean(s['taken_in'] for s in samples))}"
                f" | {ms(statistics.mean(s['rendered'] for s in samples))}"
                f" | {ms(placed['mean'])} | {ms(placed['min'])} | {ms(placed['max'])} |"
            )
        if "pop3" in results:
            print(
                f"\nPOP3: a mail waits for the next poll, on average interval/2 = "
                f"{args.poll_interval / 2:.1f} s of the mean above."
            )
    if "rate" in results:
        print(f"\nSustained rate: {args.requests} one-page requests through the SMTP intake (one")
        print(f"connection), virtual line with {args.channels} channels, unpaced; 'delivered' =")
        print("every page confirmed (outcomes as T.30 reported the call's end):\n")
        print("| attachment | delivered | outcomes | submit s | first submit -> last final s | intake req/s | deliveries/s | conversions (reused) | conversion s | conversion share |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in results["rate"]:
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
            print(
                f"| {r['case']} | {r['delivered']}/{r['requests']} | {outcomes}"
                f" | {r['submit_seconds']:.1f} | {r['elapsed']:.1f}"
                f" | {r['intake_rate']:.1f} | {r['delivery_rate']:.2f}"
                f" | {r['conversions']:.0f} ({r['cached']})"
                f" | {r['conversion_seconds']:.1f} | {r['conversion_share'] * 100:.0f}% |"
            )
        print("\nconversion share = time the worker's one-at-a-time renderer was busy / elapsed.")
    if "memory" in results:
        print("\nMemory per concurrent call (paced calls, virtual line; the line's answering")
        print("terminal runs in the same process, so each call is both ends):\n")
        print("| K calls | RSS idle MiB | RSS with K calls MiB | per call KiB | VmHWM MiB | samples |")
        print("|---|---|---|---|---|---|")
        for m in results["memory"]:
            print(
                f"| {m['k']} | {m['idle_rss'] / 1024:.1f} | {m['busy_rss'] / 1024:.1f}"
                f" | {m['per_call']:.0f} | {m['hwm'] / 1024:.1f} | {m['samples']} |"
            )


if __name__ == "__main__":
    try:
        main()
    except (TimeoutError, RuntimeError, subprocess.CalledProcessError) as error:
        print(f"bench-gateway: error: {error}", file=sys.stderr)
        sys.exit(1)
