"""S3 faults while streaming, with real parts: a moto_server of this module's own (stopped and started
again on the same port), a loopback HTTP proxy in front of it that injects errors, timeouts and
dropped connections (tests/support/s3_faults.py), the demo lexicon in a bucket, and a real
SynthesisSession, or the gateway over real gRPC.

Small timeouts keep the waits short: connect and read 0.5 s, 3 attempts, 2 s fail-fast window. With
those, a dead S3 (connections refused) holds a stream at most 3 attempts + backoffs of up to 1 + 2 s.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import boto3
import pytest

from signstream.config import S3Settings, Settings
from signstream.extract.base import LocalExtractor
from signstream.errors import InvalidArgument, StoreUnavailable
from signstream.lexicon import open_lexicon, open_store
from signstream.lexicon.demo import demo_signs, write_demo_lexicon
from signstream.lexicon.demo_letters import letter_signs
from signstream.pipeline import FrameKind, SynthesisOptions
from signstream.outputs import FrameOut, NoticeOut
from signstream.session import open_synthesis
from signstream.spec import SessionSpec
from tests.support.s3_faults import Fault, FaultProxy, MotoServer

LENGTHS = {s.sign_id: len(s.frames) for s in demo_signs()}
ACCESS_KEY = "AKIAFAULTTESTKEY0001"                   # fake, distinctive: no message may echo them
SECRET_KEY = "fault-secret-never-echo-this"
TIMEOUT_S = 0.5                                       # connect and read timeouts in these tests
ATTEMPTS = 3
RETRY_AFTER_S = 2.0
# A refused connection fails at once: 3 attempts cost the backoffs, random(0,1) * (1 + 2) s at most.
DEAD_S3_BOUND_S = ATTEMPTS * TIMEOUT_S + 1 + 2 + 1.0          # + 1 s slack for a loaded machine


@pytest.fixture()
def credentials(tmp_path):
    """A seed-style credentials file, so the keys are known and can be looked for in messages."""
    path = tmp_path / "credentials.txt"
    path.write_text(f"aws_access_key_id={ACCESS_KEY}\naws_secret_access_key={SECRET_KEY}\n")
    return str(path)


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    """This module's own moto_server (not the session's `moto_s3`: tests here stop it)."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture()
def moto(moto_server):
    """The module's moto_server, running (started again if the previous test stopped it)."""
    return moto_server.start()


@pytest.fixture()
def proxy(moto):
    """The fault-injecting proxy in front of `moto`; stopped in teardown (which ends any stall)."""
    with FaultProxy(moto.endpoint) as running:
        yield running


@pytest.fixture(scope="module")
def extractor():
    """The real in-process extractor (the sessions here have no style image, so it stays idle)."""
    local = LocalExtractor()
    yield local
    asyncio.run(local.close())


def s3_settings(endpoint: str, credentials: str, **changes) -> S3Settings:
    values = dict(connect_timeout_s=TIMEOUT_S, read_timeout_s=TIMEOUT_S, max_attempts=ATTEMPTS,
                  retry_after_s=RETRY_AFTER_S)
    return S3Settings(endpoint_url=endpoint, region="us-east-1", credentials_file=credentials,
                      **{**values, **changes})


def upload_demo_lexicon(moto: MotoServer, credentials: str, bucket: str) -> str:
    """Create the bucket and write the demo lexicon into it, straight to moto; its location."""
    boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                 aws_secret_access_key=SECRET_KEY).create_bucket(Bucket=bucket)
    location = f"s3://{bucket}/demo"
    write_demo_lexicon(location, s3=s3_settings(moto.endpoint, credentials))
    return location


@pytest.fixture()
def location(moto, credentials):
    return upload_demo_lexicon(moto, credentials, f"faults-{uuid.uuid4().hex[:10]}")


# linear transitions: each sign's frames are all out when its add() ends (a smooth join would hold
# its last ones back for the next sign), so a sign that streamed shows its whole clip
SPEC = SessionSpec(encoding="none", options=SynthesisOptions(transition="linear"))


