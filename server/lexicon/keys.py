"""Store keys: relative, `/`-separated names such as `signs.json` or `clips/hello.npz`.

`check_store_key` validates them wherever a key enters a store (local or S3) or a table, so no key
can climb out of the store's root.
"""
from __future__ import annotations

MAX_KEY_LENGTH = 512


def check_store_key(key: str) -> str:
    """Return key if it is a plausible relative store key, else raise ValueError saying why.

    Plausible: a non-empty str of at most 512 characters, `/`-separated, not starting with `/`,
    no empty, `.` or `..` segment, no backslash, no control characters.
    """
    if not isinstance(key, str):
        raise ValueError(f"a store key must be a string, got {type(key).__name__}")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a store key must have 1-{MAX_KEY_LENGTH} characters, got {len(key)}")
    if key.startswith("/"):
        raise ValueError(f"store key {key[:60]!r} must be relative (no leading '/')")
    if "\\" in key:
        raise ValueError(f"store key {key[:60]!r} must use '/' separators, not '\\'")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise ValueError(f"store key {key[:60]!r} contains control characters")
    for segment in key.split("/"):
        # '.' is as useless as an empty segment and would alias another key on disk.
        if segment in ("", ".", ".."):
            raise ValueError(f"store key {key[:60]!r} has an empty, '.' or '..' segment")
    return key
