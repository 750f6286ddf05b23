"""signs.json's optional gloss words: read, written, and a table without them unchanged byte for byte."""
from __future__ import annotations

import json

from signstream.lexicon.table import SignEntry, SignTable


def table_bytes(rows: list[dict]) -> bytes:
    return json.dumps({"format": "signstream-lexicon", "version": 1, "signs": rows}).encode()


ROW = {"sign_id": "hello", "clip": "clips/hello.npz", "start_frame": 0, "end_frame": 9, "fps": 25.0, "gloss": "HELLO"}


def test_rows_without_words_read_and_write_as_before():
    table = SignTable.from_json_bytes(table_bytes([ROW]))
    assert table.entries["hello"].words == ()
    assert b"words" not in table.to_json_bytes()
    assert SignTable.from_json_bytes(table.to_json_bytes()) == table


def test_words_round_trip():
    table = SignTable.from_json_bytes(table_bytes([{**ROW, "words": ["hi", "hey there"]}]))
    assert table.entries["hello"].words == ("hi", "hey there")
    again = SignTable.from_json_bytes(table.to_json_bytes())
    assert again.entries["hello"].words == ("hi", "hey there")
    assert json.loads(table.to_json_bytes())["signs"][0]["words"] == ["hi", "hey there"]


def test_a_row_with_bad_words_is_skipped_saying_why_and_the_others_serve():
    rows = [{**ROW, "words": "hi"}, {**ROW, "sign_id": "yes", "words": ["", "ok"]},
            {**ROW, "sign_id": "no", "words": ["nope"]}]
    table = SignTable.from_json_bytes(table_bytes(rows))
    assert list(table.entries) == ["no"]
    assert "words must be a list of strings, got str" in table.rejected[0]
    assert "each of words must be a non-empty string" in table.rejected[1]
    assert "hello" in table.rejected_ids


def test_an_entry_keeps_words_as_a_tuple():
    assert SignEntry("a", "clips/a.npz", 0, 1, 25.0, None, ["x"]).words == ("x",)
