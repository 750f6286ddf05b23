"""Flags several commands share, and the Settings they build."""
from __future__ import annotations

import argparse

from signstream.clients.client import ChannelSecurity
from signstream.config import Settings, settings_from_env
from signstream.gateway.security import bearer_metadata, read_channel_credentials, read_token_file


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


def add_gateway_client_flags(parser: argparse.ArgumentParser) -> None:
    """How a client reaches a gateway started with --tls-* and/or --auth-token-file (`signstream serve`)."""
    parser.add_argument("--tls-ca", default=None, metavar="FILE",
                        help="connect with TLS, trusting this CA (PEM) for the gateway's certificate")
    parser.add_argument("--tls-cert", default=None, metavar="FILE",
                        help="client certificate (PEM) for mutual TLS; needs --tls-key; turns TLS on (system CAs "
                             "unless --tls-ca)")
    parser.add_argument("--tls-key", default=None, metavar="FILE",
                        help="the unencrypted private key (PEM) of --tls-cert")
    parser.add_argument("--auth-token-file", default=None, metavar="FILE",
                        help="send the file's first token as `authorization: Bearer <token>` (same format as "
                             "serve --auth-token-file)")


def channel_security_from_args(args: argparse.Namespace) -> ChannelSecurity:
    """The client flags of add_gateway_client_flags as channel credentials and per-call metadata."""
    metadata = bearer_metadata(read_token_file(args.auth_token_file)[0]) if args.auth_token_file else ()
    return ChannelSecurity(read_channel_credentials(args.tls_ca, args.tls_cert, args.tls_key), metadata)
