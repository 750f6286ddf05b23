"""`signstream text2signs`: one line per token against the demo lexicon, --ids for `signstream stream`,
the policy flags, and a missing lexicon as exit 3 saying what to do."""
from __future__ import annotations

from signstream.cli import main


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main(["text2signs", *argv])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def test_one_line_per_token(capsys, demo_lexicon_dir):
    code, lines, _ = run(capsys, "--lexicon", str(demo_lexicon_dir), "Hi Tom, thank you for the help! 👋")
    assert code == 0
    assert [line.split("\t")[:2] for line in lines] == [
        ["Hi (hello)", "sign"], ["Tom", "spelled"], ["thank you", "sign"], ["for", "dropped"], ["the", "dropped"],
        ["help", "sign"], ["👋", "notice"]]
    assert lines[1].split("\t")[2] == "T-O-M = ¶fs-t ¶fs-o ¶fs-m"
    assert lines[3].split("\t")[2].startswith("stop word")
    assert lines[6].split("\t")[2] == "UNKNOWN_SYMBOL" and "skipped" in lines[6]


def test_ids_and_policy(capsys, demo_lexicon_dir):
    code, lines, _ = run(capsys, "--lexicon", str(demo_lexicon_dir), "--ids", "Hi Tom, thank you")
    assert code == 0 and lines == ["¶hello ¶fs-t ¶fs-o ¶fs-m ¶thank-you"]
    _, lines, _ = run(capsys, "--lexicon", str(demo_lexicon_dir), "--ids", "--fingerspell", "never", "Hi Tom")
    assert lines == ["¶hello"]
    _, lines, _ = run(capsys, "--lexicon", str(demo_lexicon_dir), "--ids", "--fingerspell", "unknown",
                      "--max-word-letters", "3", "hi zed zebra")
    assert lines == ["¶hello ¶fs-z ¶fs-e ¶fs-d"]


def test_a_missing_lexicon_exits_3_saying_how_to_build_one(capsys, tmp_path):
    code, _, err = run(capsys, "--lexicon", str(tmp_path), "hello")
    assert code == 3 and "signstream lexicon demo DIR" in err
