"""Lexicon on a local directory: store, clip files, sign table, reader/writer, cache."""
from __future__ import annotations

import io
import json
import os
import threading

import numpy as np
import pytest

from signstream.config import S3Settings, Settings
from signstream.errors import CorruptClip, InvalidSignId, LexiconNotFound, StoreUnavailable, UnknownSign
from signstream.kernels import layout
from signstream.lexicon import (
    TABLE_KEY,
    Lexicon,
    LexiconWriter,
    LocalStore,
    LRUCache,
    SignEntry,
    SignTable,
    Store,
    check_store_key,
    decode_clip,
    default_clip_key,
    encode_clip,
    open_lexicon,
    open_store,
)


def make_frames(num_frames: int, seed: int = 0) -> np.ndarray:
    """Synthetic (T, K, 3) clip: all-missing layout plus distinct values per frame."""
    frames = layout.empty_frames(num_frames)
    rng = np.random.default_rng(seed)
    frames[:, layout.BODY, :2] = rng.random((num_frames, 18, 2), dtype=np.float32)
    frames[:, layout.BODY, 2] = 1.0
    frames[:, layout.NECK, 0] = np.arange(num_frames, dtype=np.float32)   # frame index, to check slicing
    frames[:, layout.POSE_MP] = rng.random((num_frames, 33, 3), dtype=np.float32)
    return frames


class CountingStore:
    """Wraps a Store and counts calls, to prove what did or did not touch storage."""

    def __init__(self, inner: Store):
        self.inner = inner
        self.gets: list[str] = []
        self.puts: list[str] = []

    def get(self, key):
        self.gets.append(key)
        return self.inner.get(key)

    def put(self, key, data):
        self.puts.append(key)
        self.inner.put(key, data)

    def exists(self, key):
        return self.inner.exists(key)

    def list_keys(self, prefix=""):
        return self.inner.list_keys(prefix)

    def describe(self):
        return self.inner.describe()


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


# ---------------------------------------------------------------- LocalStore


def test_local_store_put_get_exists_list(tmp_path):
    store = LocalStore(tmp_path / "lex")
    assert isinstance(store, Store)
    assert store.list_keys() == []                       # a missing root is an empty store
    assert not store.exists("signs.json")
    with pytest.raises(KeyError):
        store.get("signs.json")

    store.put("signs.json", b"{}")
    store.put("clips/b.npz", b"bb")
    store.put("clips/a.npz", b"aa")
    store.put("clips/a.npz", b"a2")                      # overwrite
    assert store.get("clips/a.npz") == b"a2"
    assert store.exists("clips/b.npz")
    assert not store.exists("clips")                     # a directory is not an object
    with pytest.raises(KeyError):
        store.get("clips")
    assert store.list_keys() == ["clips/a.npz", "clips/b.npz", "signs.json"]
    assert store.list_keys("clips/") == ["clips/a.npz", "clips/b.npz"]
    assert store.list_keys("clips/b") == ["clips/b.npz"]
    assert store.list_keys("nothing/") == []
    assert str(tmp_path) in store.describe()


def test_local_put_leaves_no_temp_files(tmp_path):
    store = LocalStore(tmp_path)
    for i in range(5):
        store.put("clips/x.npz", bytes([i]) * 1000)
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == ["x.npz"]
    assert (tmp_path / "clips" / "x.npz").stat().st_mode & 0o777 == 0o644


def test_local_put_failure_keeps_old_object_and_no_temp(tmp_path, monkeypatch):
    store = LocalStore(tmp_path)
    store.put("signs.json", b"old")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(StoreUnavailable, match="signs.json"):
        store.put("signs.json", b"new")
    monkeypatch.undo()
    assert store.get("signs.json") == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["signs.json"]


def test_list_keys_hides_in_flight_temp_files(tmp_path):
    store = LocalStore(tmp_path)
    store.put("a.npz", b"a")
    (tmp_path / ".a.npz.abc123.partial").write_bytes(b"half")
    assert store.list_keys() == ["a.npz"]


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../outside", "a/../../outside", "a//b", "a/./b", ".", "a\\b", "a\x00b",
     "a\nb", "x" * 513, "clips/"],
)
def test_local_store_rejects_escaping_keys(tmp_path, key):
    store = LocalStore(tmp_path / "root")
    for call in (store.get, store.exists, lambda k: store.put(k, b"x")):
        with pytest.raises(ValueError):
            call(key)
    assert not (tmp_path / "outside").exists()


