"""Async client for the SignStream gateway (grpc.aio).

    async with SignStreamClient("127.0.0.1:50051") as client:
        call = client.synthesize(SessionConfig(style_image=png))
        await call.send("¶hello")              # frames of ¶hello start arriving at once
        async for response in call:             # SynthesizeResponse: frame or notice
            ...
        await call.done_sending()               # after the last sign; the stream then ends

`synthesize_all` sends a whole sentence and collects everything; `stream_sentence` interleaves
sending with reading the way a live client does. A gateway served with TLS and/or bearer tokens is
reached with `SignStreamClient(target, security=ChannelSecurity(credentials, metadata))` (the CLI
builds it from --tls-ca/--tls-cert/--tls-key/--auth-token-file in `signstream.cli.common`).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from signstream.errors import InvalidArgument
from signstream.gesture.source import SAMPLE_RATE
from signstream.text.items import Text
from signstream.v1 import signstream_pb2 as pb
from signstream.v1 import signstream_pb2_grpc as pb_grpc

MAX_MESSAGE_BYTES = 64 * 1024 * 1024      # a response: one frame (RAW_RGB 4096² is 48 MiB)
# A request: the gateway's receive limit. A larger style image or video frame is refused here, with
# RESOURCE_EXHAUSTED, instead of being sent to be refused (README "Limits").
MAX_REQUEST_BYTES = 16 * 1024 * 1024


def arrival_summary(arrivals: list[float]) -> dict:
    """Frame arrival times (seconds since the call started) -> time to first frame, frames/s and
    inter-frame gaps, in milliseconds where they are times."""
    times = np.asarray(arrivals, dtype=np.float64)
    gaps = np.diff(times) * 1000 if len(times) > 1 else np.zeros(1)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {"frames": len(times), "first_frame_ms": 1000 * times[0] if len(times) else None,
            "frames_per_s": (len(times) - 1) / span if span > 0 else 0.0,
            "gap_p50_ms": float(np.median(gaps)), "gap_p99_ms": float(np.percentile(gaps, 99)),
            "gap_max_ms": float(gaps.max())}


class StreamCall:
    """One bidirectional Synthesize, Retarget or Gesture call: send items, read responses."""

    def __init__(self, call, request_type, config: pb.SessionConfig, field: str):
        self._call = call
        self._request_type = request_type
        self._field = field
        self._config_sent = False
        self._config = config

    async def _write(self, request, what: str) -> None:
        """Write one request; one over the gateway's limit raises InvalidArgument and is not sent (a
        write that gRPC refuses surfaces as INTERNAL in grpc.aio, grpc/grpc#36066)."""
        size = request.ByteSize()
        if size > MAX_REQUEST_BYTES:
            raise InvalidArgument(f"{what} is {size / 2**20:.1f} MiB; the gateway takes at most "
                                  f"{MAX_REQUEST_BYTES >> 20} MiB per message: send a smaller image", field=what)
        await self._call.write(request)

    async def _ensure_config(self) -> None:
        if not self._config_sent:
            self._config_sent = True
            await self._write(self._request_type(config=self._config), "config")

    async def send(self, item) -> None:
        """Send one sign ID or Text (Synthesize), one encoded image (Retarget) or one audio chunk (Gesture:
        PCM16 LE mono 16 kHz bytes, at most 0.5 s)."""
        if isinstance(item, Text):
            await self.send_text(item.text)
            return
        await self._ensure_config()
        await self._write(self._request_type(**{self._field: item}), self._field)

    async def send_word(self, text: str, start_ms: int, end_ms: int) -> None:
        """Send one timed word (Gesture)."""
        await self._ensure_config()
        await self._write(self._request_type(word=pb.TimedWord(text=text, start_ms=start_ms, end_ms=end_ms)), "word")

    async def send_text(self, text: str) -> None:
        """Send one text (Synthesize): the gateway glosses it and streams its signs as sign IDs stream."""
        await self._ensure_config()
        await self._write(self._request_type(text=text), "text")

    async def done_sending(self) -> None:
        await self._ensure_config()
        await self._call.done_writing()

    def __aiter__(self) -> AsyncIterator[pb.SynthesizeResponse]:
        return self._responses()

    async def _responses(self) -> AsyncIterator[pb.SynthesizeResponse]:
        await self._ensure_config()
        while (response := await self._call.read()) is not grpc.aio.EOF:
            yield response

    def cancel(self) -> bool:
        return self._call.cancel()


@dataclass(frozen=True)
class ChannelSecurity:
    """How to reach the gateway: TLS channel credentials (None: plaintext) and metadata sent with every
    call (the bearer token, hence kept out of the repr)."""
    credentials: grpc.ChannelCredentials | None = None
    metadata: tuple[tuple[str, str], ...] = field(default=(), repr=False)


