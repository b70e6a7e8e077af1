#!/usr/bin/env python3
"""onnxruntime's side of the native benchmark (benches/native.rs runs it in the same run).

Usage: python tools/bench_ort.py MODEL.onnx THREADS RUNS IMAGE...
Prints one JSON object: session build seconds and per-inference milliseconds (on tensors
preprocessed beforehand, as the Rust side times inference on decoded pixels).
"""
import json
import statistics
import sys
import time

import reference


def main():
    model, threads, runs, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    start = time.perf_counter()
    session = reference.Session(model, threads=threads)
    build_s = time.perf_counter() - start
    tensors = [reference.preprocess(p) for p in images]
    for t in tensors[:5]:
        session.run(t)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        session.run(tensors[i % len(tensors)])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(json.dumps({
        "engine": f"onnxruntime {__import__('onnxruntime').__version__} (Python, CPU, {threads} thread{'s' if threads > 1 else ''})",
        "threads": threads, "build_s": build_s, "runs": runs,
        "median_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
    }))


if __name__ == "__main__":
    main()
