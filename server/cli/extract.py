"""`signstream extract IMAGE`: the keypoints of one photo as JSON (seed layout), optionally drawn."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from signstream.extract.base import extract_once, open_extractor
from signstream.kernels.mappings import has_person
from signstream.kernels.seedformat import to_seed_frame
from signstream.render.skeleton import render_frame
from signstream.style import read_style_image


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="print the keypoints of an image (JSON, seed layout); can draw them",
                       description="Extract body, hands, face and MediaPipe keypoints from one JPEG/PNG image.")
    p.add_argument("image", metavar="IMAGE", help="JPEG or PNG file")
    p.add_argument("--triton-url", default=None, metavar="HOST:PORT",
                   help="extract through this Triton's gRPC endpoint (holistic, and wholebody when loaded); "
                        "default: MediaPipe Holistic in this process")
    p.add_argument("--wholebody", choices=("auto", "on", "off"), default="auto",
                   help="with --triton-url: body/hands/face from YOLOX+DWPose (auto = when loaded)")
    p.add_argument("--out", default=None, metavar="FILE.json", help="write the JSON here instead of stdout")
    p.add_argument("--draw", default=None, metavar="FILE.png", help="also draw the skeleton over the image")
    p.set_defaults(run=run)


def overlay(rgb: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """The skeleton drawn over the photo (skeleton pixels replace the photo's)."""
    height, width = rgb.shape[:2]
    skeleton = render_frame(frame, width, height)
    drawn = skeleton.any(axis=2, keepdims=True)
    return np.where(drawn, skeleton, rgb)


def keypoints_document(path: str, rgb: np.ndarray, frame: np.ndarray, version: str) -> dict:
    """The seed's frame dict as JSON lists, with what it came from."""
    def plain(value):
        return {k: plain(v) for k, v in value.items()} if isinstance(value, dict) else np.asarray(value).tolist()

    return {"image": path, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "extractor": version,
            "person": has_person(frame), "keypoints": plain(to_seed_frame(frame))}


def run(args: argparse.Namespace) -> int:
    rgb = read_style_image(args.image)
    wholebody = {"auto": None, "on": True, "off": False}[args.wholebody]
    frame, version = asyncio.run(extract_once(rgb, open_extractor(args.triton_url, wholebody)))
    document = keypoints_document(args.image, rgb, frame, version)
    text = json.dumps(document, separators=(",", ":"))
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    if args.draw:
        cv2.imwrite(args.draw, cv2.cvtColor(overlay(rgb, frame), cv2.COLOR_RGB2BGR))
    return 0
