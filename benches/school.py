#!/usr/bin/env python3
"""A school-sized backend: 60 classes × 30 pupils, 40 lessons each with 30 faces (72,000 face
rows with 128-d vectors), 10 teachers with 6 classes each; then the calls a school makes, timed
through HTTP as a teacher: a lesson's register (open: computed; finalised: stored), a class's
term report (JSON and CSV), a pupil's history. Prints the figures and the targets of issue 19
(register <= 100 ms, term report <= 1 s, pupil history <= 100 ms).

    python3 benches/school.py [--classes 60] [--pupils 30] [--lessons 40] [--runs 20]
    .venv-django/bin/python benches/school.py --backend django     # Django on PostgreSQL, gunicorn -w 4

Accounts, classes, rosters and finalising go through the API; the face rows (crops with a
placeholder image, vectors) are written straight into the backend's database, since 72,000
uploads would time the upload, not the register. facenet-server: target/release/facenet-server
(or $CARGO_TARGET_DIR's), its SQLite file written while it is stopped; standard library only.
Django: the example project (integrations/django/example) on a throw-away PostgreSQL cluster
(Debian's; as root it runs as the user postgres), served by gunicorn with 4 workers; run it with
the Python of .venv-django (psycopg, gunicorn: scripts/setup django).
"""

import argparse
import glob
import json
import math
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "facenet-server")
TOKEN = "school-bench-token"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(base, child):
    for _ in range(600):
        if child.poll() is not None:
            raise SystemExit(f"the backend exited ({child.returncode})")
        try:
            urllib.request.urlopen(f"{base}/api/attendance/", timeout=1)
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the backend did not start")


def stop(child):
    child.terminate()
    child.wait()


class FacenetServer:
    """facenet-server on a throw-away SQLite file; faces written while it is stopped."""

    name = "facenet-server (SQLite)"

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.child = None

    def start(self, keep=True):
        """With `keep`, a schedule that keeps everything (the server purges at start: the
        timings need the lessons' faces); without, the default schedule."""
        port = free_port()
        keep_env = {"FACENET_KEEP_LESSON_FACES_DAYS": "100000", "FACENET_KEEP_PHOTOS_DAYS": "100000"} if keep else {}
        self.log = tempfile.TemporaryFile(mode="w+")
        self.child = subprocess.Popen(
            [SERVER, "--port", str(port), "--data-dir", self.data_dir, "--token", TOKEN, "--root", ROOT],
            stdout=subprocess.DEVNULL, stderr=self.log, env={**os.environ, "RUST_LOG": "info", **keep_env},
        )
        self.base = f"http://127.0.0.1:{port}"
        wait_for(self.base, self.child)

    def purge(self):
        """The default schedule's purge, as the server runs it at start: what it erased, and how long the start took."""
        self.stop()
        started = time.perf_counter()
        self.start(keep=False)
        ms = (time.perf_counter() - started) * 1e3
        self.log.seek(0)
        line = next((l for l in self.log if "retention purge at start" in l), "")
        return f"at start (default schedule): {line.split('start: ')[-1].strip()}; the start took {ms:.0f} ms"

    def stop(self):
        stop(self.child)

    def database(self):
        return sqlite3.connect(os.path.join(self.data_dir, "facenet.sqlite3")), "?", {
            "photo": "INSERT INTO photos (session_id, filename, width, height) VALUES (?, 'class.jpg', 4032, 3024)",
            "crop": "INSERT INTO face_crops (session_id, filename, content_type, image, width, height, person_id, photo_id, created_at) "
                    "VALUES (?, 'face.jpg', 'image/jpeg', x'ffd8ffd9', 160, 160, ?, ?, ?)",
            "vector": "INSERT INTO embeddings (crop_id, model_name, model_version, dimension, vector) VALUES (?, 'facenet', ?, 128, ?)",
        }

    def size_mb(self):
        return os.path.getsize(os.path.join(self.data_dir, "facenet.sqlite3")) / 2**20


