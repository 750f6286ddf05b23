"""`serve --glosser llm`: checked before anything starts, then handed to every gateway process in the
environment that stream glossing reads (the same settings `text2signs --glosser llm` takes)."""
from __future__ import annotations

import os

import pytest

from signstream.cli import build_parser
from signstream.cli.serve import _use_glosser
from signstream.text.message import llm_settings_from_env


def _args(*argv):
    return build_parser().parse_args(["serve", *argv])


def test_llm_settings_reach_the_environment_stream_glossing_reads(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("SIGNSTREAM_LLM") or name == "SIGNSTREAM_GLOSSER":
            monkeypatch.delenv(name)
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Gloss {text} with {signs}")
    key = tmp_path / "key"
    key.write_text("secret-key\n")
    monkeypatch.setattr(os, "environ", dict(os.environ))            # what _use_glosser writes stays here
    _use_glosser(_args("--glosser", "llm", "--llm-url", "http://127.0.0.1:9/v1/", "--llm-model", "m",
                       "--llm-prompt", str(prompt), "--llm-api-key-file", str(key), "--llm-timeout", "3"))
    settings = llm_settings_from_env(os.environ)
    assert (settings.base_url, settings.model, settings.api_key, settings.timeout_s) == (
        "http://127.0.0.1:9/v1", "m", "secret-key", 3.0)
    assert settings.user_prompt == "Gloss {text} with {signs}"


def test_rules_touch_nothing_and_bad_llm_settings_stop_start_up(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    before = dict(os.environ)
    _use_glosser(_args())
    assert os.environ == before
    with pytest.raises(SystemExit, match="--llm-model is needed"):
        _use_glosser(_args("--glosser", "llm", "--llm-url", "http://127.0.0.1:9/v1"))
