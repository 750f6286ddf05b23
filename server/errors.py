"""One family of domain errors.

Each error carries a stable `code` (used in `Notice.code` and logs) and a `status` naming the gRPC
status code it maps to. The gRPC layer maps them in one place; nothing here imports grpc.
Messages say what was wrong and what to do about it.
"""
from __future__ import annotations


class SignStreamError(Exception):
    """Base of every error SignStream raises on purpose."""

    code = "INTERNAL"
    status = "INTERNAL"
    logged = False          # True: logged where it was found (rate-limited), not again per call

    def __init__(self, message: str, *, sign_id: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.sign_id = sign_id
        self.field = field


class InvalidArgument(SignStreamError):
    code = "INVALID_ARGUMENT"
    status = "INVALID_ARGUMENT"


class MalformedMessage(InvalidArgument):
    """A request whose bytes do not parse as its message type (garbage, a string that is not UTF-8)."""

    code = "MALFORMED_MESSAGE"
    logged = True


class InvalidSignId(InvalidArgument):
    """A sign ID that cannot be an ID at all (empty, too long, path separators, control chars)."""

    code = "INVALID_SIGN_ID"


class StyleImageError(InvalidArgument):
    """The style image cannot be decoded or is out of limits."""

    code = "INVALID_STYLE_IMAGE"


class InvalidImage(InvalidArgument):
    """A Retarget input frame that cannot be decoded or is out of limits: that frame is skipped with a
    Notice, the stream goes on."""

    code = "INVALID_IMAGE"


class InvalidAudio(InvalidArgument):
    """A Gesture audio chunk that is not PCM16 mono at 16 kHz within the size limit: the stream ends with it,
    after every frame of the audio before it."""

    code = "INVALID_AUDIO"


class NoPersonError(StyleImageError):
    """The style image decodes but no person is found in it."""

    code = "NO_PERSON"


class UnknownSign(SignStreamError):
    """A well-formed sign ID that the lexicon does not hold."""

    code = "UNKNOWN_SIGN"
    status = "NOT_FOUND"


class CorruptClip(SignStreamError):
    """A keypoint clip or sign-table row in the store that cannot be read."""

    code = "CORRUPT_CLIP"
    status = "DATA_LOSS"


class CorruptVideo(SignStreamError):
    """A source video in the video store that cannot be decoded (empty, truncated, not a video)."""

    code = "CORRUPT_VIDEO"
    status = "DATA_LOSS"


class StoreUnavailable(SignStreamError):
    """The lexicon store (directory or S3) cannot be reached or read."""

    code = "STORE_UNAVAILABLE"
    status = "UNAVAILABLE"


class LexiconNotFound(SignStreamError):
    """The lexicon location holds no sign table."""

    code = "LEXICON_NOT_FOUND"
    status = "FAILED_PRECONDITION"


class TritonUnavailable(SignStreamError):
    """Triton cannot be started or reached, or a model it needs is not loaded."""

    code = "TRITON_UNAVAILABLE"
    status = "UNAVAILABLE"


class ExtractionFailed(SignStreamError):
    """Triton answered an extraction request with an error (e.g. the image was unusable)."""

    code = "EXTRACTION_FAILED"
    status = "INVALID_ARGUMENT"


class GpuUnavailable(SignStreamError):
    """A GPU-only path (TensorRT, pycuda) was asked for on a host without them."""

    code = "GPU_UNAVAILABLE"
    status = "FAILED_PRECONDITION"


class UnusableWeights(InvalidArgument):
    """Local model folders that `signstream renderer export` cannot turn into the NEURAL contract:
    a folder or file that is not there, another model class, or shapes the contract does not take."""

    code = "UNUSABLE_WEIGHTS"


class MissingExtra(SignStreamError):
    """A tool that needs an optional extra (e.g. `export`: torch and diffusers) run without it."""

    code = "MISSING_EXTRA"
    status = "FAILED_PRECONDITION"


class Overloaded(SignStreamError):
    """The server already runs as many streams as it may; the client should retry later."""

    code = "OVERLOADED"
    status = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, *, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RendererFailed(SignStreamError):
    """The neural renderer (Triton's `renderer` model) failed a frame of a stream."""

    code = "RENDERER_FAILED"
    status = "UNAVAILABLE"


class RendererUnavailable(SignStreamError):
    """A NEURAL stream was asked for where it cannot render: this gateway has no Triton (it extracts
    in-process), or the Triton it uses has no ready `renderer` / `pose2img` model (its weights are
    missing). SKELETON streams are unaffected."""

    code = "RENDERER_UNAVAILABLE"
    status = "FAILED_PRECONDITION"


class SourceUnavailable(SignStreamError):
    """A Gesture stream asked for a source this server cannot run: `aqgt` without a Triton, or on a
    Triton where the user's exported AQ-GT models are not installed. `beat` streams are unaffected."""

    code = "SOURCE_UNAVAILABLE"
    status = "FAILED_PRECONDITION"


class FrameDropped(SignStreamError):
    """A frame being rendered was dropped because its stream ended or its request was cancelled."""

    code = "FRAME_DROPPED"
    status = "CANCELLED"


class ShuttingDown(SignStreamError):
    """The server is draining (SIGTERM/SIGINT): open streams finish, new ones go to another server."""

    code = "SHUTTING_DOWN"
    status = "UNAVAILABLE"


class LimitExceeded(SignStreamError):
    """A stream went past one of its per-stream limits (e.g. signs per stream)."""

    code = "LIMIT_EXCEEDED"
    status = "RESOURCE_EXHAUSTED"


class StreamTimeout(SignStreamError):
    """A stream was idle, ran too long, or its client stopped reading for too long."""

    code = "STREAM_TIMEOUT"
    status = "DEADLINE_EXCEEDED"


class GatewayUnreachable(SignStreamError):
    """A client found no gateway to talk to: nothing listens at the address, the connection failed
    (TLS on one side only, a certificate the client does not trust) or was lost. Raised by clients."""

    code = "GATEWAY_UNREACHABLE"
    status = "UNAVAILABLE"


class NotAuthorized(SignStreamError):
    """The gateway refused a client's call for its credentials (no bearer token, a wrong one).
    Raised by clients; the gateway's own refusal is gateway/security.py's UNAUTHENTICATED."""

    code = "NOT_AUTHORIZED"
    status = "UNAUTHENTICATED"


class MessageTooLarge(LimitExceeded):
    """A message over the transport's size limit (the web viewer's socket: one style image)."""

    code = "MESSAGE_TOO_LARGE"


class UnexpectedMessage(InvalidArgument):
    """A message of a kind the protocol does not expect at that point (binary data where a JSON
    message belongs, a sign before the config)."""

    code = "UNEXPECTED_MESSAGE"


class Unauthenticated(SignStreamError):
    """The server refused a request that carried no valid bearer token."""

    code = "UNAUTHENTICATED"
    status = "UNAUTHENTICATED"


class OriginNotAllowed(SignStreamError):
    """A browser request from a page whose Origin is not on the server's allow-list."""

    code = "ORIGIN_NOT_ALLOWED"
    status = "PERMISSION_DENIED"
