"""Object stores that hold a lexicon: a local directory or an S3 prefix, behind one Protocol.

Keys are relative, `/`-separated names such as `signs.json` or `clips/hello.npz`, validated by
`check_store_key` everywhere, so no key can climb out of the store's root.

Every method blocks (disk or network I/O): async callers run them in a thread
(`asyncio.to_thread`), never on the event loop.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from signstream.config import S3Settings
from signstream.errors import InvalidArgument, StoreUnavailable
from signstream.lexicon.keys import check_store_key

log = logging.getLogger(__name__)

_TEMP_SUFFIX = ".partial"        # in-flight LocalStore.put files; never listed, never read


@runtime_checkable
class Store(Protocol):
    """A flat key -> bytes store. `get` of a missing key raises KeyError(key); any I/O failure
    raises StoreUnavailable naming the location; a key that fails `check_store_key` (or escapes
    the store) raises ValueError. `put` is atomic: readers see the old object or the new one,
    never part of one. `list_keys` returns sorted keys starting with `prefix`."""

    def get(self, key: str) -> bytes: ...

    def put(self, key: str, data: bytes) -> None: ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str = "") -> list[str]: ...

    def describe(self) -> str: ...


class LocalStore:
    """A directory as a Store: key `a/b.npz` is the file `<root>/a/b.npz`.

    The root need not exist until the first put (a missing root reads as an empty store).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        check_store_key(key)
        path = self.root / key
        # Symlinks inside the root could still point outside it; the key check cannot see that.
        resolved = path.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise ValueError(f"store key {key!r} resolves outside the store root ({self.root})")
        return path

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot read {path}: {exc.strerror or exc}") from exc

    def exists(self, key: str) -> bool:
        path = self._path(key)
        try:
            return path.is_file()
        except OSError as exc:
            raise StoreUnavailable(f"cannot check {path}: {exc.strerror or exc}") from exc

    def put(self, key: str, data: bytes) -> None:
        """Write via a temp file in the target directory, fsync, then os.replace (atomic on POSIX)."""
        path = self._path(key)
        temp_name: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Same directory as the target: os.replace is only atomic within one filesystem.
            fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # mkstemp creates 0600; a lexicon is meant to be read by other users/services too.
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, path)
            temp_name = None
            _fsync_directory(path.parent)
        except OSError as exc:
            raise StoreUnavailable(f"cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            if temp_name is not None:
                _remove_quietly(temp_name)

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys that start with `prefix` (a plain string prefix, as in S3)."""
        # Only walk the directory the prefix names, not the whole tree.
        directory = prefix.rpartition("/")[0]
        start = self._path(directory) if directory else self.root
        keys: list[str] = []
        try:
            for folder, dirnames, filenames in os.walk(start, onerror=_raise):
                dirnames.sort()
                for name in filenames:
                    if name.startswith(".") and name.endswith(_TEMP_SUFFIX):
                        continue
                    key = Path(folder, name).relative_to(self.root).as_posix()
                    if key.startswith(prefix):
                        keys.append(key)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreUnavailable(f"cannot list {start}: {exc.strerror or exc}") from exc
        return sorted(keys)

    def remove_partials(self) -> list[str]:
        """Delete the temp files of puts that never finished (their writer was killed mid-put);
        returns them as paths relative to the root. They are never read or listed, only clutter.
        For a single writer (ingest): run by another writer at the same time it would break a put
        in flight, which then fails with StoreUnavailable rather than writing anything wrong."""
        removed: list[str] = []
        try:
            for folder, _, filenames in os.walk(self.root, onerror=_raise):
                for name in filenames:
                    if name.startswith(".") and name.endswith(_TEMP_SUFFIX):
                        path = Path(folder, name)
                        path.unlink(missing_ok=True)
                        removed.append(path.relative_to(self.root).as_posix())
        except OSError as exc:
            raise StoreUnavailable(f"cannot clean up {self.root}: {exc.strerror or exc}") from exc
        return sorted(removed)


def _raise(exc: OSError) -> None:
    # os.walk swallows errors by default; a missing root is an empty store, anything else is not.
    if isinstance(exc, FileNotFoundError):
        return
    raise exc


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself; best effort where directories cannot be opened (non-POSIX)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        log.debug("fsync of directory %s failed: %s", directory, exc)
    finally:
        os.close(fd)


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError as exc:
        log.warning("could not remove temporary file %s: %s", name, exc)


def open_store(location: str, s3: S3Settings) -> Store:
    """`s3://bucket/prefix` -> S3Store; `file:///path` or a plain path -> LocalStore."""
    if not isinstance(location, str) or not location.strip():
        raise InvalidArgument("the lexicon location is empty; give a directory or s3://bucket/prefix",
                              field="lexicon")
    if location.startswith("s3://"):
        # Imported here: boto3 is slow to import and local-only users never need it.
        from signstream.lexicon.s3 import S3Store

        bucket, _, prefix = location[len("s3://"):].partition("/")
        return S3Store(bucket, prefix, s3)
    if location.startswith("file://"):
        location = location[len("file://"):]
    return LocalStore(location)
