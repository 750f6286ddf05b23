"""The Helm chart in deploy/helm/signstream, checked offline: `helm lint` and `helm template` through the
Helm SDK (helm-python-sdk, Helm's Go SDK in a wheel), then every rendered object strictly validated
against the oldest and newest Kubernetes versions the chart supports (kubernetes_validate, strict: an
unknown field fails). CRD kinds are allow-listed; any other kind without a schema fails. Values that
cannot work are refused, with a message naming them."""
from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from helm_python.chart import Chart, lint
from helm_python.errors import HelmError

from signstream.cli import build_parser

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "signstream"
GPU_VALUES = yaml.safe_load((CHART / "values-gpu.yaml").read_text())
# Chart.yaml's kubeVersion (>=1.27: native gRPC probes are GA) and the newest schemas kubernetes_validate has.
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
# Custom resources: their operators' CRDs are not in Kubernetes' schemas.
CRD_KINDS = {("monitoring.coreos.com/v1", "PodMonitor"), ("serving.kserve.io/v1beta1", "InferenceService")}

CASES = {
    "defaults": {},
    "gpu-values": GPU_VALUES,
    "kserve": {"triton": {"enabled": False}, "kserve": {"enabled": True}},
    "kserve-gpu-values": {**GPU_VALUES, "triton": {**GPU_VALUES["triton"], "enabled": False}, "kserve": {"enabled": True}},
    "ingress-auth-fixed-size": {
        "gateway": {"autoscaling": {"enabled": False}, "authTokenSecret": "signstream-tokens",
                    "awsSecret": "s3-creds", "resources": {"requests": {"cpu": "1500m"}}},
        "triton": {"autoscaling": {"enabled": False}, "awsSecret": "s3-creds"},
        "proxy": {"ingress": {"enabled": True, "tlsSecret": "signstream-tls"}},
        "monitoring": {"podMonitors": False}},
}


def render(values: dict | None = None) -> list[dict]:
    """Every object `helm template` renders with `values` (the chart's defaults beneath them)."""
    manifests = Chart.load(CHART).render(values or {}, name="rehearsal", namespace="signs", is_install=True)
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith(".yaml"):
            objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def gateway_container(objects: list[dict]) -> dict:
    deployment = next(o for o in by_kind(objects, "Deployment") if o["metadata"]["name"].endswith("-gateway"))
    return deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {case: render(values) for case, values in CASES.items()}


@pytest.mark.parametrize("values", [{}, GPU_VALUES], ids=["defaults", "gpu-values"])
def test_helm_lint_finds_nothing(values):
    report = lint(CHART, values, strict=True, kube_version=f"v{KUBERNETES_VERSIONS[0]}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]          # warnings and errors
    assert not report["errors"] and not problems, report


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_every_rendered_object_is_valid_kubernetes(rendered, case, version):
    objects = rendered[case]
    assert objects
    for obj in objects:
        name = f"{obj['kind']} {obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            assert (obj["apiVersion"], obj["kind"]) in CRD_KINDS, f"{name}: no Kubernetes {version} schema"
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{case}: {name} is not valid Kubernetes {version}: {exc.message} at {list(exc.path)}")


def test_a_kind_without_a_schema_fails_validation():
    """The allow-list is what lets the CRDs through: an unknown kind has no schema."""
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate({"apiVersion": "example.com/v1", "kind": "Nothing", "metadata": {"name": "x"}},
                                     KUBERNETES_VERSIONS[0], strict=True)


def test_the_gateway_runs_real_serve_flags(rendered):
    for case in CASES:
        args = gateway_container(rendered[case])["args"]
        parsed = build_parser().parse_args(args)          # a flag `serve` does not have fails here
        assert parsed.triton_url == "dns:///rehearsal-signstream-triton.signs.svc.cluster.local:8001"
    defaults = build_parser().parse_args(gateway_container(rendered["defaults"])["args"])
    assert (defaults.processes, defaults.grace, defaults.max_stream_seconds, defaults.host) == (4, 30, 600, "0.0.0.0")
    fixed = build_parser().parse_args(gateway_container(rendered["ingress-auth-fixed-size"])["args"])
    assert fixed.processes == 1 and fixed.auth_token_file == "/etc/signstream/auth/tokens"


def test_gateway_processes_follow_the_cpu_request():
    for cpu, processes in (("4", 4), (2.5, 2), ("500m", 1), ("3000m", 3), (8, 8)):
        objects = render({"gateway": {"resources": {"requests": {"cpu": cpu}}}})
        args = gateway_container(objects)["args"]
        assert f"--processes={processes}" in args, (cpu, args)
        ports = [p["name"] for p in gateway_container(objects)["ports"]]
        assert ports == ["grpc"] + [f"metrics-{i}" for i in range(processes)]
        monitor = next(o for o in by_kind(objects, "PodMonitor") if o["metadata"]["name"].endswith("-gateway"))
        assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ports[1:]


def test_drain_probes_and_balancing(rendered):
    objects = rendered["defaults"]
    container = gateway_container(objects)
    pod = next(o for o in by_kind(objects, "Deployment") if o["metadata"]["name"].endswith("-gateway"))["spec"]
    pod = pod["template"]["spec"]
    parsed = build_parser().parse_args(container["args"])
    sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] > sleep + parsed.grace
    assert container["readinessProbe"]["grpc"] == {"port": 50051}                   # grpc.health.v1 ""
    assert container["livenessProbe"]["grpc"] == {"port": 50051, "service": "liveness"}
    triton_service = next(o for o in by_kind(objects, "Service") if o["metadata"]["name"].endswith("-triton"))
    assert triton_service["spec"]["clusterIP"] == "None"                             # headless: dns:/// sees pods
    hpas = {o["metadata"]["name"]: o["spec"]["metrics"][0]["pods"]["metric"]["name"]
            for o in by_kind(objects, "HorizontalPodAutoscaler")}
    assert hpas == {"rehearsal-signstream-gateway": "signstream_streams_open",
                    "rehearsal-signstream-triton": "avg_time_queue_us"}
    rules = yaml.safe_load(by_kind(objects, "ConfigMap")[0]["data"]["config.yaml"])["rules"]
    assert {r["name"]["as"] for r in rules} == set(hpas.values())
    assert {o["metadata"]["name"] for o in by_kind(objects, "PodDisruptionBudget")} == set(hpas)


