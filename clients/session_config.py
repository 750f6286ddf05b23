"""Command-line flags -> SessionConfig, shared by `signstream stream` and `generate --server`."""
from __future__ import annotations

import argparse

from signstream.style import read_style_bytes
from signstream.v1 import signstream_pb2 as pb


def read_style(path: str | None) -> bytes:
    return read_style_bytes(path) if path else b""


def session_config(args: argparse.Namespace, **overrides) -> pb.SessionConfig:
    counts = {name: getattr(args, name) for name in ("num_interpolation", "num_insert_interpolation")
              if getattr(args, name, None) is not None}        # unset flags stay unset: the server's defaults
    config = pb.SessionConfig(
        style_image=read_style(args.style_image_path),
        **counts,
        normalization=getattr(args, "normalization", "") or "",
        transition=getattr(args, "transition", "") or "",
        keypoint_filter=getattr(args, "keypoint_filter", "") or "",
    )
    for name, value in overrides.items():
        setattr(config, name, value)
    return config
