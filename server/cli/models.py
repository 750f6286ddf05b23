"""`signstream models stand-in DIR`: a model repository whose every model serves, on random weights."""
from __future__ import annotations

import argparse
from pathlib import Path

from signstream.config import model_repository_path, settings_from_env


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="model repository tools (stand-in weights)")
    verbs = p.add_subparsers(dest="models_command", required=True, metavar="VERB")
    s = verbs.add_parser("stand-in", help="copy the model repository with random-weight stand-ins (output is noise)",
                         description="Write DIR: the model repository's configs and code with random-weight "
                                     "stand-ins for YOLOX, DWPose and the NEURAL models (the real tensor names "
                                     "and shapes; their output is noise). Serve it with "
                                     "`signstream triton --model-repository DIR`.")
    s.add_argument("dir", type=Path, help="the folder to write (must not exist unless --overwrite)")
    s.add_argument("--model-repository", default=None, help="the repository to copy (default: the project's)")
    s.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from signstream.models.standin import write_standin_repository   # onnx loads only here

    source = model_repository_path(settings_from_env(model_repository=args.model_repository))
    try:
        written = write_standin_repository(source, args.dir, overwrite=args.overwrite)
    except (FileExistsError, FileNotFoundError) as exc:
        raise SystemExit(f"signstream models stand-in: {exc}") from exc
    for path in written:
        print(f"wrote {path}")
    print(f"{args.dir}: every model serves with `signstream triton --model-repository {args.dir}`; "
          "stand-in output is NOISE (random weights), see STAND-IN.txt", flush=True)
    return 0
