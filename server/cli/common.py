"""Flags several commands share, and the Settings they build."""
from __future__ import annotations

import argparse

from signstream.config import Settings, settings_from_env


def add_lexicon_flags(parser: argparse.ArgumentParser, positional: bool = False) -> None:
    if positional:
        parser.add_argument("lexicon", metavar="DIR|s3://bucket/prefix", help="lexicon location")
    else:
        parser.add_argument("--lexicon", default=None, metavar="DIR|s3://bucket/prefix",
                            help="lexicon location (default: $SIGNSTREAM_LEXICON or ./lexicon)")
    parser.add_argument("--s3-endpoint-url", default=None, help="S3-compatible endpoint (MinIO, moto); default AWS")
    parser.add_argument("--s3-region", default=None, help="S3 region (default: the credential chain's)")
    parser.add_argument("--s3-credentials", default=None, metavar="FILE",
                        help="the seed's credentials.txt (aws_access_key_id=... lines); default: standard chain")


def settings_from_args(args: argparse.Namespace) -> Settings:
    return settings_from_env(
        lexicon=args.lexicon,
        s3_endpoint_url=args.s3_endpoint_url,
        s3_region=args.s3_region,
        s3_credentials_file=args.s3_credentials,
    )
