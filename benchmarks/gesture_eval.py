"""`signstream bench --gesture`: the co-speech gesture evaluation of the `beat` source (issue 22), CPU.

The corpus is speech-LIKE synthetic audio with known stress times (signstream.gesture.speech_corpus):
the figures are the behaviour of the method on it, not a claim about real speech. N seeded utterances
(default 8 x 20 s) are fed to BeatSource in 0.5 s chunks, as the Gesture rpc takes them.

- Stroke apexes are found FROM THE MOTION (never from the source's plan): the right wrist's lowest
  points (local maxima of image y standing APEX_PROMINENCE above the frames before and after them,
  refined to sub-frame by a parabola), matched one to one to the stress times within +-TOLERANCE_S:
  precision, recall, F1. Conditions: the default lookahead, lookahead 0, and a random-timing control
  (as many apexes as ours found, at uniformly random times at least MIN_BEAT_GAP_S apart, RANDOM_DRAWS
  seeded draws per utterance: the F1 of strokes placed without listening).
- Beat alignment (Li et al. 2021, AIST++ style, as co-speech papers use it): the mean over the audio beats
  (stress times) of exp(-d^2 / (2 sigma^2)), d the distance to the nearest kinematic beat (a local
  minimum of the wrist's speed, SPEED_PROMINENCE below the speed around it), sigma = SIGMA_S. Shown
  only beside its controls: shuffled (our motion scored against the next utterance's stresses) and
  still pose (the source fed silence as long as the utterance: no strokes, breathing only).
- Smoothness: jerk (the mean magnitude of the wrist's third derivative, frame heights / s^3) and the
  arm bones' length CV (signstream.kernels.retarget.bone_length_cv).
- Latency at 8 concurrent streams, audio paced in real time (a 0.5 s chunk every 0.5 s): in process
  (8 BeatSources in one asyncio loop on a PriorityPool of the cores, as the gateway runs them) and,
  unless --quick, through a started gateway (`serve`, rpc Gesture, JPEG 256x256 frames with keypoints,
  after an untimed warm-up; the keypoints received are scored too). Per chunk: its feed (send) -> the
  frames it released returned (received); per frame: from when it became due (the arrival of the chunk
  holding the audio at its time + lookahead) to when it is returned (received).

No FGD: it needs a pretrained motion autoencoder, and none exists for this skeleton.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

import numpy as np

from signstream.cpu_pool import PriorityPool
from signstream.gesture import beat
from signstream.gesture.beat import BeatSource
from signstream.gesture.source import MAX_CHUNK_SAMPLES, SAMPLE_RATE
from signstream.gesture.speech_corpus import Utterance, make_utterance, pcm16
from signstream.kernels import layout as L
from signstream.kernels.retarget import bone_length_cv

from . import report

FPS = 25.0
CHUNK = MAX_CHUNK_SAMPLES             # 0.5 s per feed, the most one Gesture request carries
TOLERANCE_S = 0.08                    # an apex within this of a stress time hits it
APEX_PROMINENCE = 0.01                # frame heights the wrist drops into an apex (and rises after)
APEX_WINDOW_S = 0.25                  # ... within this before and after it
SIGMA_S = 0.1                         # beat alignment's sigma
SPEED_PROMINENCE = 0.05               # frame heights / s a kinematic beat lies below the speed around it
SPEED_WINDOW_S = 0.2
RANDOM_DRAWS = 20
CONCURRENT = 8
WARMUP_S = 2.0                        # of audio per stream through the gateway before the timed run
FULL = {"utterances": 8, "seconds": 20.0, "latency_seconds": 20.0}
QUICK = {"utterances": 3, "seconds": 12.0, "latency_seconds": 4.0}
CORPUS_NOTE = ("speech-like synthetic corpus (seeded harmonic vowels with noise consonants, stressed syllables "
               "+9 dB, +25 % pitch, longer), CPU: the figures are the behaviour of the method, not of real speech")


# ---- measuring motion ---------------------------------------------------------------------------

def wrist(frames: np.ndarray) -> np.ndarray:
    """The right wrist's (x, y) per frame, float64."""
    return frames[:, L.BODY][:, L.R_WRIST, :2].astype(np.float64)


