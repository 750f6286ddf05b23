"""Settings: one frozen, typed dataclass built once from flags and `SIGNSTREAM_*` env, passed down."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_LEXICON = "lexicon"          # a local directory, relative to the working directory
DEFAULT_CACHE_MIB = 512


@dataclass(frozen=True)
class S3Settings:
    """How to reach S3 (only used for `s3://` lexicons)."""

    endpoint_url: str | None = None       # e.g. a MinIO or moto server; None = AWS
    region: str | None = None
    credentials_file: str | None = None   # the seed's credentials.txt (`aws_access_key_id=...` lines)
    # Each request: botocore's "standard" retries (HTTP 500/502/503/504, SlowDown and other throttling
    # codes, connection errors, connect and read timeouts) up to `max_attempts` attempts in all, with
    # backoff random(0, 1) * min(2 ** (attempt - 1), 20) s between them; S3Store retries a GET whose
    # body breaks off the same way. A dead endpoint thus holds one read for at most
    # max_attempts * (connect or read timeout) + 1 + 2 + 4 s: with these defaults 27 s (blackholed),
    # 127 s (accepts but never answers), 7 s (connections refused; 2.7-4.8 s measured).
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    max_attempts: int = 4
    # After a lexicon read fails even with retries, lookups that need S3 (uncached signs, an unloaded
    # sign table) fail at once with STORE_UNAVAILABLE for this long, so a dead S3 costs a stream one
    # timeout, not one per sign; cached signs never wait. 0 = always try.
    retry_after_s: float = 10.0


@dataclass(frozen=True)
class Settings:
    lexicon: str = DEFAULT_LEXICON        # DIR or s3://bucket/prefix
    cache_mib: int = DEFAULT_CACHE_MIB    # in-memory LRU of decoded sign clips
    s3: S3Settings = field(default_factory=S3Settings)
    log_level: str = "INFO"
    model_repository: str = ""            # Triton model repository; "" = ./model_repository or the checkout's

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


_ENV_PREFIX = "SIGNSTREAM_"
_CHECKOUT = Path(__file__).resolve().parent.parent   # the project folder of an editable install


def model_repository_path(settings: Settings) -> Path:
    """The model repository to serve: the configured one, else ./model_repository, else the
    checkout's (editable installs run from anywhere)."""
    if settings.model_repository:
        return Path(settings.model_repository)
    here = Path("model_repository")
    return here if here.is_dir() else _CHECKOUT / "model_repository"


def _coerce(value: str, kind: type):
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    return value


def _from_env(cls, env: Mapping[str, str], prefix: str):
    kwargs = {}
    for f in fields(cls):
        if dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None):
            kwargs[f.name] = _from_env(f.default_factory, env, f"{prefix}{f.name.upper()}_")
            continue
        key = f"{prefix}{f.name.upper()}"
        if key in env and env[key] != "":
            default = f.default
            kind = type(default) if default is not None and default is not dataclasses.MISSING else str
            try:
                kwargs[f.name] = _coerce(env[key], kind)
            except ValueError as exc:
                raise ValueError(f"environment variable {key}={env[key]!r} is not a valid {kind.__name__}") from exc
    return cls(**kwargs)


def settings_from_env(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Settings from `SIGNSTREAM_*` variables (e.g. SIGNSTREAM_LEXICON, SIGNSTREAM_S3_ENDPOINT_URL),
    then explicit overrides (flags) that are not None."""
    settings = _from_env(Settings, os.environ if env is None else env, _ENV_PREFIX)
    s3_over = {k[3:]: v for k, v in overrides.items() if k.startswith("s3_") and v is not None}
    top_over = {k: v for k, v in overrides.items() if not k.startswith("s3_") and v is not None}
    if s3_over:
        top_over["s3"] = dataclasses.replace(settings.s3, **s3_over)
    return dataclasses.replace(settings, **top_over)