@dataclass
class Added:
    """What one session.add(sign) gave, and how long it took."""

    sign: str
    frames: list[FrameOut] = field(default_factory=list)
    notices: list[NoticeOut] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sign_frames(self) -> int:
        return sum(f.kind == FrameKind.SIGN for f in self.frames)


def stream(lexicon, extractor, steps) -> list[Added]:
    """One real SynthesisSession (encoding none); `steps` are sign IDs to add, or callables run
    (in a thread) between them, e.g. stopping moto. Returns one Added per sign ID."""
    async def main():
        with ThreadPoolExecutor(2) as executor:
            session = await open_synthesis(SPEC, lexicon, extractor, executor)
            results = []
            try:
                for step in steps:
                    if callable(step):
                        await asyncio.to_thread(step)
                        continue
                    added, started = Added(step), time.monotonic()
                    async for out in session.add(step):
                        (added.frames if isinstance(out, FrameOut) else added.notices).append(out)
                    added.seconds = time.monotonic() - started
                    results.append(added)
            finally:
                session.close()
            return results
    return asyncio.run(main())


def assert_streamed(added: Added) -> None:
    assert added.notices == [], added.notices
    assert added.sign_frames == LENGTHS[added.sign], added


def assert_store_unavailable(added: Added, *, within: float) -> NoticeOut:
    """The sign got exactly one STORE_UNAVAILABLE notice, no frames, within `within` seconds, and
    the message says what to do and gives no credential, bucket or endpoint away."""
    assert added.frames == [] and [n.code for n in added.notices] == ["STORE_UNAVAILABLE"], added
    assert added.seconds < within, f"{added.sign}: the notice took {added.seconds:.2f} s (bound {within:.2f} s)"
    notice = added.notices[0]
    assert notice.sign_id == f"\u00b6{added.sign}"
    assert "check that the S3 endpoint" in notice.message and "skipped" in notice.message
    assert ACCESS_KEY not in notice.message and SECRET_KEY not in notice.message
    assert "://" not in notice.message and "127.0.0.1" not in notice.message
    return notice


# -- (1) transient errors: retried with backoff, the stream never notices --------------------------

@pytest.mark.parametrize("fault", [
    Fault("status", r"/clips/hello-", times=2, status=503, code="SlowDown"),
    Fault("status", r"/clips/hello-", times=2, status=500, code="InternalError"),
    Fault("reset", r"/clips/hello-", times=2),
], ids=["503-SlowDown", "500-InternalError", "connection-reset"])
def test_transient_errors_on_the_first_two_gets_are_retried_and_the_sign_streams(
        proxy, location, credentials, extractor, fault):
    proxy.add(dataclasses.replace(fault, pattern=r"/signs\.json", times=1))   # the table, once
    proxy.add(dataclasses.replace(fault))          # parametrize shares the object: add a copy
    lexicon = open_lexicon(Settings(lexicon=location, s3=s3_settings(proxy.endpoint, credentials)))
    [hello] = stream(lexicon, extractor, ["hello"])
    assert_streamed(hello)
    # Each object was asked for again after each fault, until it came.
    assert [s.action for s in proxy.seen("GET", r"/signs\.json")] == [fault.kind, "forwarded"]
    assert [s.action for s in proxy.seen("GET", r"/clips/hello-")] == [fault.kind, fault.kind, "forwarded"]


def test_exhausted_retries_are_a_store_unavailable_notice_and_the_stream_goes_on(
        proxy, location, credentials, extractor):
    """The same two 503s with only two attempts: that sign is skipped with a notice that says what
    to check; the next sign streams (fail-fast off here, so it is tried at once)."""
    settings = s3_settings(proxy.endpoint, credentials, max_attempts=2, retry_after_s=0.0)
    proxy.add(Fault("status", r"/clips/hello-", times=2, status=503, code="SlowDown"))
    lexicon = open_lexicon(Settings(lexicon=location, s3=settings))
    hello, yes = stream(lexicon, extractor, ["hello", "yes"])
    notice = assert_store_unavailable(hello, within=DEAD_S3_BOUND_S)
    assert "SlowDown" in notice.message and "after 2 attempts" in notice.message
    assert_streamed(yes)
    assert len(proxy.seen("GET", r"/clips/hello-")) == 2


