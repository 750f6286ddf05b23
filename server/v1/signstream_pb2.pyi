from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JPEG: _ClassVar[Encoding]
    PNG: _ClassVar[Encoding]
    RAW_RGB: _ClassVar[Encoding]
    H264: _ClassVar[Encoding]
    NONE: _ClassVar[Encoding]

class Pacing(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASAP: _ClassVar[Pacing]
    REALTIME: _ClassVar[Pacing]

class Renderer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SKELETON: _ClassVar[Renderer]
    NEURAL: _ClassVar[Renderer]

class FrameKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGN: _ClassVar[FrameKind]
    TRANSITION: _ClassVar[FrameKind]
    INSERTED: _ClassVar[FrameKind]
    GESTURE: _ClassVar[FrameKind]
JPEG: Encoding
PNG: Encoding
RAW_RGB: Encoding
H264: Encoding
NONE: Encoding
ASAP: Pacing
REALTIME: Pacing
SKELETON: Renderer
NEURAL: Renderer
SIGN: FrameKind
TRANSITION: FrameKind
INSERTED: FrameKind
GESTURE: FrameKind

class SynthesizeRequest(_message.Message):
    __slots__ = ("config", "sign_id", "text")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    SIGN_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    config: SessionConfig
    sign_id: str
    text: str
    def __init__(self, config: _Optional[_Union[SessionConfig, _Mapping]] = ..., sign_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class RetargetRequest(_message.Message):
    __slots__ = ("config", "image")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    config: SessionConfig
    image: bytes
    def __init__(self, config: _Optional[_Union[SessionConfig, _Mapping]] = ..., image: _Optional[bytes] = ...) -> None: ...

class SessionConfig(_message.Message):
    __slots__ = ("style_image", "num_interpolation", "num_insert_interpolation", "encoding", "width", "height", "pacing", "fps", "include_keypoints", "renderer", "normalization", "transition", "keypoint_filter", "fingerspell", "neural_model", "neural_steps", "seed")
    STYLE_IMAGE_FIELD_NUMBER: _ClassVar[int]
    NUM_INTERPOLATION_FIELD_NUMBER: _ClassVar[int]
    NUM_INSERT_INTERPOLATION_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PACING_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_KEYPOINTS_FIELD_NUMBER: _ClassVar[int]
    RENDERER_FIELD_NUMBER: _ClassVar[int]
    NORMALIZATION_FIELD_NUMBER: _ClassVar[int]
    TRANSITION_FIELD_NUMBER: _ClassVar[int]
    KEYPOINT_FILTER_FIELD_NUMBER: _ClassVar[int]
    FINGERSPELL_FIELD_NUMBER: _ClassVar[int]
    NEURAL_MODEL_FIELD_NUMBER: _ClassVar[int]
    NEURAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    style_image: bytes
    num_interpolation: int
    num_insert_interpolation: int
    encoding: Encoding
    width: int
    height: int
    pacing: Pacing
    fps: float
    include_keypoints: bool
    renderer: Renderer
    normalization: str
    transition: str
    keypoint_filter: str
    fingerspell: str
    neural_model: str
    neural_steps: int
    seed: int
    def __init__(self, style_image: _Optional[bytes] = ..., num_interpolation: _Optional[int] = ..., num_insert_interpolation: _Optional[int] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., pacing: _Optional[_Union[Pacing, str]] = ..., fps: _Optional[float] = ..., include_keypoints: bool = ..., renderer: _Optional[_Union[Renderer, str]] = ..., normalization: _Optional[str] = ..., transition: _Optional[str] = ..., keypoint_filter: _Optional[str] = ..., fingerspell: _Optional[str] = ..., neural_model: _Optional[str] = ..., neural_steps: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class SynthesizeResponse(_message.Message):
    __slots__ = ("frame", "notice")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    frame: Frame
    notice: Notice
    def __init__(self, frame: _Optional[_Union[Frame, _Mapping]] = ..., notice: _Optional[_Union[Notice, _Mapping]] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("index", "sign_id", "kind", "image", "encoding", "width", "height", "keypoints", "fps", "seed", "renderer", "neural_steps")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SIGN_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    KEYPOINTS_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    RENDERER_FIELD_NUMBER: _ClassVar[int]
    NEURAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    index: int
    sign_id: str
    kind: FrameKind
    image: bytes
    encoding: Encoding
    width: int
    height: int
    keypoints: Keypoints
    fps: float
    seed: int
    renderer: Renderer
    neural_steps: int
    def __init__(self, index: _Optional[int] = ..., sign_id: _Optional[str] = ..., kind: _Optional[_Union[FrameKind, str]] = ..., image: _Optional[bytes] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., keypoints: _Optional[_Union[Keypoints, _Mapping]] = ..., fps: _Optional[float] = ..., seed: _Optional[int] = ..., renderer: _Optional[_Union[Renderer, str]] = ..., neural_steps: _Optional[int] = ...) -> None: ...

class Notice(_message.Message):
    __slots__ = ("code", "sign_id", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SIGN_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    sign_id: str
    message: str
    def __init__(self, code: _Optional[str] = ..., sign_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Keypoints(_message.Message):
    __slots__ = ("body", "hands", "face", "pose_mp", "face_mp", "left_hand_mp", "right_hand_mp")
    BODY_FIELD_NUMBER: _ClassVar[int]
    HANDS_FIELD_NUMBER: _ClassVar[int]
    FACE_FIELD_NUMBER: _ClassVar[int]
    POSE_MP_FIELD_NUMBER: _ClassVar[int]
    FACE_MP_FIELD_NUMBER: _ClassVar[int]
    LEFT_HAND_MP_FIELD_NUMBER: _ClassVar[int]
    RIGHT_HAND_MP_FIELD_NUMBER: _ClassVar[int]
    body: _containers.RepeatedScalarFieldContainer[float]
    hands: _containers.RepeatedScalarFieldContainer[float]
    face: _containers.RepeatedScalarFieldContainer[float]
    pose_mp: _containers.RepeatedScalarFieldContainer[float]
    face_mp: _containers.RepeatedScalarFieldContainer[float]
    left_hand_mp: _containers.RepeatedScalarFieldContainer[float]
    right_hand_mp: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, body: _Optional[_Iterable[float]] = ..., hands: _Optional[_Iterable[float]] = ..., face: _Optional[_Iterable[float]] = ..., pose_mp: _Optional[_Iterable[float]] = ..., face_mp: _Optional[_Iterable[float]] = ..., left_hand_mp: _Optional[_Iterable[float]] = ..., right_hand_mp: _Optional[_Iterable[float]] = ...) -> None: ...

class ExtractRequest(_message.Message):
    __slots__ = ("image",)
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    def __init__(self, image: _Optional[bytes] = ...) -> None: ...

class ListSignsRequest(_message.Message):
    __slots__ = ("prefix", "limit")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    limit: int
    def __init__(self, prefix: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListSignsResponse(_message.Message):
    __slots__ = ("sign_ids",)
    SIGN_IDS_FIELD_NUMBER: _ClassVar[int]
    sign_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sign_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GestureRequest(_message.Message):
    __slots__ = ("config", "audio", "word")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    WORD_FIELD_NUMBER: _ClassVar[int]
    config: GestureConfig
    audio: bytes
    word: TimedWord
    def __init__(self, config: _Optional[_Union[GestureConfig, _Mapping]] = ..., audio: _Optional[bytes] = ..., word: _Optional[_Union[TimedWord, _Mapping]] = ...) -> None: ...

class GestureConfig(_message.Message):
    __slots__ = ("session", "source", "lookahead_ms", "sample_rate")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOOKAHEAD_MS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    session: SessionConfig
    source: str
    lookahead_ms: int
    sample_rate: int
    def __init__(self, session: _Optional[_Union[SessionConfig, _Mapping]] = ..., source: _Optional[str] = ..., lookahead_ms: _Optional[int] = ..., sample_rate: _Optional[int] = ...) -> None: ...

class TimedWord(_message.Message):
    __slots__ = ("text", "start_ms", "end_ms")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    START_MS_FIELD_NUMBER: _ClassVar[int]
    END_MS_FIELD_NUMBER: _ClassVar[int]
    text: str
    start_ms: int
    end_ms: int
    def __init__(self, text: _Optional[str] = ..., start_ms: _Optional[int] = ..., end_ms: _Optional[int] = ...) -> None: ...