class DjangoPostgres:
    """The example Django project on a throw-away PostgreSQL cluster, under gunicorn -w 4."""

    name = "Django on PostgreSQL (gunicorn, 4 workers)"
    EXAMPLE = os.path.join(ROOT, "integrations/django/example")

    def __init__(self, data_dir):
        self.dir = data_dir
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        if not bins:
            raise SystemExit("PostgreSQL is not installed (scripts/setup postgres)")
        self.bin = os.path.dirname(bins[-1])
        self.as_root = os.getuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        self.port = free_port()
        self.run("initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "facenet", "-E", "UTF8", "--no-sync")
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                 f"-k {self.dir} -p {self.port} -c listen_addresses='' -c max_connections=100", "start")
        self.run("createdb", "-h", self.dir, "-p", str(self.port), "-U", "facenet", "facenet")
        self.env = {**os.environ, "PGHOST": self.dir, "PGPORT": str(self.port), "PGUSER": "facenet", "PGDATABASE": "facenet",
                    "FACENET_TOKEN": TOKEN, "FACENET_DATABASE": "postgres", "FACENET_REPO": ROOT,
                    "FACENET_DATA_DIR": os.path.join(self.dir, "django")}
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=self.EXAMPLE, env=self.env, check=True)
        self.gunicorn = os.path.join(os.path.dirname(python), "gunicorn")
        self.child = None

    def run(self, tool, *args):
        command = [os.path.join(self.bin, tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        port = free_port()
        self.child = subprocess.Popen(
            [self.gunicorn, "example.wsgi", "-w", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=self.EXAMPLE, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{port}"
        wait_for(self.base, self.child)

    def stop(self):
        if self.child:
            stop(self.child)

    def purge(self):
        """The default schedule's purge through the API (a dry run, then erasing), timed."""
        out = []
        for dry_run in ("true", "false"):
            started = time.perf_counter()
            answer = call(self.base, "POST", f"/retention/purge/?dry_run={dry_run}")
            ms = (time.perf_counter() - started) * 1e3
            out.append(f"{'dry run' if dry_run == 'true' else 'erasing'}: "
                       + ", ".join(f"{e['kind']} {e['count']}" for e in answer["erased"]) + f" in {ms:.0f} ms")
        return "; ".join(out)

    def close(self):
        self.stop()
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")

    def database(self):
        import psycopg

        conn = psycopg.connect(host=self.dir, port=self.port, user="facenet", dbname="facenet")
        return conn, "%s", {
            "photo": "INSERT INTO facenet_attendance_photo (session_id, filename, width, height, created_at) "
                     "VALUES (%s, 'class.jpg', 4032, 3024, now()) RETURNING id",
            "crop": "INSERT INTO facenet_attendance_facecrop (session_id, filename, content_type, image, width, height, person_id, photo_id, created_at) "
                    "VALUES (%s, 'face.jpg', 'image/jpeg', '\\xffd8ffd9', 160, 160, %s, %s, %s::timestamptz) RETURNING id",
            "vector": "INSERT INTO facenet_attendance_embedding (crop_id, model_name, model_version, dimension, vector, created_at) "
                      "VALUES (%s, 'facenet', %s, 128, %s, now())",
        }

    def size_mb(self):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(f"{self.dir}/data/base") for f in fs) / 2**20


def call(base, method, path, body=None, token=TOKEN):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/api/attendance{path}", data=data, method=method)
    request.add_header("authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request) as answer:
        raw = answer.read()
        return json.loads(raw) if answer.headers.get("content-type", "").startswith("application/json") else raw


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def face(rng, centre, spread):
    noise = unit([rng.gauss(0, 1) for _ in centre])
    w = math.sqrt(spread / (1 - spread))
    return unit([c + w * e for c, e in zip(centre, noise)])


def timed(fn, runs):
    # Warm first: each of gunicorn's workers loads the app on its first request.
    for _ in range(8):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1e3)
    return median_p95(times)


def median_p95(times):
    times = sorted(times)
    return statistics.median(times), times[max(0, math.ceil(0.95 * len(times)) - 1)]


def lesson_start(k):
    """Lesson k's start: school days from 1 September 2026."""
    return f"2026-{9 + k // 20:02}-{1 + k % 20:02} 09:00:00"


def fill(backend, classes, rosters, lessons, pupils, version, rng):
    """The faces, straight into the database: one enrolled reference per pupil (in the class's
    first lesson), then each lesson's photo with its faces (about one pupil in ten missing, as
    many strangers instead), each written when its lesson was (so that the retention schedule
    has due rows to purge). How many face rows."""
    conn, _, sql = backend.database()
    blob = lambda v: struct.pack(f"<{len(v)}f", *v)
    rows = 0
    cur = conn.cursor()

    def insert(statement, params):
        cur.execute(statement, params)
        return cur.lastrowid if isinstance(conn, sqlite3.Connection) else cur.fetchone()[0]

    for class_id, _ in classes:
        centres = {p: unit([rng.gauss(0, 1) for _ in range(128)]) for p in rosters[class_id]}
        first = lessons[class_id][0]
        for pupil, centre in centres.items():
            crop = insert(sql["crop"], (first, pupil, None, lesson_start(0) + ("+00" if not isinstance(conn, sqlite3.Connection) else "")))
            cur.execute(sql["vector"], (crop, version, blob(face(rng, centre, 0.05))))
        for k, session in enumerate(lessons[class_id]):
            written = lesson_start(k) + ("" if isinstance(conn, sqlite3.Connection) else "+00")
            photo = insert(sql["photo"], (session,))
            present = [p for p in centres if rng.random() > 0.1]
            faces = [face(rng, centres[p], 0.2) for p in present]
            faces += [unit([rng.gauss(0, 1) for _ in range(128)]) for _ in range(pupils - len(present))]
            for v in faces:
                crop = insert(sql["crop"], (session, None, photo, written))
                cur.execute(sql["vector"], (crop, version, blob(v)))
                rows += 1
    conn.commit()
    conn.close()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["facenet-server", "django"], default="facenet-server")
    parser.add_argument("--classes", type=int, default=60)
    parser.add_argument("--pupils", type=int, default=30)
    parser.add_argument("--lessons", type=int, default=40)
    parser.add_argument("--teachers", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(19)
    data_dir = tempfile.mkdtemp(prefix="facenet-school-")
    backend = (FacenetServer if args.backend == "facenet-server" else DjangoPostgres)(data_dir)
    try:
        built = time.perf_counter()
        backend.start()
        base = backend.base
        manifest = json.load(open(os.path.join(ROOT, "models/facenet.json")))
        version = manifest["sha256"][:12]
        teachers = [call(base, "POST", "/users/", {"name": f"teacher {t}"}) for t in range(args.teachers)]
        classes, rosters = [], {}
        for c in range(args.classes):
            teacher = teachers[c % len(teachers)]
            class_id = call(base, "POST", "/classes/", {"name": f"class {c:02}", "teacher_ids": [teacher["id"]]})["id"]
            classes.append((class_id, teacher))
            rosters[class_id] = [
                call(base, "POST", f"/classes/{class_id}/pupils/", {"name": f"pupil {c:02}-{p:02}", "external_id": f"MIS-{c:02}{p:02}"})["person_id"]
                for p in range(args.pupils)
            ]
            # Every pupil's guardian consented (the faces written below are theirs).
            for pupil in rosters[class_id]:
                call(base, "PUT", f"/people/{pupil}/consent/", {"state": "given", "by": "guardian", "purpose": "the register from lesson photos"})
        lessons = {}
        for class_id, teacher in classes:
            lessons[class_id] = [
                call(base, "POST", "/sessions/", {"name": f"lesson {k}", "class_id": class_id, "starts_at": lesson_start(k)},
                     teacher["token"])["id"]
                for k in range(args.lessons)
            ]
        backend.stop()
        rows = fill(backend, classes, rosters, lessons, args.pupils, version, rng)
        backend.start()
        base = backend.base
        finalising = []
        for class_id, teacher in classes:
            for session in lessons[class_id][:-1]:
                started = time.perf_counter()
                call(base, "POST", f"/sessions/{session}/finalize/", {}, teacher["token"])
                finalising.append((time.perf_counter() - started) * 1e3)
        print(f"{backend.name}: {args.classes} classes × {args.pupils} pupils, {args.lessons} lessons each, {rows} face rows, "
              f"{len(finalising)} lessons finalised ({time.perf_counter() - built:.0f} s to build); database {backend.size_mb():.0f} MB")
        class_id, teacher = classes[len(classes) // 2]
        token = teacher["token"]
        open_lesson, done_lesson = lessons[class_id][-1], lessons[class_id][len(lessons[class_id]) // 2]
        pupil = rosters[class_id][0]
        figures = [
            ("finalise a lesson (POST …/finalize/)", *median_p95(finalising), None),
            ("open lesson's register (computed)", *timed(lambda: call(base, "GET", f"/sessions/{open_lesson}/attendance/", token=token), args.runs), 100),
            ("finalised lesson's register (stored)", *timed(lambda: call(base, "GET", f"/sessions/{done_lesson}/attendance/", token=token), args.runs), 100),
            ("class term report (JSON)", *timed(lambda: call(base, "GET", f"/classes/{class_id}/attendance/?from=2026-09-01&to=2026-12-31", token=token), args.runs), 1000),
            ("class term report (CSV)", *timed(lambda: call(base, "GET", f"/classes/{class_id}/attendance.csv?from=2026-09-01&to=2026-12-31", token=token), args.runs), 1000),
            ("pupil's history", *timed(lambda: call(base, "GET", f"/people/{pupil}/attendance/", token=token), args.runs), 100),
        ]
        print(f"| call (as a teacher, {args.runs} runs) | median ms | p95 ms | target ms | met |")
        print("| --- | ---: | ---: | ---: | --- |")
        for name, median, p95, target in figures:
            met = "—" if target is None else "yes" if p95 <= target else "NO"
            print(f"| {name} | {median:.1f} | {p95:.1f} | {target or '—'} | {met} |")
        # The retention schedule over the whole database (lessons from September: their faces
        # are past the default 30 days).
        print(f"retention purge, {backend.purge()}")
    finally:
        (getattr(backend, "close", None) or backend.stop)()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
