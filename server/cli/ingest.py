"""`signstream ingest`: build or update a lexicon from a video store and a sign table CSV."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from signstream.errors import InvalidArgument
from signstream.extract.base import FrameExtractor, open_extractor
from signstream.ingest.runner import DEFAULT_COMMIT_EVERY, DEFAULT_CONCURRENCY, ingest
from signstream.ingest.table import ParsedTable, parse_sign_table
from signstream.lexicon import Store, open_store

from .common import add_lexicon_flags, settings_from_args
from .flag_types import POSITIVE

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="videos + sign table CSV -> keypoint clips and signs.json in a lexicon",
        description="Extract keypoints from the videos named in a sign table (sign_id,video,start_frame,"
        "end_frame[,gloss]; frame ranges inclusive, an empty or -1 end_frame means to the end) and add "
        "the signs to the lexicon. Re-running only rebuilds signs whose video, range or extractor changed.",
    )
    p.add_argument("--videos", required=True, metavar="DIR|s3://bucket/prefix",
                   help="where the videos are; the table's video column holds keys inside it")
    p.add_argument("--table", required=True, metavar="CSV",
                   help="the sign table: a local file, or else a key inside --videos")
    p.add_argument("--concurrency", type=POSITIVE, default=DEFAULT_CONCURRENCY,
                   help=f"extraction calls in flight (default {DEFAULT_CONCURRENCY})")
    p.add_argument("--triton-url", default=None, metavar="HOST:PORT",
                   help="extract with a running Triton server (default: MediaPipe in this process)")
    p.add_argument("--commit-every", type=POSITIVE, default=DEFAULT_COMMIT_EVERY, metavar="N",
                   help=f"write signs.json after every N built signs (default {DEFAULT_COMMIT_EVERY})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_lexicon_flags(p)
    p.set_defaults(run=run)


def read_table(location: str, videos: Store) -> ParsedTable:
    """The CSV from a local file if one exists there, else from the video store."""
    path = Path(location).expanduser()
    if path.is_file():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidArgument(f"cannot read the sign table {path}: {exc.strerror or exc}",
                                  field="table") from exc
        return parse_sign_table(data, source=str(path))
    try:
        data = videos.get(location)
    except (KeyError, ValueError):
        raise InvalidArgument(f"the sign table {location!r} is neither a local file nor a key in "
                              f"{videos.describe()}", field="table") from None
    return parse_sign_table(data, source=f"{videos.describe()}/{location}")


def build_extractor(triton_url: str | None) -> FrameExtractor:
    """TritonExtractor(url) with --triton-url, else MediaPipe in this process; use with `async with`."""
    if triton_url:
        log.info("extracting with Triton at %s", triton_url)
    else:
        log.info("no --triton-url: extraction runs in-process (MediaPipe Holistic, one frame at a time)")
    return open_extractor(triton_url)


async def _ingest(args: argparse.Namespace, videos: Store, table: ParsedTable, lexicon: Store):
    async with build_extractor(args.triton_url) as extractor:
        return await ingest(videos, table, lexicon, extractor, concurrency=args.concurrency,
                            commit_every=args.commit_every,
                            progress=not args.no_progress and sys.stderr.isatty())


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not args.videos.strip():
        raise InvalidArgument("--videos is empty; give a directory or s3://bucket/prefix", field="videos")
    if not args.videos.startswith("s3://") and not Path(args.videos.removeprefix("file://")).expanduser().is_dir():
        raise InvalidArgument(f"--videos {args.videos!r} is not a directory", field="videos")
    videos = open_store(args.videos, settings.s3)
    lexicon = open_store(settings.lexicon, settings.s3)
    table = read_table(args.table, videos)
    report = asyncio.run(_ingest(args, videos, table, lexicon))
    # Each bad table row, skipped sign and warning was logged once, as it was found; not again here.
    print(report.summary())
    return 0 if report.ok else 2
