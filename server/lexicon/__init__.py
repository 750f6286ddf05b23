"""Sign lexicon: sign IDs -> keypoint clips, from a local directory or S3, with an LRU cache.

`S3Store` is imported lazily (boto3 is slow to import); use `signstream.lexicon.s3.S3Store` or
`open_store("s3://...")`.
"""
from signstream.lexicon.cache import LRUCache
from signstream.lexicon.clip import decode_clip, encode_clip
from signstream.lexicon.lexicon import (
    Lexicon,
    LexiconWriter,
    SignClip,
    default_clip_key,
    open_lexicon,
)
from signstream.lexicon.sign_id import SIGN_MARK, canonical_sign_id, display_sign_id
from signstream.lexicon.store import LocalStore, Store, check_store_key, open_store
from signstream.lexicon.table import TABLE_KEY, SignEntry, SignTable

__all__ = [
    "LRUCache",
    "Lexicon",
    "LexiconWriter",
    "LocalStore",
    "SIGN_MARK",
    "SignClip",
    "SignEntry",
    "SignTable",
    "Store",
    "TABLE_KEY",
    "canonical_sign_id",
    "check_store_key",
    "decode_clip",
    "default_clip_key",
    "display_sign_id",
    "encode_clip",
    "open_lexicon",
    "open_store",
]


def __getattr__(name: str):
    # Lazy re-export so `from signstream.lexicon import S3Store` works without importing boto3
    # for every local-only user.
    if name == "S3Store":
        from signstream.lexicon.s3 import S3Store

        return S3Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
