"""A bench result document -> a Markdown table (targets, then the load sweep) and a PNG plot of
latency and throughput against concurrent streams."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path


def document(benchmark: str, command: str, **fields) -> dict:
    """A result document's head: what ran, when, where, with which command; then `fields`."""
    return {"benchmark": benchmark, "date": dt.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "command": command, **fields}


def write_results(out: str | Path, name: str, doc: dict, table: str) -> Path:
    """`doc` as <out>/<name>.json and `table` as <out>/<name>.md, the table printed; the stem."""
    stem = Path(out) / name
    stem.parent.mkdir(parents=True, exist_ok=True)
    write_json(stem.with_suffix(".json"), doc)
    stem.with_suffix(".md").write_text(table)
    print(table)
    return stem


def write_json(path: str | Path, doc: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {path}")


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def rows_table(rows: list[dict], headers: tuple[str, str] = ("figure", "target")) -> list[str]:
    """Markdown lines: one row per figure (or check) with its value, target (criterion) and whether it
    is met ("–" when it could not be measured)."""
    lines = [f"| {headers[0]} | value | {headers[1]} | met |", "|---|---:|---:|:-:|"]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "–"}[row["met"]]
        lines.append(f"| {row['figure']} | {_cell(row['value'])} | {row['target']} | {met} |")
    return lines


def markdown(doc: dict) -> str:
    setup = doc["setup"]
    layout = (f"{setup['processes']} gateway process(es) × {setup['workers']} CPU threads"
              if setup.get("processes") else f"server {setup['server']}")
    lines = [f"### {doc['benchmark']} — {doc['date']}, {doc['machine']}", "",
             f"`{doc['command']}` · {setup['size']}² frames · {len(setup['signs'])} signs per stream · "
             f"{layout} · arrivals {setup['arrivals']} · {setup['duration_s']:g} s per level", "",
             *rows_table(doc.get("targets", []))]
    ceiling = doc.get("jpeg_ceiling", {})
    lines += ["", f"JPEG-encode ceiling for these frames: {_cell(ceiling.get('frames_per_s'))} frames/s "
                  f"({ceiling.get('frames_per_stream')} frames per stream).", "",
              "| load | streams done | frames/s | first frame p50 / p99 ms | gap p50 / p99 / max ms | "
              "goodput | server cores | client cores | server RSS MiB |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    levels = [(k, v) for k, v in doc.get("load", {}).items() if isinstance(v, dict)]
    if "realtime" in doc:
        levels.append((f"realtime@{doc['realtime']['streams']}", doc["realtime"]))
    heavy = doc.get("heavy_images")
    if heavy:
        levels += [(f"realtime@{heavy['alone']['streams']} alone", heavy["alone"]),
                   (f"realtime@{heavy['alone']['streams']} + {heavy['loops']} photo clients", heavy["loaded"])]
    for name, v in levels:
        lines.append(
            f"| {name} | {v['streams_completed']} (+{v['streams_failed']} failed) | {_cell(v['frames_per_s'])} | "
            f"{_cell(v['first_frame_p50_ms'])} / {_cell(v['first_frame_p99_ms'])} | "
            f"{_cell(v['gap_p50_ms'])} / {_cell(v['gap_p99_ms'])} / {_cell(v['gap_max_ms'])} | "
            f"{_cell(v['goodput_share'])} | {_cell(v.get('server_cores_busy'))} | {_cell(v['client_cores_busy'])} | "
            f"{_cell(v.get('server_rss_mib'))} |")
    if heavy:
        load = heavy["load"]
        answered = {k: v for k, v in load.items() if k not in ("seconds", "images_per_s")}
        lines += ["", f"Heavy images: {heavy['loops']} clients sent {heavy['photo_px'] / 1e6:g} Mpx JPEGs for "
                      f"{load['seconds']:g} s ({_cell(load['images_per_s'])} answered per s; "
                      + ", ".join(f"{k} {v}" for k, v in sorted(answered.items())) + ")."]
    sustained = doc.get("memory", {}).get("sustained", {})
    if "growth_share" in sustained:
        lines += ["", f"Sustained load for memory: {sustained['streams']} JPEG streams (Poisson arrivals) for "
                      f"{sustained['minutes']:g} min, {sustained['streams_done']} streams done "
                      f"(+{sustained['streams_failed']} failed); server RSS {sustained['rss_first_mib']:g} → "
                      f"{sustained['rss_last_mib']:g} MiB (max {sustained['rss_max_mib']:g})."]
    kernels = doc.get("kernels", {})
    if "render_us" in kernels:
        lines += ["", f"Renderer, 512²: {kernels['render_us']:g} µs per frame with numba, "
                      f"{kernels['render_speedup']:g}× the cv2 reference renderer."]
    perf = doc.get("triton", {}).get("perf_analyzer")
    if perf:
        lines += ["", "perf_analyzer on holistic (512² astronaut, gRPC, Triton with 2 instances):", "",
                  "| concurrency | inferences/s | p50 ms | p99 ms | server compute ms |", "|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['concurrency']} | {_cell(r['inferences_per_s'])} | {_cell(r['p50_ms'])} | "
                  f"{_cell(r['p99_ms'])} | {_cell(r['server_compute_infer_ms'])} |" for r in perf]
    return "\n".join(lines) + "\n"


def plot(doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency, throughput) = plt.subplots(1, 2, figsize=(10, 4))
    for encoding in ("jpeg", "none"):
        levels = sorted((v["streams"], v) for k, v in doc.get("load", {}).items()
                        if isinstance(v, dict) and k.startswith(f"{encoding}@"))
        if not levels:
            continue
        s = [n for n, _ in levels]
        for key, style in (("first_frame_p50_ms", "-o"), ("first_frame_p99_ms", "--o")):
            latency.plot(s, [v[key] for _, v in levels], style, label=f"{encoding.upper()} {key[12:15]}")
        throughput.plot(s, [v["frames_per_s"] for _, v in levels], "-o", label=f"{encoding.upper()} delivered")
    if "frames_per_s" in doc.get("jpeg_ceiling", {}):
        throughput.axhline(doc["jpeg_ceiling"]["frames_per_s"], color="grey", linestyle=":", label="JPEG-encode ceiling")
    latency.set(xlabel="concurrent streams", ylabel="time to first frame (ms)", yscale="log")
    throughput.set(xlabel="concurrent streams", ylabel="frames/s", yscale="log")
    for axis in (latency, throughput):
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    fig.suptitle(f"{doc['benchmark']} — {doc['date']}, {doc['machine']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
