"""The `aqgt_*` Triton family's contract: model and tensor names, shapes, window timing, the skeleton.

AQ-GT (hvoss-techfak/AQGT, CC BY-NC 3.0: none of its code, data or weights ship with SignStream)
makes upper-body motion for 34-frame windows at 15 fps. The user exports their own checkpoint to ONNX
(README, "Co-speech gestures" → "The aqgt source"); these names and shapes are what that export writes
and what the stand-in (signstream.models.aqgt_standin) imitates. Batch dimension first everywhere.

    aqgt_pre        AUDIO (B, 36266) raw window          -> input_values (B, 36266), audio_chunks
                                                            (B, 9, 1, 64, 64), beats (B, 2, 1020)
    aqgt_generator  pre_seq (B, 34, 160), beats, input_values, audio_chunks -> out_dir_vec (B, 34, 159)
    aqgt_post       out_dir_vec (B, 34, 159)             -> POSITIONS (B, 34, 53, 3)

`pre_seq` holds the seed frames (the previous window's last 4 outputs) in channels 0..158 and a 1 in
channel 159 on the seed frames. `out_dir_vec` is 53 parent offsets (x, y, z; x right, y down, as the
model's training data) minus the mean offsets; aqgt_post adds the mean back and sums the offsets down
the tree into positions.

Assumptions where AQ-GT's generator takes inputs a streaming server cannot make (all folded into the
user's export, see the README recipe): the BERT sentence feature is the one of the empty sentence
(what AQ-GT's full-clip synthesis feeds a window without words; words are accepted and not used), the
speaker index is fixed at export (1 by default) and the SaGA annotation input is AQ-GT's "no
annotation" value (-1 everywhere); the Wav2Vec2 model and the audio VQ-VAE encoder run inside the
exported graph on `input_values` and `audio_chunks`.
"""
from __future__ import annotations

import numpy as np

PRE_MODEL, GENERATOR_MODEL, POST_MODEL = "aqgt_pre", "aqgt_generator", "aqgt_post"
MODELS = (PRE_MODEL, GENERATOR_MODEL, POST_MODEL)
GENERATOR_FILE = "aqgt_generator.onnx"        # aqgt_generator/1/
MEAN_FILE = "aqgt_mean_dir_vec.npy"           # aqgt_post/1/: float32 (159,), the mean parent offsets

LICENCE_NOTICE = ("AQ-GT gesture model loaded: its code, data and weights are licensed CC BY-NC 3.0 "
                  "(non-commercial use only, attribution required: Voß & Kopp, AQ-GT, ICMI 2023)")

SAMPLE_RATE = 16_000
MODEL_FPS = 15.0
N_POSES = 34                                   # frames per window
N_PRE_POSES = 4                                # seed frames from the previous window
HOP_FRAMES = N_POSES - N_PRE_POSES             # 30
WINDOW_SAMPLES = int(N_POSES / MODEL_FPS * SAMPLE_RATE)      # 36266, as AQ-GT truncates it
HOP_SAMPLES = int(round(HOP_FRAMES / MODEL_FPS * SAMPLE_RATE))   # 32000
CHUNK_SAMPLES, CHUNK_SIDE = 4000, 64           # audio VQ-VAE input: 4000 samples zero-padded to 64 x 64
N_CHUNKS = WINDOW_SAMPLES // CHUNK_SAMPLES     # 9
BEAT_STEPS = 340 * 3                           # 1020 amplitude-flag / onset-envelope samples per window
N_JOINTS = 53
POSE_DIM = N_JOINTS * 3                        # 159

# name -> (dtype, dims after the batch)
PRE_INPUTS = {"AUDIO": ("FP32", (WINDOW_SAMPLES,))}
PRE_OUTPUTS = {"input_values": ("FP32", (WINDOW_SAMPLES,)),
               "audio_chunks": ("FP32", (N_CHUNKS, 1, CHUNK_SIDE, CHUNK_SIDE)),
               "beats": ("FP32", (2, BEAT_STEPS))}
GENERATOR_INPUTS = {"pre_seq": ("FP32", (N_POSES, POSE_DIM + 1)), "beats": PRE_OUTPUTS["beats"],
                    "input_values": PRE_OUTPUTS["input_values"], "audio_chunks": PRE_OUTPUTS["audio_chunks"]}
GENERATOR_OUTPUTS = {"out_dir_vec": ("FP32", (N_POSES, POSE_DIM))}
POST_INPUTS = dict(GENERATOR_OUTPUTS)
POST_OUTPUTS = {"POSITIONS": ("FP32", (N_POSES, N_JOINTS, 3))}

# The 53 joints: 11 upper-body joints, then the left and the right hand (21 points each, wrist first,
# then thumb, index, middle, ring, pinky from the base out).
BODY_JOINTS = ("pelvis", "spine", "thorax", "nose", "head", "l_shoulder", "l_elbow", "l_wrist",
               "r_shoulder", "r_elbow", "r_wrist")
LEFT_HAND_START, RIGHT_HAND_START = 11, 32
_BODY_PARENT = (-1, 0, 1, 2, 3, 2, 5, 6, 2, 8, 9)
# Within a hand: the hand root, thumb base, index and middle bases hang on the body's wrist; ring
# and pinky bases on the hand root (AQ-GT's own tree, which differs from the usual hand tree there).
_HAND_PARENT = (-1, -1, 1, 2, 3, -1, 5, 6, 7, -1, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)


def _parents() -> np.ndarray:
    parent = list(_BODY_PARENT)
    for start, wrist in ((LEFT_HAND_START, BODY_JOINTS.index("l_wrist")),
                         (RIGHT_HAND_START, BODY_JOINTS.index("r_wrist"))):
        parent += [wrist if p < 0 else start + p for p in _HAND_PARENT]
    return np.array(parent, dtype=np.int64)


PARENT = _parents()                             # (53,), parents before children
assert len(PARENT) == N_JOINTS and all(PARENT[j] < j for j in range(1, N_JOINTS))
