"""``kubectl podfix fix image`` against the loopback API server and a real distribution registry (TLS +
htpasswd, from test_registry's helpers): tag listing, nearest-tag suggestion, platform filtering and the
check before patching. The registry password is a sentinel and never appears in any output.
"""

from __future__ import annotations

import base64
import json

import pytest
import registry_servers as rs
from clitools import cli_env, run_podfix
from world import JSON_PATCH, NS, TPL, act_as_controllers, guarded, add_workload, container, patches, tpl_container

from kubectl_podfix.errors import PodfixError
from kubectl_podfix.fix import image as imgfix
from kubectl_podfix.fix import workload as wl

SECRETS = (rs.PASSWORD, base64.b64encode(f"{rs.USER}:{rs.PASSWORD}".encode()).decode())


@pytest.fixture(scope="module")
def registry(real_registry):
    return real_registry


@pytest.fixture
def trusted(monkeypatch, test_ca):
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.ca_cert))


def pull_secret(host: str, name: str = "regcred") -> dict:
    cfg = {"auths": {host: {"username": rs.USER, "password": rs.PASSWORD,
                            "auth": base64.b64encode(f"{rs.USER}:{rs.PASSWORD}".encode()).decode()}}}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()}}


def pull_status(image: str) -> dict:
    return {"name": "app", "image": image, "ready": False, "restartCount": 0, "started": False,
            "state": {"waiting": {"reason": "ImagePullBackOff",
                                  "message": f'Back-off pulling image "{image}"'}}, "lastState": {}}


def mistypedworld(api, registry, tag="lates", *, secret=True):
    image = f"{registry.host}/team/app:{tag}"
    containers = [container(image=image, limit=None, request=None)]
    if secret:
        api.add(pull_secret(registry.host))
        containers_tpl = containers
    else:
        containers_tpl = containers
    pod = add_workload(api, "Deployment", containers=containers_tpl, pod_statuses=[pull_status(image)])
    if secret:
        dep = api.get("Deployment", NS, "web")
        dep["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": "regcred"}]
        api.add(dep)
        p = api.get("Pod", NS, pod)
        p["spec"]["imagePullSecrets"] = [{"name": "regcred"}]
        api.add(p)
    act_as_controllers(api)
    return pod, image


def run(kubeconfig, *args, home=None, ca=None):
    extra = {"SSL_CERT_FILE": str(ca)} if ca else {}
    if home:
        extra["HOME"] = str(home)
    env = cli_env(kubeconfig, no_proxy="127.0.0.1,localhost", **extra)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(var, None)
    r = run_podfix(list(args), kubeconfig=kubeconfig, env=env)
    for secret in SECRETS:
        assert secret not in r.out and secret not in r.err
    return r


# ----------------------------------------------------------------------------- the registry half

def test_closest_tag_is_suggested(registry, trusted):
    auth = imgfix.RegistryAuth(rs.USER, rs.PASSWORD, "test")
    s = imgfix.suggest(f"{registry.host}/team/app:lates", auth=auth)
    assert s.candidates[0] == f"{registry.host}/team/app:latest"
    assert s.tags == len(registry.images["tags"])
    s = imgfix.suggest(f"{registry.host}/team/app:v1.2.33", auth=auth)
    assert s.candidates[0] == f"{registry.host}/team/app:v1.2.3"


def test_tags_with_the_node_platform(registry, trusted):
    auth = imgfix.RegistryAuth(rs.USER, rs.PASSWORD, "test")
    s = imgfix.suggest(f"{registry.host}/team/app:1.0", auth=auth, node_platform="linux/arm64")
    assert s.candidates == [f"{registry.host}/team/app:multi"]


def test_verify_before_patching(registry, trusted):
    auth = imgfix.RegistryAuth(rs.USER, rs.PASSWORD, "test")
    assert imgfix.verify(f"{registry.host}/team/app:latest", auth=auth).startswith("verified:")
    with pytest.raises(PodfixError) as err:
        imgfix.verify(f"{registry.host}/team/app:nope", auth=auth)
    assert err.value.code == 4
    with pytest.raises(PodfixError, match="no linux/arm64 variant"):
        imgfix.verify(f"{registry.host}/team/app:1.0", auth=auth, node_platform="linux/arm64")


def test_credentials_from_pull_secret_then_docker_config(tmp_path, registry):
    image = f"{registry.host}/team/app:1.0"
    auth, _ = imgfix.registry_credentials(image, [("regcred", pull_secret(registry.host))],
                                          str(tmp_path / "none.json"))
    assert auth.username == rs.USER and auth.source == "pull secret regcred"
    assert rs.PASSWORD not in repr(auth) and rs.PASSWORD not in str(auth)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {registry.host: {"auth": base64.b64encode(
        f"{rs.USER}:{rs.PASSWORD}".encode()).decode()}}}))
    auth, _ = imgfix.registry_credentials(image, [], str(cfg))
    assert auth.password == rs.PASSWORD and auth.source == str(cfg)
    cfg.write_text(json.dumps({"credsStore": "desktop"}))
    auth, notes = imgfix.registry_credentials(image, [], str(cfg))
    assert auth is None and "credential helper" in notes[0]


# ----------------------------------------------------------------------------- the command, live

