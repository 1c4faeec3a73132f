"""The image-pull family (kubectl_podfix/diagnose/rules/images/), driven by real texts.

image_pull_texts.yaml (beside this file) holds real kubelet/runtime messages from
issue threads; every entry becomes a pod in the shape the API server returns
(waiting state or event, the kubelet version's message format, init or app
container, pull secrets) and must be diagnosed as its ``code`` says.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from kubectl_podfix.diagnose.model import PodContext, Snapshot
from kubectl_podfix.diagnose.rules import CODES, diagnose
from kubectl_podfix.diagnose.rules import images as rule
from kubectl_podfix.registry import reference as imagelib

FIXTURE = Path(__file__).parent / "image_pull_texts.yaml"
ENTRIES = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))

NOW = dt.datetime(2026, 11, 20, 10, 0, 0, tzinfo=dt.timezone.utc)
NS = "shop"
POD = "web-7d9f8c6b5-4xkz2"
DEFAULT_IMAGE = "registry.example.com/team/app:1.0"
RUNTIME_VERSION = {"containerd": "containerd://1.7.22", "cri-o": "cri-o://1.30.4", "dockershim": "docker://20.10.24"}

# Words a reader must find in the title or explanation of each code.
KEYWORDS = {
    "image.not-found": ("does not exist",),
    "image.auth-failed": ("refused", "authorization"),
    "image.pull-secret-missing": ("does not exist", "secret"),
    "image.rate-limited": ("rate",),
    "image.registry-unreachable": ("registry",),
    "image.tls-error": ("TLS", "HTTP"),
    "image.platform-mismatch": ("variant", "architecture"),
    "image.invalid-name": ("valid", "short name"),
    "image.never-pull": ("Never",),
    "image.node-disk-full": ("disk",),
    "image.pull-timeout": ("timed out",),
    "image.pull-failed": ("failed", "inspect", "corrupt"),
}
FIX_ID = {"image.auth-failed": "pull-secret", "image.pull-secret-missing": "pull-secret",
          "image.not-found": "image", "image.platform-mismatch": "image"}

_IMAGE_IN = re.compile(r'(?:Failed to pull image|Back-off pulling image|Container image|'
                       r'Failed to apply default image tag|Failed to inspect image|failed to pull and unpack image|'
                       r'failed to resolve image) "([^"]+)"|initializing source docker://([^\s:]+(?::\d+)?[^\s:]*(?::[\w.-]+)?)(?::|$)')
_SECRET_NAMES = re.compile(r"image pull secrets \(([^)]*)\)")


# ---------------------------------------------------------------------------------------------
# Builders: the objects as the API server returns them
# ---------------------------------------------------------------------------------------------

def ts(minutes_ago: float) -> str:
    return (NOW - dt.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_pod(containers, statuses, *, init_containers=None, init_statuses=None, pull_secrets=None,
             node="worker-1", sa="default") -> dict:
    spec = {"containers": copy.deepcopy(containers), "serviceAccountName": sa, "restartPolicy": "Always",
            "nodeName": node}
    if init_containers:
        spec["initContainers"] = copy.deepcopy(init_containers)
    if pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in pull_secrets]
    status = {"phase": "Pending", "startTime": ts(30), "containerStatuses": statuses}
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": POD, "namespace": NS, "uid": "0b8f8c55-3d4c-4a55-9c1e-5a3d2f1e9a10",
                         "creationTimestamp": ts(30)},
            "spec": spec, "status": status}


def waiting_status(name: str, image: str, reason: str, message: str = "") -> dict:
    w = {"reason": reason}
    if message:
        w["message"] = message
    return {"name": name, "image": image, "imageID": "", "ready": False, "started": False, "restartCount": 0,
            "lastState": {}, "state": {"waiting": w}}


def running_status(name: str, image: str) -> dict:
    return {"name": name, "image": image, "imageID": "docker.io/library/x@sha256:" + "a" * 64, "ready": True,
            "started": True, "restartCount": 0, "lastState": {}, "state": {"running": {"startedAt": ts(20)}}}


def make_event(reason: str, message: str, *, container: str | None = None, init: bool = False,
               type_: str = "Warning", count: int = 3, first: float = 12, last: float = 2) -> dict:
    inv = {"apiVersion": "v1", "kind": "Pod", "name": POD, "namespace": NS,
           "uid": "0b8f8c55-3d4c-4a55-9c1e-5a3d2f1e9a10"}
    if container:
        inv["fieldPath"] = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
    return {"apiVersion": "v1", "kind": "Event", "type": type_, "reason": reason, "message": message,
            "count": count, "firstTimestamp": ts(first), "lastTimestamp": ts(last), "involvedObject": inv,
            "source": {"component": "kubelet", "host": "worker-1"},
            "metadata": {"name": f"{POD}.{abs(hash((reason, message, first))) % 10**16:016x}", "namespace": NS}}


def redacted_secret(name: str, registries: list[str], type_: str = "kubernetes.io/dockerconfigjson") -> dict:
    annotations = {"podfix.io/registries": ",".join(registries)} if registries is not None else {}
    return {"apiVersion": "v1", "kind": "Secret", "type": type_,
            "metadata": {"name": name, "namespace": NS, "annotations": annotations},
            "data": {".dockerconfigjson": ""} if type_.startswith("kubernetes.io/docker") else {"token": ""}}


def make_node(runtime: str = "containerd", arch: str = "amd64", os_: str = "linux") -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"},
            "status": {"nodeInfo": {"containerRuntimeVersion": RUNTIME_VERSION.get(runtime, "containerd://1.7.22"),
                                    "architecture": arch, "operatingSystem": os_}}}


def context(pod: dict, events: list[dict], *, secrets: list[dict] = (), list_secrets: bool = False,
            node: dict | None = None, extra: list[dict] = ()) -> PodContext:
    snap = Snapshot()
    snap.add(pod)
    for ev in events:
        snap.add(ev)
    for obj in [*secrets, *extra]:
        snap.add(obj)
    snap.add(node or make_node())
    if list_secrets:
        snap.listed.add(("Secret", NS))
    return PodContext(pod=pod, events=list(events), snapshot=snap, now=NOW)


# ---------------------------------------------------------------------------------------------
# One fixture entry -> one pod
# ---------------------------------------------------------------------------------------------

def image_of(entry: dict) -> str:
    if entry.get("image"):
        return entry["image"]
    for m in _IMAGE_IN.finditer(entry["message"]):
        if m.group(1) or m.group(2):
            return m.group(1) or m.group(2)
    return DEFAULT_IMAGE


def case_from_entry(entry: dict):
    """Build (ctx, container name, is_init) the way a cluster in that state would look."""
    image = image_of(entry)
    is_init = bool(entry.get("init"))
    name = entry.get("container") or ("init-setup" if is_init else "app")
    reason, message = entry["reason"], entry["message"]
    events: list[dict] = []
    pull_secrets: list[str] = list(entry.get("pod_secrets") or {})
    secrets = [redacted_secret(n, regs) for n, regs in (entry.get("pod_secrets") or {}).items()]
    backoff_msg = f'Back-off pulling image "{image}"'
    if entry["where"] == "waiting":
        state = waiting_status(name, image, reason, message)
        # What a kubelet records alongside: Pulling and a BackOff without the cause.
        events.append(make_event("Pulling", f'Pulling image "{image}"', container=name, init=is_init,
                                 type_="Normal", count=4, first=14, last=4))
        events.append(make_event("BackOff", backoff_msg, container=name, init=is_init, type_="Normal",
                                 count=9, first=13, last=1))
    else:
        pod_level = reason in ("FailedToRetrieveImagePullSecret", "FailedCreatePodSandBox", "FailedSync")
        events.append(make_event(reason, message, container=None if pod_level else name, init=is_init))
        if reason == "FailedToRetrieveImagePullSecret":
            m = _SECRET_NAMES.search(message)
            pull_secrets += [n.strip().strip("<>") for n in (m.group(1).split(",") if m else [])]
        waiting_reason = entry.get("waiting_reason")
        if not waiting_reason:
            if reason == "FailedCreatePodSandBox":
                waiting_reason = "ContainerCreating"
            elif reason == "ErrImageNeverPull":
                waiting_reason = "ErrImageNeverPull"
            elif reason == "InspectFailed":
                waiting_reason = ("InvalidImageName" if message.startswith("Failed to apply default image tag")
                                  else "ImageInspectError")
            else:
                waiting_reason = "ImagePullBackOff"
        if waiting_reason == "ImagePullBackOff":
            wmsg = backoff_msg  # the pre-1.32 message: the cause has to come from the event
            events.append(make_event("BackOff", backoff_msg, container=name, init=is_init, type_="Normal",
                                     count=9, first=11, last=1))
            events.append(make_event("Failed", "Error: ImagePullBackOff", container=name, init=is_init,
                                     count=9, first=11, last=1))
        elif waiting_reason in ("InvalidImageName", "ImageInspectError", "ErrImageNeverPull"):
            wmsg = message
        elif waiting_reason == "CreateContainerConfigError":
            wmsg = message.removeprefix("Error: ")
        else:
            wmsg = ""
        state = waiting_status(name, image, waiting_reason, wmsg)
        if entry.get("container_state") == "running":
            state = running_status(name, image)
    spec = {"name": name, "image": image}
    main = [spec] if not is_init else [{"name": "app", "image": "nginx:1.27"}]
    main_status = [state] if not is_init else [waiting_status("app", "nginx:1.27", "PodInitializing")]
    pod = make_pod(main, main_status, init_containers=[spec] if is_init else None,
                   init_statuses=[state] if is_init else None, pull_secrets=sorted(set(pull_secrets)) or None)
    arch = "arm64" if entry["code"] == "image.platform-mismatch" else "amd64"
    ctx = context(pod, events, secrets=secrets, list_secrets=bool(entry.get("pod_secrets")),
                  node=make_node(entry["runtime"], arch, entry.get("node_os", "linux")))
    return ctx, name, is_init


def _id(entry: dict) -> str:
    src = entry["source"].rstrip("/").split("github.com/")[-1]
    return f"{entry['code']}|{entry['runtime']}|{entry['where']}|{src}"


def test_fixture_is_rich_enough():
    codes = [e["code"] for e in ENTRIES]
    assert len(ENTRIES) >= 70
    for code in rule.CODES:
        assert codes.count(code) >= 5, code
    assert "none" in codes
    for e in ENTRIES:
        assert e["runtime"] in ("containerd", "cri-o", "dockershim", "other")
        assert e["where"] in ("event", "waiting")
        assert e["kubelet"] in ("<1.28", "1.28-1.31", ">=1.32", "unknown")
        assert e["source"].startswith("https://"), e["source"]
        assert e["code"] in rule.CODES or e["code"] == "none"


@pytest.mark.parametrize("entry", ENTRIES, ids=[_id(e) for e in ENTRIES])
def test_real_text(entry):
    ctx, name, _ = case_from_entry(entry)
    findings = diagnose(ctx)
    ours = [f for f in findings if f.code.startswith("image.")]
    if entry["code"] == "none":
        assert ours == [], [f.code for f in ours]
        return
    assert findings, "no finding"
    first = findings[0]
    assert first.code == entry["code"], (first.code, first.title, first.extra.get("cause"))
    assert first.container == name
    assert first.severity == "error"
    text = first.title + " " + first.explanation
    assert any(k.lower() in text.lower() for k in KEYWORDS[entry["code"]]), text
    # The message the rule relied on is quoted in the evidence.
    quoted = entry["message"].replace("(combined from similar events): ", "").strip()
    if entry["where"] == "waiting" or entry["reason"] not in ("BackOff", "Failed") or not quoted.startswith(("Error:", "Back-off")):
        assert any(quoted[:60] in line for line in first.evidence), (quoted[:60], first.evidence)
    expected_fix = FIX_ID.get(entry["code"])
    if "fix" in entry:  # a refusal no pull secret can help (a public registry's 403)
        expected_fix = None if entry["fix"] in (None, "none") else entry["fix"]
    assert (first.fix.id if first.fix else None) == expected_fix
    assert first.extra["image"] == image_of(entry)
    for wrong in ("CrashLoopBackOff", "per pod"):
        assert wrong not in first.explanation
    everything = "\n".join([first.title, first.explanation, *first.evidence, *first.suggestions])
    for word in entry.get("words") or []:
        assert str(word).lower() in everything.lower(), (word, everything)
    for word in entry.get("absent_words") or []:
        assert str(word).lower() not in everything.lower(), (word, everything)


# ---------------------------------------------------------------------------------------------
# Scenarios around the texts
# ---------------------------------------------------------------------------------------------

NOT_FOUND_NEW = ('failed to pull and unpack image "docker.io/library/nginx:lates": failed to resolve reference '
                 '"docker.io/library/nginx:lates": docker.io/library/nginx:lates: not found')
AUTH_401 = ('failed to pull and unpack image "registry.example.com/team/app:1.0": failed to resolve reference '
            '"registry.example.com/team/app:1.0": unexpected status from HEAD request to '
            'https://registry.example.com/v2/team/app/manifests/1.0: 401 Unauthorized')
HUB_DENIED = ('failed to pull and unpack image "docker.io/acme/private-api:2.3": failed to resolve reference '
              '"docker.io/acme/private-api:2.3": pull access denied, repository does not exist or may require '
              'authorization: server message: insufficient_scope: authorization failed')


def _pull_failure_pod(image: str, cause: str, *, pull_secrets=None, name="app"):
    pod = make_pod([{"name": name, "image": image}],
                   [waiting_status(name, image, "ImagePullBackOff", f'Back-off pulling image "{image}"')],
                   pull_secrets=pull_secrets)
    events = [make_event("Failed", f'Failed to pull image "{image}": {cause}', container=name),
              make_event("BackOff", f'Back-off pulling image "{image}"', container=name, type_="Normal")]
    return pod, events


def test_healthy_pod_has_no_finding():
    pod = make_pod([{"name": "app", "image": "nginx:1.27"}], [running_status("app", "nginx:1.27")])
    pod["status"]["phase"] = "Running"
    events = [make_event("Pulled", 'Container image "nginx:1.27" already present on machine', container="app",
                         type_="Normal", count=1)]
    assert [f for f in diagnose(context(pod, events)) if f.code.startswith("image.")] == []


def test_not_found_title_names_image_and_repository():
    pod, events = _pull_failure_pod("nginx:lates", NOT_FOUND_NEW)
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.not-found"
    assert f.title == 'Image "nginx:lates" does not exist in docker.io/library/nginx'
    assert f.fix.id == "image" and f.fix.command == f"kubectl podfix fix image {POD} -n {NS} --check-registry"
    assert any("crane ls docker.io/library/nginx" in s for s in f.suggestions)
    assert f.extra["registry"] == "docker.io" and f.extra["repository"] == "library/nginx"
    assert f.extra["runtime"] == "containerd"


def test_second_container_of_two_is_the_one_reported():
    image = "nginx:lates"
    pod = make_pod([{"name": "sidecar", "image": "envoyproxy/envoy:v1.31.0"}, {"name": "web", "image": image}],
                   [running_status("sidecar", "envoyproxy/envoy:v1.31.0"),
                    waiting_status("web", image, "ErrImagePull", NOT_FOUND_NEW)])
    events = [make_event("Failed", f'Failed to pull image "{image}": {NOT_FOUND_NEW}', container="web")]
    findings = [f for f in diagnose(context(pod, events)) if f.code.startswith("image.")]
    assert [(f.code, f.container) for f in findings] == [("image.not-found", "web")]


def test_init_container_failure_is_reported_on_the_init_container():
    image = "602401143452.dkr.ecr.eu-central-1.amazonaws.com/amazon-k8s-cni-init:v1.20.5"
    cause = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed to resolve '
             f'reference "{image}": {image}: not found')
    pod = make_pod([{"name": "aws-node", "image": "602401143452.dkr.ecr.eu-central-1.amazonaws.com/amazon-k8s-cni:v1.20.5"}],
                   [waiting_status("aws-node", "x", "PodInitializing")],
                   init_containers=[{"name": "aws-vpc-cni-init", "image": image}],
                   init_statuses=[waiting_status("aws-vpc-cni-init", image, "ErrImagePull", cause)])
    f = diagnose(context(pod, []))[0]
    assert (f.code, f.container) == ("image.not-found", "aws-vpc-cni-init")
    assert "init container" in f.evidence[0]


def test_pull_secret_missing_from_the_kubelet_event():
    image = "ghcr.io/ka0s-klaus/ka0s-docs:latest"
    cause = ('failed to pull and unpack image "ghcr.io/ka0s-klaus/ka0s-docs:latest": failed to resolve image: '
             'failed to authorize: failed to fetch anonymous token: unexpected status from GET request to '
             'https://ghcr.io/token?scope=repository%3Aka0s-klaus%2Fka0s-docs%3Apull&service=ghcr.io: 403 Forbidden')
    pod, events = _pull_failure_pod(image, cause, pull_secrets=["ghcr-secret"])
    events.append(make_event("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets "
                             "(ghcr-secret); attempting to pull the image may not succeed.", count=7))
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.pull-secret-missing"
    assert '"ghcr-secret"' in f.title
    assert f.fix.id == "pull-secret"
    assert f.fix.command == (f"kubectl podfix secret ghcr-secret --for {POD} -n {NS} --docker-server ghcr.io "
                             "--docker-username USERNAME --password-stdin --verify --restart")
    # pasted into a shell as printed, nothing in it may be a redirection
    assert "<" not in f.fix.command and ">" not in f.fix.command
    assert not any("<" in s or ">" in s for s in f.suggestions if s.startswith(("kubectl", "crane", "echo")))
    assert any("FailedToRetrieveImagePullSecret" in e for e in f.evidence)
    assert any("403 Forbidden" in e for e in f.evidence)
    assert f.extra["missing_secrets"] == ["ghcr-secret"]


def test_pull_secret_missing_from_listed_secrets_without_any_event():
    """Kubelets before 1.28 only logged the missing secret; the snapshot still tells."""
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, AUTH_401, pull_secrets=["regcred", "other"])
    ctx = context(pod, events, secrets=[redacted_secret("other", ["quay.io"])], list_secrets=True)
    f = diagnose(ctx)[0]
    assert f.code == "image.pull-secret-missing"
    assert f.extra["missing_secrets"] == ["regcred"]
    assert "kubectl podfix secret regcred" in f.fix.command
    assert any("not in the namespace's Secrets" in e for e in f.evidence)
    assert any("secret other holds credentials for quay.io, not for registry.example.com" in e for e in f.evidence)


def test_secret_event_is_stale_when_the_secret_now_exists():
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, AUTH_401, pull_secrets=["regcred"])
    events.append(make_event("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets "
                             "(regcred); attempting to pull the image may not succeed.", first=40, last=35))
    ctx = context(pod, events, secrets=[redacted_secret("regcred", ["registry.example.com"])], list_secrets=True)
    f = diagnose(ctx)[0]
    assert f.code == "image.auth-failed"
    assert any("covers registry registry.example.com" in e for e in f.evidence)


def test_auth_failed_without_any_pull_secret():
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, AUTH_401)
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.auth-failed"
    assert "has no imagePullSecrets" in f.explanation
    assert "the pod has no imagePullSecrets" in f.evidence
    assert f.fix.id == "pull-secret"
    assert f.fix.command.startswith(f"kubectl podfix secret regcred --for {POD} -n {NS} "
                                    "--docker-server registry.example.com ")


def test_auth_failed_with_a_covering_secret_names_it():
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, AUTH_401, pull_secrets=["harbor-robot"])
    ctx = context(pod, events, secrets=[redacted_secret("harbor-robot", ["https://registry.example.com"])],
                  list_secrets=True)
    f = diagnose(ctx)[0]
    assert f.code == "image.auth-failed"
    assert "harbor-robot holds credentials for registry.example.com" in f.explanation
    assert "rejected" in f.explanation
    assert "kubectl podfix secret harbor-robot" in f.fix.command
    assert f.extra["covering_secrets"] == ["harbor-robot"]


def test_auth_failed_with_secret_for_another_registry():
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, AUTH_401, pull_secrets=["dockerhub"])
    ctx = context(pod, events, secrets=[redacted_secret("dockerhub", [imagelib.DOCKER_HUB_KEY])], list_secrets=True)
    f = diagnose(ctx)[0]
    assert f.code == "image.auth-failed"
    assert "none of them covers registry.example.com" in f.explanation


def test_secrets_not_listed_is_said():
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, AUTH_401, pull_secrets=["regcred"])
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.auth-failed"
    assert any("could not be checked" in e for e in f.evidence)


def test_ambiguous_denial_without_credentials_is_not_found_or_private():
    pod, events = _pull_failure_pod("acme/private-api:2.3", HUB_DENIED)
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.not-found"
    assert "or it is private" in f.title
    assert "does not exist or is private" in f.explanation or "missing or private" in f.explanation
    assert "https://index.docker.io/v1/" in f.explanation
    assert any("kubectl podfix secret regcred" in s for s in f.suggestions)


def test_ambiguous_denial_with_docker_hub_credentials_is_auth():
    pod, events = _pull_failure_pod("acme/private-api:2.3", HUB_DENIED, pull_secrets=["hub"])
    ctx = context(pod, events, secrets=[redacted_secret("hub", ["https://index.docker.io/v1/"])], list_secrets=True)
    f = diagnose(ctx)[0]
    assert f.code == "image.auth-failed"
    assert f.fix.command.split(" --docker-server ")[1].startswith("https://index.docker.io/v1/ ")


def test_official_image_denial_means_not_found():
    cause = HUB_DENIED.replace("acme/private-api:2.3", "library/nginxs:latest")
    pod, events = _pull_failure_pod("nginxs", cause)
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.not-found"
    assert "private" not in f.title
    assert "official Docker Hub image" in f.explanation


def test_backoff_without_events_before_1_32_is_unknown_cause():
    image = DEFAULT_IMAGE
    pod = make_pod([{"name": "app", "image": image}],
                   [waiting_status("app", image, "ImagePullBackOff", f'Back-off pulling image "{image}"')])
    f = diagnose(context(pod, []))[0]
    assert f.code == "image.pull-failed"
    assert "expire after an hour" in f.explanation
    assert "at most 5 minutes" in f.explanation
    assert "CrashLoopBackOff" not in f.explanation
    assert any(f"--field-selector involvedObject.name={POD}" in s for s in f.suggestions)
    assert any(f"kubectl delete pod {POD}" in s for s in f.suggestions)
    assert f.fix is None


def test_backoff_message_from_1_32_carries_the_cause_without_events():
    image = "nginx:lates"
    msg = f'Back-off pulling image "{image}": ErrImagePull: {NOT_FOUND_NEW}'
    pod = make_pod([{"name": "app", "image": image}], [waiting_status("app", image, "ImagePullBackOff", msg)])
    f = diagnose(context(pod, []))[0]
    assert f.code == "image.not-found"
    assert f.extra["cause_source"] == "waiting"
    assert any(msg in e for e in f.evidence)


def test_registry_unavailable_reason_from_1_32():
    image = "registry.example.com/team/app:1.0"
    msg = (f'Back-off pulling image "{image}": RegistryUnavailable: image pull failed for {image} because the '
           'registry is unavailable: dial tcp 10.0.0.7:443: connect: connection refused')
    pod = make_pod([{"name": "app", "image": image}], [waiting_status("app", image, "ImagePullBackOff", msg)])
    assert diagnose(context(pod, []))[0].code == "image.registry-unreachable"


def test_newest_event_wins_and_events_for_an_older_image_are_ignored():
    old, new = "registry.example.com/team/app:0.9", "registry.example.com/team/app:1.0"
    pod = make_pod([{"name": "app", "image": new}],
                   [waiting_status("app", new, "ImagePullBackOff", f'Back-off pulling image "{new}"')])
    events = [
        make_event("Failed", f'Failed to pull image "{old}": ' + AUTH_401.replace("1.0", "0.9"), container="app",
                   first=50, last=1),  # newest, but about the previous image
        make_event("Failed", f'Failed to pull image "{new}": failed to pull and unpack image "{new}": failed to '
                   'do request: Head "https://registry.example.com/v2/team/app/manifests/1.0": dial tcp: lookup '
                   'registry.example.com on 10.96.0.10:53: no such host', container="app", first=30, last=20),
        make_event("Failed", f'Failed to pull image "{new}": {AUTH_401}', container="app", first=10, last=3),
    ]
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.auth-failed"  # the newest event about the current image


def test_no_such_host_is_unreachable_not_not_found():
    cause = ('failed to pull and unpack image "registry.example.com/team/app:1.0": failed to resolve reference '
             '"registry.example.com/team/app:1.0": failed to do request: Head '
             '"https://registry.example.com/v2/team/app/manifests/1.0": dial tcp: lookup registry.example.com on '
             '10.96.0.10:53: no such host')
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, cause)
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.registry-unreachable"
    assert "resolve" in f.title
    assert any("nslookup registry.example.com" in s for s in f.suggestions)


def test_sandbox_image_failure_is_not_an_app_image_finding():
    pod = make_pod([{"name": "app", "image": "nginx:1.27"}], [waiting_status("app", "nginx:1.27", "ContainerCreating")])
    events = [make_event("FailedCreatePodSandBox", 'Failed to create pod sandbox: rpc error: code = Unknown desc = '
                         'failed to get sandbox image "registry.k8s.io/pause:3.9": failed to pull image '
                         '"registry.k8s.io/pause:3.9": failed to pull and unpack image "registry.k8s.io/pause:3.9": '
                         'failed to resolve reference "registry.k8s.io/pause:3.9": failed to do request: Head '
                         '"https://registry.k8s.io/v2/pause/manifests/3.9": dial tcp 34.96.108.209:443: i/o timeout')]
    assert [f for f in diagnose(context(pod, events)) if f.code.startswith("image.")] == []


def test_container_creating_with_fresh_pull_failure_is_reported():
    pod = make_pod([{"name": "app", "image": DEFAULT_IMAGE}], [waiting_status("app", DEFAULT_IMAGE, "ContainerCreating")])
    events = [make_event("Failed", f'Failed to pull image "{DEFAULT_IMAGE}": {AUTH_401}', container="app", count=1)]
    assert diagnose(context(pod, events))[0].code == "image.auth-failed"


def test_pull_that_succeeded_later_is_not_reported():
    pod = make_pod([{"name": "app", "image": DEFAULT_IMAGE}], [waiting_status("app", DEFAULT_IMAGE, "ContainerCreating")])
    events = [make_event("Failed", f'Failed to pull image "{DEFAULT_IMAGE}": {AUTH_401}', container="app",
                         count=1, first=5, last=5),
              make_event("Pulled", f'Successfully pulled image "{DEFAULT_IMAGE}" in 1.2s (1.2s including waiting)',
                         container="app", type_="Normal", count=1, first=1, last=1)]
    assert [f for f in diagnose(context(pod, events)) if f.code.startswith("image.")] == []


def test_ecr_without_secret_mentions_node_credentials():
    image = "840364872350.dkr.ecr.us-west-2.amazonaws.com/amazon/appmesh-controller:v1.12.5"
    cause = (f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": unexpected status '
             'from HEAD request to https://840364872350.dkr.ecr.us-west-2.amazonaws.com/v2/amazon/appmesh-controller/'
             'manifests/v1.12.5: 403 Forbidden')
    pod, events = _pull_failure_pod(image, cause)
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.auth-failed"
    assert "Amazon ECR" in f.explanation and "IAM role" in f.explanation


def test_service_account_secret_added_after_pod_creation():
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, AUTH_401)
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": NS},
          "imagePullSecrets": [{"name": "regcred"}]}
    f = diagnose(context(pod, events, extra=[sa]))[0]
    assert f.code == "image.auth-failed"
    assert any("copied into the pod only when it is created" in e for e in f.evidence)


def test_docker_hub_rate_limit_says_authenticate_or_mirror():
    cause = ('failed to pull and unpack image "docker.io/library/busybox:latest": failed to copy: httpReadSeeker: '
             'failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:'
             + "5" * 64 + ': 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull '
             'rate limit. You may increase the limit by authenticating and upgrading: '
             'https://www.docker.com/increase-rate-limit')
    pod, events = _pull_failure_pod("busybox", cause)
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.rate-limited"
    assert "Docker Hub" in f.title and "anonymous" in f.explanation and "mirror" in f.explanation
    assert f.fix is None


def test_platform_mismatch_names_the_node_platform():
    image = "ghcr.io/kubewarden/kubewarden-controller:latest"
    cause = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": no match for platform in '
             'manifest: not found')
    pod, events = _pull_failure_pod(image, cause)
    f = diagnose(context(pod, events, node=make_node("containerd", "arm64")))[0]
    assert f.code == "image.platform-mismatch"
    assert "linux/arm64" in f.title
    assert f.fix.id == "image"


def test_invalid_name_explains_the_problem():
    image = "https://harbor.k8s.mybank/release/name:1.1.0"
    msg = (f'Failed to apply default image tag "{image}": couldn\'t parse image reference "{image}": invalid '
           'reference format')
    pod = make_pod([{"name": "app", "image": image}], [waiting_status("app", image, "InvalidImageName", msg)])
    f = diagnose(context(pod, []))[0]
    assert f.code == "image.invalid-name"
    assert "URL scheme" in f.explanation


def test_codes_are_registered_in_root_cause_order():
    codes = list(rule.CODES)
    assert codes.index("image.pull-secret-missing") < codes.index("image.auth-failed")
    assert codes[-1] == "image.pull-failed"
    for code in codes:
        assert code in CODES
    assert rule.RULES == (rule.image_pull,)


def _explain(image, cause):
    pod, events = _pull_failure_pod(image, cause)
    f = diagnose(context(pod, events))[0]
    return f, (f.title + " " + f.explanation)


def test_expired_certificate_says_expired_and_no_ca_fix():
    f, text = _explain("harbor.example.com/a/b:1", 'failed to do request: Head "https://harbor.example.com/v2/a/b/'
                       'manifests/1": tls: failed to verify certificate: x509: certificate has expired or is not yet '
                       "valid: current time 2025-06-12T03:05:25Z is after 2025-06-07T05:48:45Z")
    assert f.code == "image.tls-error"
    assert "expired" in f.title and "clock" in text
    assert "does not help" in text


def test_hostname_mismatch_names_both_names():
    f, text = _explain("cr.example.dev/a/b:1", 'failed to do request: Head "https://cr.example.dev/v2/a/b/manifests/1": '
                       "tls: failed to verify certificate: x509: certificate is valid for x.traefik.default, not "
                       "cr.example.dev")
    assert "another host name" in f.title
    assert "x.traefik.default, not cr.example.dev" in text


def test_proxy_failures_say_proxy():
    f, text = _explain("quay.io/a/b:1", 'failed to do request: Head "https://quay.io/v2/a/b/manifests/1": proxyconnect '
                       "tcp: dial tcp 127.0.0.1:1082: connect: connection refused")
    assert f.code == "image.registry-unreachable"
    assert "proxy" in f.title and "127.0.0.1:1082" in f.title and "NO_PROXY" in text
    f, text = _explain("quay.io/a/b:1", 'failed to do request: Head "https://quay.io/v2/a/b/manifests/1": Proxy '
                       "Authentication Required")
    assert f.code == "image.registry-unreachable" and "requires authentication" in f.title
    f, text = _explain("docker.io/library/nginx:1", 'failed to do request: Head "https://registry-1.docker.io/v2/library/'
                       'nginx/manifests/1": proxyconnect tcp: x509: certificate signed by unknown authority')
    assert f.code == "image.tls-error" and "proxy" in f.title


def test_redirect_target_is_the_host_named_when_it_cannot_be_reached():
    f, text = _explain("registry.k8s.io/pause:3.9", 'failed to do request: Head "https://us-west2-docker.pkg.dev/v2/'
                       'k8s-artifacts-prod/images/pause/manifests/3.9": dial tcp 74.125.203.82:443: i/o timeout')
    assert "us-west2-docker.pkg.dev" in f.title and "registry.k8s.io sent the runtime" in text


def test_unpack_failure_points_at_the_node_store():
    f, text = _explain("docker.io/a/b:1", "failed to prepare extraction snapshot \"extract-1 sha256:aa\": parent "
                       "snapshot sha256:bb does not exist: not found")
    assert f.code == "image.pull-failed" and "image store" in f.title and "not the registry" in text


def test_ecr_iam_refusal_mentions_the_permission_and_the_name():
    f, text = _explain("1.dkr.ecr.us-west-2.amazonaws.com/a:1", "Error response from daemon: pull access denied for "
                       "1.dkr.ecr.us-west-2.amazonaws.com/a, repository does not exist or may require 'docker login': "
                       "denied: User: arn:aws:iam::1:user/u is not authorized to perform: ecr:BatchGetImage on resource: x")
    assert f.code == "image.auth-failed" and "ecr:BatchGetImage" in text and "check the name" in text


def test_kubelet_pull_qps_is_not_blamed_on_docker_hub():
    f, text = _explain("busybox:1.36", "pull QPS exceeded")
    assert f.code == "image.rate-limited"
    assert "Docker Hub" not in f.title and "registryPullQPS" in text and "registry was not asked" in text


def test_named_but_missing_pull_secret_outranks_a_not_found_from_a_registry_that_hides_private_repos():
    """GHCR answers an anonymous pull of a private repository "not found": with the pod's own pull
    secret missing, the missing secret is the likelier cause (and must be fixed anyway)."""
    from kubectl_podfix.diagnose.model import PodContext, Snapshot
    from kubectl_podfix.diagnose.rules import diagnose

    image = "ghcr.io/acme/web:v9"
    msg = (f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
           f'{image}: not found')
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1"},
           "spec": {"containers": [{"name": "web", "image": image}], "imagePullSecrets": [{"name": "regcred"}]},
           "status": {"phase": "Pending", "containerStatuses": [
               {"name": "web", "image": image, "ready": False, "restartCount": 0,
                "state": {"waiting": {"reason": "ErrImagePull", "message": msg}}}]}}
    snap = Snapshot(listed={("Secret", "shop")})
    first = diagnose(PodContext(pod=pod, events=[], snapshot=snap))[0]
    assert (first.code, first.container) == ("image.pull-secret-missing", "web")
    assert "regcred" in first.title + first.explanation
    # the same text from a registry that says what it means stays not-found
    pod["spec"]["containers"][0]["image"] = "quay.io/acme/web:v9"
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = msg.replace("ghcr.io", "quay.io")
    first = diagnose(PodContext(pod=pod, events=[], snapshot=snap))[0]
    assert first.code == "image.not-found"


def test_auth_failure_without_listed_secrets_does_not_claim_coverage():
    """From `kubectl get pod,events` (no Secrets saved), whether the named secret covers the registry is unknown."""
    image = "registry.example.com/team/api:1.4"
    cause = ('failed to pull and unpack image "registry.example.com/team/api:1.4": failed to resolve reference '
             '"registry.example.com/team/api:1.4": unexpected status from HEAD request to '
             'https://registry.example.com/v2/team/api/manifests/1.4: 401 Unauthorized')
    pod, events = _pull_failure_pod(image, cause, pull_secrets=["ghcr-cred"])
    from kubectl_podfix.diagnose.model import PodContext, Snapshot
    f = diagnose(PodContext(pod=pod, events=events, snapshot=Snapshot()))[0]
    assert f.code == "image.auth-failed"
    assert "could not be checked" in f.explanation
    assert "none of them covers" not in f.explanation


def test_a_pull_secret_with_an_empty_config_covers_no_registry():
    """{"auths": {}} (the redacted Secret then carries an empty podfix.io/registries): it covers nothing,
    which is not the same as not knowing what it covers."""
    pod, events = _pull_failure_pod(DEFAULT_IMAGE, AUTH_401, pull_secrets=["regcred"])
    ctx = context(pod, events, secrets=[redacted_secret("regcred", [])], list_secrets=True)
    f = diagnose(ctx)[0]
    assert f.code == "image.auth-failed"
    text = "\n".join([f.explanation, *f.evidence])
    assert "covers no registry" in text
    assert "not known" not in text and "is known to cover" not in f.explanation
    assert "none of them covers registry.example.com" in f.explanation


def test_a_truncated_digest_is_named_not_quoted_as_empty():
    image = "registry.example.com/team/app@sha256:" + "4f" * 20  # 40 hex digits: a digest cut off when copied
    cause = (f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
             f'{image}: not found')
    pod, events = _pull_failure_pod(image, cause)
    f = diagnose(context(pod, events))[0]
    assert f.code == "image.not-found"
    assert "''" not in f.explanation and "40 hex digits" in f.explanation


