"""A tiny thread-safe Prometheus registry: Counter, Gauge, Histogram, rendered as text format 0.0.4.

    registry = Registry()
    requests = registry.counter("app_requests_total", "Requests served.", ["rpc"])
    requests.inc(rpc="Synthesize")
    registry.render()   # '# HELP app_requests_total Requests served.\n# TYPE ...'

Metrics are updated from the event loop and from worker threads, so every metric guards its series
with its own lock, held only for a few dict operations (never across I/O). The format is specified
at https://prometheus.io/docs/instrumenting/exposition_formats/ ; we write it ourselves because it
is a few lines of text and we want no process-global default registry.
"""
from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def format_value(value: float) -> str:
    """A sample value or `le` bound as Prometheus writes it: `3`, `0.25`, `+Inf`, `NaN`."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels_text(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape_label_value(value)}"' for name, value in pairs) + "}"


class _Metric:
    """One metric family: a name, help text, label names and one series per label-value tuple."""

    kind = ""
    # Label names that would collide with a method's keyword arguments or the format itself.
    reserved_labels: tuple[str, ...] = ("self",)

    def __init__(self, name: str, help: str, labelnames: Iterable[str] = ()):
        if not isinstance(name, str) or not _METRIC_NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}: use [a-zA-Z_:][a-zA-Z0-9_:]*")
        names = tuple(labelnames)
        for label in names:
            if not isinstance(label, str) or not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r} for {name}: use [a-zA-Z_][a-zA-Z0-9_]*, "
                                 "not starting with '__'")
            if label in self.reserved_labels:
                raise ValueError(f"label name {label!r} is reserved for a {self.kind} ({name})")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate label names {names} for {name}")
        self.name = name
        self.help = help
        self.labelnames = tuple(sorted(names))     # sorted once, so every sample lists them in order
        self._lock = threading.Lock()
        self._series: dict[tuple[str, ...], object] = {}
        if not self.labelnames:                    # an unlabelled metric shows 0 before first use
            self._series[()] = self._new_series()

    def _key(self, labels: dict[str, object]) -> tuple[str, ...]:
        if labels.keys() != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {list(self.labelnames)}, got {sorted(labels)}")
        return tuple(str(labels[label]) for label in self.labelnames)

    def render_lines(self) -> list[str]:
        """`# HELP`, `# TYPE` and every sample line, series ordered by their label values."""
        with self._lock:
            snapshot = [(key, self._copy(state)) for key, state in self._series.items()]
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        for key, state in sorted(snapshot, key=lambda item: item[0]):
            lines.extend(self._sample_lines(tuple(zip(self.labelnames, key)), state))
        return lines

    def _new_series(self):
        raise NotImplementedError

    def _copy(self, state):
        return state

    def _sample_lines(self, pairs: tuple[tuple[str, str], ...], state) -> list[str]:
        return [f"{self.name}{_labels_text(pairs)} {format_value(state)}"]

    def value(self, **labels: object) -> float:
        """The current value of one series (0 if never touched); for tests and health checks."""
        key = self._key(labels)
        with self._lock:
            return float(self._series.get(key, 0.0))


class Counter(_Metric):
    """A value that only goes up (name it `..._total`)."""

    kind = "counter"
    reserved_labels = ("self", "amount")

    def _new_series(self) -> float:
        return 0.0

    def inc(self, amount: float = 1, **labels: object) -> None:
        if not amount >= 0:                        # also refuses NaN
            raise ValueError(f"counter {self.name} can only go up, got {amount!r}")
        key = self._key(labels)
        with self._lock:
            self._series[key] = self._series.get(key, 0.0) + amount


class Gauge(_Metric):
    """A value that goes up and down."""

    kind = "gauge"
    reserved_labels = ("self", "amount", "value")

    def _new_series(self) -> float:
        return 0.0

    def set(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._series[key] = float(value)

    def inc(self, amount: float = 1, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._series[key] = self._series.get(key, 0.0) + amount

    def dec(self, amount: float = 1, **labels: object) -> None:
        self.inc(-amount, **labels)


class ReadGauge(Gauge):
    """An unlabelled gauge whose value is read from `source()` when it is scraped (or asked for): for
    counts kept elsewhere, such as the server-wide ones in shared memory."""

    def __init__(self, name: str, help: str, source: Callable[[], float]):
        super().__init__(name, help)
        self.source = source

    def _refresh(self) -> None:
        self.set(self.source())

    def render_lines(self) -> list[str]:
        self._refresh()
        return super().render_lines()

    def value(self, **labels: object) -> float:
        self._refresh()
        return super().value(**labels)


class Histogram(_Metric):
    """Observations counted into fixed buckets; rendered cumulative (`le` = less or equal)."""

    kind = "histogram"
    reserved_labels = ("self", "value", "le")

    def __init__(self, name: str, help: str, buckets: Iterable[float], labelnames: Iterable[str] = ()):
        bounds = [float(bound) for bound in buckets]
        if bounds and bounds[-1] == math.inf:      # +Inf is always there; accept it written out
            bounds.pop()
        if (not bounds or not all(math.isfinite(bound) for bound in bounds)
                or any(low >= high for low, high in zip(bounds, bounds[1:]))):
            raise ValueError(f"buckets of {name} must be finite, strictly increasing and non-empty")
        self.buckets = tuple(bounds)               # set before super() creates the first series
        super().__init__(name, help, labelnames)

    def _new_series(self) -> list:
        return [[0] * (len(self.buckets) + 1), 0.0]    # per-bucket counts (last: above all), sum

    def _copy(self, state: list) -> list:
        return [list(state[0]), state[1]]

    def observe(self, value: float, **labels: object) -> None:
        if math.isnan(value):
            raise ValueError(f"histogram {self.name} cannot observe NaN")
        key = self._key(labels)
        index = bisect.bisect_left(self.buckets, value)    # first bound >= value
        with self._lock:
            state = self._series.get(key)
            if state is None:
                state = self._series[key] = self._new_series()
            state[0][index] += 1
            state[1] += value

    def _sample_lines(self, pairs: tuple[tuple[str, str], ...], state: list) -> list[str]:
        counts, total = state
        lines, cumulative = [], 0
        for bound, count in zip((*self.buckets, math.inf), counts):
            cumulative += count
            le = (*pairs, ("le", format_value(bound)))
            lines.append(f"{self.name}_bucket{_labels_text(le)} {cumulative}")
        lines.append(f"{self.name}_sum{_labels_text(pairs)} {format_value(total)}")
        lines.append(f"{self.name}_count{_labels_text(pairs)} {cumulative}")
        return lines

    def value(self, **labels: object) -> float:
        """The number of observations of one series."""
        key = self._key(labels)
        with self._lock:
            state = self._series.get(key)
            return float(sum(state[0])) if state else 0.0


M = TypeVar("M", bound=_Metric)


class Registry:
    """The metrics one process exposes, rendered in registration order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, _Metric] = {}

    def register(self, metric: M) -> M:
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name} is already registered")
            self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labelnames: Iterable[str] = ()) -> Counter:
        return self.register(Counter(name, help, labelnames))

    def gauge(self, name: str, help: str, labelnames: Iterable[str] = ()) -> Gauge:
        return self.register(Gauge(name, help, labelnames))

    def read_gauge(self, name: str, help: str, source: Callable[[], float]) -> ReadGauge:
        return self.register(ReadGauge(name, help, source))

    def histogram(self, name: str, help: str, buckets: Iterable[float],
                  labelnames: Iterable[str] = ()) -> Histogram:
        return self.register(Histogram(name, help, buckets, labelnames))

    def render(self) -> str:
        """All metrics in the text exposition format 0.0.4, newline-terminated."""
        with self._lock:
            metrics = list(self._metrics.values())
        return "".join(line + "\n" for metric in metrics for line in metric.render_lines())
