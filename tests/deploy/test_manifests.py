"""The Kubernetes manifests: every overlay renders, every object passes the API schema, and the properties an
operator relies on hold (probes, limits, non-root, pinned images, PDBs, secrets, NATS users, KEDA consumers).

Rendering uses the machine's `kubectl kustomize`; schema validation uses kubernetes-validate's bundled schemas
(offline). Custom resources (KEDA's ScaledObject) have no bundled schema and are checked by the tests below.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from schemas import streams
from services.gateway.app import service as gateway_service
from services.gateway.gateway import consumer_name
from services.github_sync.config import GithubSyncConfig
from services.shared import catalog, permissions
from tests.deploy import secrets_dir
from tools.servers import nats_server_binary

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.32.0"
RENDERINGS = {
    "dev": K8S / "overlays" / "dev",
    "prod": K8S / "overlays" / "prod",
    "two-accounts": K8S / "examples" / "two-accounts",
    "managed-redis": K8S / "examples" / "managed-redis",
}
AUTOSCALED = {service.name for service in catalog.event_services() if service.scale_on_lag}
OUR_IMAGE = "ghcr.io/qunbus/qunbus"
CUSTOM_RESOURCE_GROUPS = ("keda.sh/",)

Obj = dict[str, Any]


def kustomize(path: Path) -> list[Obj]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to render deploy/k8s")
    result = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


@functools.cache
def _rendered(name: str) -> tuple[Obj, ...]:
    return tuple(kustomize(RENDERINGS[name]))


def rendered(name: str) -> list[Obj]:
    return list(_rendered(name))


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    (found,) = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    return found


def workloads(objects: list[Obj]) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] in {"Deployment", "StatefulSet", "Job"}]


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Obj) -> list[Obj]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_of(container: Obj) -> dict[str, Obj]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def env_value(container: Obj, name: str) -> str:
    value: str = env_of(container)[name]["value"]
    return value


def config_map_data(objects: list[Obj], name_prefix: str) -> dict[str, str]:
    """Data of a generated ConfigMap (its name carries kustomize's content hash)."""
    (found,) = [
        obj for obj in of_kind(objects, "ConfigMap") if obj["metadata"]["name"].startswith(name_prefix + "-")
    ]
    data: dict[str, str] = found["data"]
    return data


def is_ours(container: Obj) -> bool:
    return str(container["image"]).startswith(OUR_IMAGE + ":")


RENDERING_NAMES = pytest.mark.parametrize("name", list(RENDERINGS))


@RENDERING_NAMES
def test_overlay_renders_into_the_qunbus_namespace(name: str) -> None:
    objects = rendered(name)
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "StatefulSet", "Job", "NetworkPolicy", "PodDisruptionBudget", "ConfigMap"} <= kinds
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "qunbus", obj["metadata"]["name"]


@RENDERING_NAMES
def test_every_object_passes_strict_schema_validation(name: str) -> None:
    skipped = []
    for obj in rendered(name):
        if obj["apiVersion"].startswith(CUSTOM_RESOURCE_GROUPS):
            skipped.append(obj["kind"])  # no bundled schema: checked by the KEDA tests below
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {error.message}")
    assert set(skipped) <= {"ScaledObject"}


def test_strict_validation_catches_a_misspelt_field() -> None:
    """Guards the test above: an unknown field must be refused, not ignored."""
    deployment = named(rendered("dev"), "Deployment", "tagger")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@RENDERING_NAMES
def test_every_container_has_requests_and_limits(name: str) -> None:
    for workload in workloads(rendered(name)):
        for container in containers(workload):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert set(resources.get(kind, {})) >= {"cpu", "memory"}, (workload["metadata"]["name"], kind)


