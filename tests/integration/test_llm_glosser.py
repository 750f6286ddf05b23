"""The optional LLM glosser against a fake OpenAI-compatible server on 127.0.0.1 (real HTTP): canned
answers, deliberately invalid IDs (each checked against the lexicon and falling back to a word's sign,
fingerspelling or a Notice), and an endpoint that fails (the rules glosser takes over, saying why)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from signstream.cli import main
from signstream.config import Settings
from signstream.errors import InvalidArgument
from signstream.lexicon import open_lexicon
from signstream.text import NOTICE, SIGN, SPELLED, SpellingRules, plan, vocabulary_of
from signstream.text.llm import GLOSSER_FALLBACK, LLM_INVALID_ID, LlmGlosser, LlmSettings

CANNED = {
    "Hi, I'm Tom": "\u00b6hello #TOM",
    "invalid": "thank-you FRIEND \u00b6bogus ../../etc/passwd fs-a fs-n fs-n zebra Priya \U0001F600",
}


class FakeLlm(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeLlm.requests.append((self.path, dict(self.headers), body))
        text = body["messages"][1]["content"].rsplit("Text: ", 1)[1].split("\n")[0]
        if text == "fail":
            self.send_error(503, "overloaded")
            return
        if text == "slow":
            time.sleep(1.5)
        answer = b"not json" if text == "garbage" else json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": CANNED.get(text, "")}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture(scope="module")
def llm_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLlm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def vocabulary(demo_lexicon_dir):
    return vocabulary_of(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))).table)


def glosser(vocabulary, url, policy="names", **settings):
    return LlmGlosser(vocabulary, SpellingRules(policy), LlmSettings(url, "fake-model", **settings))


def test_a_canned_answer_becomes_signs_and_letters(vocabulary, llm_url):
    items = glosser(vocabulary, llm_url, api_key="sekret").gloss("Hi, I'm Tom")
    assert [(i.kind, i.sign_ids) for i in items] == [(SIGN, ("hello",)), (SPELLED, ("fs-t", "fs-o", "fs-m"))]
    path, headers, body = FakeLlm.requests[-1]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sekret"
    assert body["model"] == "fake-model" and body["temperature"] == 0
    assert "thank-you: THANK-YOU" in body["messages"][1]["content"] and "Text: Hi, I'm Tom" in body["messages"][1]["content"]
    assert [s.sign_id for s in plan(items)] == ["hello", "fs-t", "fs-o", "fs-m"]


def test_every_returned_id_is_checked_and_invalid_ones_fall_back(vocabulary, llm_url):
    items = glosser(vocabulary, llm_url).gloss("invalid")
    assert [(i.token, i.kind, i.code) for i in items] == [
        ("thank-you", SIGN, ""), ("FRIEND", SIGN, ""), ("\u00b6bogus", NOTICE, LLM_INVALID_ID),
        ("../../etc/passwd", NOTICE, LLM_INVALID_ID), ("fs-a fs-n fs-n", SPELLED, ""), ("zebra", NOTICE, LLM_INVALID_ID),
        ("Priya", SPELLED, ""), ("\U0001F600", NOTICE, LLM_INVALID_ID)]
    assert items[1].sign_ids == ("friend",) and "not a sign ID of the lexicon; read as a word" in items[1].why
    assert "which is not a sign ID of the lexicon" in items[2].why and "skipped" in items[2].why
    assert items[4].letters == "A-N-N" and items[6].letters == "P-R-I-Y-A"
    assert all(s in vocabulary for step in plan(items) for s in [step.sign_id])
    unknown = glosser(vocabulary, llm_url, policy="unknown").gloss("invalid")
    assert [i.kind for i in unknown if i.token == "zebra"] == [SPELLED]


@pytest.mark.parametrize("text, why", [("fail", "HTTP 503"), ("garbage", "not JSON"), ("slow", "cannot reach it")])
def test_a_failing_endpoint_falls_back_to_the_rules_glosser_saying_why(vocabulary, llm_url, text, why):
    items = glosser(vocabulary, llm_url, timeout_s=0.5).gloss(text)
    assert items[0].code == GLOSSER_FALLBACK and why in items[0].why and "word by word instead" in items[0].why
    assert items[1:] and items[1].token == text


def test_an_endpoint_that_is_not_there(vocabulary):
    items = glosser(vocabulary, "http://127.0.0.1:9/v1", timeout_s=1).gloss("hello")
    assert items[0].code == GLOSSER_FALLBACK and [i.sign_ids for i in items[1:]] == [("hello",)]


def test_text2signs_glosser_llm(capsys, demo_lexicon_dir, llm_url, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Known signs:\n{signs}\nText: {text}\n")
    code = main(["text2signs", "--lexicon", str(demo_lexicon_dir), "--glosser", "llm", "--llm-url", llm_url,
                 "--llm-model", "fake-model", "--llm-prompt", str(prompt), "--ids", "Hi, I'm Tom"])
    assert code == 0 and capsys.readouterr().out.split() == ["¶hello", "¶fs-t", "¶fs-o", "¶fs-m"]
    assert FakeLlm.requests[-1][2]["messages"][1]["content"].startswith("Known signs:\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("no placeholder")
    with pytest.raises(InvalidArgument, match="has no {text}"):
        LlmSettings.from_files(llm_url, "m", user_prompt_file=str(bad))
    code = main(["text2signs", "--lexicon", str(demo_lexicon_dir), "--glosser", "llm", "--llm-url", "ftp://x",
                 "--llm-model", "m", "hi"])
    assert code == 2 and "must be an http:// or https:// URL" in capsys.readouterr().err


def test_the_glosser_of_streams_comes_from_the_environment(llm_url):
    from signstream.text.message import llm_settings_from_env

    assert llm_settings_from_env({}) is None
    settings = llm_settings_from_env({"SIGNSTREAM_GLOSSER": "llm", "SIGNSTREAM_LLM_URL": llm_url,
                                      "SIGNSTREAM_LLM_MODEL": "fake-model", "SIGNSTREAM_LLM_TIMEOUT_S": "3"})
    assert settings.base_url == llm_url and settings.model == "fake-model" and settings.timeout_s == 3
    with pytest.raises(InvalidArgument, match="SIGNSTREAM_GLOSSER 'gpt' is not known; use rules"):
        llm_settings_from_env({"SIGNSTREAM_GLOSSER": "gpt"})
    with pytest.raises(InvalidArgument, match="--llm-model is needed"):
        llm_settings_from_env({"SIGNSTREAM_GLOSSER": "llm", "SIGNSTREAM_LLM_URL": llm_url})


def test_a_stream_glosses_through_the_llm_when_the_server_is_set_to(monkeypatch, demo_lexicon_dir, llm_url):
    import asyncio

    from signstream.clients.client import SignStreamClient
    from signstream.extract.base import LocalExtractor
    from signstream.text import message
    from signstream.v1 import signstream_pb2 as pb
    from tests.support.gateway import GatewayThread, read_all

    monkeypatch.setenv("SIGNSTREAM_GLOSSER", "llm")
    monkeypatch.setenv("SIGNSTREAM_LLM_URL", llm_url)
    monkeypatch.setenv("SIGNSTREAM_LLM_MODEL", "fake-model")
    message._process_llm_settings.cache_clear()
    gateway = GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))), LocalExtractor()).start()

    async def main():
        async with SignStreamClient(gateway.target) as client:
            call = client.synthesize(pb.SessionConfig(encoding=pb.NONE))
            await call.send_text("invalid")
            await call.done_sending()
            return await read_all(call)

    try:
        responses, error = asyncio.run(main())
    finally:
        gateway.stop()
        monkeypatch.undo()
        message._process_llm_settings.cache_clear()
    assert error is None
    ids = [r.frame.sign_id for r in responses if r.WhichOneof("kind") == "frame"]
    assert [s for i, s in enumerate(ids) if i == 0 or ids[i - 1] != s] == \
        "¶thank-you ¶friend ¶fs-a ¶fs-n ¶fs-p ¶fs-r ¶fs-i ¶fs-y ¶fs-a".split()
    notices = [r.notice.code for r in responses if r.WhichOneof("kind") == "notice"]
    assert notices == [LLM_INVALID_ID] * 4
