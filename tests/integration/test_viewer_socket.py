"""The browser viewer's WebSocket and API without a browser (aiohttp's client): every bad message is
answered with an error message and a close code while a bystander's stream on the same server gets
all its frames; bearer tokens by cookie or Sec-WebSocket-Protocol, never the URL; the Origin
allow-list; the server's stream limit and idle timeout per connection; a client that stops reading
holds back only its own stream; SIGTERM-style drain."""
from __future__ import annotations

import asyncio
import base64
import json
import time

import aiohttp
import pytest

from signstream.config import Settings
from signstream.extract.base import LocalExtractor
from signstream.lexicon import open_lexicon
from signstream.lexicon.demo import demo_signs
from signstream.limits import StreamLimits
from signstream.pipeline import SynthesisOptions, output_length
from signstream.web.app import WebOptions
from tests.support.gateway import GatewayThread

LENGTHS = {s.sign_id: len(s.frames) for s in demo_signs()}
N = SynthesisOptions().num_interpolation
TOKEN = "viewer-test-token-0123456789abcdef"
SMALL = {"type": "config", "encoding": "jpeg", "width": 64, "height": 64, "transition": "linear"}
LIMITS = StreamLimits(max_streams=6, idle_timeout_s=1.0, send_timeout_s=0.5)


def _viewer(lexicon_dir, **options):
    web = WebOptions(port=0, origins=options.pop("origins", ()))
    return GatewayThread(open_lexicon(Settings(lexicon=str(lexicon_dir))), LocalExtractor(), web=web, **options).start()


@pytest.fixture(scope="module")
def viewer(demo_lexicon_dir):
    running = _viewer(demo_lexicon_dir, limits=LIMITS)
    running.url = f"http://127.0.0.1:{running.gateway.web.port}"
    yield running
    running.stop()


@pytest.fixture(scope="module")
def guarded(demo_lexicon_dir):
    running = _viewer(demo_lexicon_dir, auth_tokens=(TOKEN,), origins=("https://signs.example",))
    running.url = f"http://127.0.0.1:{running.gateway.web.port}"
    yield running
    running.stop()


async def _read(ws) -> dict:
    """Everything until the socket closes: frame headers, JSON messages, the close code and reason."""
    frames, messages, reason, code = [], [], "", None
    while True:
        message = await ws.receive(timeout=30)
        if message.type == aiohttp.WSMsgType.BINARY:
            length = int.from_bytes(message.data[:4], "big")
            frames.append(json.loads(message.data[4:4 + length]))
        elif message.type == aiohttp.WSMsgType.TEXT:
            messages.append(json.loads(message.data))
        else:
            if message.type == aiohttp.WSMsgType.CLOSE:      # the server's close frame
                code, reason = message.data, message.extra or ""
            break
    errors = [m for m in messages if m["type"] == "error"]
    return {"frames": frames, "indexes": [f["index"] for f in frames], "messages": messages,
            "error": errors[0] if errors else None, "code": code or ws.close_code, "reason": reason}


async def _stream(session, url, *sends, **connect) -> dict:
    async with session.ws_connect(url + "/ws", protocols=("signstream.v1",), **connect) as ws:
        try:
            for send in sends:
                if isinstance(send, bytes):
                    await ws.send_bytes(send)
                else:
                    await ws.send_str(json.dumps(send) if isinstance(send, dict) else send)
        except ConnectionError:
            pass                # the server closed the socket while this client was still sending
        return await _read(ws)


def _sign(sign_id: str) -> dict:
    return {"type": "sign", "sign_id": sign_id}


END = {"type": "end"}
HELLO_NAME = output_length([LENGTHS["hello"], LENGTHS["name"]], N, 0)

