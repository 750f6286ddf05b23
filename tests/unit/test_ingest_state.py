"""Ingest bookkeeping: the manifest, the three-way "done" check, commit order, frame spans and
the per-video frame assembly (no video, no extractor)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from signstream.errors import CorruptClip
from signstream.ingest.frames import PendingSign, VideoFrames
from signstream.ingest.state import (
    MANIFEST_KEY,
    BuildRecord,
    IngestState,
    SignSource,
    manifest_from_json_bytes,
    manifest_to_json_bytes,
)
from signstream.ingest.table import TableRow
from signstream.ingest.video import FrameSpans
from signstream.kernels import layout
from signstream.lexicon import LexiconWriter, LocalStore
from signstream.lexicon.table import TABLE_KEY

SOURCE = SignSource("v/a.mp4", "ab" * 32, 2, None, "holistic/test/1")


def frames(n: int, value: float = 0.5) -> np.ndarray:
    out = layout.empty_frames(n)
    out[:, layout.BODY] = value
    return out


class RecordingStore(LocalStore):
    def __init__(self, root):
        super().__init__(root)
        self.puts: list[str] = []

    def put(self, key, data):
        self.puts.append(key)
        super().put(key, data)


def test_manifest_round_trip_and_format():
    records = {"b": BuildRecord(SOURCE, "clips/b-1.npz"),
               "a": BuildRecord(SignSource("v.mp4", "cd" * 32, 0, 9, "x"), "clips/a-2.npz")}
    data = manifest_to_json_bytes(records)
    assert manifest_from_json_bytes(data) == records
    document = json.loads(data)
    assert document["format"] == "signstream-ingest-manifest" and document["version"] == 1
    assert list(document["signs"]) == ["a", "b"]
    assert document["signs"]["b"] == {"video": "v/a.mp4", "video_sha256": "ab" * 32, "start_frame": 2,
                                      "end_frame": None, "extractor_version": "holistic/test/1",
                                      "clip_key": "clips/b-1.npz"}


def test_unreadable_manifest_means_rebuild_not_crash(caplog):
    assert manifest_from_json_bytes(b"{not json") == {}
    assert manifest_from_json_bytes(b'{"format": "other", "version": 1, "signs": {}}') == {}
    good = BuildRecord(SOURCE, "clips/g.npz").to_json()
    data = json.dumps({"format": "signstream-ingest-manifest", "version": 1, "signs": {
        "good": good, "no-clip": {k: v for k, v in good.items() if k != "clip_key"},
        "bad-frame": {**good, "start_frame": "2"}, "not-a-dict": [1]}}).encode()
    assert list(manifest_from_json_bytes(data)) == ["good"]
    assert "rebuilt" in caplog.text


def built_state(tmp_path, sign_id: str = "hello", source: SignSource = SOURCE):
    """A lexicon with one sign, committed through IngestState like a run does."""
    store = RecordingStore(tmp_path)
    writer = LexiconWriter(store)
    entry = writer.add_sign(sign_id, frames(3), 25.0)
    state = IngestState.load(store)
    state.commit_batch(writer, [(sign_id, BuildRecord(source, entry.clip_key))])
    return store, entry


def test_done_only_when_manifest_table_and_clip_agree(tmp_path):
    store, entry = built_state(tmp_path)
    assert store.puts == [entry.clip_key, TABLE_KEY, MANIFEST_KEY]        # clips -> table -> manifest
    state = IngestState.load(store)
    assert state.is_done("hello", SOURCE)
    assert not state.is_done("other", SOURCE)
    for change in ({"video": "v/b.mp4"}, {"video_sha256": "00" * 32}, {"start_frame": 3},
                   {"end_frame": 9}, {"extractor_version": "holistic/test/2"}):
        assert not state.is_done("hello", SignSource(**{**SOURCE.__dict__, **change})), change

    # The table points at another clip (e.g. someone re-added the sign by hand): not done.
    writer = LexiconWriter(store)
    writer.add_sign("hello", frames(3, 0.25), 25.0)
    writer.commit()
    assert not IngestState.load(store).is_done("hello", SOURCE)


def test_not_done_when_the_clip_or_the_table_entry_is_gone(tmp_path):
    store, entry = built_state(tmp_path / "one")
    (tmp_path / "one" / entry.clip_key).unlink()
    assert not IngestState.load(store).is_done("hello", SOURCE)

    store, entry = built_state(tmp_path / "two")
    (tmp_path / "two" / TABLE_KEY).write_text(json.dumps(
        {"format": "signstream-lexicon", "version": 1, "signs": []}))
    assert not IngestState.load(store).is_done("hello", SOURCE)

    # A manifest written but its table lost entirely (killed before the first commit, say).
    store, entry = built_state(tmp_path / "three")
    (tmp_path / "three" / TABLE_KEY).unlink()
    assert not IngestState.load(store).is_done("hello", SOURCE)


def test_a_corrupt_sign_table_stops_before_any_work(tmp_path):
    (tmp_path / TABLE_KEY).write_text("{broken")
    with pytest.raises(CorruptClip, match=str(tmp_path)):
        IngestState.load(LocalStore(tmp_path))


def test_frame_spans_merge_and_membership():
    spans = FrameSpans.of([(4, 11), (0, 5), (20, 20), (30, None), (12, 13)])
    assert spans.starts == (0, 20, 30) and spans.ends == (13, 20, None)
    assert [i for i in range(40) if i in spans] == [*range(0, 14), 20, *range(30, 40)]
    assert spans.last is None and spans.count(None) is None and spans.count(35) == 14 + 1 + 5
    closed = FrameSpans.of([(3, 4), (7, 9)])
    assert closed.last == 9 and closed.count() == 5 and 5 not in closed and 2 not in closed
    with pytest.raises(ValueError):
        FrameSpans.of([(5, 4)])


def pending(sign_id: str, start: int, end: int | None) -> PendingSign:
    return PendingSign(TableRow(sign_id, "v.mp4", start, end), SOURCE)


def test_video_frames_assemble_out_of_order_and_share_frames():
    a, b, c = pending("a", 0, 3), pending("b", 2, 5), pending("c", 4, None)
    job = VideoFrames([a, b, c])
    order = [5, 1, 3, 0, 2, 4, 6]
    finished = {}
    for index in order:
        for sign, clip in job.add(index, np.full((layout.NUM_POINTS, 3), index, np.float32)):
            finished[sign.row.sign_id] = clip
    assert set(finished) == {"a", "b"}
    assert [int(f[0, 0]) for f in finished["a"]] == [0, 1, 2, 3]
    assert [int(f[0, 0]) for f in finished["b"]] == [2, 3, 4, 5]
    assert sorted(job._frames) == [4, 5, 6]          # frames nobody waits for are dropped
    complete, past_end = job.finish(7)
    assert [(s.row.sign_id, [int(f[0, 0]) for f in clip]) for s, clip in complete] == [("c", [4, 5, 6])]
    assert past_end == []


def test_signs_ending_on_the_same_frame_each_get_their_shared_frames():
    whole, tail, alias = pending("whole", 0, 5), pending("tail", 3, 5), pending("alias", 0, 5)
    job = VideoFrames([whole, tail, alias])
    done = []
    for index in (5, 4, 3, 2, 1, 0):
        done += job.add(index, np.full((layout.NUM_POINTS, 3), index, np.float32))
    clips = {sign.row.sign_id: [int(f[0, 0]) for f in clip] for sign, clip in done}
    assert clips == {"whole": [0, 1, 2, 3, 4, 5], "tail": [3, 4, 5], "alias": [0, 1, 2, 3, 4, 5]}
    assert job._frames == {}


def test_video_frames_report_ranges_past_the_end():
    ok, over, late_start = pending("ok", 0, 1), pending("over", 1, 9), pending("late", 5, None)
    job = VideoFrames([ok, over, late_start])
    done = []
    for index in range(3):
        done += job.add(index, np.zeros((layout.NUM_POINTS, 3), np.float32))
    assert [sign for sign, _ in done] == [ok]
    complete, past_end = job.finish(3)
    assert complete == [] and past_end == [over, late_start]