def test_local_store_rejects_symlink_escape(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    store = LocalStore(root)
    with pytest.raises(ValueError, match="outside the store root"):
        store.get("link/secret")
    with pytest.raises(ValueError):
        store.put("link/new", b"x")
    assert not (outside / "new").exists()


def test_check_store_key_accepts_plain_keys():
    assert check_store_key("clips/hello.npz") == "clips/hello.npz"
    assert check_store_key("clips/ol\u00e1.npz") == "clips/ol\u00e1.npz"
    assert check_store_key("a..b/c") == "a..b/c"                  # '..' only matters as a segment
    assert check_store_key("x" * 512) == "x" * 512


def test_open_store_picks_by_scheme(tmp_path):
    assert isinstance(open_store(str(tmp_path), S3Settings()), LocalStore)
    file_store = open_store(f"file://{tmp_path}", S3Settings())
    assert isinstance(file_store, LocalStore) and file_store.root == tmp_path.resolve()
    s3_store = open_store("s3://bucket/some/prefix/", S3Settings(region="us-east-1"))
    assert s3_store.describe() == "s3://bucket/some/prefix"


# ---------------------------------------------------------------- clips


def test_clip_round_trip_is_exact():
    frames = make_frames(7)
    decoded, fps = decode_clip(encode_clip(frames, 29.97), "clips/x.npz")
    assert fps == 29.97
    assert decoded.dtype == np.float32 and decoded.shape == frames.shape
    assert np.array_equal(decoded, frames)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (b"this is not a zip file", "garbage"),
        (npz_bytes(keypoints=np.array([object()] * 3, dtype=object), fps=np.float64(30),
                   layout_version=np.int64(layout.LAYOUT_VERSION)), "object array"),
        (npz_bytes(keypoints=np.zeros((4, 10, 3), np.float32), fps=np.float64(30),
                   layout_version=np.int64(layout.LAYOUT_VERSION)), "wrong shape"),
        (npz_bytes(keypoints=np.full((2, layout.NUM_POINTS, 3), np.nan, np.float32), fps=np.float64(30),
                   layout_version=np.int64(layout.LAYOUT_VERSION)), "NaN"),
        (npz_bytes(keypoints=make_frames(2), fps=np.float64(30)), "no layout_version"),
        (npz_bytes(keypoints=make_frames(2), fps=np.float64(30), layout_version=np.int64(99)), "layout 99"),
        (npz_bytes(keypoints=make_frames(2), fps=np.float64(0), layout_version=np.int64(1)), "fps 0"),
        (npz_bytes(keypoints=make_frames(2), fps=np.float64(np.inf), layout_version=np.int64(1)), "fps inf"),
        (npz_bytes(keypoints=make_frames(2).astype(np.int32), fps=np.float64(30),
                   layout_version=np.int64(1)), "integer keypoints"),
        (npz_bytes(keypoints=make_frames(0), fps=np.float64(30), layout_version=np.int64(1)), "no frames"),
    ],
)
def test_corrupt_clips_raise_corrupt_clip(data, problem):
    with pytest.raises(CorruptClip) as info:
        decode_clip(data, "clips/broken.npz")
    assert "clips/broken.npz" in info.value.message
    assert "signstream ingest" in info.value.message


