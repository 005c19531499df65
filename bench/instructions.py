#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: repeatable whatever else the machine
is doing (the wall-clock benchmark, bench/run.py, is not on a shared 2-core machine).

Fills the bench's clinic on SQLite with the native server, restarts the same database under
callgrind, and for each workload sends warm-up requests, zeroes the counters, sends N requests one
at a time and reads the total: every thread of the server (runtime, SQLite's worker, blocking pool)
is counted.

    python3 bench/instructions.py --binary target/release/cybermed [--requests 40]
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402

QUERIES = {
    "typename": "{ __typename }",
    "me": "{ me { id email firstName lastName role } }",
    "nested20": "{ appointments(first: 20) { edges { node { id startsAt status doctor { id firstName lastName email "
                "doctorProfile { specialty } } patient { id firstName lastName email } } } } }",
    "screen20": "{ appointments(first: 20) { totalCount pageInfo { hasNextPage } edges { node { id startsAt status "
                "reasonForVisit doctor { id firstName lastName email doctorProfile { specialty } } "
                "patient { id firstName lastName email } } } } }",
    "ids20": "{ appointments(first: 20) { edges { node { id } } } }",
}
# The screen's query for a patient who has no appointment (issue 25's "empty list"): the page is
# empty, so what it costs is the request, the login and the statements, not the rows.
QUERIES["empty20"] = QUERIES["screen20"]


def total_instructions(out_dir, keep=None):
    """The instructions of the dumps in `out_dir` (removed, or moved to `keep` for
    callgrind_annotate)."""
    total = 0
    if keep:
        os.makedirs(keep, exist_ok=True)
    for path in glob.glob(os.path.join(out_dir, "cg.out*")):
        with open(path) as f:
            for line in f:
                m = re.match(r"(?:summary|totals):\s+(\d+)", line)
                if m:
                    total += int(m.group(1))
                    break
        if keep:
            shutil.move(path, os.path.join(keep, os.path.basename(path)))
        else:
            os.remove(path)
    return total


# Booking workloads (only with --only): each request books a time of its own, plain or with the
# bench doctors' buffered visit type (issue 22); the count includes delivering its two emails.
BOOKINGS = {"book": "slots", "book_typed": "typed_slots"}
BOOK = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id startsAt } }"


def bookings(client, proc, out_dir, data, name, n, keep=None):
    lines = iter(data[BOOKINGS[name]])

    def book():
        parts = next(lines).split()
        i = {"doctorId": parts[1], "startsAt": parts[2], "reasonForVisit": "Benchmark"}
        if len(parts) > 3:
            i["visitTypeId"] = parts[3]
        client.gql(BOOK, {"i": i}, token=parts[0])

    for _ in range(5):
        book()
    time.sleep(5)
    subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True, capture_output=True)
    for _ in range(n):
        book()
    # Its emails are the booking's work: let the sender deliver them (idle otherwise) first.
    time.sleep(5)
    subprocess.run(["callgrind_control", "--dump", str(proc.pid)], check=True, capture_output=True)
    time.sleep(1)
    return total_instructions(out_dir, keep) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(bench.ROOT, "target", "release", "cybermed"))
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--only", help="comma-separated workloads")
    ap.add_argument("--profile", help="keep each workload's callgrind dumps in PROFILE/<workload>/ "
                                      "(read them with callgrind_annotate --inclusive=yes)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cybermed-instr-")
    env = {**os.environ, "APP_ENV": "production", "LOG_FORMAT": "json",
           "JWT_SECRET": "bench-secret-bench-secret-bench-secret-0",
           "DATABASE_URL": f"sqlite://{work}/bench.db?mode=rwc", "BIND_ADDR": "127.0.0.1:0", "RUST_LOG": "warn,cybermed=info",
           "MAIL_OUTBOX_DIR": os.path.join(work, "outbox"), "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
           # No reminders: one falling due during a workload would be counted as its instructions.
           "REMINDER_LEADS": "",
           # The clinic is 220 sign-ups from one address, and the login storm counts as one client.
           "REGISTER_MAX_PER_HOUR": "100000"}
    proc, base = bench.start_server(args.binary, env)
    try:
        data = bench.fill(bench.Client(base), args.binary, env)
        # A patient without appointments, for `empty20`.
        empty_token = bench.Client(base).gql(
            "mutation($i:RegisterInput!){register(input:$i){accessToken}}",
            {"i": {"email": "empty@bench.example", "password": bench.PASSWORD, "firstName": "Empty",
                   "lastName": "Bench", "role": "PATIENT"}})["register"]["accessToken"]
        # Every thread of the measured server is counted: its outbox sender must have nothing left
        # to send (the fill's 4,000 booking notices), or it would be measured with the requests.
        pending = "{ outbox(first: 1, status: PENDING) { totalCount } }"
        deadline = time.time() + 600
        while bench.Client(base).gql(pending, token=data["admin"])["outbox"]["totalCount"] > 0:
            if time.time() > deadline:
                raise RuntimeError("the outbox did not drain in 10 minutes")
            time.sleep(1)
    finally:
        proc.terminate()
        proc.wait()
    token = data["patients"][0][1]
    out_dir = os.path.join(work, "cg")
    os.makedirs(out_dir)
    vg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(out_dir, "cg.out.%p"),
          "--dump-instr=no", "--collect-jumps=no", args.binary]
    proc, base = bench.start_server_cmd(vg + ["serve"], env, timeout=300)
    results = {}
    try:
        client = bench.Client(base)
        # `{ __typename }` first as a warm-up of everything else too (its figure is taken last).
        names = ["typename"] + (args.only.split(",") if args.only else [n for n in QUERIES if n != "typename"])
        names.append("typename")
        for name in names:
            if name in BOOKINGS:
                keep = os.path.join(args.profile, name) if args.profile else None
                results[name] = bookings(client, proc, out_dir, data, name, args.requests, keep)
                continue
            q = QUERIES[name]
            who = empty_token if name == "empty20" else token
            for _ in range(5):
                client.gql(q, token=who)
            subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True, capture_output=True)
            for _ in range(args.requests):
                client.gql(q, token=who)
            subprocess.run(["callgrind_control", "--dump", str(proc.pid)], check=True, capture_output=True)
            time.sleep(1)
            keep = os.path.join(args.profile, name) if args.profile else None
            results[name] = total_instructions(out_dir, keep) / args.requests
        base_i = results.get("typename")
        for name, n in results.items():
            ratio = f"  {n / base_i:5.1f}× {{ __typename }}" if base_i else ""
            print(f"{name:<10} {n / 1000:9.0f} K instructions / request{ratio}", flush=True)
        print("JSON " + json.dumps(results))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