BAD = {
    "bad JSON": (["{not json"], 1007, "MALFORMED_MESSAGE", "not valid JSON", 0),
    "JSON that is not an object": (["[1, 2]"], 1007, "MALFORMED_MESSAGE", "JSON object", 0),
    "binary first": ([b"\x00" * 10], 1003, "UNEXPECTED_MESSAGE", "config as JSON text", 0),
    "sign before config": ([_sign("¶hello")], 1003, "UNEXPECTED_MESSAGE", "first message must be the config", 0),
    "unknown config field": ([{**SMALL, "colour": "red"}], 4400, "INVALID_ARGUMENT", "'colour'", 0),
    "width out of limits": ([{**SMALL, "width": 5000}], 4400, "INVALID_ARGUMENT", "width must be", 0),
    "keypoints encoding": ([{**SMALL, "encoding": "none"}], 4400, "INVALID_ARGUMENT", "gRPC", 0),
    "style image announced, text sent": ([{**SMALL, "style_image_bytes": 5}, "{}"], 1003, "UNEXPECTED_MESSAGE",
                                         "exactly those bytes", 0),
    "style image of 16 MiB, not an image": ([{**SMALL, "style_image_bytes": 16 << 20}, b"\xff" * (16 << 20)], 4400,
                                            "INVALID_STYLE_IMAGE", "style image", 0),
    "message over 16 MiB": ([{**SMALL, "style_image_bytes": 1}, b"\xff" * ((16 << 20) + 1)], 1009,
                            "MESSAGE_TOO_LARGE", "16 MiB", 0),
    "binary after the config": ([SMALL, _sign("¶hello"), b"\x01\x02"], 1003, "UNEXPECTED_MESSAGE",
                                "only the style image", LENGTHS["hello"]),
    "a second config": ([SMALL, _sign("¶hello"), SMALL], 1003, "UNEXPECTED_MESSAGE", "second config",
                        LENGTHS["hello"]),
    "unknown message type": ([SMALL, _sign("¶hello"), {"type": "dance"}], 1003, "UNEXPECTED_MESSAGE", "dance",
                             LENGTHS["hello"]),
    "sign ID not a string": ([SMALL, _sign("¶hello"), {"type": "sign", "sign_id": 7}], 4400, "INVALID_ARGUMENT",
                             "sign_id", LENGTHS["hello"]),
}


def test_bad_messages_get_an_error_and_a_close_code_and_a_bystander_gets_every_frame(viewer):
    async def main():
        async with aiohttp.ClientSession() as session:
            bystander = asyncio.create_task(_stream(session, viewer.url, {**SMALL, "pacing": "realtime"},
                                                    _sign("¶hello"), _sign("¶name"), END))
            results = {}
            for name, (sends, *_) in BAD.items():
                results[name] = await _stream(session, viewer.url, *sends)
            return results, await bystander

    results, bystander = asyncio.run(main())
    for name, (_, code, error_code, text, frames) in BAD.items():
        got = results[name]
        assert got["code"] == code, (name, got["code"], got["error"])
        assert got["error"]["code"] == error_code and text in got["error"]["message"], (name, got["error"])
        assert got["reason"] and got["reason"] in got["error"]["message"], (name, got["reason"])
        assert got["indexes"] == list(range(frames)), name       # every frame before the error
    assert bystander["indexes"] == list(range(HELLO_NAME)) and bystander["code"] == 1000
    assert bystander["messages"][-1] == {"type": "end", "frames": HELLO_NAME}


def test_a_stream_ends_with_its_frame_count_and_notices_inline(viewer):
    async def main():
        async with aiohttp.ClientSession() as session:
            return await _stream(session, viewer.url, {**SMALL, "encoding": "h264"}, _sign("hello"),
                                 _sign("¶no-such-sign"), _sign("a/b"), END)

    got = asyncio.run(main())
    notices = [(m["code"], m["sign_id"]) for m in got["messages"] if m["type"] == "notice"]
    assert notices == [("UNKNOWN_SIGN", "¶no-such-sign"), ("INVALID_SIGN_ID", "a/b")]
    assert got["indexes"] == list(range(LENGTHS["hello"])) and got["code"] == 1000
    assert {f["encoding"] for f in got["frames"]} == {"h264"} and got["frames"][0]["sign_id"] == "¶hello"


