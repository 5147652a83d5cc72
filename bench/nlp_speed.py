"""Speed of the insight stage on CPU: model load time and segments per second per core.

Load: ``load_engine`` in a fresh interpreter (imports included), median of runs. Throughput: the whole
``analyze`` (KPIs, rules, e5 + heads, signals, entities, summary, health) on a transcript made of the distinct
labelled utterances (no two segments alike, so the embedding cache gives nothing), one onnxruntime thread;
segments per CPU-second of this process is the per-core figure. Also the share of the embedding.

Usage: .venv/bin/python bench/nlp_speed.py [--runs 3] [--segments 800] [--python /path/to/nlp-only/bin/python]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import SegmentDoc, SpeakerDoc, TranscriptDoc
from dealtalk.nlp.dataset import read_dataset
from dealtalk.nlp.engine import load_engine
from dealtalk.nlp.protocols import InsightContext

ROOT = Path(__file__).resolve().parents[1]
LOAD_SNIPPET = (
    "import time; t = time.perf_counter()\n"
    "from dealtalk.nlp.engine import load_engine\n"
    "from dealtalk.contracts.config import Settings\n"
    "load_engine(Settings.load()); print(time.perf_counter() - t)\n"
)


def load_seconds(runs: int, python: str) -> tuple[list[float], list[float]]:
    """``load_engine`` (with its imports) in fresh interpreters: wall seconds, and CPU seconds of the child
    (user + system, interpreter start included), which a busy shared host does not inflate."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([python, "-c", LOAD_SNIPPET], capture_output=True, text=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(float(out.stdout.strip().splitlines()[-1]))
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def transcript(n: int) -> TranscriptDoc:
    texts = [
        u.text
        for name in ("train", "dev", "holdout")
        for u in read_dataset(ROOT / "nlp" / "data" / f"{name}.jsonl")
    ]
    texts = list(dict.fromkeys(texts))
    segments = []
    for i in range(n):
        # Distinct texts: past the labelled set, a numbered variant keeps every segment unique.
        text = texts[i % len(texts)] if i < len(texts) else f"{texts[i % len(texts)]} ({i})"
        speaker = "S1" if i % 2 else "S2"
        role = "seller" if speaker == "S1" else "customer"
        segments.append(
            SegmentDoc(start=i * 5.0, end=i * 5.0 + 4.5, speaker=speaker, role=role, language="nl", text=text)
        )
    speakers = (
        SpeakerDoc(id="S1", name="Seller", role="seller"),
        SpeakerDoc(id="S2", name="Customer", role="customer"),
    )
    return TranscriptDoc(
        call_id="bench", language="nl", duration_s=n * 5.0, speakers=speakers, segments=tuple(segments)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--segments", type=int, default=800)
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for the load measurement, e.g. a torch-free venv with only the nlp extra",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "nlp_speed.md")
    args = parser.parse_args()

    settings = Settings.load()
    loads, load_cpus = load_seconds(args.runs, args.python)
    load_torch = subprocess.run(
        [args.python, "-c", "import importlib.util as u; print(u.find_spec('torch') is not None)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    engine = load_engine(settings)
    doc = transcript(args.segments)
    context = InsightContext()
    engine.analyze(transcript(20), context)  # warm-up: first-run allocations in onnxruntime

    walls, cpus = [], []
    for _ in range(args.runs):
        wall, cpu = time.perf_counter(), time.process_time()
        engine.analyze(doc, context)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    detector = engine._detector  # the bench times the embedding share on its own
    assert detector.embedder is not None
    embed_walls = []
    for _ in range(args.runs):
        wall = time.perf_counter()
        detector.embedder.embed([s.text for s in doc.segments])
        embed_walls.append(time.perf_counter() - wall)

    n = len(doc.segments)
    wall, cpu, embed = statistics.median(walls), statistics.median(cpus), statistics.median(embed_walls)
    torch_here = importlib.util.find_spec("torch") is not None
    load_runs = ", ".join(f"{t:.2f}" for t in loads)
    rows = [
        (
            "load_engine incl. imports (s), median",
            f"{statistics.median(loads):.2f}",
            "< 2",
            f"runs {load_runs}; torch importable there: {load_torch}",
        ),
        (
            "load_engine process CPU (s), median",
            f"{statistics.median(load_cpus):.2f}",
            "",
            "user+system of the child, interpreter start included (can exceed wall: 2 threads)",
        ),
        ("analyze: segments / wall second", f"{n / wall:.0f}", "", f"{n} segments in {wall:.2f} s"),
        (
            "analyze: segments / CPU second (per core)",
            f"{n / cpu:.0f}",
            ">= 200",
            f"CPU {cpu:.2f} s, 1 ORT thread",
        ),
        (
            "e5 embedding alone: segments / wall second",
            f"{n / embed:.0f}",
            "",
            f"{embed / wall:.0%} of analyze",
        ),
    ]
    header = "| measure | value | target | note |\n|---|---:|---:|---|\n"
    table = header + "".join(f"| {a} | {b} | {c} | {d} |\n" for a, b, c, d in rows)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    machine = (
        f"{platform.machine()} ({os.cpu_count()} cores, load average {load}), Python "
        f"{platform.python_version()}, torch importable: {torch_here}, commit {commit or '?'}"
    )
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Insight stage speed (CPU)\n\n"
        f"Measured by `bench/nlp_speed.py --runs {args.runs} --segments {args.segments}` on {machine}.\n"
        "Medians of the runs in one invocation; the host is shared, so absolute figures are noisy.\n\n"
        + table,
        encoding="utf-8",
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
