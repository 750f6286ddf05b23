"""Text -> sign IDs speed: each corpus sentence glossed and planned (what a stream does with a text
message before any frame), timed one by one after a warm-up; p50 / p99 / max per sentence. Target:
p99 <= 5 ms. Not a timed test: run it, read the figures.

    python -m signstream.bench.text_gloss [--lexicon DIR] [--corpus FILE] [--rounds 200] [--out benchmarks/results]

Without --lexicon it writes the demo lexicon (word and letter signs) into a temporary folder.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from signstream.config import Settings
from signstream.lexicon import open_lexicon
from signstream.text import Glosser, plan, vocabulary_of
from signstream.text.lemma import warm_up

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "text" / "corpus.txt"
TARGET_P99_MS = 5.0


def read_corpus(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def measure(lexicon_dir: str, sentences: list[str], rounds: int, warm_rounds: int = 3) -> dict:
    """Per-sentence text -> IDs times (ms) over `rounds` passes of the corpus, after `warm_rounds`."""
    lexicon = open_lexicon(Settings(lexicon=lexicon_dir))
    warm_up()
    times = []
    for round_ in range(warm_rounds + rounds):
        for text in sentences:
            start = time.perf_counter()
            # as a stream does: the lexicon's vocabulary (made once per table), gloss, plan
            plan(Glosser(vocabulary_of(lexicon.table)).gloss(text))
            elapsed = time.perf_counter() - start
            if round_ >= warm_rounds:
                times.append(elapsed * 1000)
    ms = np.array(times)
    return {"sentences": len(sentences), "rounds": rounds, "samples": int(ms.size),
            "words_per_sentence": round(float(np.mean([len(t.split()) for t in sentences])), 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 4), "p99_ms": round(float(np.percentile(ms, 99)), 4),
            "max_ms": round(float(ms.max()), 4), "target_p99_ms": TARGET_P99_MS,
            "meets_target": bool(np.percentile(ms, 99) <= TARGET_P99_MS)}


def report(figures: dict) -> str:
    return "\n".join([
        "# Text -> sign IDs (gloss + plan), per sentence after warm-up", "",
        f"{figures['sentences']} corpus sentences ({figures['words_per_sentence']} words on average) x "
        f"{figures['rounds']} rounds = {figures['samples']} samples", "",
        "| p50 | p99 | max | target p99 |", "|---:|---:|---:|---:|",
        f"| {figures['p50_ms']} ms | {figures['p99_ms']} ms | {figures['max_ms']} ms | <= {figures['target_p99_ms']} ms |", ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexicon", default=None, help="lexicon folder (default: the demo lexicon, written to a temp folder)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="one sentence a line (# comments)")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="write text_gloss.{json,md} here")
    args = parser.parse_args(argv)
    sentences = read_corpus(args.corpus)
    if args.lexicon:
        figures = measure(args.lexicon, sentences, args.rounds)
    else:
        from signstream.lexicon.demo import write_demo_lexicon

        with tempfile.TemporaryDirectory(prefix="signstream-text-") as tmp:
            write_demo_lexicon(tmp)
            figures = measure(tmp, sentences, args.rounds)
    text = report(figures)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "text_gloss.json").write_text(json.dumps(figures, indent=1) + "\n")
        (args.out / "text_gloss.md").write_text(text)
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