def apex_times(frames: np.ndarray, fps: float) -> np.ndarray:
    """The right wrist's lowest points (image y is down): frames whose y is a local maximum standing
    APEX_PROMINENCE above the lowest y within APEX_WINDOW_S before and after, at sub-frame time."""
    y = wrist(frames)[:, 1]
    w = max(1, int(round(APEX_WINDOW_S * fps)))
    times = []
    for i in range(1, len(y) - 1):
        if not (y[i] >= y[i - 1] and y[i] > y[i + 1]):
            continue
        if y[i] - y[max(0, i - w):i].min() < APEX_PROMINENCE or y[i] - y[i + 1:i + 1 + w].min() < APEX_PROMINENCE:
            continue
        curve = y[i - 1] - 2 * y[i] + y[i + 1]
        shift = 0.5 * (y[i - 1] - y[i + 1]) / curve if curve < 0 else 0.0
        times.append((i + float(np.clip(shift, -0.5, 0.5))) / fps)
    return np.array(times)


def kinematic_beats(frames: np.ndarray, fps: float) -> np.ndarray:
    """Local minima of the wrist's speed SPEED_PROMINENCE below its maximum within SPEED_WINDOW_S on
    both sides (times of the frame between the two steps)."""
    speed = np.linalg.norm(np.diff(wrist(frames), axis=0), axis=1) * fps
    w = max(1, int(round(SPEED_WINDOW_S * fps)))
    beats = [i for i in range(1, len(speed) - 1) if speed[i] < speed[i - 1] and speed[i] <= speed[i + 1]
             and speed[max(0, i - w):i].max() - speed[i] >= SPEED_PROMINENCE
             and speed[i + 1:i + 1 + w].max() - speed[i] >= SPEED_PROMINENCE]
    return (np.array(beats, dtype=np.float64) + 0.5) / fps


def matches(found: np.ndarray, truth: np.ndarray, tolerance: float = TOLERANCE_S) -> list[float]:
    """Pairs of (found, truth) at most `tolerance` apart, each used once, closest pairs first: the
    signed offset (found - truth) of each pair."""
    pairs = sorted((abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)
                   if abs(f - t) <= tolerance)
    used_f, used_t, offsets = set(), set(), []
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            offsets.append(float(found[i] - truth[j]))
    return offsets


def scores(hits: float, found: float, truth: int, offsets: list[float] | None = None) -> dict:
    precision = hits / found if found else 0.0
    recall = hits / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {"precision": precision, "recall": recall, "f1": f1, "apexes": found, "stresses": truth, "hits": hits}
    if offsets:      # of the hits: how late the motion's apex is on the stress (+: after it)
        out["offset_mean_ms"] = 1000 * float(np.mean(offsets))
        out["offset_abs_p90_ms"] = 1000 * float(np.percentile(np.abs(offsets), 90))
    return out


def apex_scores(motions: list[np.ndarray], stresses: list[np.ndarray]) -> dict:
    """P/R/F1 (and the hits' offsets) of the apexes found in each motion against its stress times, pooled."""
    found = [apex_times(m, FPS) for m in motions]
    offsets = [o for f, s in zip(found, stresses) for o in matches(f, s)]
    return scores(len(offsets), sum(map(len, found)), sum(map(len, stresses)), offsets)


def beat_alignment(audio_beats: np.ndarray, motion_beats: np.ndarray, sigma: float = SIGMA_S) -> float:
    """Mean over the audio beats of exp(-d^2 / 2 sigma^2), d to the nearest kinematic beat (0 without any)."""
    if not len(audio_beats):
        return float("nan")
    if not len(motion_beats):
        return 0.0
    d = np.abs(np.asarray(audio_beats)[:, None] - np.asarray(motion_beats)[None, :]).min(axis=1)
    return float(np.exp(-d**2 / (2 * sigma**2)).mean())


