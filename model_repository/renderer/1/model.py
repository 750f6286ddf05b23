"""Triton python-backend adapter: the NEURAL renderer's BLS orchestrator (signstream.neural.orchestrator),
decoupled, `async def execute`. Each request gets exactly one response, sent with the final flag."""
from signstream.neural.renderer_model import RendererModel


class TritonPythonModel(RendererModel):
    pass
