"""`signstream ingest` as a user runs it (a process of its own, its stderr as a terminal shows it): each
bad table row, skipped sign and warning is reported exactly once, and the summary once, on stdout."""
from __future__ import annotations

import subprocess
import sys

TABLE = ("sign_id,video,start_frame,end_frame,notes\n"
         "hello,videos/not-there.mp4,0,3,\n"          # line 2: MISSING_VIDEO
         "broken,videos/broken.mp4,0,3,\n"            # line 3: CORRUPT_VIDEO
         "a/b,videos/not-there.mp4,0,3,\n"            # line 4: an invalid sign ID, row skipped
         "hello,videos/not-there.mp4,0,4,\n")         # line 5: hello again, the later row wins


def test_each_problem_and_warning_is_reported_once(tmp_path):
    videos = tmp_path / "videos_store"
    (videos / "videos").mkdir(parents=True)
    (videos / "videos" / "broken.mp4").write_bytes(b"not a video at all" * 100)
    (videos / "signs.csv").write_text(TABLE)
    done = subprocess.run([sys.executable, "-m", "signstream", "ingest", "--videos", str(videos), "--table",
                           "signs.csv", "--lexicon", str(tmp_path / "lexicon"), "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    reports = {
        "missing video": "¶hello (videos/not-there.mp4): MISSING_VIDEO",
        "corrupt video": "¶broken (videos/broken.mp4): CORRUPT_VIDEO",
        "bad row": "line 4: invalid sign ID",
        "repeated sign": "line 5: sign ¶hello was already defined on line 2; the later row wins",
        "ignored column": "column(s) notes ignored",
    }
    counts = {name: done.stderr.count(text) for name, text in reports.items()}
    assert counts == dict.fromkeys(reports, 1), done.stderr
    assert "ingest: 0 signs built" not in done.stderr
    assert done.stdout.count("ingest: 0 signs built, 0 up to date, 3 failed (1 bad table rows)") == 1
