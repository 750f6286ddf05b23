"""An outside client that knows only the contract in protos/ and learns the messages through server reflection
(no generated code of ours): first frame before the second sign is sent, indexes 0..N-1, (N-1)*n
transition frames, a Notice for an unknown ID and the rest of the sentence after it, JPEGs of the
asked size, and grpc.health SERVING."""
from __future__ import annotations

import queue
import threading

import cv2
import grpc
import numpy as np
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from signstream.lexicon.demo import demo_signs
from signstream.pipeline import output_length
from tests.support.photos import PHOTOS

N_INTERPOLATION = 5


def test_outside_client_through_reflection(gateway):
    channel = grpc.insecure_channel(gateway.target)
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="signstream.v1.SignStream"))
    assert health.status == health_pb2.HealthCheckResponse.SERVING

    database = ProtoReflectionDescriptorDatabase(channel)
    assert "signstream.v1.SignStream" in database.get_services()
    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName("signstream.v1.SignStream")
    method = service.methods_by_name["Synthesize"]
    Request = message_factory.GetMessageClass(method.input_type)
    Response = message_factory.GetMessageClass(method.output_type)
    Config = message_factory.GetMessageClass(pool.FindMessageTypeByName("signstream.v1.SessionConfig"))
    jpeg = pool.FindEnumTypeByName("signstream.v1.Encoding").values_by_name["JPEG"].number
    transition = pool.FindEnumTypeByName("signstream.v1.FrameKind").values_by_name["TRANSITION"].number

    style = cv2.imencode(".png", cv2.cvtColor(PHOTOS["astronaut"](), cv2.COLOR_RGB2BGR))[1].tobytes()
    outgoing: queue.Queue = queue.Queue()
    outgoing.put(Request(config=Config(style_image=style, encoding=jpeg, width=320, height=240,
                                       num_interpolation=N_INTERPOLATION, transition="linear")))
    sent_second = threading.Event()

    def requests():
        while (item := outgoing.get()) is not None:
            if item.WhichOneof("item") == "sign_id" and item.sign_id == "¶name":
                sent_second.set()
            yield item

    synthesize = channel.stream_stream("/signstream.v1.SignStream/Synthesize",
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=Response.FromString)
    outgoing.put(Request(sign_id="¶hello"))
    responses = synthesize(requests(), timeout=120)
    frames, notices = [], []
    first_before_second = None
    for response in responses:
        kind = response.WhichOneof("kind")
        if kind == "notice":
            notices.append((len(frames), response.notice))
            continue
        frames.append(response.frame)
        if len(frames) == 1:
            first_before_second = not sent_second.is_set()
            for sign_id in ("¶nope", "¶name", "¶sign"):     # the rest of the sentence, with an unknown ID
                outgoing.put(Request(sign_id=sign_id))
            outgoing.put(None)

    assert first_before_second, "the first frame of the first sign must arrive before the second is sent"
    lengths = {s.sign_id: len(s.frames) for s in demo_signs()}
    expected = output_length([lengths["hello"], lengths["name"], lengths["sign"]], N_INTERPOLATION, 0)
    assert [f.index for f in frames] == list(range(expected))
    assert sum(f.kind == transition for f in frames) == 2 * N_INTERPOLATION
    [(position, notice)] = notices
    assert notice.code == "UNKNOWN_SIGN" and notice.sign_id == "¶nope" and "nope" in notice.message
    assert position == lengths["hello"]                   # after hello's frames, before name's
    assert {f.sign_id for f in frames[position:]} == {"¶name", "¶sign"}
    for frame in frames[:: max(1, len(frames) // 10)]:
        assert frame.encoding == jpeg and (frame.width, frame.height) == (320, 240)
        rgb = cv2.imdecode(np.frombuffer(frame.image, np.uint8), cv2.IMREAD_COLOR)
        assert rgb is not None and rgb.shape == (240, 320, 3) and rgb.any()
    channel.close()