def test_gpu_values_put_triton_on_gpu_nodes_with_tensorrt_configs(rendered):
    triton = next(o for o in by_kind(rendered["gpu-values"], "Deployment") if o["metadata"]["name"].endswith("-triton"))
    spec = triton["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "--model-config-name=gpu" in container["args"] and "--allow-gpu-metrics=true" in container["args"]
    assert spec["nodeSelector"] and spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert "nvidia.com/gpu" not in str(gateway_container(rendered["gpu-values"])["resources"])


def test_kserve_option_is_a_raw_deployment_with_an_h2c_grpc_port(rendered):
    objects = rendered["kserve-gpu-values"]
    assert not [o for o in by_kind(objects, "Deployment") if o["metadata"]["name"].endswith("-triton")]
    service = by_kind(objects, "InferenceService")[0]
    assert service["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    model = service["spec"]["predictor"]["model"]
    assert model["ports"] == [{"name": "h2c", "containerPort": 8001, "protocol": "TCP"}]
    assert model["resources"]["limits"]["nvidia.com/gpu"] == 1
    headless = next(o for o in by_kind(objects, "Service") if o["metadata"]["name"].endswith("-triton"))
    assert headless["spec"]["selector"] == {"serving.kserve.io/inferenceservice": service["metadata"]["name"]}


def test_ingress_stream_timeouts_cover_the_longest_stream(rendered):
    ingress = by_kind(rendered["ingress-auth-fixed-size"], "Ingress")[0]
    notes = ingress["metadata"]["annotations"]
    args = build_parser().parse_args(gateway_container(rendered["ingress-auth-fixed-size"])["args"])
    assert notes["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPC"
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        assert float(notes[f"nginx.ingress.kubernetes.io/{key}"]) >= args.max_stream_seconds


@pytest.mark.parametrize("values, says", [
    ({"gateway": {"replicas": 0}}, "/gateway/replicas"),
    ({"triton": {"replicas": 0}}, "/triton/replicas"),
    ({"gateway": {"graceSeconds": 45}}, "terminationGracePeriodSeconds (45) must be more than"),
    ({"gateway": {"terminationGracePeriodSeconds": 30}}, "terminationGracePeriodSeconds (30) must be more than"),
    ({"gateway": {"maxStreamSeconds": 900}}, "proxy.streamTimeoutSeconds (660) must be at least"),
    ({"gateway": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}}, "minReplicas (5) is more than"),
    ({"kserve": {"enabled": True}}, "both deploy the Triton tier"),
    ({"gateway": {"resources": {"requests": {"cpu": "four"}}}}, "/gateway/resources/requests/cpu"),
    ({"gateway": {"graceSecond": 10}}, "additional properties 'graceSecond'"),
    ({"triton": {"modelConfigName": "cuda"}}, "/triton/modelConfigName"),
])
def test_values_that_cannot_work_are_refused(values, says):
    with pytest.raises(HelmError, match=None) as refused:
        render(values)
    assert says in str(refused.value)