def test_the_api_lists_signs_for_autocomplete_and_answers_errors_as_json(viewer):
    async def main():
        async with aiohttp.ClientSession() as session:
            signs = await (await session.get(viewer.url + "/api/signs?prefix=¶he")).json()
            bad = await session.get(viewer.url + "/api/signs?limit=0")
            mp4 = await session.post(viewer.url + "/api/mp4?encoding=h264&fps=25", data=b"not h264")
            page = await session.get(viewer.url + "/")
            missing = await session.get(viewer.url + "/secrets.txt")
            return (signs, bad.status, await bad.json(), mp4.status, await mp4.json(), page.status,
                    page.headers["Content-Security-Policy"], missing.status)

    signs, bad, bad_body, mp4, mp4_body, page, csp, missing = asyncio.run(main())
    assert signs == {"sign_ids": ["hello", "help"]}
    assert bad == 400 and bad_body["field"] == "limit"
    assert mp4 == 400 and mp4_body["code"] == "INVALID_ARGUMENT" and "MP4" in mp4_body["message"]
    assert page == 200 and "default-src 'self'" in csp and missing == 404


def _protocol_token(token: str) -> str:
    return "signstream.token." + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def test_a_token_is_taken_from_a_cookie_or_the_subprotocol_never_the_url(guarded):
    origin = {"Origin": "https://signs.example"}

    async def main():
        async with aiohttp.ClientSession() as session:
            none = await _stream(session, guarded.url, SMALL, headers=origin)
            wrong = await _stream(session, guarded.url, SMALL, headers={**origin, "Cookie": "signstream_token=nope"})
            url = await _stream(session, guarded.url + "", SMALL, headers=origin, params={"token": TOKEN})
            async with session.ws_connect(guarded.url + "/ws", headers=origin,
                                          protocols=("signstream.v1", _protocol_token(TOKEN))) as ws:
                chosen = ws.protocol
                await ws.send_str(json.dumps(SMALL))
                await ws.send_str(json.dumps(_sign("¶hello")))
                await ws.send_str(json.dumps(END))
                by_protocol = await _read(ws)
            by_cookie = await _stream(session, guarded.url, SMALL, _sign("¶hello"), END,
                                      headers={**origin, "Cookie": f"signstream_token={TOKEN}"})
            info = await session.get(guarded.url + "/api/info")
            api_none = await session.get(guarded.url + "/api/signs")
            api_bearer = await session.get(guarded.url + "/api/signs", headers={"Authorization": f"Bearer {TOKEN}"})
            return none, wrong, url, chosen, by_protocol, by_cookie, (await info.json(), api_none.status,
                                                                      api_bearer.status)

    none, wrong, url, chosen, by_protocol, by_cookie, (info, api_none, api_bearer) = asyncio.run(main())
    for refused in (none, wrong, url):
        assert refused["code"] == 4401 and refused["error"]["code"] == "UNAUTHENTICATED" and not refused["frames"]
    assert "carried none" in none["error"]["message"] and "not valid" in wrong["error"]["message"]
    assert "never taken from the URL" in url["error"]["message"]
    assert chosen == "signstream.v1"                   # the token is never echoed
    for accepted in (by_protocol, by_cookie):
        assert accepted["indexes"] == list(range(LENGTHS["hello"])) and accepted["code"] == 1000
    assert info["token_required"] is True and api_none == 401 and api_bearer == 200
    assert TOKEN not in json.dumps([none, wrong, url])
    assert guarded.metric("signstream_errors_total", code="UNAUTHENTICATED") >= 4


def test_pages_from_other_origins_are_refused_before_the_upgrade(viewer, guarded):
    port = viewer.gateway.web.port

    async def status(url, **headers):
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(url + "/ws", headers=headers) as ws:
                    await ws.close()
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    async def main():
        return {
            "evil": await status(viewer.url, Origin="https://evil.example"),
            "own": await status(viewer.url, Origin=f"http://127.0.0.1:{port}"),
            "localhost": await status(viewer.url, Origin=f"http://localhost:{port}", Host=f"localhost:{port}"),
            "localhost from 127.0.0.1": await status(viewer.url, Origin=f"http://localhost:{port}"),
            "other port": await status(viewer.url, Origin=f"http://127.0.0.1:{port + 1}"),
            "rebinding": await status(viewer.url, Origin=f"http://attacker.example:{port}",
                                      Host=f"attacker.example:{port}"),
            "no origin": await status(viewer.url),
            "listed": await status(guarded.url, Origin="https://signs.example",
                                   Cookie=f"signstream_token={TOKEN}"),
            "own, not listed": await status(guarded.url, Origin=f"http://127.0.0.1:{guarded.gateway.web.port}"),
        }

    got = asyncio.run(main())
    assert got == {"evil": 403, "own": 101, "localhost": 101, "localhost from 127.0.0.1": 403, "other port": 403,
                   "rebinding": 403,
                   "no origin": 101, "listed": 101, "own, not listed": 403}


