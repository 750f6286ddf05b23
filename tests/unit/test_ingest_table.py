"""The ingest sign table CSV: good rows kept, every bad row reported with its line and skipped."""
from __future__ import annotations

import pytest

from signstream.errors import InvalidArgument
from signstream.ingest.table import TableRow, group_by_video, parse_sign_table

HEADER = "sign_id,video,start_frame,end_frame,gloss\n"


def problems_by_line(parsed) -> dict[int, str]:
    out = {}
    for message in parsed.problems:
        line = int(message.split(" line ", 1)[1].split(":", 1)[0])
        out[line] = message
    return out


def test_good_rows_inclusive_ranges_open_ends_and_gloss():
    parsed = parse_sign_table(HEADER
                              + "\u00b6hello,videos/a.mp4,0,41,HELLO\n"
                              + "bye,videos/a.mp4,42,,\n"
                              + "olá,b.mp4,3,-1, OLÁ \n", "t.csv")
    assert parsed.problems == () and parsed.warnings == ()
    assert parsed.rows == (
        TableRow("hello", "videos/a.mp4", 0, 41, "HELLO", 2),
        TableRow("bye", "videos/a.mp4", 42, None, None, 3),
        TableRow("olá", "b.mp4", 3, None, "OLÁ", 4),
    )
    assert list(parsed.by_video()) == ["videos/a.mp4", "b.mp4"]
    assert [r.sign_id for r in parsed.by_video()["videos/a.mp4"]] == ["hello", "bye"]


def test_bad_rows_are_reported_with_their_line_and_skipped():
    text = (HEADER
            + "ok1,v.mp4,0,9,OK\n"                 # line 2
            + "missing-video,,0,9\n"               # 3
            + "few-fields,v.mp4\n"                 # 4
            + "float,v.mp4,1.5,9\n"                # 5
            + "word,v.mp4,0,ten\n"                 # 6
            + "backwards,v.mp4,9,3\n"              # 7
            + "../x,v.mp4,0,9\n"                   # 8
            + "a/b,v.mp4,0,9\n"                    # 9
            + ",v.mp4,0,9\n"                       # 10
            + "negative,v.mp4,-2,9\n"              # 11
            + "end-below-minus-one,v.mp4,0,-5\n"   # 12
            + "escape,../secret.mp4,0,9\n"         # 13
            + "absolute,/etc/v.mp4,0,9\n"          # 14
            + "too-many,v.mp4,0,9,G,extra\n"       # 15
            + "\n"                                 # 16: blank, ignored
            + "ok2,w.mp4,5,5\n")                   # 17
    parsed = parse_sign_table(text, "signs.csv")
    assert [r.sign_id for r in parsed.rows] == ["ok1", "ok2"]
    assert [r.line for r in parsed.rows] == [2, 17]
    problems = problems_by_line(parsed)
    assert sorted(problems) == list(range(3, 16))
    assert all(m.startswith("signs.csv line ") and m.endswith("row skipped") for m in problems.values())
    assert "missing video" in problems[3]
    assert "missing" in problems[4] and "start_frame" in problems[4]
    assert "'1.5' is not an integer" in problems[5]
    assert "'ten' is not an integer" in problems[6]
    assert "before start_frame" in problems[7]
    assert "invalid sign ID '../x'" in problems[8]
    assert "invalid sign ID 'a/b'" in problems[9] and "path separator" in problems[9]
    assert "missing sign_id" in problems[10]
    assert "negative" in problems[11] and "negative" in problems[12]
    assert "video" in problems[13] and ".." in problems[13]
    assert "relative" in problems[14]
    assert "6 fields" in problems[15]


def test_duplicate_ids_later_row_wins_with_a_warning():
    parsed = parse_sign_table(HEADER
                              + "hello,a.mp4,0,5,FIRST\n"
                              + "other,b.mp4,0,5\n"
                              + "\u00b6hello,c.mp4,7,9,SECOND\n", "t.csv")
    assert parsed.problems == ()
    assert [(r.sign_id, r.video, r.gloss) for r in parsed.rows] == [("other", "b.mp4", None),
                                                                    ("hello", "c.mp4", "SECOND")]
    assert len(parsed.warnings) == 1
    assert "line 4" in parsed.warnings[0] and "line 2" in parsed.warnings[0] and "later row wins" in parsed.warnings[0]
    assert list(parsed.by_video()) == ["b.mp4", "c.mp4"]        # a.mp4 is not decoded for nothing


def test_header_is_required_in_any_column_order():
    parsed = parse_sign_table("video,end_frame,sign_id,start_frame\nv.mp4,4,x,1\n")
    assert parsed.rows == (TableRow("x", "v.mp4", 1, 4, None, 2),)
    with pytest.raises(InvalidArgument, match="header"):
        parse_sign_table("hello,v.mp4,0,5\nbye,v.mp4,6,9\n", "t.csv")
    with pytest.raises(InvalidArgument, match="empty"):
        parse_sign_table("\n\n")
    with pytest.raises(InvalidArgument, match="twice"):
        parse_sign_table("sign_id,video,start_frame,end_frame,video\n")


def test_bytes_with_bom_quotes_and_multiline_fields_keep_line_numbers():
    data = ("\ufeff" + HEADER
            + '"quoted",v.mp4,0,1,"A, B"\n'       # line 2
            + 'multi,v.mp4,0,1,"two\nlines"\n'    # lines 3-4
            + 'bad,v.mp4,0,x\n'                   # line 5
            + 'stray,"v.mp4"x,0,1\n'              # line 6: malformed quoting
            + 'last,v.mp4,2,3\n').encode("utf-8")  # line 7
    parsed = parse_sign_table(data, "t.csv")
    assert [(r.sign_id, r.gloss, r.line) for r in parsed.rows] == [
        ("quoted", "A, B", 2), ("multi", "two\nlines", 3), ("last", None, 7)]
    assert sorted(problems_by_line(parsed)) == [5, 6]
    with pytest.raises(InvalidArgument, match="UTF-8"):
        parse_sign_table(b"sign_id,video,start_frame,end_frame\n\xff\xfe,v,0,1\n")


def test_unknown_columns_are_ignored_with_a_warning():
    parsed = parse_sign_table("sign_id,video,start_frame,end_frame,notes\nx,v.mp4,0,1,whatever\n")
    assert len(parsed.rows) == 1 and "notes" in parsed.warnings[0]


def test_group_by_video_later_row_wins_for_plain_rows():
    rows = [TableRow("a", "v1", 0, 1), TableRow("b", "v2", 0, 1), TableRow("a", "v2", 3, 4)]
    groups = group_by_video(rows)
    assert list(groups) == ["v2"] and [r.sign_id for r in groups["v2"]] == ["b", "a"]


def test_gloss_words_column():
    parsed = parse_sign_table("sign_id,video,start_frame,end_frame,gloss,words\n"
                              "hello,a.mp4,0,9,HELLO,hi | hey there|\n"
                              "bye,a.mp4,10,19,BYE,\n"
                              f"long,a.mp4,20,29,LONG,{'x' * 65}\n", "t.csv")
    assert [(r.sign_id, r.words) for r in parsed.rows] == [("hello", ("hi", "hey there")), ("bye", ())]
    assert parsed.warnings == ()
    assert "t.csv line 4" in parsed.problems[0] and "words: each of words must be a non-empty string" in parsed.problems[0]
