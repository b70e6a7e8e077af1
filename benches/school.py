#!/usr/bin/env python3
"""A school-sized facenet-server: 60 classes × 30 pupils, 40 lessons each with 30 faces
(72,000 face rows with 128-d vectors), 10 teachers with 6 classes each; then the calls a school
makes, timed through HTTP as a teacher: a lesson's register (open: computed; finalised: stored),
a class's term report (JSON and CSV), a pupil's history. Prints the figures and the targets of
issue 19 (register <= 100 ms, term report <= 1 s, pupil history <= 100 ms).

    python3 benches/school.py [--classes 60] [--pupils 30] [--lessons 40] [--runs 20]

Accounts, classes, rosters and finalising go through the API; the face rows (crops with a
placeholder image, vectors) are written into the server's own SQLite file while it is stopped,
since 72,000 uploads would time the upload, not the register. Python's standard library only;
the server is target/release/facenet-server (or $CARGO_TARGET_DIR's).
"""

import argparse
import json
import math
import os
import random
import re
import shutil
import sqlite3
import statistics
import struct
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "facenet-server")
TOKEN = "school-bench-token"


def start(data_dir):
    child = subprocess.Popen(
        [SERVER, "--port", "0", "--data-dir", data_dir, "--token", TOKEN, "--root", ROOT],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "RUST_LOG": "warn"},
    )
    for line in child.stdout:
        found = re.search(r"(http://[\d.:]+)/", line)
        if found:
            return child, found.group(1)
    raise SystemExit("facenet-server did not start")


def stop(child):
    child.terminate()
    child.wait()


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
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1e3)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=60)
    parser.add_argument("--pupils", type=int, default=30)
    parser.add_argument("--lessons", type=int, default=40)
    parser.add_argument("--teachers", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(19)
    data_dir = tempfile.mkdtemp(prefix="facenet-school-")
    try:
        built = time.perf_counter()
        child, base = start(data_dir)
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
        lessons = {}
        for class_id, teacher in classes:
            lessons[class_id] = [
                call(base, "POST", "/sessions/", {"name": f"lesson {k}", "class_id": class_id,
                                                  "starts_at": f"2026-{9 + k // 20:02}-{1 + k % 20:02} 09:00"}, teacher["token"])["id"]
                for k in range(args.lessons)
            ]
        stop(child)
        # The faces, straight into the file: one enrolled reference per pupil, then each lesson's
        # faces (a few pupils missing, a few strangers).
        db = sqlite3.connect(os.path.join(data_dir, "facenet.sqlite3"))
        blob = lambda v: struct.pack(f"<{len(v)}f", *v)
        rows = 0
        with db:
            for class_id, _ in classes:
                centres = {p: unit([rng.gauss(0, 1) for _ in range(128)]) for p in rosters[class_id]}
                first = lessons[class_id][0]
                for pupil, centre in centres.items():
                    cur = db.execute("INSERT INTO face_crops (session_id, filename, content_type, image, width, height, person_id) "
                                     "VALUES (?, 'ref.jpg', 'image/jpeg', x'ffd8ffd9', 160, 160, ?)", (first, pupil))
                    db.execute("INSERT INTO embeddings (crop_id, model_name, model_version, dimension, vector) VALUES (?, 'facenet', ?, 128, ?)",
                               (cur.lastrowid, version, blob(face(rng, centre, 0.05))))
                for session in lessons[class_id]:
                    photo = db.execute("INSERT INTO photos (session_id, filename, width, height) VALUES (?, 'class.jpg', 4032, 3024)",
                                       (session,)).lastrowid
                    present = [p for p in centres if rng.random() > 0.1]
                    faces = [face(rng, centres[p], 0.2) for p in present]
                    faces += [unit([rng.gauss(0, 1) for _ in range(128)]) for _ in range(args.pupils - len(present))]
                    for v in faces:
                        cur = db.execute("INSERT INTO face_crops (session_id, filename, content_type, image, width, height, photo_id) "
                                         "VALUES (?, 'face.jpg', 'image/jpeg', x'ffd8ffd9', 160, 160, ?)", (session, photo))
                        db.execute("INSERT INTO embeddings (crop_id, model_name, model_version, dimension, vector) VALUES (?, 'facenet', ?, 128, ?)",
                                   (cur.lastrowid, version, blob(v)))
                        rows += 1
        db.close()
        child, base = start(data_dir)
        finalising = []
        for class_id, teacher in classes:
            for session in lessons[class_id][:-1]:
                started = time.perf_counter()
                call(base, "POST", f"/sessions/{session}/finalize/", {}, teacher["token"])
                finalising.append((time.perf_counter() - started) * 1e3)
        print(f"built: {args.classes} classes × {args.pupils} pupils, {args.lessons} lessons each, {rows} face rows "
              f"({time.perf_counter() - built:.0f} s); file {os.path.getsize(os.path.join(data_dir, 'facenet.sqlite3')) / 2**20:.0f} MB")
        class_id, teacher = classes[len(classes) // 2]
        token = teacher["token"]
        open_lesson, done_lesson = lessons[class_id][-1], lessons[class_id][len(lessons[class_id]) // 2]
        pupil = rosters[class_id][0]
        figures = [
            ("finalise a lesson (POST …/finalize/)", statistics.median(finalising), sorted(finalising)[int(0.95 * (len(finalising) - 1))], 100),
            ("open lesson's register (computed)", *timed(lambda: call(base, "GET", f"/sessions/{open_lesson}/attendance/", token=token), args.runs), 100),
            ("finalised lesson's register (stored)", *timed(lambda: call(base, "GET", f"/sessions/{done_lesson}/attendance/", token=token), args.runs), 100),
            ("class term report (JSON)", *timed(lambda: call(base, "GET", f"/classes/{class_id}/attendance/?from=2026-09-01&to=2026-12-31", token=token), args.runs), 1000),
            ("class term report (CSV)", *timed(lambda: call(base, "GET", f"/classes/{class_id}/attendance.csv?from=2026-09-01&to=2026-12-31", token=token), args.runs), 1000),
            ("pupil's history", *timed(lambda: call(base, "GET", f"/people/{pupil}/attendance/", token=token), args.runs), 100),
        ]
        print(f"| call (as a teacher, {args.runs} runs) | median ms | p95 ms | target ms | met |")
        print("| --- | ---: | ---: | ---: | --- |")
        for name, median, p95, target in figures:
            print(f"| {name} | {median:.1f} | {p95:.1f} | {target} | {'yes' if p95 <= target else 'NO'} |")
        stop(child)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