def test_each_connection_is_a_stream_under_the_servers_limit_and_idle_timeout(viewer):
    async def main():
        async with aiohttp.ClientSession() as session:
            held = [await session.ws_connect(viewer.url + "/ws") for _ in range(LIMITS.max_streams)]
            refused = await _stream(session, viewer.url, SMALL)
            started = time.monotonic()
            idle = [await _read(ws) for ws in held]          # nothing sent: closed after the idle timeout
            return refused, idle, time.monotonic() - started

    refused, idle, took = asyncio.run(main())
    assert refused["code"] == 4429 and refused["error"]["code"] == "OVERLOADED"
    assert refused["error"]["retry_after_s"] == 1.0 and "limit of 6 open streams" in refused["error"]["message"]
    assert all(i["code"] == 4408 and i["error"]["code"] == "STREAM_TIMEOUT" for i in idle)
    assert took < 3
    deadline = time.monotonic() + 5
    while viewer.metric("signstream_streams_open", rpc="Synthesize") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert viewer.metric("signstream_streams_open", rpc="Synthesize") == 0


def test_a_browser_that_stops_reading_holds_back_only_its_own_stream(viewer):
    frames_sent = lambda: viewer.metric("signstream_frames_sent_total", rpc="Synthesize", encoding="raw_rgb")  # noqa: E731
    raw = {"type": "config", "encoding": "raw_rgb", "width": 512, "height": 512, "transition": "linear"}
    signs = ["¶hello", "¶name", "¶good", "¶sign"] * 5

    async def main():
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(viewer.url + "/ws")
            await ws.send_str(json.dumps(raw))
            for sign in signs:
                await ws.send_str(json.dumps(_sign(sign)))
            first = await ws.receive(timeout=30)           # one frame, then this client stops reading
            before = frames_sent()
            bystander = await _stream(session, viewer.url, SMALL, _sign("¶hello"), _sign("¶name"), END)
            deadline = time.monotonic() + 10
            while viewer.metric("signstream_streams_open", rpc="Synthesize") and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            made = frames_sent()
            await asyncio.sleep(0.5)
            still = frames_sent()
            rest = await _read(ws)                          # reads again: what was held, then the timeout
            return first, before, made, still, rest, bystander

    first, before, made, still, rest, bystander = asyncio.run(main())
    total = output_length([LENGTHS[s.lstrip("¶")] for s in signs], N, 0)
    assert first.type == aiohttp.WSMsgType.BINARY
    assert made == still, "the server went on making frames for a dropped stream"
    assert made - before < 40 < total, f"{made - before} frames were made for a client that read one"
    assert rest["code"] == 4408 and "did not read a frame for 0.5 s" in rest["error"]["message"]
    assert rest["indexes"] == list(range(1, 1 + len(rest["indexes"])))
    assert bystander["indexes"] == list(range(HELLO_NAME))


def test_a_draining_server_finishes_open_viewer_streams_and_refuses_new_ones(demo_lexicon_dir):
    running = _viewer(demo_lexicon_dir)
    url = f"http://127.0.0.1:{running.gateway.web.port}"
    stopped = False

    async def main():
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url + "/ws")
            await ws.send_str(json.dumps({**SMALL, "pacing": "realtime"}))
            await ws.send_str(json.dumps(_sign("¶hello")))
            await ws.receive(timeout=30)
            stop = asyncio.get_running_loop().run_in_executor(None, running.stop)
            while not running.gateway.core.draining:
                await asyncio.sleep(0.01)
            refused = await _stream(session, url, SMALL)
            await ws.send_str(json.dumps(END))
            rest = await _read(ws)
            await stop
            return refused, rest

    try:
        refused, rest = asyncio.run(main())
        stopped = True
    finally:
        if not stopped:
            running.stop()
    assert refused["code"] == 4503 and refused["error"]["code"] == "SHUTTING_DOWN"
    assert rest["code"] == 1000 and rest["indexes"] == list(range(1, LENGTHS["hello"]))
