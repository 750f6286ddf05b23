"""S3 (or any S3-compatible server: MinIO, moto) as a Store, on boto3.

Credentials come from boto3's standard chain (env, shared files, instance roles) unless
`S3Settings.credentials_file` names a file in the seed's `credentials.txt` format:

    # comments and blank lines are ignored; an optional [default] header is tolerated
    aws_access_key_id=AKIA...
    aws_secret_access_key = ...
    aws_session_token=...        (optional)
    region=eu-west-1             (optional; also aws_default_region)

boto3 calls block: async callers run every method in a thread (`asyncio.to_thread`). The client
is thread-safe, so one S3Store can serve many threads.

Faults: botocore's "standard" retry mode retries each request on HTTP 500/502/503/504, throttling
codes (SlowDown, ...), connection errors and connect/read timeouts, with jittered exponential backoff,
up to `S3Settings.max_attempts` attempts in all. A GET whose body breaks off or stalls after the
headers arrived is outside botocore's retries; `S3Store.get` retries it itself within the same
attempt budget. What is left after that becomes StoreUnavailable, whose message names the object,
the cause and what to check, and never a credential.
"""
from __future__ import annotations

import logging
import random
import re
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from signstream.config import S3Settings
from signstream.errors import InvalidArgument, StoreUnavailable
from signstream.lexicon.keys import check_store_key

log = logging.getLogger(__name__)

_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_KNOWN_KEYS = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region", "aws_default_region"}


def read_credentials_file(path: str | Path) -> dict[str, str]:
    """Parse a seed-style credentials.txt into boto3.Session keyword arguments.

    Returns aws_access_key_id, aws_secret_access_key and, when present, aws_session_token and
    region_name. Raises InvalidArgument naming the file; messages never contain any value.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")     # -sig: tolerate a Windows BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read the S3 credentials file {path}: {exc}",
                              field="credentials_file") from exc
    values: dict[str, str] = {}
    section = "default"
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            continue
        if section != "default":          # other profiles: not ours to pick
            continue
        if "=" not in line:
            # Do not quote the line: it may be a secret pasted without its key.
            raise InvalidArgument(f"line {number} of the S3 credentials file {path} is not key=value",
                                  field="credentials_file")
        key, _, value = line.partition("=")
        key = key.strip().lower()
        if key in _KNOWN_KEYS:
            values.setdefault(key, value.strip().strip("'\""))
    missing = [k for k in ("aws_access_key_id", "aws_secret_access_key") if not values.get(k)]
    if missing:
        raise InvalidArgument(f"the S3 credentials file {path} has no {' or '.join(missing)}",
                              field="credentials_file")
    session_kwargs = {k: values[k] for k in ("aws_access_key_id", "aws_secret_access_key")}
    if values.get("aws_session_token"):
        session_kwargs["aws_session_token"] = values["aws_session_token"]
    region = values.get("region") or values.get("aws_default_region")
    if region:
        session_kwargs["region_name"] = region
    return session_kwargs


# Error codes that mean "these credentials may not do this", not "S3 is down".
_CREDENTIAL_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                     "InvalidToken", "TokenRefreshRequired", "403", "NoCredentialsError",
                     "PartialCredentialsError"}
_RETRIED_ERRORS = (BotoConnectionError, HTTPClientError)   # what botocore's standard mode retries
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_MAX_BACKOFF_S = 20.0                    # botocore's cap, so both layers back off alike


def _scrub(text: str) -> str:
    """Drop any user:password@ from URLs quoted in a message (an endpoint may carry one)."""
    return _URL_USERINFO.sub("", text)


def _backoff(attempt: int) -> float:
    """botocore's standard backoff after `attempt` failed attempts: random(0, 1) * min(2 ** (n-1), 20) s."""
    return random.random() * min(2.0 ** (attempt - 1), _MAX_BACKOFF_S)


def _check_s3_settings(settings: S3Settings) -> int:
    """settings.max_attempts if the retry and timeout settings are usable, else InvalidArgument."""
    if not isinstance(settings.max_attempts, int) or settings.max_attempts < 1:
        raise InvalidArgument(f"S3 max_attempts must be >= 1 (1 = no retries), got {settings.max_attempts!r}",
                              field="s3")
    for name in ("connect_timeout_s", "read_timeout_s"):
        if not getattr(settings, name) > 0:
            raise InvalidArgument(f"S3 {name} must be > 0 seconds, got {getattr(settings, name)!r}", field="s3")
    return settings.max_attempts


