"""The gateway running in a thread of its own (its own event loop), for tests that call it over real
gRPC on a free loopback port."""
from __future__ import annotations

import asyncio
import threading

import grpc

from signstream.gateway.app import Gateway, GatewayOptions


class GatewayThread:
    def __init__(self, lexicon, extractor, **options):
        self.gateway = Gateway(lexicon, extractor, GatewayOptions(port=0, **options))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="gateway-loop", daemon=True)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.gateway.port}"

    def call(self, coroutine, timeout: float = 120):
        """Run a coroutine on the gateway's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> "GatewayThread":
        self._thread.start()
        self.call(self.gateway.start())
        return self

    def stop(self) -> None:
        try:
            self.call(self.gateway.stop(grace=2))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()

    def metric(self, name: str, **labels) -> float:
        """A metric's current value from the gateway's registry (0 when never touched)."""
        text = self.gateway.registry.render()
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        series = f"{name}{{{want}}}" if labels else name
        for line in text.splitlines():
            if line.startswith(series + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


async def read_all(call) -> tuple[list, grpc.aio.AioRpcError | None]:
    """Every response of a grpc.aio call, and the error it ended with (None when it ended OK)."""
    got = []
    try:
        async for response in call:
            got.append(response)
    except grpc.aio.AioRpcError as error:
        return got, error
    return got, None


def local_gateway(lexicon_dir, **options) -> GatewayThread:
    """A started gateway on the lexicon folder with in-process extraction (a LocalExtractor of its own,
    closed by stop)."""
    from signstream.config import Settings
    from signstream.extract.base import LocalExtractor
    from signstream.lexicon import open_lexicon

    return GatewayThread(open_lexicon(Settings(lexicon=str(lexicon_dir))), LocalExtractor(), **options).start()
