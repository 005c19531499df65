#!/usr/bin/env python3
"""CyberMed load benchmark: one command, start to finish.

Builds the release binary, starts it on a fresh database (SQLite by default, PostgreSQL with
--postgres), fills it through the GraphQL API with a deterministic clinic, drives it with wrk at 32
connections, and prints requests/s, p50, p99, errors, the server's CPU time per request and its
peak RSS phase by phase, then checks the targets of BENCHMARKS.md.

    python3 bench/run.py                       # SQLite
    python3 bench/run.py --postgres postgres://postgres@127.0.0.1:5432/postgres

Standard library only; wrk comes from Debian's packages (installed when missing and run as root).
"""
import argparse
import concurrent.futures
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRK_DIR = os.path.join(ROOT, "bench", "wrk")
PASSWORD = "Bench-Password-2026"
ADMIN_PASSWORD = "Bench-Admin-Password-2026"
DOCTORS, PATIENTS, APPOINTMENTS, FILL_DAYS, BUSY_PATIENTS = 20, 200, 2000, 60, 20
# Patients with no appointment at all: the `empty20` workload (the screen's query answered with an empty page).
EMPTY_PATIENTS = 20
CONNECTIONS, THREADS = 32, 2
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Client:
    def __init__(self, base):
        self.base = base

    def gql(self, query, variables=None, token=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(self.base + "/graphql", data=body, method="POST")
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(req, timeout=60) as resp:
            out = json.loads(resp.read())
        if out.get("errors"):
            raise RuntimeError(f"{query[:60]}…: {out['errors']}")
        return out["data"]


def server_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def server_rss_mb(pid, field="VmHWM"):
    """Peak (VmHWM) or current (VmRSS, RssAnon, RssFile) resident memory of the server."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def server_peak_rss_mb(pid):
    return server_rss_mb(pid, "VmHWM")


class Memory:
    """Peak RSS phase by phase: after each phase VmHWM is read, then reset to the current RSS
    (`echo 5 > /proc/<pid>/clear_refs`), so the next reading is that phase's own peak. The peak of
    the whole run is the largest of them (VmHWM itself where the kernel cannot reset it)."""

    def __init__(self, pid):
        self.pid, self.phases, self.resets = pid, [], True

    def phase(self, name):
        with open(f"/proc/{self.pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        mb = lambda key: int(status[key].split()[0]) / 1024
        row = {"phase": name, "peak_mb": round(mb("VmHWM"), 1), "rss_mb": round(mb("VmRSS"), 1),
               "anon_mb": round(mb("RssAnon"), 1), "file_mb": round(mb("RssFile"), 1),
               "threads": int(status["Threads"])}
        self.phases.append(row)
        if self.resets:
            try:
                with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                self.resets = False
        return row

    def peak(self):
        return max(p["peak_mb"] for p in self.phases) if self.phases else server_peak_rss_mb(self.pid)

    def report(self):
        log("memory by phase (peak = highest RSS during the phase; after = at its end):")
        log(f"  {'phase':<16} {'peak':>7} {'after':>7} {'anon':>7} {'file':>7} {'threads':>8}")
        for p in self.phases:
            log(f"  {p['phase']:<16} {p['peak_mb']:>5.1f} MB {p['rss_mb']:>4.1f} MB {p['anon_mb']:>4.1f} MB "
                f"{p['file_mb']:>4.1f} MB {p['threads']:>8}")
        if not self.resets:
            log("  (the kernel would not reset the peak: each peak is the run's so far)")


def start_server(binary, env):
    return start_server_cmd([binary, "serve"], env)


def start_server_cmd(cmd, env, timeout=60):
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        port = entry.get("fields", {}).get("port")
        if port:
            break
    if not port:
        proc.kill()
        sys.exit("the server did not start")
    # Keep draining its output so that it never blocks on a full pipe; its errors are shown.
    def drain():
        for line in proc.stdout:
            if '"level":"ERROR"' in line or '"level":"WARN"' in line:
                sys.stderr.write("server: " + line)
    threading.Thread(target=drain, daemon=True).start()
    return proc, f"http://127.0.0.1:{port}"


def fill(client, binary, env):
    """The deterministic clinic. Returns what the workloads need."""
    run([binary, "create-admin", "--email", "admin@bench.example", "--first-name", "Bench", "--last-name", "Admin"],
        env={**env, "CYBERMED_ADMIN_PASSWORD": ADMIN_PASSWORD, "RUST_LOG": "warn"}, stdout=subprocess.DEVNULL)
    admin = client.gql("mutation($e:String!,$p:String!){login(email:$e,password:$p){accessToken}}",
                       {"e": "admin@bench.example", "p": ADMIN_PASSWORD})["login"]["accessToken"]
    register = "mutation($i:RegisterInput!){register(input:$i){accessToken user{id}}}"
    every_day = [{"weekday": d, "startTime": "08:00:00", "endTime": "18:00:00"}
                 for d in ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]]

    def doctor(i):
        p = client.gql(register, {"i": {"email": f"doctor{i:02d}@bench.example", "password": PASSWORD,
                                        "firstName": f"Doc{i}", "lastName": "Bench", "role": "DOCTOR"}})["register"]
        t = p["accessToken"]
        client.gql("mutation($i:DoctorProfileInput!){upsertDoctorProfile(input:$i){slotMinutes}}",
                   {"i": {"specialty": ["Cardiology", "Dermatology", "General practice", "Neurology"][i % 4],
                          "experienceYears": 5 + i, "timeZone": "UTC", "slotMinutes": 30}}, t)
        client.gql("mutation($r:[AvailabilityRuleInput!]!){setAvailability(rules:$r){weekday}}", {"r": every_day}, t)
        client.gql("mutation($id:UUID!){verifyDoctor(id:$id,verified:true){id}}", {"id": p["user"]["id"]}, admin)
        # A visit type with a buffer (issue 22's workloads): 30 minutes and 10 kept free after.
        vt = client.gql("mutation($i:VisitTypeInput!){createVisitType(input:$i){id}}",
                        {"i": {"name": "Bench visit", "durationMinutes": 30, "bufferAfterMinutes": 10}}, t)
        return p["user"]["id"], vt["createVisitType"]["id"]

    def patient(i):
        email = f"patient{i:03d}@bench.example"
        p = client.gql(register, {"i": {"email": email, "password": PASSWORD, "firstName": f"Pat{i}",
                                        "lastName": "Bench", "role": "PATIENT"}})["register"]
        client.gql("mutation{upsertPatientProfile(input:{dateOfBirth:\"1980-01-01\",emergencyContactName:\"E\",emergencyContactPhone:\"1\"}){dateOfBirth}}",
                   token=p["accessToken"])
        return email, p["accessToken"]

    def empty_patient(i):
        # Patients who never book (issue 25's empty list): not in `patients`, so no workload books for them.
        p = client.gql(register, {"i": {"email": f"empty{i:02d}@bench.example", "password": PASSWORD,
                                        "firstName": f"Empty{i}", "lastName": "Bench", "role": "PATIENT"}})["register"]
        return p["accessToken"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        doctors_and_types = list(pool.map(doctor, range(DOCTORS)))
        patients = list(pool.map(patient, range(PATIENTS)))
        empty_patients = list(pool.map(empty_patient, range(EMPTY_PATIENTS)))
    doctors = [d for d, _ in doctors_and_types]
    visit_types = [v for _, v in doctors_and_types]

    # 2,000 appointments over the next 60 days: at each (day, time) one per doctor, each to a
    # different patient; patients 0..19 get exactly 20 (one a day), the others share the rest.
    today = dt.datetime.now(dt.timezone.utc).date()

    def slot_time(day, index):
        t = dt.datetime.combine(today + dt.timedelta(days=day), dt.time(8, 0), dt.timezone.utc)
        return (t + dt.timedelta(minutes=30 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")

    plan = []
    for k in range(APPOINTMENTS):
        d = k % DOCTORS
        step = k // DOCTORS
        day, index = 1 + step % FILL_DAYS, step // FILL_DAYS
        if k < BUSY_PATIENTS * 20:
            p = k % BUSY_PATIENTS
        else:
            p = BUSY_PATIENTS + (k - BUSY_PATIENTS * 20) % (PATIENTS - BUSY_PATIENTS)
        plan.append((patients[p][1], doctors[d], slot_time(day, index)))
    book = "mutation($i:CreateAppointmentInput!){createAppointment(input:$i){id}}"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda a: client.gql(book, {"i": {"doctorId": a[1], "startsAt": a[2], "reasonForVisit": "Fill"}}, a[0]), plan))

    counts = client.gql("{ appointments(first: 1) { totalCount } }", token=admin)["appointments"]["totalCount"]
    assert counts == APPOINTMENTS, counts
    for _, token in patients[:BUSY_PATIENTS]:
        n = client.gql("{ appointments { totalCount } }", token=token)["appointments"]["totalCount"]
        assert n == 20, n

    # Free slots for the booking workload, after the filled days: ordered by time then doctor, so a
    # patient (slot index mod 200) is never asked twice for one time.
    slots = []
    for day in range(FILL_DAYS + 2, FILL_DAYS + 2 + 150):
        for index in range(20):
            for d in range(DOCTORS):
                j = len(slots)
                slots.append(f"{patients[j % PATIENTS][1]} {doctors[d]} {slot_time(day, index)}")
    # The same with the visit type, further out: one start an hour (a 30-minute visit blocks 40).
    typed_slots = []
    for day in range(FILL_DAYS + 160, FILL_DAYS + 160 + 140):
        for index in range(0, 20, 2):
            for d in range(DOCTORS):
                j = len(typed_slots)
                typed_slots.append(f"{patients[j % PATIENTS][1]} {doctors[d]} {slot_time(day, index)} {visit_types[d]}")
    # availableSlots over 31 days of the filled ones, plain and with the type.
    slot_queries = [f"{patients[i % PATIENTS][1]} {doctors[i % DOCTORS]} {visit_types[i % DOCTORS]}" for i in range(PATIENTS)]
    return {"admin": admin, "patients": patients, "empty_patients": empty_patients, "doctors": doctors, "slots": slots, "typed_slots": typed_slots,
            # `book_hooked` books the back half of the plain slots (`book` never gets that far).
            "hooked_slots": slots[len(slots) // 2:],
            "slot_queries": slot_queries, "slots_from": slot_time(1, 0), "slots_to": slot_time(32, 0),
            "book_from": slot_time(FILL_DAYS + 2, 0)}


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 204 to every POST and counts the ids it got."""

    def __init__(self):
        import http.server
        ids = self.ids = []
        lock = self.lock = threading.Lock()

        class Hook(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection per sender slot

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    ids.append(self.headers.get("webhook-id"))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        # A listen backlog for every sender slot: with the default 5, connections beyond it wait
        # for a SYN retransmission (1 s), which would measure this receiver, not the sender.
        http.server.ThreadingHTTPServer.request_queue_size = 128
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def book_hooked(client, data, seconds, work, pid, results, memory):
    """Issue 24: `book` with one webhook endpoint subscribed to `appointment.created` (a receiver
    on this machine) and every patient's SMS on. Each booking then also writes its delivery and
    its SMS reminder row in its own transaction, and the sender POSTs the delivery, signed; both
    are counted to the booking (the server settles before the CPU is read). Undone afterwards, so
    later workloads measure what they always did."""
    receiver = Receiver()
    admin = data["admin"]
    created = client.gql("mutation($u:String!){createWebhookEndpoint(url:$u,events:[APPOINTMENT_CREATED]){endpoint{id}}}",
                         {"u": receiver.url}, admin)["createWebhookEndpoint"]["endpoint"]["id"]
    sms = "mutation($i:UpdateMeInput!){updateMe(input:$i){smsReminders}}"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda it: client.gql(sms, {"i": {"phone": f"+491700000{it[0]:04d}", "smsReminders": True}}, it[1][1]),
                      enumerate(data["patients"])))
    try:
        r = measure("book_hooked", "book.lua", seconds, work, pid, results, memory, settles=True,
                    extra_env={"BENCH_SLOTS": "hooked_slots.txt"})
        booked = r["requests"] - r["errors"]
        # Every booking's delivery reaches the receiver (settle() has waited for the server to be
        # idle, so this normally holds at once).
        deadline = time.time() + 30
        while time.time() < deadline:
            with receiver.lock:
                if len(receiver.ids) >= booked:
                    break
            time.sleep(0.2)
        with receiver.lock:
            got, distinct = len(receiver.ids), len(set(receiver.ids))
        log(f"    webhook deliveries received: {got} ({distinct} distinct ids) for {booked} bookings")
        r["webhooks_received"] = got
    finally:
        client.gql("mutation($id:UUID!){deleteWebhookEndpoint(id:$id)}", {"id": created}, admin)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda p: client.gql(sms, {"i": {"smsReminders": False}}, p[1]), data["patients"]))
        receiver.server.shutdown()


