"""The browser viewer in a real headless browser: Debian's chromium driven by Playwright (never
`playwright install`), against `signstream serve --web-port`. The page gets the astronaut photo and
three signs typed one by one (Enter each, while the avatar still signs), one of them unknown; it
draws frames (the canvas is not all black), shows the latency readout and the unknown sign's
Notice, and offers an MP4 with as many frames as were streamed. Both decoders: WebCodecs H.264, and
the JPEG fallback that a browser whose VideoDecoder refuses H.264 takes."""
from __future__ import annotations

import shutil

import av
import cv2
import pytest

from signstream.clients.process import SignstreamProcess
from signstream.net import free_port
from tests.support.photos import PHOTOS
from tests.support.processes import started

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SIGNS = ["¶hello", "¶nosuchsign", "¶thank-you"]
NO_WEBCODECS_H264 = "VideoDecoder.isConfigSupported = async (config) => ({supported: false, config});"


@pytest.fixture(scope="module")
def viewer(triton, demo_lexicon_dir, tmp_path_factory):
    """`serve --web-port` on free ports (through the session's Triton), and its viewer's URL."""
    web_port = free_port()
    process = SignstreamProcess(
        ["serve", "--port", "0", "--web-port", str(web_port), "--metrics-port", "-1", "--processes", "1",
         "--workers", "2", "--lexicon", str(demo_lexicon_dir), "--triton-url", triton.grpc_url,
         "--wholebody", "off", "--grace", "2"],
        "SignStream serving")
    with started(process, drain=True) as server:
        assert f"viewer http://127.0.0.1:{web_port}/" in server.ready_line()
        yield f"http://127.0.0.1:{web_port}/"


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"no chromium at {CHROMIUM}: `make system-deps` installs Debian's chromium")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(PHOTOS["astronaut"](), cv2.COLOR_RGB2BGR))
    return path


CANVAS_LIT = """() => {
  const canvas = document.getElementById('avatar');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let lit = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] + pixels[i + 1] + pixels[i + 2] > 30) lit++;
  return lit;
}"""


@pytest.mark.parametrize("decoder", ["webcodecs", "jpeg"])
def test_the_page_streams_three_signs_shows_the_notice_and_offers_the_mp4(viewer, browser, astronaut, tmp_path,
                                                                          decoder):
    page = browser.new_page(viewport={"width": 1200, "height": 760})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if decoder == "jpeg":
        page.add_init_script(NO_WEBCODECS_H264)
    try:
        page.goto(viewer)
        page.wait_for_selector("body[data-state=idle]", timeout=10_000)
        page.set_input_files("#style", str(astronaut))
        for sign in SIGNS:
            page.fill("#sign", sign)
            page.press("#sign", "Enter")
            if sign == "¶nosuchsign":
                page.wait_for_selector("#notices li:has-text('UNKNOWN_SIGN')", timeout=30_000)
            else:   # the next sign goes while this one is still being signed (REALTIME pacing)
                page.wait_for_function("(sign) => document.getElementById('latency').textContent.includes(sign)",
                                       arg=sign, timeout=60_000)
        page.click("#finish")
        page.wait_for_selector("body[data-state=mp4-ready]", timeout=60_000)
        page.screenshot(path=str(tmp_path / f"viewer-{decoder}.png"))

        state = page.evaluate("() => ({mode: signstreamViewer.mode, codec: signstreamViewer.codec, "
                              "drawn: signstreamViewer.drawn, sent: signstreamViewer.serverFrames, "
                              "latencies: signstreamViewer.latencies.map(l => l.ms)})")
        assert state["mode"] == ("h264" if decoder == "webcodecs" else "jpeg")
        if decoder == "webcodecs":
            assert state["codec"].startswith("avc1.")
            assert page.text_content("#mode").startswith("H.264")
        else:
            assert "JPEG fallback" in page.text_content("#mode")
        assert state["sent"] > 0 and state["drawn"] == state["sent"]
        assert page.evaluate(CANVAS_LIT) > 0, "the canvas is all black"
        assert len(state["latencies"]) == 2 and all(ms > 0 for ms in state["latencies"])
        assert "ms (¶thank-you)" in page.text_content("#latency")
        assert page.text_content("#fps") != "–"
        assert "¶nosuchsign" in page.text_content("#notices")
        assert not errors, errors

        with page.expect_download() as download:
            page.click("#download")
        mp4 = tmp_path / f"viewer-{decoder}.mp4"
        download.value.save_as(mp4)
        with av.open(str(mp4)) as container:
            video = container.streams.video[0]
            assert video.codec_context.name == "h264"
            assert sum(1 for _ in container.decode(video)) == state["sent"]
    finally:
        page.close()
