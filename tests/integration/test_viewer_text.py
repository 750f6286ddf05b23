"""The browser viewer takes text: /api/info says so (the page shows its text box), a {"type": "text"}
message streams the signs and letters the gloss gives with its Notices inline, and the config's
fingerspell policy is honoured."""
from __future__ import annotations

import asyncio

import aiohttp

from tests.integration.test_viewer_socket import END, SMALL, _sign, _stream, viewer  # noqa: F401 (a fixture)


def _text(text: str) -> dict:
    return {"type": "text", "text": text}


def distinct(ids: list[str]) -> list[str]:
    return [s for i, s in enumerate(ids) if i == 0 or ids[i - 1] != s]


def test_the_viewer_streams_texts(viewer):  # noqa: F811
    async def main():
        async with aiohttp.ClientSession() as session:
            info = await (await session.get(viewer.url + "/api/info")).json()
            spelled = await _stream(session, viewer.url, SMALL, _text("Hello Tom, zebra!"), _sign("¶yes"), END)
            never = await _stream(session, viewer.url, {**SMALL, "fingerspell": "never"}, _text("Hello Tom"), END)
            bad = await _stream(session, viewer.url, {**SMALL, "fingerspell": "often"}, END)
            return info, spelled, never, bad

    info, spelled, never, bad = asyncio.run(main())
    assert info["text"] is True and "text" in info["items"]
    assert distinct([f["sign_id"] for f in spelled["frames"]]) == ["¶hello", "¶fs-t", "¶fs-o", "¶fs-m", "¶yes"]
    assert [m["code"] for m in spelled["messages"] if m["type"] == "notice"] == ["UNKNOWN_WORD"]
    assert spelled["code"] == 1000 and spelled["indexes"] == list(range(len(spelled["frames"])))
    assert distinct([f["sign_id"] for f in never["frames"]]) == ["¶hello"]
    assert bad["error"]["field"] == "fingerspell" and "not known" in bad["error"]["message"]