WRK_LINE = re.compile(r"BENCH checked=(\d+) failed=(\d+) p50_us=(\d+) p99_us=(\d+)")


def wrk(script, seconds, data_dir, connections=CONNECTIONS, extra_env=None):
    env = {**os.environ, "BENCH_DIR": WRK_DIR, "BENCH_DATA": data_dir, "BENCH_PASSWORD": PASSWORD,
           "BENCH_THREADS": str(THREADS), **(extra_env or {})}
    out = subprocess.run(["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", os.path.join(WRK_DIR, script), BASE + "/graphql"],
                         env=env, check=True, capture_output=True, text=True).stdout
    m = WRK_LINE.search(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    sample = re.search(r"BENCH sample=(.*)", out)
    return {"rps": rps, "requests": int(m.group(1)), "errors": int(m.group(2)),
            "p50_ms": int(m.group(3)) / 1000, "p99_ms": int(m.group(4)) / 1000,
            "sample": sample.group(1) if sample else ""}


def settle(pid, limit=60.0):
    """Waits until the server is idle (under 2% of a core over 250 ms, at most `limit` seconds):
    work a workload left behind (emails still to deliver) is counted to it, not to the next."""
    deadline = time.time() + limit
    while time.time() < deadline:
        before = server_cpu_seconds(pid)
        time.sleep(0.25)
        if server_cpu_seconds(pid) - before <= 0.005:
            return


def measure(name, script, seconds, data_dir, pid, results, memory, settles=False, extra_env=None):
    before = server_cpu_seconds(pid)
    r = wrk(script, seconds, data_dir, extra_env=extra_env)
    during = server_cpu_seconds(pid) - before
    if settles:
        settle(pid)
    after = server_cpu_seconds(pid) - before - during
    r["cpu_us_per_req"] = (during + after) / max(r["requests"], 1) * 1e6
    r["cpu_after_us_per_req"] = after / max(r["requests"], 1) * 1e6
    # How many of the machine's cores the server used while the load ran (issue 25: logins on every core).
    r["cores"] = during / seconds
    m = memory.phase(name)
    r["rss_mb"], r["peak_rss_mb"] = m["rss_mb"], m["peak_mb"]
    results[name] = r
    log(f"  {name:<10} {r['rps']:>9.0f} req/s  p50 {r['p50_ms']:>7.2f} ms  p99 {r['p99_ms']:>7.2f} ms  "
        f"errors {r['errors']:>5}  server CPU {r['cpu_us_per_req']:>7.0f} µs/req on {r['cores']:.2f} cores  RSS {r['rss_mb']:.0f} MB (peak {r['peak_rss_mb']:.0f})")
    if settles:
        log(f"    of which after the load (e.g. emails delivered): {r['cpu_after_us_per_req']:.0f} µs/req")
    if r["errors"]:
        log(f"    e.g. {r['sample'][:300]}")
    return r


def main():
    global BASE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres", help="a PostgreSQL URL whose server may create a fresh database")
    ap.add_argument("--seconds", type=int, default=15, help="length of each workload (default 15)")
    ap.add_argument("--no-build", action="store_true", help="use the release binary as it is")
    ap.add_argument("--outbox-dir", help="where the server writes its .eml files (default: beside the database, "
                                         "in a temp folder); e.g. a folder on tmpfs, to take the file system's "
                                         "cost of creating files out of the booking figures")
    ap.add_argument("--binary", help="run this binary instead of target/release/cybermed (implies --no-build), "
                                     "e.g. a copy built from an earlier commit, to compare")
    ap.add_argument("--only", help="comma-separated workloads to run (e.g. typename,screen20), skipping the "
                                   "storm, the control and the target checks: for quick comparisons; `book_hooked` (only "
                                   "here) is `book` with one webhook endpoint and every patient's SMS on")
    args = ap.parse_args()

    if not args.no_build and not args.binary:
        log("building the release binary …")
        run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    binary = args.binary or os.path.join(ROOT, "target", "release", "cybermed")
    if not shutil.which("wrk"):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("installing wrk from Debian's packages …")
            apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL, env=apt_env)
            run(["apt-get", "install", "-y", "-qq", "wrk"], stdout=subprocess.DEVNULL, env=apt_env)
        else:
            sys.exit("wrk is needed: apt-get install wrk")

    work = tempfile.mkdtemp(prefix="cybermed-bench-")
    outbox = tempfile.mkdtemp(prefix="cybermed-bench-outbox-", dir=args.outbox_dir) if args.outbox_dir \
        else os.path.join(work, "outbox")
    if args.postgres:
        name = "cybermed_bench_" + uuid.uuid4().hex[:8]
        run(["psql", args.postgres, "-qc", f"CREATE DATABASE {name}"], stdout=subprocess.DEVNULL)
        database = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", args.postgres, count=1) if "/" in args.postgres.split("://", 1)[1] else args.postgres + "/" + name
    else:
        database = f"sqlite://{work}/bench.db?mode=rwc"
    env = {**os.environ, "APP_ENV": "production", "LOG_FORMAT": "json",
           "JWT_SECRET": "bench-secret-bench-secret-bench-secret-0",
           "DATABASE_URL": database, "BIND_ADDR": "127.0.0.1:0", "RUST_LOG": "warn,cybermed=info",
           "MAIL_OUTBOX_DIR": outbox, "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
           # The clinic is 220 sign-ups from one address, and the login storm counts as one client.
           "REGISTER_MAX_PER_HOUR": "100000",
           # The booking workloads give each of the 200 patients hundreds of upcoming appointments.
           "MAX_UPCOMING_PER_PATIENT": "1000000", "MAX_UPCOMING_PER_DOCTOR_PAIR": "1000000",
           # `book_hooked` (issue 24): a webhook endpoint on this machine, and SMS written as files.
           "WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
           "SMS_OUTBOX_DIR": os.path.join(work, "sms")}
    proc, BASE = start_server(binary, env)
    pid = proc.pid
    memory = Memory(pid)
    try:
        client = Client(BASE)
        memory.phase("start")
        t0 = time.time()
        log(f"filling {'PostgreSQL' if args.postgres else 'SQLite'}: {DOCTORS} doctors, {PATIENTS} patients, {APPOINTMENTS} appointments …")
        data = fill(client, binary, env)
        m = memory.phase("fill")
        log(f"  filled in {time.time() - t0:.1f} s; server RSS {m['rss_mb']:.0f} MB (peak {m['peak_mb']:.0f})")
        with open(os.path.join(work, "tokens.txt"), "w") as f:
            f.write("\n".join(t for _, t in data["patients"]) + "\n")
        with open(os.path.join(work, "busy_tokens.txt"), "w") as f:
            f.write("\n".join(t for _, t in data["patients"][:BUSY_PATIENTS]) + "\n")
        with open(os.path.join(work, "empty_tokens.txt"), "w") as f:
            f.write("\n".join(data["empty_patients"]) + "\n")
        with open(os.path.join(work, "emails.txt"), "w") as f:
            f.write("\n".join(e for e, _ in data["patients"]) + "\n")
        with open(os.path.join(work, "slots.txt"), "w") as f:
            f.write("\n".join(data["slots"]) + "\n")
        with open(os.path.join(work, "hooked_slots.txt"), "w") as f:
            f.write("\n".join(data["hooked_slots"]) + "\n")
        with open(os.path.join(work, "typed_slots.txt"), "w") as f:
            f.write("\n".join(data["typed_slots"]) + "\n")
        with open(os.path.join(work, "slot_queries.txt"), "w") as f:
            f.write("\n".join(data["slot_queries"]) + "\n")
        with open(os.path.join(work, "slot_range.txt"), "w") as f:
            f.write(data["slots_from"] + "\n" + data["slots_to"] + "\n")

        verify_us = int(subprocess.run([binary, "hash-bench", "--iterations", "20"], capture_output=True, text=True, check=True).stdout)
        cores = os.cpu_count() or 1

        results = {}
        settle(pid)  # the fill's emails delivered before the yardstick is measured
        log(f"workloads, {args.seconds} s each at {CONNECTIONS} connections:")
        workloads = [("typename", "typename.lua"), ("me", "me.lua"), ("nested20", "nested.lua"),
                     ("screen20", "screen.lua"), ("empty20", "empty.lua"), ("book", "book.lua"), ("book_typed", "book_typed.lua"),
                     ("slots31", "slots.lua"), ("slots31_typed", "slots_typed.lua"), ("login", "login.lua")]
        if args.only:
            # In the order given (to tell a workload's own cost from what earlier ones left behind).
            wanted = args.only.split(",")
            scripts = dict(workloads)
            for name in wanted:
                if name == "book_hooked":
                    book_hooked(client, data, args.seconds, work, pid, results, memory)
                    continue
                if name not in scripts:
                    sys.exit(f"no workload {name}")
                # A booking's emails are delivered after it: their CPU is the booking's.
                measure(name, scripts[name], args.seconds, work, pid, results, memory, settles=name.startswith("book"))
            base = results.get("typename", {}).get("cpu_us_per_req")
            if base:
                for name, r in results.items():
                    log(f"  {name}: {r['cpu_us_per_req'] / base:.1f}× the CPU of {{ __typename }}")
            log("JSON " + json.dumps({"database": "postgres" if args.postgres else "sqlite", "workloads": results}))
            return 0
        for name, script in workloads:
            # A booking's emails are delivered after it: their CPU is the booking's.
            measure(name, script, args.seconds, work, pid, results, memory, settles=name.startswith("book"))

        # `me` while a login storm runs alongside.
        storm = {}
        t = threading.Thread(target=lambda: storm.update(wrk("login.lua", args.seconds + 2, work)))
        t.start()
        time.sleep(1)
        me_storm = wrk("me.lua", args.seconds, work)
        t.join()
        memory.phase("me + login storm")
        log(f"  me during a login storm: p99 {me_storm['p99_ms']:.2f} ms (login {storm['rps']:.0f} req/s alongside), errors {me_storm['errors'] + storm['errors']}")

        # The control: the same `me` load beside busy loops that have nothing to do with the server,
        # one per core, at the lowest priority Linux has (SCHED_IDLE). What this adds to the p99 is
        # the machine's share of the storm's effect, whatever the hashing threads do.
        spin = ("import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\nwhile True:\n    pass\n")
        spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(cores)]
        try:
            time.sleep(1)
            me_idle_spin = wrk("me.lua", args.seconds, work)
        finally:
            for p in spinners:
                p.kill()
                p.wait()
        memory.phase("me + busy loops")
        log(f"  me beside {cores} SCHED_IDLE busy loops (control, no logins): p99 {me_idle_spin['p99_ms']:.2f} ms")

        # Every stored booking in the booked range: distinct (doctor, start), and as many as the
        # successes wrk counted (plus at most one in flight per connection when it stopped).
        seen, after, stored_total = set(), None, 0
        while True:
            page = client.gql("query($f:DateTime,$a:String){ appointments(first: 100, after: $a, filter: { from: $f }) "
                              "{ pageInfo { hasNextPage endCursor } edges { node { startsAt doctor { id } } } } }",
                              {"f": data["book_from"], "a": after}, data["admin"])["appointments"]
            for e in page["edges"]:
                seen.add((e["node"]["doctor"]["id"], e["node"]["startsAt"]))
            stored_total += len(page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        # Both booking workloads book in that range (`book_typed` further out).
        booking = [results[n] for n in ("book", "book_typed")]
        successes = sum(r["requests"] - r["errors"] for r in booking)
        distinct = len(seen) == stored_total
        booked = stored_total
        memory.phase("read-back")
        peak = memory.peak()
        log(f"  bookings: {successes} succeeded, {booked} appointments stored in the booked range")
        log(f"  peak RSS {peak:.1f} MB; one argon2id verify {verify_us / 1000:.1f} ms on one core; {cores} cores")

        base_cpu = results["typename"]["cpu_us_per_req"]
        login_target = 0.85 * cores / (verify_us / 1e6)
        checks = [
            ("me ≤ 3× CPU of {__typename}", results["me"]["cpu_us_per_req"] <= 3 * base_cpu,
             f"{results['me']['cpu_us_per_req'] / base_cpu:.2f}×"),
            ("20 nested appointments ≤ 8× CPU of {__typename}", results["nested20"]["cpu_us_per_req"] <= 8 * base_cpu,
             f"{results['nested20']['cpu_us_per_req'] / base_cpu:.2f}×"),
            ("a list screen's page of 20 ≤ 12× CPU of {__typename}", results["screen20"]["cpu_us_per_req"] <= 12 * base_cpu,
             f"{results['screen20']['cpu_us_per_req'] / base_cpu:.2f}×"),
            ("booking ≤ 20× CPU of {__typename}", results["book"]["cpu_us_per_req"] <= 20 * base_cpu,
             f"{results['book']['cpu_us_per_req'] / base_cpu:.2f}×"),
            ("booking: no errors, every success a distinct stored slot",
             all(r["errors"] == 0 for r in booking) and distinct
             and successes <= booked <= successes + len(booking) * CONNECTIONS,
             f"{sum(r['errors'] for r in booking)} errors, {successes} ok, {booked} stored, all distinct: {distinct}"),
            ("login ≥ 85% of cores ÷ verify time", results["login"]["rps"] >= login_target,
             f"{results['login']['rps']:.0f} vs {login_target:.0f} req/s"),
            ("me p99 in a login storm ≤ 2× without", me_storm["p99_ms"] <= 2 * results["me"]["p99_ms"],
             f"{me_storm['p99_ms']:.2f} vs {results['me']['p99_ms']:.2f} ms"),
            ("peak RSS ≤ 40 MB", peak <= 40, f"{peak:.1f} MB"),
            ("no errors in any workload", all(r["errors"] == 0 for r in results.values()) and me_storm["errors"] == 0, ""),
        ]
        memory.report()
        log("targets:")
        for name, ok, detail in checks:
            log(f"  [{'PASS' if ok else 'MISS'}] {name}  {detail}")
        summary = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   "database": "postgres" if args.postgres else "sqlite", "cores": cores,
                   "argon2_verify_us": verify_us, "peak_rss_mb": round(peak, 1), "memory_by_phase": memory.phases, "workloads": results,
                   "me_during_login_storm": me_storm, "me_beside_idle_busy_loops": me_idle_spin, "targets": {n: ok for n, ok, _ in checks}}
        log("JSON " + json.dumps(summary))
        return 0 if all(ok for _, ok, _ in checks) else 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(outbox, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