def test_max_attempts_counts_every_attempt_and_a_dead_s3_is_store_unavailable(proxy, location, credentials):
    """S3Settings.max_attempts is the total (botocore's own `max_attempts` would count retries only,
    one more attempt than asked); bad settings are refused up front."""
    proxy.add(Fault("status", r"/signs\.json", times=100, status=503, code="SlowDown"))
    store = open_store(location, s3_settings(proxy.endpoint, credentials))
    with pytest.raises(StoreUnavailable) as info:
        store.get("signs.json")
    assert len(proxy.seen("GET", r"/signs\.json")) == ATTEMPTS
    assert f"after {ATTEMPTS} attempts" in info.value.message and SECRET_KEY not in info.value.message
    for bad in ({"max_attempts": 0}, {"read_timeout_s": 0.0}):
        with pytest.raises(InvalidArgument, match=next(iter(bad))):
            open_store(location, s3_settings(proxy.endpoint, credentials, **bad))


# -- (2) timeouts and broken bodies: retried ----------------------------------------------------------

@pytest.mark.parametrize("fault", [
    Fault("stall", r"/clips/hello-", times=1, seconds=3 * TIMEOUT_S),       # no headers in time
    Fault("cut_body", r"/clips/hello-", times=1, seconds=3 * TIMEOUT_S),    # half a body, then silence
    Fault("cut_body", r"/clips/hello-", times=1),                           # half a body, then a reset
], ids=["read-timeout", "body-stalls", "body-cut"])
def test_a_read_timeout_or_a_broken_body_is_retried_and_the_sign_streams(
        proxy, location, credentials, extractor, fault):
    lexicon = open_lexicon(Settings(lexicon=location, s3=s3_settings(proxy.endpoint, credentials)))
    lexicon.table                                                  # loaded before the fault
    proxy.add(dataclasses.replace(fault))
    [hello] = stream(lexicon, extractor, ["hello"])
    assert_streamed(hello)
    assert [s.action for s in proxy.seen("GET", r"/clips/hello-")] == [fault.kind, "forwarded"]
    if fault.seconds:
        assert hello.seconds >= TIMEOUT_S                          # it did wait out the read timeout


# -- (3) S3 stops mid-stream: a bounded notice; cached signs keep streaming (real gRPC) -------------

def test_s3_stopping_mid_stream_costs_one_bounded_notice_and_cached_signs_keep_streaming(
        moto, location, credentials):
    from signstream.clients.client import SignStreamClient
    from signstream.v1 import signstream_pb2 as pb
    from tests.support.gateway import GatewayThread

    lexicon = open_lexicon(Settings(lexicon=location, s3=s3_settings(moto.endpoint, credentials)))
    gateway = GatewayThread(lexicon, LocalExtractor()).start()     # stop() closes its extractor

    async def next_sign(responses, sign: str, started: float):
        """Read one sign's worth: its frames until the last SIGN frame, or its notice."""
        frames, want = 0, LENGTHS.get(sign.lstrip("\u00b6"), 0)
        async for response in responses:
            if response.WhichOneof("kind") == "notice":
                return response.notice, time.monotonic() - started
            frames += response.frame.kind == pb.SIGN
            if frames == want:
                return frames, time.monotonic() - started
        raise AssertionError(f"the stream ended while waiting for {sign}")

    async def main():
        async with SignStreamClient(gateway.target) as client:
            call = client.synthesize(pb.SessionConfig(encoding=pb.NONE))
            responses = aiter(call)
            got = {}
            for sign in ("hello", "stop", "yes", "no", "nope", "hello"):
                if sign == "stop":
                    await asyncio.to_thread(moto.stop)
                    got["signs while down"] = await client.list_signs()
                    continue
                started = time.monotonic()
                await call.send(sign)
                got.setdefault(sign, []).append(await next_sign(responses, sign, started))
            await call.done_sending()
            got["rest"] = [r async for r in responses]
            return got

    try:
        got = asyncio.run(main())
    finally:
        gateway.stop()
    assert got["hello"][0][0] == LENGTHS["hello"]                  # streamed from S3 while it was up
    yes, yes_seconds = got["yes"][0]                               # uncached: tried, retried, given up
    assert yes.code == "STORE_UNAVAILABLE" and yes.sign_id == "\u00b6yes" and yes_seconds < DEAD_S3_BOUND_S
    assert "check that the S3 endpoint" in yes.message and ACCESS_KEY not in yes.message and SECRET_KEY not in yes.message
    assert "://" not in yes.message and "127.0.0.1" not in yes.message
    no, no_seconds = got["no"][0]                                  # within the window: no new wait
    assert no.code == "STORE_UNAVAILABLE" and no_seconds < 0.5 and "tried again in" in no.message
    nope, _ = got["nope"][0]                                       # the table is cached: still answered
    assert nope.code == "UNKNOWN_SIGN"
    assert got["hello"][1][0] == LENGTHS["hello"]                  # cached: all its frames, S3 down
    assert sorted(got["signs while down"]) == sorted([*LENGTHS, *(s.sign_id for s in letter_signs())])
    assert got["rest"] == []                                       # and the call ended OK