def jerk(frames: np.ndarray, fps: float) -> float:
    """Mean |d^3 wrist / dt^3| (frame heights / s^3) by finite differences."""
    return float(np.linalg.norm(np.diff(wrist(frames), n=3, axis=0), axis=1).mean() * fps**3)


def random_apexes(rng: np.random.Generator, count: int, seconds: float, gap: float = beat.MIN_BEAT_GAP_S) -> np.ndarray:
    """`count` times uniform in [0, seconds) given that they are at least `gap` apart (sorted uniform
    draws in the time left over by the gaps, the gaps put back)."""
    slack = seconds - (count - 1) * gap
    if count and slack <= 0:
        raise ValueError(f"{count} apexes {gap} s apart do not fit in {seconds} s")
    return np.sort(rng.uniform(0.0, slack, count)) + gap * np.arange(count)


# ---- running the source ---------------------------------------------------------------------------

async def _drive(source: BeatSource, audio: np.ndarray) -> np.ndarray:
    out = [await source.feed(audio[at:at + CHUNK]) for at in range(0, len(audio), CHUNK)]
    out.append(await source.finish())
    await source.close()
    return np.concatenate(out)


def gestures(audio: np.ndarray, lookahead_s: float, seed: int = 0) -> np.ndarray:
    """Every frame the beat source makes of `audio` fed in 0.5 s chunks."""
    return asyncio.run(_drive(BeatSource(FPS, lookahead_s, seed=seed), audio))


def _mean(values) -> float:
    return float(np.mean(values))


def quality(utterances: list[Utterance], lookahead_s: float) -> dict:
    """Every motion figure over the corpus (totals for P/R/F1, means over utterances for the rest)."""
    ours = [gestures(u.audio, lookahead_s, seed=u.seed) for u in utterances]
    still = [gestures(np.zeros_like(u.audio), lookahead_s) for u in utterances]
    rng = np.random.default_rng(22)

    stresses = [u.stress_s for u in utterances]
    apexes = apex_scores(ours, stresses)
    late = apex_scores([gestures(u.audio, 0.0, seed=u.seed) for u in utterances], stresses)
    hits = found = 0
    for motion, u in zip(ours, utterances):
        count = len(apex_times(motion, FPS))
        for _ in range(RANDOM_DRAWS):
            hits += len(matches(random_apexes(rng, count, u.seconds), u.stress_s))
            found += count
    control = scores(hits / RANDOM_DRAWS, found / RANDOM_DRAWS, apexes["stresses"])
    beats = [kinematic_beats(m, FPS) for m in ours]
    shuffled = [utterances[(i + 1) % len(utterances)].stress_s for i in range(len(utterances))]
    return {
        "lookahead_s": lookahead_s,
        "apex": {"lookahead": apexes, "lookahead_0": late, "random_timing": control,
                 "f1_over_random": apexes["f1"] / control["f1"] if control["f1"] else float("inf")},
        "beat_alignment": {
            "ours": _mean([beat_alignment(u.stress_s, b) for u, b in zip(utterances, beats)]),
            "shuffled": _mean([beat_alignment(s[s < u.seconds], b) for u, s, b in zip(utterances, shuffled, beats)]),
            "still_pose": _mean([beat_alignment(u.stress_s, kinematic_beats(m, FPS)) for u, m in zip(utterances, still)]),
            "sigma_s": SIGMA_S,
            # what the score rewards is also how many kinematic beats there are: shown beside the stresses'
            "kinematic_beats_per_s": sum(map(len, beats)) / sum(u.seconds for u in utterances),
            "stresses_per_s": sum(map(len, stresses)) / sum(u.seconds for u in utterances)},
        "jerk": {"ours": _mean([jerk(m, FPS) for m in ours]), "still_pose": _mean([jerk(m, FPS) for m in still])},
        "bone_length_cv_max": max(max(bone_length_cv(m).values()) for m in ours),
    }


