"""The machine's JPEG-encode ceiling for the frames the bench streams: the sentence is synthesized and
rendered here once (default style, the bench's size, drawn in BGR as the gateway draws them), then
only encoded, on every core, for a fixed time, exactly as the gateway encodes them. No server can
deliver JPEG frames faster than this, since it must also render and send them.
"""
from __future__ import annotations

import os
import threading
import time

import numpy as np

from signstream.lexicon import Lexicon
from signstream.pipeline import SynthesisOptions, synthesize
from signstream.render.encode import get_encoder
from signstream.render.skeleton import render_frame
from signstream.style import default_style


def sentence_frames(lexicon: Lexicon, sign_ids: list[str], options: SynthesisOptions) -> np.ndarray:
    """The packed keypoint frames (T, K, 3) a stream of `sign_ids` carries, default style."""
    chunks = synthesize(((sign_id, lexicon.get_clip(sign_id).frames) for sign_id in sign_ids),
                        default_style(), options)
    return np.concatenate([chunk.frames for chunk in chunks])


def jpeg_ceiling(images: list[np.ndarray], seconds: float = 2.0, threads: int | None = None) -> float:
    """Frames/s that `threads` threads (default: one per core) encode the BGR `images` round-robin as
    JPEG, with the gateway's own encoder and call (cv2 releases the GIL while it encodes)."""
    encode = get_encoder("jpeg").encode_bgr
    threads = threads or os.cpu_count() or 2
    encode(images[0])
    counts = [0] * threads
    stop = threading.Event()

    def work(slot: int) -> None:
        i = slot
        while not stop.is_set():
            encode(images[i % len(images)])
            counts[slot] += 1
            i += threads

    workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


def rendered(frames: np.ndarray, width: int, height: int) -> list[np.ndarray]:
    """The frames drawn as the gateway draws them for JPEG: in BGR."""
    return [render_frame(f, width, height, channels="bgr") for f in frames]