class _Trap:
    """Unpickling this creates `path`: proof that a payload ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickled_payload_in_a_clip_is_never_run(tmp_path):
    trap = tmp_path / "ran"
    data = npz_bytes(keypoints=np.array([_Trap(trap)], dtype=object), fps=np.float64(30),
                     layout_version=np.int64(layout.LAYOUT_VERSION))
    with pytest.raises(CorruptClip):
        decode_clip(data, "clips/trap.npz")
    assert not trap.exists()
    np.load(io.BytesIO(data), allow_pickle=True)["keypoints"]      # the payload is live: loading it runs it
    assert trap.exists()


def test_truncated_and_bare_npy_clips_are_corrupt():
    good = encode_clip(make_frames(3), 30)
    for data in (good[: len(good) // 2], good[:-10]):
        with pytest.raises(CorruptClip):
            decode_clip(data, "clips/t.npz")
    buffer = io.BytesIO()
    np.save(buffer, make_frames(3))
    with pytest.raises(CorruptClip, match="not an .npz"):
        decode_clip(buffer.getvalue(), "clips/t.npz")


def test_encode_clip_refuses_bad_input():
    with pytest.raises(ValueError):
        encode_clip(np.zeros((3, 5, 3), np.float32), 30)
    with pytest.raises(ValueError):
        encode_clip(make_frames(3), 0)
    with pytest.raises(ValueError):
        encode_clip(make_frames(3), float("nan"))


# ---------------------------------------------------------------- sign table


def table_json(rows) -> bytes:
    return json.dumps({"format": "signstream-lexicon", "version": 1, "signs": rows}).encode()


def row(sign_id, clip="clips/a.npz", start=0, end=3, fps=30.0, **extra):
    return {"sign_id": sign_id, "clip": clip, "start_frame": start, "end_frame": end, "fps": fps, **extra}


def test_table_keeps_good_rows_and_reports_bad_ones(caplog):
    rows = [
        row("hello", gloss="HELLO"),
        row("\u00b6bye", start=2, end=2),                # ¶ stripped; one-frame sign
        row("a/b"),                                      # bad id
        row("esc", clip="../etc/passwd"),                # bad clip key
        row("neg", start=-1),
        row("backwards", start=5, end=4),
        row("nofps", fps=0),
        row("fast", fps=241),
        row("hello", clip="clips/other.npz"),            # duplicate id
        {"sign_id": "partial"},                          # missing fields
        "not an object",
        row("boolean", start=True),
        row("floaty", end=3.5),
    ]
    table = SignTable.from_json_bytes(table_json(rows))
    assert sorted(table.entries) == ["bye", "hello"]
    assert table.entries["hello"].clip_key == "clips/a.npz"   # the first of the duplicates wins
    assert table.entries["hello"].gloss == "HELLO"
    assert table.entries["bye"].num_frames == 1
    assert len(table.rejected) == len(rows) - 2
    assert any("duplicate" in reason for reason in table.rejected)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == len(rows) - 2
    # A skipped row's sign ID is remembered (unless a good row has it), so a lookup can say why.
    assert sorted(table.rejected_ids) == ["backwards", "boolean", "esc", "fast", "floaty", "neg", "nofps", "partial"]
    assert "end_frame 4 is before start_frame 5" in table.rejected_ids["backwards"]


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe not utf8", b"not json", b"[]", b'{"signs": []}',
     b'{"format": "signstream-lexicon", "version": 2, "signs": []}',
     b'{"format": "signstream-lexicon", "version": 1, "signs": {}}'],
)
def test_table_that_is_not_a_table_is_corrupt(data):
    with pytest.raises(CorruptClip, match="signs.json"):
        SignTable.from_json_bytes(data)


def test_table_json_is_deterministic_and_round_trips():
    entries = [SignEntry("zeta", "clips/z.npz", 0, 1, 25.0), SignEntry("ol\u00e1", "clips/o.npz", 3, 9, 30.0, "OLA"),
               SignEntry("alpha", "clips/a.npz", 0, 0, 60.0)]
    one = SignTable.from_entries(entries).to_json_bytes()
    two = SignTable.from_entries(reversed(entries)).to_json_bytes()
    assert one == two
    assert [r["sign_id"] for r in json.loads(one)["signs"]] == ["alpha", "ol\u00e1", "zeta"]
    again = SignTable.from_json_bytes(one)
    assert again.entries == SignTable.from_entries(entries).entries and again.rejected == []


def test_sign_entry_validates_itself():
    with pytest.raises(ValueError):
        SignEntry("\u00b6hello", "clips/a.npz", 0, 1, 30.0)          # not canonical
    with pytest.raises(ValueError):
        SignEntry("hello", "clips/a.npz", 3, 2, 30.0)


# ---------------------------------------------------------------- Lexicon and LexiconWriter


@pytest.fixture()
def built(tmp_path):
    """A lexicon with a shared 20-frame video (two signs) and two signs with their own clips."""
    store = LocalStore(tmp_path / "lex")
    writer = LexiconWriter(store)
    video = make_frames(20, seed=1)
    writer.write_clip("videos/v1.npz", video, 30.0)
    writer.add_entry(SignEntry("first", "videos/v1.npz", 0, 4, 30.0, "FIRST"))
    writer.add_entry(SignEntry("second", "videos/v1.npz", 10, 19, 30.0))
    own = make_frames(6, seed=2)
    writer.add_sign("\u00b6hello", own, 25.0, gloss="HELLO")
    writer.add_sign("ol\u00e1", make_frames(3, seed=3), 25.0)
    writer.commit()
    return store, video, own


def test_writer_and_reader_round_trip_with_inclusive_slices(built):
    store, video, own = built
    lexicon = Lexicon(store, cache_bytes=64 << 20)
    first = lexicon.get_clip("first")
    assert np.array_equal(first.frames, video[0:5])                  # end_frame 4 is included
    second = lexicon.get_clip("\u00b6second")
    assert np.array_equal(second.frames, video[10:20])
    assert second.frames[:, layout.NECK, 0].tolist() == list(range(10, 20))
    hello = lexicon.get_clip("hello")
    assert np.array_equal(hello.frames, own) and hello.fps == 25.0 and hello.gloss == "HELLO"
    assert hello.display_id == "\u00b6hello"
    for clip in (first, second, hello):
        assert clip.frames.dtype == np.float32 and clip.frames.flags.c_contiguous
        assert not clip.frames.flags.writeable
        with pytest.raises(ValueError):
            clip.frames[0, 0, 0] = 1.0
    assert first.frames.base is None or first.frames.base.nbytes == first.frames.nbytes   # not a view of the video


def test_writer_keys(built):
    store, _, _ = built
    table = Lexicon(store, 1 << 20).table
    assert table.entries["hello"].clip_key.startswith("clips/hello-")
    assert store.exists(table.entries["hello"].clip_key)
    unicode_key = table.entries["ol\u00e1"].clip_key
    assert unicode_key.startswith("clips/sha256-") and store.exists(unicode_key)
    assert default_clip_key("HELLO_2", b"x").startswith("clips/HELLO_2-")
    assert default_clip_key("HELLO_2", b"x") != default_clip_key("HELLO_2", b"y")   # content-addressed


def test_commit_merges_and_writes_table_last(built):
    store, _, _ = built
    counting = CountingStore(store)
    writer = LexiconWriter(counting)
    writer.add_sign("hello", make_frames(2, seed=9), 50.0)          # replaces the old hello
    writer.add_sign("new-sign", make_frames(4, seed=8), 30.0)
    assert [k.rsplit("-", 1)[0] for k in counting.puts] == ["clips/hello", "clips/new-sign"]   # at once
    table = writer.commit()
    assert counting.puts[-1] == TABLE_KEY
    assert sorted(table.entries) == ["first", "hello", "new-sign", "ol\u00e1", "second"]
    lexicon = Lexicon(store, cache_bytes=1 << 20)
    assert lexicon.get_clip("hello").fps == 50.0
    assert len(lexicon.get_clip("hello").frames) == 2


def test_rewriting_a_sign_keeps_readers_consistent_until_commit(built):
    """Re-ingesting a sign must not change what the live table serves before commit()."""
    store, _, _ = built
    old = Lexicon(store, 1 << 20).get_clip("hello").frames.copy()
    writer = LexiconWriter(store)
    writer.add_sign("hello", make_frames(len(old) + 7, seed=99), 25.0)   # longer, different clip
    np.testing.assert_array_equal(Lexicon(store, 1 << 20).get_clip("hello").frames, old)
    writer.commit()
    assert len(Lexicon(store, 1 << 20).get_clip("hello").frames) == len(old) + 7


def test_nothing_visible_before_commit(tmp_path):
    store = LocalStore(tmp_path)
    writer = LexiconWriter(store)
    writer.add_sign("hello", make_frames(2), 30.0)
    with pytest.raises(LexiconNotFound):
        Lexicon(store, 1 << 20).table
    writer.commit()
    assert Lexicon(store, 1 << 20).list_signs() == ["hello"]


def test_second_get_is_served_from_cache(built):
    store, _, _ = built
    counting = CountingStore(store)
    lexicon = Lexicon(counting, cache_bytes=64 << 20)
    one = lexicon.get_clip("hello")
    hello_key = lexicon.table.entries["hello"].clip_key
    assert counting.gets == [TABLE_KEY, hello_key]
    two = lexicon.get_clip("\u00b6hello")
    assert two is one
    assert counting.gets == [TABLE_KEY, hello_key]
    stats = lexicon.cache_stats()
    assert stats["hits"] == 1 and stats["misses"] == 1 and stats["items"] == 1
    assert stats["bytes"] == one.frames.nbytes


def test_invalid_and_unknown_signs_never_read_clips(built):
    store, _, _ = built
    counting = CountingStore(store)
    lexicon = Lexicon(counting, cache_bytes=64 << 20)
    with pytest.raises(InvalidSignId):
        lexicon.get_clip("../signs")
    assert counting.gets == []                                     # not even the table
    lexicon.table
    counting.gets.clear()
    with pytest.raises(UnknownSign) as info:
        lexicon.get_clip("\u00b6nope")
    assert counting.gets == []
    assert "\u00b6nope" in info.value.message and "signstream lexicon list" in info.value.message
    assert info.value.sign_id == "\u00b6nope"


def test_lexicon_not_found_on_empty_dir(tmp_path, caplog):
    lexicon = Lexicon(LocalStore(tmp_path), cache_bytes=1 << 20)
    with pytest.raises(LexiconNotFound) as info:
        lexicon.get_clip("hello")
    assert str(tmp_path) not in info.value.message and str(tmp_path) in caplog.text   # the log only
    assert "signstream lexicon demo" in info.value.message and "signstream ingest" in info.value.message


def test_bad_clip_references_are_corrupt(tmp_path):
    store = LocalStore(tmp_path)
    writer = LexiconWriter(store)
    writer.write_clip("clips/short.npz", make_frames(5), 30.0)
    writer.add_entry(SignEntry("too-long", "clips/short.npz", 2, 5, 30.0))     # frame 5 does not exist
    writer.add_entry(SignEntry("gone", "clips/gone.npz", 0, 1, 30.0))
    writer.commit()
    lexicon = Lexicon(store, cache_bytes=1 << 20)
    with pytest.raises(CorruptClip, match="only 5"):
        lexicon.get_clip("too-long")
    with pytest.raises(CorruptClip, match="clips/gone.npz"):
        lexicon.get_clip("gone")


def test_clip_behind_escaping_symlink_is_corrupt_not_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.npz").write_bytes(encode_clip(make_frames(2), 30.0))
    store = LocalStore(tmp_path / "lex")
    (tmp_path / "lex").mkdir()
    (tmp_path / "lex" / "link").symlink_to(outside, target_is_directory=True)
    writer = LexiconWriter(store)
    writer.add_entry(SignEntry("escaped", "link/x.npz", 0, 1, 30.0))
    writer.commit()
    with pytest.raises(CorruptClip, match="outside the store root"):
        Lexicon(store, cache_bytes=1 << 20).get_clip("escaped")


def test_missing_and_list_signs(built):
    store, _, _ = built
    lexicon = Lexicon(store, cache_bytes=1 << 20)
    assert lexicon.missing(["hello", "\u00b6nope", "first", "nope", "other"]) == ["\u00b6nope", "\u00b6other"]
    with pytest.raises(InvalidSignId):
        lexicon.missing(["hello", "a b"])
    assert lexicon.list_signs() == ["first", "hello", "ol\u00e1", "second"]
    assert lexicon.list_signs(prefix="\u00b6s") == ["second"]
    assert lexicon.list_signs(prefix="h") == ["hello"]
    assert lexicon.list_signs(limit=2) == ["first", "hello"]
    assert lexicon.table.entries["first"].gloss == "FIRST"


def test_open_lexicon_uses_settings(built):
    store, _, _ = built
    lexicon = open_lexicon(Settings(lexicon=str(store.root), cache_mib=1))
    assert lexicon.cache_stats()["max_bytes"] == 1 << 20
    assert lexicon.location == str(store.root)
    assert len(lexicon.get_clip("first").frames) == 5


def test_table_loads_once_across_threads(built):
    store, _, _ = built
    counting = CountingStore(store)
    lexicon = Lexicon(counting, cache_bytes=0)
    barrier = threading.Barrier(8)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=10)
            lexicon.get_clip("first")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert counting.gets.count(TABLE_KEY) == 1


# ---------------------------------------------------------------- LRUCache


def test_lru_evicts_least_recently_used_within_byte_bound():
    cache = LRUCache(max_bytes=100)
    cache.put("a", "A", 40)
    cache.put("b", "B", 40)
    assert cache.get("a") == "A"                  # a is now more recent than b
    cache.put("c", "C", 40)                       # 120 > 100: evict b, the least recently used
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.stats()["bytes"] == 80
    cache.put("d", "D", 60)                       # 140 > 100: evict a (now the LRU); c + d = 100 fits
    assert "a" not in cache and "c" in cache and "d" in cache
    assert cache.stats() == {"hits": 1, "misses": 0, "bytes": 100, "items": 2, "evictions": 2, "max_bytes": 100}


def test_lru_refuses_oversized_and_replaces():
    cache = LRUCache(max_bytes=100)
    cache.put("a", "A", 30)
    assert cache.put("big", "BIG", 101) is False
    assert "big" not in cache and "a" in cache
    cache.put("a", "A2", 50)                      # replacing re-counts the bytes
    assert cache.get("a") == "A2" and cache.stats()["bytes"] == 50
    cache.put("a", "A3", 500)                     # an oversized replacement drops the stale value
    assert cache.get("a") is None and cache.stats()["bytes"] == 0
    assert LRUCache(0).put("x", 1, 1) is False


def test_lru_stays_bounded_under_threads():
    cache = LRUCache(max_bytes=1000)

    def worker(offset):
        for i in range(2000):
            cache.put((offset, i % 37), i, 7 + i % 50)
            cache.get((offset, (i * 7) % 37))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    stats = cache.stats()
    assert 0 < stats["bytes"] <= 1000
    assert stats["hits"] + stats["misses"] == 4 * 2000