class S3Store:
    """Objects under `s3://bucket/prefix/`. `page_size` bounds each ListObjectsV2 page."""

    def __init__(self, bucket: str, prefix: str, settings: S3Settings, *, page_size: int = 1000):
        if not bucket or "/" in bucket:
            raise InvalidArgument(f"invalid S3 bucket name {bucket!r}; use s3://bucket/prefix",
                                  field="lexicon")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            try:
                check_store_key(self.prefix)
            except ValueError as exc:
                raise InvalidArgument(f"invalid S3 prefix in s3://{bucket}/{prefix}: {exc}",
                                      field="lexicon") from exc
        self.page_size = page_size
        self.max_attempts = _check_s3_settings(settings)
        session_kwargs = read_credentials_file(settings.credentials_file) if settings.credentials_file else {}
        if settings.region:
            session_kwargs["region_name"] = settings.region
        config = Config(
            # total_max_attempts counts the first attempt; botocore's "max_attempts" counts retries only.
            retries={"total_max_attempts": settings.max_attempts, "mode": "standard"},
            connect_timeout=settings.connect_timeout_s,
            read_timeout=settings.read_timeout_s,
            # Custom endpoints (MinIO, moto, IP addresses) rarely resolve bucket subdomains.
            s3={"addressing_style": "path"} if settings.endpoint_url else None,
        )
        # A private Session: boto3's default session is shared global state and not thread-safe.
        session = boto3.session.Session(**session_kwargs)
        self._client = session.client("s3", endpoint_url=settings.endpoint_url, config=config)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _object_key(self, key: str) -> str:
        check_store_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _unavailable(self, action: str, object_key: str, exc: Exception,
                     attempts: int | None = None) -> StoreUnavailable:
        """StoreUnavailable for a failed request: the object, the cause, how often it was tried and
        what to check. `attempts` None: botocore's own retries, count unknown (at most max_attempts)."""
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "?"))
            detail = f"{code}: {error.get('Message', '')}".rstrip(": ")
            if attempts is None:
                attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
        else:
            code = type(exc).__name__
            detail = str(exc)
            if attempts is None and not isinstance(exc, _RETRIED_ERRORS):
                attempts = 1                 # e.g. NoCredentialsError: botocore does not retry it
        tried = (f"after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts is not None
                 else f"after up to {self.max_attempts} attempts")
        return StoreUnavailable(_scrub(f"cannot {action} s3://{self.bucket}/{object_key}: {detail} ({tried}); "
                                       f"{self._advice(code)}"))

    def _advice(self, code: str) -> str:
        """What to check, by error code (ClientError) or exception name (BotoCoreError)."""
        if code in _CREDENTIAL_CODES:
            return ("check the S3 credentials (--s3-credentials FILE, AWS_* variables or ~/.aws) and that "
                    "they may use this bucket")
        if code == "NoSuchBucket":
            return "check the bucket name in the location (s3://bucket/prefix) and --s3-endpoint-url"
        return "check that the S3 endpoint (--s3-endpoint-url) is reachable and healthy, then try again"

    @staticmethod
    def _is_not_found(exc: ClientError) -> bool:
        return str(exc.response.get("Error", {}).get("Code")) in _NOT_FOUND_CODES

    def get(self, key: str) -> bytes:
        """The object's bytes; KeyError if there is none; StoreUnavailable once retries are spent.

        botocore retries the request until the headers arrive. A body that then breaks off or stalls
        (past the read timeout) is retried here with the same backoff, counting the attempts botocore
        already made, so one get makes at most 2 * max_attempts - 1 attempts however faults mix."""
        object_key = self._object_key(key)
        attempts = 0
        while True:
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=object_key)
            except ClientError as exc:
                if self._is_not_found(exc):
                    raise KeyError(key) from None
                raise self._unavailable("read", object_key, exc) from exc
            except BotoCoreError as exc:   # includes EndpointConnectionError, timeouts, NoCredentials
                raise self._unavailable("read", object_key, exc) from exc
            attempts += response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
            # Not `with response["Body"] as body`: StreamingBody.__enter__ returns the raw urllib3
            # stream, whose errors (urllib3 ProtocolError, ReadTimeoutError) bypass botocore's.
            body = response["Body"]
            try:
                return body.read()
            except BotoCoreError as exc:   # ReadTimeoutError, ResponseStreamingError, IncompleteReadError
                if attempts >= self.max_attempts:
                    raise self._unavailable("read", object_key, exc, attempts) from exc
                delay = _backoff(attempts)
                log.info("s3://%s/%s: the body broke off (%s); retrying in %.2f s", self.bucket, object_key,
                         type(exc).__name__, delay)
                time.sleep(delay)
            finally:
                body.close()

    def exists(self, key: str) -> bool:
        object_key = self._object_key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=object_key)
            return True
        except ClientError as exc:
            if self._is_not_found(exc):
                return False
            raise self._unavailable("check", object_key, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("check", object_key, exc) from exc

    def put(self, key: str, data: bytes) -> None:
        """PutObject is atomic in S3: readers see the old object or the complete new one."""
        object_key = self._object_key(key)
        try:
            self._client.put_object(Bucket=self.bucket, Key=object_key, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("write", object_key, exc) from exc

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted store keys starting with `prefix`; follows ListObjectsV2 continuation tokens."""
        root = f"{self.prefix}/" if self.prefix else ""
        paginator = self._client.get_paginator("list_objects_v2")
        keys: list[str] = []
        try:
            pages = paginator.paginate(Bucket=self.bucket, Prefix=root + prefix,
                                       PaginationConfig={"PageSize": self.page_size})
            for page in pages:
                keys.extend(item["Key"][len(root):] for item in page.get("Contents", ()))
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("list", root + prefix, exc) from exc
        return sorted(keys)
