"""The text -> sign IDs benchmark runs and reports its figures (not a timed test: the figures are not judged)."""
from __future__ import annotations

from signstream.bench.text_gloss import CORPUS, measure, read_corpus, report


def test_the_benchmark_measures_every_sentence(demo_lexicon_dir):
    sentences = read_corpus(CORPUS)
    figures = measure(str(demo_lexicon_dir), sentences, rounds=2, warm_rounds=1)
    assert figures["samples"] == 2 * len(sentences) >= 60
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert "| p50 | p99 | max | target p99 |" in report(figures)