@RENDERING_NAMES
def test_long_running_containers_have_liveness_and_readiness_probes(name: str) -> None:
    for workload in workloads(rendered(name)):
        if workload["kind"] == "Job":
            continue
        for container in pod_spec(workload)["containers"]:
            assert "livenessProbe" in container, workload["metadata"]["name"]
            assert "readinessProbe" in container, workload["metadata"]["name"]
            if is_ours(container):
                # The services' own endpoints, on the port they listen on.
                assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
                assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
                assert container["ports"] == [{"name": "http", "containerPort": 8080}]


def test_services_listen_where_the_probes_look() -> None:
    config = config_map_data(rendered("prod"), "qunbus-config")
    assert config["HTTP_HOST"] == "0.0.0.0"  # the default (127.0.0.1) would be unreachable for the kubelet
    assert config["HTTP_PORT"] == "8080"
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http")


@RENDERING_NAMES
def test_every_pod_runs_non_root_without_privileges(name: str) -> None:
    for workload in workloads(rendered(name)):
        spec = pod_spec(workload)
        where = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] > 0, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec.get("automountServiceAccountToken") is False, where
        for container in containers(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            if is_ours(container):
                assert context["readOnlyRootFilesystem"] is True, where


@RENDERING_NAMES
def test_images_are_pinned_never_latest(name: str) -> None:
    for workload in workloads(rendered(name)):
        for container in containers(workload):
            image = str(container["image"])
            repository, _, tag = image.rpartition(":")
            assert repository, f"{image} has no tag"
            assert "/" not in tag, f"{image} has no tag"
            assert tag != "latest", image
            assert re.fullmatch(r"v?\d+(\.\d+)*(-[a-z0-9.]+)?", tag), f"{image}: pin a version tag"


@RENDERING_NAMES
def test_every_deployment_and_statefulset_has_a_disruption_budget(name: str) -> None:
    objects = rendered(name)
    budgets = of_kind(objects, "PodDisruptionBudget")
    for workload in of_kind(objects, "Deployment") + of_kind(objects, "StatefulSet"):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        covering = [
            pdb for pdb in budgets if pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, workload["metadata"]["name"]


@RENDERING_NAMES
def test_no_secret_values_in_the_overlays(name: str) -> None:
    """Secrets come from deploy/k8s/secrets (git-ignored env files), never from the overlays."""
    assert of_kind(rendered(name), "Secret") == []


def secret_references(objects: list[Obj], *, optional: bool = False) -> dict[str, set[str]]:
    """Secret name -> keys referenced by any pod (an empty set for a whole-Secret envFrom); with `optional`, only
    the keys a pod may go without, else only the required ones."""
    found: dict[str, set[str]] = {}
    for workload in workloads(objects):
        for container in containers(workload):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    found.setdefault(source["secretRef"]["name"], set())
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref.get("optional", False) == optional:
                    found.setdefault(ref["name"], set()).add(ref["key"])
        for volume in pod_spec(workload).get("volumes", []):
            if "secret" in volume:
                found.setdefault(volume["secret"]["secretName"], set())
    return found


@pytest.fixture(scope="module")
def generated_secrets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """deploy/k8s/secrets rendered from its templates, as an operator's first run would: name -> keys."""
    directory = tmp_path_factory.mktemp("secrets")
    shutil.copytree(K8S / "secrets", directory, dirs_exist_ok=True)
    for stale in directory.glob("*.env"):
        stale.unlink()  # a developer's real env files must not decide the test
    secrets_dir.load_init_script().init_dir(directory)
    return {obj["metadata"]["name"]: set(obj["data"]) for obj in kustomize(directory)}


@RENDERING_NAMES
def test_every_secret_referenced_is_generated_or_documented(
    name: str, generated_secrets: dict[str, set[str]]
) -> None:
    readme = (K8S / "README.md").read_text()
    for secret, keys in secret_references(rendered(name)).items():
        if secret not in generated_secrets:
            assert f"`{secret}`" in readme, f"Secret {secret} is neither generated nor documented"
        for key in keys - generated_secrets.get(secret, set()):
            assert f"`{key}`" in readme, f"key {key} of Secret {secret} is neither generated nor documented"


@RENDERING_NAMES
def test_optional_secret_keys_are_offered_in_a_template(name: str) -> None:
    """A key a pod may go without (a service's optional secret setting) is at least listed, commented out, in the
    Secret's template, so an operator finds it."""
    templates = "".join(path.read_text() for path in (K8S / "secrets").glob("*.env.example"))
    for secret, keys in secret_references(rendered(name), optional=True).items():
        for key in keys:
            assert re.search(rf"^(# )?{key}=", templates, flags=re.MULTILINE), f"{secret}: {key}"


@RENDERING_NAMES
def test_nats_users_are_rendered_from_the_permission_table(name: str) -> None:
    objects = rendered(name)
    auth = config_map_data(objects, "nats-config")["auth.conf"]
    bot_ids = permissions.bot_ids_of_rendering(auth)
    assert bot_ids, "auth.conf lacks its rendering header"
    assert auth == permissions.render_authorization(bot_ids), "stale auth.conf: re-render it"

    gateways = [d for d in of_kind(objects, "Deployment") if d["metadata"]["name"].startswith("gateway-")]
    assert sorted(env_value(pod_spec(d)["containers"][0], "GATEWAY_BOT_ID") for d in gateways) == sorted(
        bot_ids
    )
    for deployment in of_kind(objects, "Deployment"):
        (container,) = pod_spec(deployment)["containers"]
        if "NATS_USER" not in env_of(container):
            continue
        user = env_value(container, "NATS_USER")
        if deployment in gateways:
            assert user == permissions.gateway_user(env_value(container, "GATEWAY_BOT_ID"))
        else:
            assert user == deployment["metadata"]["name"]
            assert user in {service.name for service in catalog.event_services()}
        ref = env_of(container)["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "qunbus-nats-users", "key": user}

    provision = named(objects, "Job", "qunbus-provision")["spec"]["template"]["spec"]["containers"][0]
    assert env_value(provision, "NATS_USER") == permissions.PROVISIONER
    args = provision["args"]
    assert sorted(args[i + 1] for i, arg in enumerate(args) if arg == "--bot-id") == sorted(bot_ids)


@RENDERING_NAMES
def test_nats_server_accepts_the_config_with_the_statefulsets_environment(name: str, tmp_path: Path) -> None:
    """`nats-server -t` parses nats.conf + auth.conf with exactly the variables the StatefulSet provides."""
    objects = rendered(name)
    for file_name, text in config_map_data(objects, "nats-config").items():
        (tmp_path / file_name).write_text(text)
    (container,) = pod_spec(named(objects, "StatefulSet", "nats"))["containers"]
    env = dict.fromkeys(env_of(container), "pDummyPassword0123456789ab")
    for variable, entry in env_of(container).items():
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if variable.startswith("QUN_NATS_PASSWORD_"):
            assert ref["name"] == "qunbus-nats-users"
            assert permissions.password_variable(ref["key"]) == variable
    result = subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(tmp_path / "nats.conf")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prod_runs_a_three_node_cluster_with_replicated_streams() -> None:
    objects = rendered("prod")
    nats = named(objects, "StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3
    assert nats["spec"]["serviceName"] == "nats-headless"
    assert named(objects, "Service", "nats-headless")["spec"]["clusterIP"] == "None"
    assert nats["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    conf = config_map_data(objects, "nats-config")["nats.conf"]
    routes = re.findall(r"nats-route://(nats-\d)\.nats-headless:6222", conf)
    assert routes == ["nats-0", "nats-1", "nats-2"]
    args = named(objects, "Job", "qunbus-provision")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--replicas") + 1] == "3"

    dev = rendered("dev")
    assert named(dev, "StatefulSet", "nats")["spec"]["replicas"] == 1
    assert "cluster {" not in config_map_data(dev, "nats-config")["nats.conf"]
    assert all(d["spec"]["replicas"] == 1 for d in of_kind(dev, "Deployment"))


def test_managed_redis_example_drops_the_in_cluster_redis() -> None:
    objects = rendered("managed-redis")
    assert [o for o in objects if o["metadata"]["name"] == "redis"] == []
    egress = named(objects, "NetworkPolicy", "redis-clients-egress")["spec"]["egress"]
    assert [peer.keys() for rule in egress for peer in rule["to"]] == [{"ipBlock": None}.keys()]


def test_redis_keeps_an_append_only_file_on_a_volume() -> None:
    redis = named(rendered("prod"), "StatefulSet", "redis")
    args = pod_spec(redis)["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--dir") + 1] == "/data"
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"


def scaled_objects(objects: list[Obj]) -> dict[str, Obj]:
    return {obj["spec"]["scaleTargetRef"]["name"]: obj for obj in of_kind(objects, "ScaledObject")}


@pytest.mark.parametrize("name", ["prod", "two-accounts"])
def test_keda_scales_the_stateless_consumers_on_their_real_consumer(name: str) -> None:
    objects = rendered(name)
    scaled = scaled_objects(objects)
    assert set(scaled) == AUTOSCALED  # as declared (`scale_on_lag`); never a gateway
    headless = f"nats-headless.{named(objects, 'Service', 'nats-headless')['metadata']['namespace']}"
    for service, scaled_object in scaled.items():
        # The target exists and leaves its replica count to KEDA (else each `kubectl apply` would reset it).
        assert "replicas" not in named(objects, "Deployment", service)["spec"]
        assert scaled_object["spec"]["minReplicaCount"] >= 1  # someone must answer the registry
        (trigger,) = scaled_object["spec"]["triggers"]
        assert trigger["type"] == "nats-jetstream"
        metadata = trigger["metadata"]
        assert metadata["stream"] == streams.EVENTS.name
        assert metadata["consumer"] == service
        assert metadata["natsServerMonitoringEndpoint"].startswith(headless + ".svc.cluster.local:8222")
        assert metadata["account"] == "$G"  # users of a plain authorization block live in the global account
    assert scaled_objects(rendered("dev")) == {}


@pytest.mark.parametrize(
    "package", [package for package in catalog.service_packages() if package != permissions.GATEWAY]
)
def test_consumer_names_match_what_the_services_create(package: str) -> None:
    """The durable consumer a service binds to is named after the service: what KEDA and the NATS users use."""
    module = importlib.import_module(f"services.{package}.app")
    consumer = module.service.consumer()
    assert consumer is not None
    assert consumer.stream == streams.EVENTS.name
    deployment_name = package.replace("_", "-")
    assert consumer.durable == module.service.name == deployment_name
    assert deployment_name in {service.name for service in catalog.event_services()}


def test_gateway_consumer_and_dead_letters_match_its_nats_user() -> None:
    assert consumer_name("wxid_qunbot") == permissions.gateway_user("wxid_qunbot")
    assert gateway_service.name == permissions.GATEWAY  # its dead letters go to qun.dlq.gateway
    assert gateway_service.consumer() is None  # it reads commands only, from QUN_CMD


@RENDERING_NAMES
def test_each_account_has_one_recreated_gateway_and_a_puppet_only_it_reaches(name: str) -> None:
    objects = rendered(name)
    policies = of_kind(objects, "NetworkPolicy")
    for gateway in [
        d for d in of_kind(objects, "Deployment") if d["metadata"]["name"].startswith("gateway-")
    ]:
        account = gateway["metadata"]["labels"]["qunbus.io/account"]
        assert gateway["spec"]["replicas"] == 1
        assert gateway["spec"]["strategy"] == {"type": "Recreate"}
        puppet = named(objects, "Deployment", f"wechaty-puppet-{account}")
        (puppet_container,) = pod_spec(puppet)["containers"]
        assert env_value(puppet_container, "WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_SERVER") == "true"
        token = env_of(puppet_container)["WECHATY_TOKEN"]["valueFrom"]["secretKeyRef"]
        (container,) = pod_spec(gateway)["containers"]
        assert env_of(container)["WECHATY_PUPPET_SERVICE_TOKEN"]["valueFrom"]["secretKeyRef"] == token
        assert env_value(container, "WECHATY_PUPPET_SERVICE_ENDPOINT") == f"wechaty-puppet-{account}:8788"

        (fence,) = [
            p
            for p in policies
            if p["spec"]["podSelector"].get("matchLabels") == puppet["spec"]["selector"]["matchLabels"]
        ]
        (rule,) = fence["spec"]["ingress"]
        assert [peer["podSelector"]["matchLabels"] for peer in rule["from"]] == [
            gateway["spec"]["selector"]["matchLabels"]
        ]


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] != "In" or labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@RENDERING_NAMES
def test_network_policies_deny_by_default_and_let_each_pod_reach_what_it_uses(name: str) -> None:
    objects = rendered(name)
    policies = of_kind(objects, "NetworkPolicy")
    (default_deny,) = [p for p in policies if not {"podSelector", "policyTypes"} ^ set(p["spec"])]
    assert default_deny["spec"]["podSelector"] == {}  # every pod, no rule: nothing in or out
    assert set(default_deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    for workload in workloads(objects):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        for container in containers(workload):
            env = env_of(container)
            uses = {
                "qunbus.io/nats-client": "NATS_USER" in env,
                "qunbus.io/redis-client": "REDIS_URL" in env,
                "qunbus.io/otel-client": "OTEL_SERVICE_NAME" in env,
            }
            for label, needed in uses.items():
                assert (labels.get(label) == "true") == needed, (workload["metadata"]["name"], label)
        selecting = [p for p in policies if _selects(p["spec"]["podSelector"], labels)]
        assert len(selecting) >= 2, workload["metadata"]["name"]  # default deny + what it needs


def test_github_sync_bindings_file_is_valid() -> None:
    config = GithubSyncConfig.load(K8S / "base" / "config" / "github-sync-bindings.yaml")
    assert config.bindings == ()
    objects = rendered("prod")
    (container,) = pod_spec(named(objects, "Deployment", "github-sync"))["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "bindings"]
    data = config_map_data(objects, "github-sync-bindings")
    assert env_value(container, "GITHUB_SYNC_CONFIG") in {f"{mount['mountPath']}/{key}" for key in data}


def test_every_service_module_started_by_a_container_exists() -> None:
    for workload in workloads(rendered("two-accounts")):
        for container in containers(workload):
            if is_ours(container):
                assert importlib.util.find_spec(container["args"][0]) is not None, container["args"]
    images = {c["image"] for w in workloads(rendered("two-accounts")) for c in containers(w) if is_ours(c)}
    assert len(images) == 1  # one image, one tag, whichever overlay or component a workload comes from


def iter_files(root: Path) -> Iterator[Path]:
    yield from (path for path in root.rglob("*") if path.is_file())


def test_the_committed_manifests_hold_no_secret_values() -> None:
    suspicious = re.compile(r"(password|token|secret)\s*[:=]\s*['\"]?[A-Za-z0-9_\-]{12,}", re.IGNORECASE)
    for path in iter_files(K8S):
        if path.suffix == ".env":
            continue  # git-ignored real values on an operator's machine
        for line in path.read_text().splitlines():
            assert not suspicious.search(line) or "$QUN_NATS_PASSWORD_" in line, f"{path}: {line}"


def test_the_provisioning_job_arguments_are_understood() -> None:
    """The Job passes --replicas (prod) and one --bot-id per account (its gateway's QUN_CMD consumer)."""
    result = subprocess.run(
        [sys.executable, "-m", "services.shared.provision", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=K8S.parents[1],
    )
    assert "--replicas" in result.stdout
    assert "--bot-id" in result.stdout