def test_mistyped_tag_fixed_in_one_command(api, kubeconfig, registry, test_ca):
    pod, image = mistypedworld(api, registry)
    api.clear_requests()
    r = run(kubeconfig, "fix", "image", pod, "-n", NS, "--check-registry", "--yes", "--timeout", "20s",
            ca=test_ca.ca_cert)
    assert r.code == 0, r.err + r.out
    fixed = f"{registry.host}/team/app:latest"
    [patch] = patches(api)
    assert patch.path == "/apis/apps/v1/namespaces/default/deployments/web"
    assert patch.content_type == JSON_PATCH
    assert patch.json == guarded(TPL, "app", {"/image": image}, [("replace", "/image", fixed)])
    assert "chosen: " + fixed in r.out and "verified: " + fixed in r.out
    assert "registry credentials: pull secret regcred" in r.out
    assert f"-        image: {image}" in r.out and f"+        image: {fixed}" in r.out
    assert "undo: kubectl rollout undo deployment/web -n default" in r.out
    assert "Ready" in r.out.split("Result:", 1)[1]
    assert tpl_container(api, "Deployment")["image"] == fixed


def test_explicit_image_that_does_not_exist_is_refused(api, kubeconfig, registry, test_ca):
    pod, _ = mistypedworld(api, registry)
    api.clear_requests()
    r = run(kubeconfig, "fix", "image", pod, "-n", NS, "--image", f"{registry.host}/team/app:9.9", "--yes",
            ca=test_ca.ca_cert)
    assert r.code == 4
    assert patches(api) == [] and "Nothing was changed" in r.err


def test_explicit_image_dry_run_server_changes_nothing(api, kubeconfig, registry, test_ca):
    pod, _ = mistypedworld(api, registry)
    before = api.get("Deployment", NS, "web")
    api.clear_requests()
    r = run(kubeconfig, "fix", "image", pod, "-n", NS, "--image", f"{registry.host}/team/app:1.1",
            "--dry-run=server", ca=test_ca.ca_cert)
    assert r.code == 0, r.err + r.out
    assert [p.query.get("dryRun") for p in patches(api)] == [["All"]]
    assert api.get("Deployment", NS, "web") == before


def test_docker_config_credentials_when_the_pod_has_no_pull_secret(api, kubeconfig, registry, test_ca, tmp_path):
    pod, _ = mistypedworld(api, registry, secret=False)
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(json.dumps({"auths": {registry.host: {
        "auth": base64.b64encode(f"{rs.USER}:{rs.PASSWORD}".encode()).decode()}}}))
    r = run(kubeconfig, "fix", "image", pod, "-n", NS, "--check-registry", "--dry-run=client", home=tmp_path,
            ca=test_ca.ca_cert)
    assert r.code == 0, r.err + r.out
    assert f"chosen: {registry.host}/team/app:latest" in r.out and ".docker/config.json" in r.out


def test_no_credentials_says_why(api, kubeconfig, registry, test_ca, tmp_path):
    pod, _ = mistypedworld(api, registry, secret=False)
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(json.dumps({"credsStore": "osxkeychain"}))
    r = run(kubeconfig, "fix", "image", pod, "-n", NS, "--check-registry", "--yes", home=tmp_path,
            ca=test_ca.ca_cert)
    assert r.code == 1
    assert "needs credentials" in r.err and patches(api) == []


def test_image_flag_or_check_registry_is_required(api, kubeconfig):
    r = run_podfix(["fix", "image", "x"], kubeconfig=kubeconfig)
    assert r.code == 2 and "--check-registry" in r.err


def test_explain_image_fix_command_matches_this_cli():
    w = wl.Workload(NS)
    assert w.top is None  # (the rule module builds: kubectl podfix fix image POD -n NS --check-registry)
    from kubectl_podfix.cli.fix import image_cmd

    names = {o.name for o in image_cmd.params}
    assert {"check_registry", "namespace", "target"} <= names


# ----------------------------------------------------------------------------- exit codes, no registry

def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unreachable(api):
    """A pod whose image is on a registry nobody answers on (connection refused)."""
    host = f"127.0.0.1:{_closed_port()}"
    image = f"{host}/team/app:lates"
    pod = add_workload(api, "Deployment", containers=[container(image=image, limit=None, request=None)],
                       pod_statuses=[pull_status(image)])
    return pod, host


@pytest.mark.parametrize("flags", [["--image", "{host}/team/app:latest"], ["--check-registry"],
                                   ["--check-registry", "--dry-run=client"]])
def test_a_registry_that_cannot_be_reached_exits_1(api, kubeconfig, unreachable, flags):
    pod, host = unreachable
    r = run(kubeconfig, "fix", "image", pod, "-n", NS, *[f.format(host=host) for f in flags], "--yes")
    assert r.code == 1, r.err  # could not do the job; 4 is for a refusal on the merits (no such image)
    assert host in r.err and r.err.count("\n") == 1
    assert patches(api) == []


def test_dry_run_client_needs_no_registry(api, kubeconfig, unreachable):
    pod, host = unreachable
    r = run(kubeconfig, "fix", "image", pod, "-n", NS, "--image", f"{host}/team/app:latest", "--dry-run=client")
    assert r.code == 0, r.err
    assert f"{host}/team/app:latest was not checked in the registry: --dry-run=client contacts no registry" in r.out
    assert f"+        image: {host}/team/app:latest" in r.out
    assert "nothing was changed" in r.out and patches(api) == []
