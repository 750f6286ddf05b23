"""Rendering: packed keypoints -> RGB skeleton images -> encoded stills, MP4 video or an H.264 stream."""
from signstream.render.encode import (
    ENCODERS,
    Encoder,
    check_rgb,
    decode_image,
    encode_jpeg,
    encode_png,
    encode_raw,
    get_encoder,
)
from signstream.render.h264_stream import H264StreamEncoder
from signstream.render.skeleton import render_clip, render_frame
from signstream.render.video import (
    SEED_DEFAULT_FPS,
    SEED_MAX_FPS,
    Mp4Writer,
    frame_rate_from_clips,
    probe_video,
    read_video_frames,
)

__all__ = [
    "ENCODERS",
    "Encoder",
    "H264StreamEncoder",
    "Mp4Writer",
    "SEED_DEFAULT_FPS",
    "SEED_MAX_FPS",
    "check_rgb",
    "decode_image",
    "encode_jpeg",
    "encode_png",
    "encode_raw",
    "frame_rate_from_clips",
    "get_encoder",
    "probe_video",
    "read_video_frames",
    "render_clip",
    "render_frame",
]