class SignStreamClient:
    """The gateway's calls; each carries `security.metadata` (calls made on `stub` directly must pass it)."""

    def __init__(self, target: str, *, security: ChannelSecurity = ChannelSecurity()):
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_REQUEST_BYTES)]
        self.channel = (grpc.aio.secure_channel(target, security.credentials, options) if security.credentials
                        else grpc.aio.insecure_channel(target, options))
        self.target = target
        self.stub = pb_grpc.SignStreamStub(self.channel)
        self.metadata = security.metadata

    def synthesize(self, config: pb.SessionConfig) -> StreamCall:
        return StreamCall(self.stub.Synthesize(metadata=self.metadata), pb.SynthesizeRequest, config, "sign_id")

    def retarget(self, config: pb.SessionConfig) -> StreamCall:
        return StreamCall(self.stub.Retarget(metadata=self.metadata), pb.RetargetRequest, config, "image")

    def gesture(self, config: pb.GestureConfig) -> StreamCall:
        return StreamCall(self.stub.Gesture(metadata=self.metadata), pb.GestureRequest, config, "audio")

    async def gesture_all(self, config: pb.GestureConfig, pcm16: bytes, chunk_bytes: int = 16_000,
                          words: Iterable[tuple[str, int, int]] = ()) -> list[pb.SynthesizeResponse]:
        """Send the words, then the audio in chunks of `chunk_bytes` (at most 0.5 s) while reading the
        stream (frames come back while audio is still going out); every response."""
        return [response async for response, _ in self.stream_audio(config, pcm16, chunk_bytes, words=words)]

    async def stream_audio(self, config: pb.GestureConfig, pcm16: bytes, chunk_bytes: int = 16_000,
                           live: bool = False, words: Iterable[tuple[str, int, int]] = (),
                           sent_at: list[float] | None = None) -> AsyncIterator[tuple[pb.SynthesizeResponse, float]]:
        """A Gesture call: the words, then the audio in chunks (`live`: each at its playing time, as a
        microphone would), read while sending; yields (response, seconds since the call started).
        `sent_at` gets each chunk's send time (seconds since the start) as it goes out."""
        call = self.gesture(config)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await call._ensure_config()          # before the reader starts: one write at a time

        async def send() -> None:
            for text, start_ms, end_ms in words:
                await call.send_word(text, start_ms, end_ms)
            for at in range(0, len(pcm16), chunk_bytes):
                if live:
                    await asyncio.sleep(max(0.0, start + at / (2 * SAMPLE_RATE) - loop.time()))   # PCM16: 2 bytes a sample
                await call.send(pcm16[at:at + chunk_bytes])
                if sent_at is not None:
                    sent_at.append(loop.time() - start)
            await call.done_sending()

        sender = asyncio.create_task(send())
        try:
            async for response in call:
                yield response, loop.time() - start
        finally:
            sender.cancel()             # done already, unless the call ended first
            await asyncio.gather(sender, return_exceptions=True)

    async def synthesize_all(self, config: pb.SessionConfig, sign_ids: Iterable[str]) -> list[pb.SynthesizeResponse]:
        """Send every sign ID at once, then read the whole stream."""
        call = self.synthesize(config)
        for sign_id in sign_ids:
            await call.send(sign_id)
        await call.done_sending()
        return [response async for response in call]

    async def stream_sentence(self, config: pb.SessionConfig, sign_ids: Iterable[str],
                              ) -> AsyncIterator[tuple[pb.SynthesizeResponse, float]]:
        """Like a live client: each sign (or Text) is sent once the previous one's first frame (or
        notice) arrived; yields (response, seconds since the call started)."""
        ids = list(sign_ids)
        call = self.synthesize(config)
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        if ids:
            await call.send(ids[0])
            sent = 1
        if sent == len(ids):
            await call.done_sending()
        previous: pb.Frame | None = None
        async for response in call:
            yield response, loop.time() - start
            kind = response.WhichOneof("kind")
            frame = response.frame if kind == "frame" else None
            # A sign showed up: a notice (it was skipped), or a frame that starts it (another sign
            # ID, or the first transition frame after the previous sign's own frames).
            started = kind == "notice" or previous is None or frame.sign_id != previous.sign_id or (
                frame.kind == pb.TRANSITION and previous.kind != pb.TRANSITION)
            previous = frame if frame is not None else previous
            if started and sent < len(ids):
                await call.send(ids[sent])
                sent += 1
                if sent == len(ids):
                    await call.done_sending()

    async def list_signs(self, prefix: str = "", limit: int = 0) -> list[str]:
        response = await self.stub.ListSigns(pb.ListSignsRequest(prefix=prefix, limit=limit), metadata=self.metadata)
        return list(response.sign_ids)

    async def extract(self, image: bytes) -> pb.Keypoints:
        return await self.stub.ExtractKeypoints(pb.ExtractRequest(image=image), metadata=self.metadata)

    async def health(self, service: str = "") -> str:
        """SERVING, NOT_SERVING, ... of the gateway (grpc.health.v1, which needs no token)."""
        response = await health_pb2_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest(service=service))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def connected(self) -> bool:
        """Whether the channel holds a working connection to the gateway now (READY): after a call
        failed with UNAVAILABLE, True means the gateway itself answered so, False that it was not reached."""
        return self.channel.get_state(try_to_connect=False) == grpc.ChannelConnectivity.READY

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> "SignStreamClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
