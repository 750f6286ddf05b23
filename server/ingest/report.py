"""What an ingest run did: signs built, up to date, failed (and why), frames extracted, time taken."""
from __future__ import annotations

from dataclasses import dataclass, field

from signstream.lexicon.sign_id import display_sign_id

# Failure codes (stable: logs and scripts may match on them).
MISSING_VIDEO = "MISSING_VIDEO"            # the video store has no such key
UNREADABLE_VIDEO = "UNREADABLE_VIDEO"      # the video store failed or refused the key
CORRUPT_VIDEO = "CORRUPT_VIDEO"            # not decodable: empty, truncated, not a video
RANGE_PAST_END = "RANGE_PAST_END"          # the sign's frames go beyond the video's last frame
BAD_KEYPOINTS = "BAD_KEYPOINTS"            # the extractor returned something no clip can hold


@dataclass(frozen=True)
class SignFailure:
    sign_id: str          # canonical
    video: str
    code: str
    reason: str

    def __str__(self) -> str:
        return f"{display_sign_id(self.sign_id)} ({self.video}): {self.code}: {self.reason}"


@dataclass
class IngestReport:
    built: list[str] = field(default_factory=list)           # sign IDs whose clips were (re)built
    up_to_date: list[str] = field(default_factory=list)      # skipped: nothing they depend on changed
    failed: list[SignFailure] = field(default_factory=list)
    table_problems: list[str] = field(default_factory=list)  # CSV rows skipped before ingest
    warnings: list[str] = field(default_factory=list)        # e.g. no person found; still built
    frames_extracted: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing failed: every row of the table is in the lexicon."""
        return not self.failed and not self.table_problems

    def summary(self) -> str:
        """One line for people."""
        failed = len(self.failed) + len(self.table_problems)
        rate = f", {self.frames_extracted / self.seconds:.1f} frames/s" if self.seconds > 0 and self.frames_extracted else ""
        return (f"ingest: {len(self.built)} signs built, {len(self.up_to_date)} up to date, {failed} failed"
                f" ({len(self.table_problems)} bad table rows); {self.frames_extracted} frames extracted"
                f" in {self.seconds:.1f} s{rate}")
