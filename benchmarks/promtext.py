"""Read a gateway's Prometheus /metrics (text format) over HTTP: the series by name and labels.

    series = scrape("http://127.0.0.1:8090/metrics")
    value(series, "signstream_streams_open", rpc="Synthesize")
    total(urls, "signstream_streams_open", rpc="Synthesize")      # summed over gateway processes
    by_label(urls, "signstream_errors_total", "code")              # {"STREAM_TIMEOUT": 3.0, ...}
"""
from __future__ import annotations

import re
import urllib.request

Series = dict[tuple[str, frozenset], float]
_LINE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def parse(text: str) -> Series:
    return {(m.group(1), frozenset(_LABEL.findall(m.group(2) or ""))): float(m.group(3))
            for m in _LINE.finditer(text)}


def scrape(url: str, timeout: float = 10.0) -> Series:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return parse(response.read().decode())


def value(series: Series, name: str, **labels: str) -> float:
    """The series' value, 0 when absent (as a counter or gauge never touched)."""
    return series.get((name, frozenset(labels.items())), 0.0)


def total(urls: list[str], name: str, **labels: str) -> float:
    """One series summed over several /metrics endpoints (one per gateway process)."""
    return sum(value(scrape(url), name, **labels) for url in urls)


def labelled(series: Series, name: str, label: str) -> dict[str, float]:
    """A labelled series' values by the value of `label`."""
    out: dict[str, float] = {}
    for (series_name, labels), v in series.items():
        key = dict(labels).get(label)
        if series_name == name and key is not None:
            out[key] = out.get(key, 0.0) + v
    return out


def by_label(urls: list[str], name: str, label: str) -> dict[str, float]:
    """`labelled` summed over several /metrics endpoints (one per gateway process)."""
    out: dict[str, float] = {}
    for url in urls:
        for key, v in labelled(scrape(url), name, label).items():
            out[key] = out.get(key, 0.0) + v
    return out