# ---- latency ------------------------------------------------------------------------------------------

@dataclass
class Timings:
    chunk_s: list[float]          # per chunk: fed / sent -> the frames it released returned / received
    due_s: list[float]            # per frame: became due -> returned / received
    frames: list | None = None    # through the gateway: the frames' Keypoints as received (retargeted)


def _due_chunk(index: int, fps: float, lookahead_s: float, samples: int) -> int:
    """The chunk whose arrival makes frame `index` due (BeatSource's rule: lookahead_s of audio after its
    time is in, and its time is in the audio); the chunk count when only the end of the audio releases it."""
    chunks = -(-samples // CHUNK)
    for k in range(min(chunks, max(0, int((index / fps + lookahead_s) * SAMPLE_RATE) // CHUNK - 1)), chunks):
        heard = min((k + 1) * CHUNK, samples) / SAMPLE_RATE
        if index <= (heard - lookahead_s) * fps + 1e-9 and index < round(heard * fps):
            return k
    return chunks


def _percentiles(timings: list[Timings]) -> dict:
    chunk = np.concatenate([t.chunk_s for t in timings]) * 1000
    due = np.concatenate([t.due_s for t in timings]) * 1000
    return {"chunk_p50_ms": float(np.percentile(chunk, 50)), "chunk_p99_ms": float(np.percentile(chunk, 99)),
            "due_p50_ms": float(np.percentile(due, 50)), "due_p99_ms": float(np.percentile(due, 99)),
            "chunks": len(chunk), "frames": len(due)}


async def _paced(audio: np.ndarray, offset_s: float, send, end) -> None:
    """Call `send(chunk)` for each 0.5 s chunk once it has been spoken (real time from now + offset),
    then `end()`."""
    loop = asyncio.get_running_loop()
    start = loop.time() + offset_s
    for at in range(0, len(audio), CHUNK):
        await asyncio.sleep(max(0.0, start + min(at + CHUNK, len(audio)) / SAMPLE_RATE - loop.time()))
        await send(audio[at:at + CHUNK])
    await end()


async def _in_process_stream(audio: np.ndarray, offset_s: float, lookahead_s: float, pool) -> Timings:
    source = BeatSource(FPS, lookahead_s, executor=pool)
    loop = asyncio.get_running_loop()
    timings = Timings([], [])
    sends: list[float] = []

    async def take(frames_of) -> None:
        sends.append(loop.time())
        frames = await frames_of
        now = loop.time()
        timings.chunk_s.append(now - sends[-1])
        start = len(timings.due_s)
        timings.due_s += [now - sends[_due_chunk(i, FPS, lookahead_s, len(audio))]
                          for i in range(start, start + len(frames))]

    async def end():
        await take(source.finish())
        await source.close()

    await _paced(audio, offset_s, lambda chunk: take(source.feed(chunk)), end)
    return timings


def in_process_latency(utterances: list[Utterance], lookahead_s: float, streams: int = CONCURRENT) -> dict:
    """`streams` BeatSources at once in one loop, their work on a PriorityPool of the cores."""
    pool = PriorityPool(os.cpu_count() or 1, name="gesture-bench")

    async def main():
        return await asyncio.gather(*(
            _in_process_stream(utterances[i % len(utterances)].audio, i * CHUNK / SAMPLE_RATE / streams, lookahead_s,
                               pool) for i in range(streams)))
    try:
        return {"streams": streams, "workers": os.cpu_count(), **_percentiles(asyncio.run(main()))}
    finally:
        pool.shutdown()


async def _gateway_stream(target: str, audio: np.ndarray, offset_s: float, lookahead_s: float) -> Timings:
    from signstream.clients.client import SignStreamClient
    from signstream.v1 import signstream_pb2 as pb

    config = pb.GestureConfig(session=pb.SessionConfig(encoding=pb.JPEG, width=256, height=256, fps=FPS,
                                                       include_keypoints=True),
                              source="beat", lookahead_ms=int(round(lookahead_s * 1000)))   # 0: the server default
    data = pcm16(audio)
    async with SignStreamClient(target) as client:
        call = client.gesture(config)
        await call._ensure_config()
        loop = asyncio.get_running_loop()
        sends: list[float] = []

        async def send(chunk):
            sends.append(loop.time())
            at = (len(sends) - 1) * CHUNK * 2
            await call.send(data[at:at + CHUNK * 2])

        async def end():
            sends.append(loop.time())
            await call.done_sending()

        sender = asyncio.create_task(_paced(audio, offset_s, send, end))
        received, keypoints = [], []
        async for response in call:
            if response.WhichOneof("kind") == "frame":
                received.append((response.frame.index, loop.time()))
                keypoints.append(response.frame.keypoints)
        await sender
    due = [now - sends[_due_chunk(i, FPS, lookahead_s, len(audio))] for i, now in received]
    # a chunk's latency: to the last frame it made due (chunks that made none due have none)
    last: dict[int, float] = {}
    for i, now in received:
        last[_due_chunk(i, FPS, lookahead_s, len(audio))] = now
    return Timings([now - sends[k] for k, now in sorted(last.items())], due, keypoints)   # decoded after the run


def gateway_latency(utterances: list[Utterance], lookahead_s: float, streams: int = CONCURRENT) -> dict:
    """The same through a started `signstream serve` (demo lexicon, its defaults), rpc Gesture, JPEG 256x256
    with keypoints, after an untimed warm-up of WARMUP_S of audio per stream."""
    import contextlib

    from signstream.clients.process import serve_process
    from signstream.keypoint_proto import keypoints_from_proto

    from .run import workspace

    with contextlib.ExitStack() as stack:
        lexicon, log_dir = workspace(None, stack)
        server, target = serve_process(lexicon, "--wholebody", "off", log_path=log_dir / "serve-gesture.log")
        server.start(300)
        stack.callback(server.stop)

        async def main(seconds: float | None):
            cut = int(seconds * SAMPLE_RATE) if seconds else None
            return await asyncio.gather(*(
                _gateway_stream(target, utterances[i % len(utterances)].audio[:cut], i * CHUNK / SAMPLE_RATE / streams,
                                lookahead_s) for i in range(streams)))
        asyncio.run(main(WARMUP_S))          # first use (the style's extraction, compiled kernels): not timed
        timings = asyncio.run(main(None))
    # the motion as the client gets it (retargeted onto the demo style): its apexes and bones (decoded only
    # now: decoding while the streams run would stall the other streams' reads in this loop)
    motions = [np.stack([keypoints_from_proto(k) for k in t.frames]) for t in timings]
    apexes = apex_scores(motions, [utterances[i % len(utterances)].stress_s for i in range(streams)])
    return {"streams": streams, "encoding": "JPEG 256x256 + keypoints", "pacing": "ASAP (frames sent once drawn)",
            **_percentiles(timings), "received_apex": apexes,
            "received_bone_length_cv_max": max(max(bone_length_cv(m).values()) for m in motions)}


# ---- the run ---------------------------------------------------------------------------------------------

def evaluate(quick: bool = False, gateway: bool | None = None, lookahead_s: float = beat.DEFAULT_LOOKAHEAD_S,
             streams: int = CONCURRENT) -> dict:
    """Every figure; `gateway` (default: unless quick) adds the latency through a started gateway."""
    setup = QUICK if quick else FULL
    utterances = [make_utterance(seed, setup["seconds"]) for seed in range(setup["utterances"])]
    started = time.perf_counter()
    doc = report.document("signstream bench --gesture" + (" --quick" if quick else ""),
                          "signstream bench --gesture" + (" --quick" if quick else ""),
                          corpus={"utterances": len(utterances), "seconds": setup["seconds"], "note": CORPUS_NOTE},
                          setup={"fps": FPS, "chunk_s": CHUNK / SAMPLE_RATE, "tolerance_s": TOLERANCE_S,
                                 "random_draws": RANDOM_DRAWS, "apex_prominence": APEX_PROMINENCE,
                                 "speed_prominence": SPEED_PROMINENCE})
    doc.update(quality(utterances, lookahead_s))
    latency_utts = [make_utterance(seed, setup["latency_seconds"]) for seed in range(streams)]
    doc["latency"] = {"in_process": in_process_latency(latency_utts, lookahead_s, streams)}
    if gateway if gateway is not None else not quick:
        doc["latency"]["gateway"] = gateway_latency(latency_utts, lookahead_s, streams)
    doc["wall_s"] = round(time.perf_counter() - started, 1)
    return doc


def markdown(doc: dict) -> str:
    a, ba = doc["apex"], doc["beat_alignment"]
    rows = [f"# {doc['benchmark']} ({doc['date']}, {doc['machine']})", "",
            f"{doc['corpus']['utterances']} utterances x {doc['corpus']['seconds']:g} s, {doc['corpus']['note']}.", "",
            "| stroke apexes (from the motion) vs stress times, +-80 ms | precision | recall | F1 | apex - stress (hits) |",
            "|---|---|---|---|---|"]
    for name, key in ((f"beat, lookahead {doc['lookahead_s']:g} s", "lookahead"), ("beat, lookahead 0", "lookahead_0"),
                      (f"random timing ({RANDOM_DRAWS} draws, same count)", "random_timing")):
        offset = (f"{a[key]['offset_mean_ms']:+.0f} ms (p90 abs {a[key]['offset_abs_p90_ms']:.0f} ms)"
                  if "offset_mean_ms" in a[key] else "–")
        rows.append(f"| {name} | {a[key]['precision']:.3f} | {a[key]['recall']:.3f} | {a[key]['f1']:.3f} | {offset} |")
    rows += ["", f"F1 over the random-timing control: {a['f1_over_random']:.2f}x", "",
             f"| beat alignment (sigma {ba['sigma_s']:g} s) | ours | shuffled | still pose |", "|---|---|---|---|",
             f"| mean over stresses | {ba['ours']:.3f} | {ba['shuffled']:.3f} | {ba['still_pose']:.3f} |", "",
             f"kinematic beats (wrist speed minima) {ba['kinematic_beats_per_s']:.2f}/s, stresses "
             f"{ba['stresses_per_s']:.2f}/s", "",
             f"jerk {doc['jerk']['ours']:.2f} frame heights/s^3 (still pose {doc['jerk']['still_pose']:.2f}); "
             f"arm bone length CV max {doc['bone_length_cv_max']:.2g}", "",
             f"| audio chunk -> frame, {doc['latency']['in_process']['streams']} concurrent real-time streams "
             "| chunk p50 | chunk p99 | "
             "due->out p50 | due->out p99 |", "|---|---|---|---|---|"]
    for where, lat in doc["latency"].items():
        rows.append(f"| {where.replace('_', ' ')} | {lat['chunk_p50_ms']:.1f} ms | {lat['chunk_p99_ms']:.1f} ms | "
                    f"{lat['due_p50_ms']:.1f} ms | {lat['due_p99_ms']:.1f} ms |")
    if "gateway" in doc["latency"]:
        gw = doc["latency"]["gateway"]
        rows += ["", f"Through the gateway (frames as received, retargeted onto the demo style): apex F1 "
                 f"{gw['received_apex']['f1']:.3f} (precision {gw['received_apex']['precision']:.3f}, recall "
                 f"{gw['received_apex']['recall']:.3f}), arm bone length CV max {gw['received_bone_length_cv_max']:.2g}"]
    rows += ["", "No FGD: it needs a pretrained motion autoencoder, and none exists for this skeleton.", ""]
    return "\n".join(rows)


def main(args: argparse.Namespace) -> int:
    from .run import command_line

    doc = evaluate(args.quick, streams=args.streams[0] if args.streams else CONCURRENT)
    doc["command"] = command_line()
    report.write_results(args.out, "bench-gesture" + ("-quick" if args.quick else ""), doc, markdown(doc))
    return 0