# -- (4) S3 comes back: nothing stays poisoned ---------------------------------------------------------

def test_when_s3_comes_back_the_failed_sign_streams_again(moto, location, credentials, extractor):
    lexicon = open_lexicon(Settings(lexicon=location, s3=s3_settings(moto.endpoint, credentials)))
    bucket = location.split("/")[2]

    def restart():
        moto.start()                                   # same port; moto keeps no data across restarts
        upload_demo_lexicon(moto, credentials, bucket)
        time.sleep(RETRY_AFTER_S)                      # past the fail-fast window

    hello, yes_down, yes_back, no = stream(lexicon, extractor, ["hello", moto.stop, "yes", restart, "yes", "no"])
    assert_streamed(hello)
    assert_store_unavailable(yes_down, within=DEAD_S3_BOUND_S)
    assert_streamed(yes_back)
    assert_streamed(no)


def test_a_table_that_cannot_be_loaded_is_a_notice_per_sign_until_s3_returns(
        moto, location, credentials, extractor):
    """S3 down before the first lookup: no table yet, so every sign gets a notice (the stream does
    not end), the first after the retries and the next one at once; once S3 is back the table loads."""
    lexicon = open_lexicon(Settings(lexicon=location, s3=s3_settings(moto.endpoint, credentials)))
    bucket = location.split("/")[2]

    def restart_and_wait():
        moto.start()
        upload_demo_lexicon(moto, credentials, bucket)
        time.sleep(RETRY_AFTER_S)

    hello, yes, hello_back = stream(lexicon, extractor, [moto.stop, "hello", "yes", restart_and_wait, "hello"])
    notice = assert_store_unavailable(hello, within=DEAD_S3_BOUND_S)
    assert "signs.json" in notice.message
    assert [n.code for n in yes.notices] == ["STORE_UNAVAILABLE"] and yes.seconds < 0.5
    assert_streamed(hello_back)


# -- known gap, outside the lexicon: cached lookups share a thread pool with blocked S3 reads -------

def test_cached_signs_do_not_wait_behind_s3_reads_blocked_in_other_streams(proxy, location, credentials, extractor):
    lexicon = open_lexicon(Settings(lexicon=location, s3=s3_settings(
        proxy.endpoint, credentials, read_timeout_s=3.0, max_attempts=1)))
    stream(lexicon, extractor, ["hello"])                          # table loaded, hello cached
    proxy.add(Fault("stall", r"/clips/", times=100, seconds=10.0))   # every other clip: no answer
    uncached = [s for s in LENGTHS if s != "hello"][:8]

    async def first_frame_seconds(sign: str, executor) -> float:
        session = await open_synthesis(SPEC, lexicon, extractor, executor)
        started = time.monotonic()
        try:
            async for _ in session.add(sign):
                return time.monotonic() - started
        finally:
            session.close()
        return time.monotonic() - started

    async def main():
        with ThreadPoolExecutor(2) as executor:
            blocked = [asyncio.create_task(first_frame_seconds(s, executor)) for s in uncached]
            await asyncio.sleep(0.3)                               # their reads are stuck in threads now
            cached = await first_frame_seconds("hello", executor)
            await asyncio.gather(*blocked)
            return cached

    assert asyncio.run(main()) < 0.5
