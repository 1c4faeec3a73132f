"""``kubectl podfix secret`` end to end: the installed command against the loopback API server
(and, for --verify, a real distribution registry on loopback), asserting the exact requests.

Every run uses a sentinel password and every stdout/stderr is checked for it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import pytest
import registry_servers as rs
from apiserver import FakeAPIServer
from clitools import cli_env, have_kubectl, run_podfix

NS = "shop"
POD = "web-5d4f8b7c9d-abcde"
IMAGE = "registry.example.com/team/app:1.0"
SENTINEL = "S3ntinel-Pw-9d2e71"
WRONG = "Wr0ng-Sentinel-5a8c"
SECRETS = (SENTINEL, WRONG, rs.PASSWORD,
           base64.b64encode(f"u:{SENTINEL}".encode()).decode(),
           base64.b64encode(f"{rs.USER}:{rs.PASSWORD}".encode()).decode())
WRITES = ("POST", "PUT", "PATCH", "DELETE")


# ----------------------------------------------------------------------------- the world

def pod_obj(name: str, image: str = IMAGE, *, owner: dict | None = None, labels: dict | None = None,
            secrets: list[str] | None = None, ready: bool = False, reason: str = "ImagePullBackOff") -> dict:
    status = {"name": "app", "image": image, "ready": ready, "restartCount": 0,
              "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}} if ready
              else {"waiting": {"reason": reason, "message": f'Back-off pulling image "{image}"'}}}
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": NS, "labels": labels or {"app": "web"}},
           "spec": {"serviceAccountName": "default", "nodeName": "node-1",
                    "containers": [{"name": "app", "image": image}]},
           "status": {"phase": "Running" if ready else "Pending", "containerStatuses": [status],
                      "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    if owner:
        pod["metadata"]["ownerReferences"] = [owner]
    if secrets:
        pod["spec"]["imagePullSecrets"] = [{"name": n} for n in secrets]
    return pod


def make_world(server: FakeAPIServer, *, image: str = IMAGE, template_secrets=None, sa_secrets=None) -> dict:
    """deployment/web -> replicaset/web-5d4f8b7c9d -> pod POD in ImagePullBackOff; serviceaccount/default."""
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": image}]}}
    if template_secrets:
        template["spec"]["imagePullSecrets"] = [{"name": n} for n in template_secrets]
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": NS}}
    if sa_secrets:
        sa["imagePullSecrets"] = [{"name": n} for n in sa_secrets]
    server.add(sa, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template}})
    dep_uid = server.get("Deployment", NS, "web")["metadata"]["uid"]
    server.add({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "web-5d4f8b7c9d", "namespace": NS,
                             "labels": {"app": "web", "pod-template-hash": "5d4f8b7c9d"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                                  "uid": dep_uid, "controller": True}]},
                "spec": {"replicas": 1, "template": template,
                         "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f8b7c9d"}}}})
    rs_uid = server.get("ReplicaSet", NS, "web-5d4f8b7c9d")["metadata"]["uid"]
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f8b7c9d", "uid": rs_uid,
             "controller": True}
    server.add(pod_obj(POD, image, owner=owner, labels={"app": "web", "pod-template-hash": "5d4f8b7c9d"},
                       secrets=template_secrets or sa_secrets))
    return owner


def act_as_controller(server: FakeAPIServer, owner: dict, *, ready: bool = True) -> None:
    """on_delete: the ReplicaSet creates a replacement pod (Ready, or failing again)."""
    def replace(obj: dict) -> None:
        if obj.get("kind") == "Pod" and obj["metadata"]["name"] == POD:
            server.add(pod_obj("web-5d4f8b7c9d-zx9k2", owner=owner, ready=ready,
                               labels={"app": "web", "pod-template-hash": "5d4f8b7c9d"}))
    server.on_delete.append(replace)


@pytest.fixture
def world(api):
    return make_world(api)


def run(kubeconfig, *args, stdin: str | None = SENTINEL + "\n", env: dict | None = None, via_kubectl=False):
    result = run_podfix(list(args), kubeconfig=kubeconfig, stdin=stdin, env=env, via_kubectl=via_kubectl)
    for secret in SECRETS:
        assert secret not in result.out, f"secret leaked to stdout:\n{result.out}"
        assert secret not in result.err, f"secret leaked to stderr:\n{result.err}"
    return result


BASE = ("secret", "regcred", "--docker-server", "registry.example.com", "--docker-username", "u",
        "--password-stdin", "--for", POD, "-n", NS)


def writes(api) -> list:
    return [r for r in api.requests if r.method in WRITES and "selfsubjectaccessreviews" not in r.path]


def kubectl_oracle(server: str | None, user: str, password: str, email: str | None = None) -> dict:
    """What the real `kubectl create secret docker-registry --dry-run=client -o json` produces.
    (A throw-away password: the sentinel never goes into any process's argv.)"""
    cmd = ["kubectl", "create", "secret", "docker-registry", "regcred", f"--docker-username={user}",
           f"--docker-password={password}", "--dry-run=client", "-o", "json"]
    if server:
        cmd.append(f"--docker-server={server}")
    if email:
        cmd.append(f"--docker-email={email}")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=cli_env()).stdout
    return json.loads(out)


needs_kubectl = pytest.mark.skipif(not have_kubectl(), reason="needs the kubectl binary")


# ----------------------------------------------------------------------------- the happy path

def test_pull_secret_flow_from_backoff_to_ready(api, kubeconfig, world):
    act_as_controller(api, world, ready=True)
    before_sa = api.get("ServiceAccount", NS, "default")
    r = run(kubeconfig, *BASE, "--restart", "--yes", "--timeout", "20s")
    assert r.code == 0, r.err + r.out
    assert "Applied:" in r.out and "new pod web-5d4f8b7c9d-zx9k2 Ready" in r.out

    posts = [q for q in writes(api) if q.method == "POST"]
    assert [q.path for q in posts] == [f"/api/v1/namespaces/{NS}/secrets"]
    body = posts[0].json
    assert posts[0].content_type.startswith("application/json")
    assert posts[0].query["fieldManager"] == ["kubectl-podfix"] and "dryRun" not in posts[0].query
    assert body["type"] == "kubernetes.io/dockerconfigjson"
    doc = json.loads(base64.b64decode(body["data"][".dockerconfigjson"]))
    assert doc == {"auths": {"registry.example.com": {
        "username": "u", "password": SENTINEL, "auth": base64.b64encode(f"u:{SENTINEL}".encode()).decode()}}}

    (patch,) = [q for q in writes(api) if q.method == "PATCH"]
    assert patch.path == f"/api/v1/namespaces/{NS}/serviceaccounts/default"
    assert patch.content_type == "application/json-patch+json"
    assert patch.query["fieldManager"] == ["kubectl-podfix"]
    assert patch.json == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": before_sa["metadata"]["resourceVersion"]},
        {"op": "add", "path": "/imagePullSecrets", "value": [{"name": "regcred"}]}]
    assert api.get("ServiceAccount", NS, "default")["imagePullSecrets"] == [{"name": "regcred"}]

    (delete,) = [q for q in writes(api) if q.method == "DELETE"]
    assert delete.path == f"/api/v1/namespaces/{NS}/pods/{POD}"
    assert delete.json["preconditions"]["uid"]
    assert api.get("Pod", NS, POD) is None
    # order: secret, then the attachment, then the restart
    assert [q.method for q in writes(api)] == ["POST", "PATCH", "DELETE"]
    # RBAC preflight before the first write, one review per verb/resource
    reviews = [q for q in api.requests if "selfsubjectaccessreviews" in q.path]
    attrs = [q.json["spec"]["resourceAttributes"] for q in reviews]
    assert [(a["verb"], a["resource"], a["namespace"]) for a in attrs] == [
        ("create", "secrets", NS), ("patch", "serviceaccounts", NS), ("delete", "pods", NS)]
    assert api.requests.index(reviews[-1]) < api.requests.index(posts[0])


@needs_kubectl
@pytest.mark.parametrize("server,email,image", [
    ("registry.example.com", None, IMAGE),
    ("registry.example.com:5000", "dev@example.com", "registry.example.com:5000/team/app:1.0"),
    (None, None, "private/app:1.0"),  # Docker Hub: the default server, kubelet spelling
])
def test_secret_bytes_equal_kubectl_create_secret_docker_registry(api, kubeconfig, server, email, image):
    make_world(api, image=image)
    args = ["secret", "regcred", "--docker-username", "u", "--password-stdin", "-n", NS, "--yes"]
    if server:
        args += ["--docker-server", server]
    if email:
        args += ["--docker-email", email]
    r = run(kubeconfig, *args, stdin="oracle-pw\n")
    assert r.code == 0, r.err
    (post,) = [q for q in writes(api) if q.method == "POST"]
    oracle = kubectl_oracle(server, "u", "oracle-pw", email)
    assert post.json["type"] == oracle["type"]
    # byte for byte: same JSON, same key order, same compact separators
    assert base64.b64decode(post.json["data"][".dockerconfigjson"]) == \
        base64.b64decode(oracle["data"][".dockerconfigjson"])


def test_docker_hub_image_gets_the_kubelet_key(api, kubeconfig):
    make_world(api, image="acme/private-app:2.1")
    r = run(kubeconfig, "secret", "hubcred", "--docker-username", "u", "--password-stdin", "--for", POD,
            "-n", NS, "--yes", "--docker-server", "docker.io")
    assert r.code == 0, r.err
    (post,) = [q for q in writes(api) if q.method == "POST"]
    doc = json.loads(base64.b64decode(post.json["data"][".dockerconfigjson"]))
    assert list(doc["auths"]) == ["https://index.docker.io/v1/"]


# ----------------------------------------------------------------------------- dry runs and refusals

def test_server_dry_run_sends_dryrun_all_and_persists_nothing(api, kubeconfig, world):
    sa = api.get("ServiceAccount", NS, "default")
    r = run(kubeconfig, *BASE, "--restart", "--yes", "--dry-run=server")
    assert r.code == 0, r.err
    assert "nothing was persisted" in r.out
    ws = writes(api)
    assert [q.method for q in ws] == ["POST", "PATCH", "DELETE"]
    assert all(q.query.get("dryRun") == ["All"] for q in ws)
    assert api.get("Secret", NS, "regcred") is None
    assert api.get("ServiceAccount", NS, "default") == sa
    assert api.get("Pod", NS, POD) is not None


def test_client_dry_run_sends_nothing(api, kubeconfig, world):
    r = run(kubeconfig, *BASE, "--restart", "--dry-run=client")
    assert r.code == 0
    assert "Plan: pull secret regcred" in r.out and "'***'" in r.out
    assert not [q for q in api.requests if q.method != "GET"]


def test_no_tty_and_no_yes_applies_nothing(api, kubeconfig, world):
    r = run(kubeconfig, *BASE, "--restart")
    assert r.code == 4
    assert "re-run with --yes" in r.err
    assert "1. create secret/regcred" in r.out  # the plan is printed
    assert writes(api) == []


def test_denied_preflight_writes_nothing_and_lists_permissions(api, kubeconfig, world):
    api.deny("patch", "serviceaccounts", NS)
    api.deny("delete", "pods", NS)
    r = run(kubeconfig, *BASE, "--restart", "--yes")
    assert r.code == 4
    assert "patch serviceaccounts in namespace \"shop\"" in r.out
    assert "delete pods in namespace \"shop\"" in r.out
    assert "create secrets" not in r.out.split("lack these permissions")[1]
    assert writes(api) == []


def test_existing_secret_needs_overwrite(api, kubeconfig, world):
    other = base64.b64encode(json.dumps({"auths": {"registry.example.com": {"auth": "eDp5"}}}).encode()).decode()
    api.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred", "namespace": NS},
             "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": other}})
    r = run(kubeconfig, *BASE, "--yes")
    assert r.code == 4 and "--overwrite" in r.err
    assert writes(api) == []
    rv = api.get("Secret", NS, "regcred")["metadata"]["resourceVersion"]
    r = run(kubeconfig, *BASE, "--yes", "--overwrite")
    assert r.code == 0, r.err
    (put,) = [q for q in writes(api) if q.method == "PUT"]
    assert put.path == f"/api/v1/namespaces/{NS}/secrets/regcred"
    assert put.json["metadata"]["resourceVersion"] == rv  # optimistic concurrency
    doc = json.loads(base64.b64decode(api.get("Secret", NS, "regcred")["data"][".dockerconfigjson"]))
    assert doc["auths"]["registry.example.com"]["password"] == SENTINEL


def test_argv_password_warns(api, kubeconfig, world):
    r = run(kubeconfig, "secret", "regcred", "--docker-username", "u", "--docker-password", "argv-pw",
            "-n", NS, "--dry-run=client", stdin=None)
    assert r.code == 0
    assert "shell history" in r.err and "process list" in r.err


# ----------------------------------------------------------------------------- attachment

def test_template_with_pull_secrets_gets_a_conditional_json_patch(api, kubeconfig):
    make_world(api, template_secrets=["old"])
    r = run(kubeconfig, *BASE, "--restart", "--yes", "--no-wait")
    assert r.code == 0, r.err
    (patch,) = [q for q in writes(api) if q.method == "PATCH"]
    assert patch.path == f"/apis/apps/v1/namespaces/{NS}/deployments/web"
    assert patch.content_type == "application/json-patch+json"
    assert patch.json == [{"op": "test", "path": "/spec/template/spec/imagePullSecrets", "value": [{"name": "old"}]},
                          {"op": "add", "path": "/spec/template/spec/imagePullSecrets/-", "value": {"name": "regcred"}}]
    assert api.get("Deployment", NS, "web")["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "old"}, {"name": "regcred"}]
    assert not [q for q in writes(api) if q.method == "DELETE"]  # the rollout replaces the pods
    assert "replaces its pods itself" in r.out


def test_sa_with_existing_list_tests_the_list_and_appends(api, kubeconfig):
    make_world(api, sa_secrets=["old"])
    r = run(kubeconfig, *BASE, "--yes")
    assert r.code == 0, r.err
    (patch,) = [q for q in writes(api) if q.method == "PATCH"]
    assert patch.json == [{"op": "test", "path": "/imagePullSecrets", "value": [{"name": "old"}]},
                          {"op": "add", "path": "/imagePullSecrets/-", "value": {"name": "regcred"}}]
    assert api.get("ServiceAccount", NS, "default")["imagePullSecrets"] == [{"name": "old"}, {"name": "regcred"}]


def test_concurrent_sa_change_is_not_clobbered(api, kubeconfig):
    make_world(api, sa_secrets=["old"])

    def meddle(verb, obj):  # someone edits the SA right after podfix creates the secret
        if obj.get("kind") == "Secret":
            sa = api.get("ServiceAccount", NS, "default")
            sa["imagePullSecrets"].append({"name": "theirs"})
            api.add(sa)
    api.on_write.append(meddle)
    r = run(kubeconfig, *BASE, "--yes")
    assert r.code == 4
    assert "changed after podfix read it" in r.out
    assert r.err.strip().splitlines()[-1] == (
        "error: serviceaccount/default changed since it was read (imagePullSecrets changed): steps done before it "
        "stay done (create secret/regcred), serviceaccount/default was not changed; run the command again to plan "
        "against the new state")
    api.on_write.clear()
    assert api.get("ServiceAccount", NS, "default")["imagePullSecrets"] == [{"name": "old"}, {"name": "theirs"}]
    r = run(kubeconfig, *BASE, "--yes")  # the re-run plans against the new list
    assert r.code == 0, r.out
    assert api.get("ServiceAccount", NS, "default")["imagePullSecrets"] == [
        {"name": "old"}, {"name": "theirs"}, {"name": "regcred"}]


def test_explicit_attach_is_idempotent(api, kubeconfig, world):
    api.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": NS}})
    args = ("secret", "regcred", "--docker-server", "registry.example.com", "--docker-username", "u",
            "--password-stdin", "-n", NS, "--attach", "sa/builder", "--attach", "deploy/web", "--yes")
    assert run(kubeconfig, *args).code == 0
    first = len(writes(api))
    assert first == 3  # secret, SA, deployment
    r = run(kubeconfig, *args)
    assert r.code == 0
    assert "Nothing to change" in r.out
    assert len(writes(api)) == first


def test_attach_job_is_refused_clearly(api, kubeconfig):
    api.add({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once", "namespace": NS},
             "spec": {"template": {"spec": {"containers": [{"name": "c", "image": IMAGE}]}}}})
    r = run(kubeconfig, "secret", "regcred", "--docker-username", "u", "--password-stdin", "-n", NS,
            "--attach", "job/once", "--yes")
    assert r.code == 2 and "cannot be changed" in r.err
    assert writes(api) == []


# ----------------------------------------------------------------------------- partial failure, re-run

def test_partial_failure_is_reported_and_rerun_finishes(api, kubeconfig, world):
    act_as_controller(api, world)
    api.fail("PATCH", "/serviceaccounts/default$", 403, times=1,
             message='serviceaccounts "default" is forbidden: User "dev" cannot patch resource "serviceaccounts"')
    r = run(kubeconfig, *BASE, "--restart", "--yes", "--no-wait")
    assert r.code == 4
    assert "Result (incomplete)" in r.out
    lines = r.out.split("Result (incomplete):")[1]
    assert "done" in lines.split("create secret/regcred")[0]
    assert "FAILED" in lines.split("patch serviceaccount/default")[0].split("create secret/regcred")[1]
    assert "not attempted" in lines.split("delete pod/")[0].split("patch serviceaccount/default")[1]
    assert "run the same command again" in r.out
    assert api.get("Secret", NS, "regcred") is not None and api.get("Pod", NS, POD) is not None

    api.clear_requests()
    r = run(kubeconfig, *BASE, "--restart", "--yes", "--timeout", "20s")
    assert r.code == 0, r.out + r.err
    assert "already holds these credentials" in r.out
    assert [q.method for q in writes(api)] == ["PATCH", "DELETE"]  # no second secret
    assert "Ready" in r.out


# ----------------------------------------------------------------------------- restart and wait

def test_wait_reports_renewed_failure(api, kubeconfig, world):
    act_as_controller(api, world, ready=False)
    r = run(kubeconfig, *BASE, "--restart", "--yes", "--timeout", "20s")
    assert r.code == 1
    assert "fails again: app: ImagePullBackOff" in r.out


def test_wait_times_out(api, kubeconfig, world):
    r = run(kubeconfig, *BASE, "--restart", "--yes", "--timeout", "2s")  # no controller: nothing comes back
    assert r.code == 1
    assert "no new pod Ready after 2s" in r.out


def test_bare_pod_is_never_deleted_without_asking(api, kubeconfig):
    api.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": NS}},
            pod_obj("lonely", labels={"app": "lonely"}))
    r = run(kubeconfig, "secret", "regcred", "--docker-server", "registry.example.com", "--docker-username", "u",
            "--password-stdin", "--for", "lonely", "-n", NS, "--restart", "--yes")
    assert r.code == 0, r.err
    assert "has no controller" in r.out and "kubectl create -f this manifest" in r.out
    assert "name: lonely" in r.out  # its manifest, to create it again
    assert not [q for q in writes(api) if q.method == "DELETE"]
    assert api.get("Pod", NS, "lonely") is not None


# ----------------------------------------------------------------------------- credentials

def test_from_docker_config_auth_field(api, kubeconfig, world, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {"https://registry.example.com": {
        "auth": base64.b64encode(f"u:{SENTINEL}".encode()).decode()}}}))
    r = run(kubeconfig, "secret", "regcred", "--from-docker-config", str(cfg), "--for", POD, "-n", NS, "--yes",
            stdin=None)
    assert r.code == 0, r.err
    doc = json.loads(base64.b64decode(api.get("Secret", NS, "regcred")["data"][".dockerconfigjson"]))
    assert doc["auths"]["registry.example.com"]["password"] == SENTINEL


def test_from_docker_config_credential_helper_is_unsupported(api, kubeconfig, world, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {"registry.example.com": {}}, "credHelpers": {"registry.example.com": "ecr-login"}}))
    r = run(kubeconfig, "secret", "regcred", "--from-docker-config", str(cfg), "--for", POD, "-n", NS, "--yes",
            stdin=None)
    assert r.code == 2
    assert "docker-credential-ecr-login" in r.err and "does not run" in r.err
    assert writes(api) == []


def test_debug_output_never_shows_the_password(api, kubeconfig, world):
    act_as_controller(api, world)
    r = run(kubeconfig, *BASE, "--restart", "--yes", "-v", "--timeout", "20s")
    assert r.code == 0
    assert "POST /api/v1/namespaces/shop/secrets" in r.err  # the trace is there, the body is not


@needs_kubectl
def test_through_real_kubectl_plugin(api, kubeconfig, world):
    act_as_controller(api, world)
    r = run(kubeconfig, *BASE, "--restart", "--yes", "--timeout", "20s", via_kubectl=True)
    assert r.code == 0, r.err
    assert "Ready" in r.out
    assert api.get("Secret", NS, "regcred")["type"] == "kubernetes.io/dockerconfigjson"


# ----------------------------------------------------------------------------- --verify

@pytest.fixture(scope="module")
def real_registry(tmp_path_factory):
    rs.need(rs.missing_tools())
    ca = rs.make_ca(tmp_path_factory.mktemp("ca"))
    reg = rs.start_registry(tmp_path_factory.mktemp("registry"), ca=ca)
    try:
        reg.images = rs.push_test_images(reg.url, ca.ca_cert)
        yield reg
    finally:
        reg.stop()


def _verify_env(kubeconfig, reg) -> dict:
    env = cli_env(kubeconfig, SSL_CERT_FILE=str(reg.ca.ca_cert), no_proxy="127.0.0.1,localhost")
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    return env


def _verify(api, kubeconfig, reg, image: str, password: str, *extra: str):
    make_world(api, image=image)
    return run(kubeconfig, "secret", "regcred", "--docker-server", reg.host, "--docker-username", rs.USER,
               "--password-stdin", "--for", POD, "-n", NS, "--verify", "--yes", *extra,
               stdin=password + "\n", env=_verify_env(kubeconfig, reg))


def test_verify_right_credentials_then_creates(api, kubeconfig, real_registry):
    r = _verify(api, kubeconfig, real_registry, f"{real_registry.host}/team/app:1.0", rs.PASSWORD)
    assert r.code == 0, r.err
    assert "verified:" in r.err and "team/app:1.0" in r.err
    assert api.get("Secret", NS, "regcred") is not None


@pytest.mark.parametrize("image,password,said", [
    ("{host}/team/app:1.0", WRONG, "rejected the credentials"),
    ("{host}/team/app:9.9-nope", rs.PASSWORD, "9.9-nope"),
    ("{host}/team/nothing-here:1.0", rs.PASSWORD, "team/nothing-here"),
])
def test_verify_refusals_create_nothing(api, kubeconfig, real_registry, image, password, said):
    r = _verify(api, kubeconfig, real_registry, image.format(host=real_registry.host), password)
    assert r.code == 4, r.err
    assert "--verify failed" in r.err and said in r.err and "Nothing was created" in r.err
    assert [q for q in api.requests if q.method != "GET"] == []  # not even a permission check


def test_verify_keeps_tls_verification_on(api, kubeconfig, real_registry):
    make_world(api, image=f"{real_registry.host}/team/app:1.0")
    env = _verify_env(kubeconfig, real_registry)
    env.pop("SSL_CERT_FILE")
    args = ("secret", "regcred", "--docker-server", real_registry.host, "--docker-username", rs.USER,
            "--password-stdin", "--for", POD, "-n", NS, "--verify", "--yes")
    r = run(kubeconfig, *args, stdin=rs.PASSWORD + "\n", env=env)
    assert r.code == 1 and "Nothing was created" in r.err  # the registry could not be reached (safely): 1, not 4
    assert writes(api) == []
    r = run(kubeconfig, *args, "--insecure-registry", stdin=rs.PASSWORD + "\n", env=env)
    assert r.code == 0, r.err


@pytest.mark.parametrize("password,code", [(rs.PASSWORD, 0), (WRONG, 4)])
def test_verify_bearer_token_flow(api, kubeconfig, password, code):
    with rs.FakeTokenRegistry(repo="team/app", tag="1.0") as reg:
        make_world(api, image=f"{reg.host}/team/app:1.0")
        env = cli_env(kubeconfig, no_proxy="127.0.0.1,localhost")
        r = run(kubeconfig, "secret", "regcred", "--docker-server", reg.url, "--docker-username", rs.USER,
                "--password-stdin", "--for", POD, "-n", NS, "--verify", "--insecure-registry", "--yes",
                stdin=password + "\n", env=env)
        assert r.code == code, r.err
        assert reg.token_requests, "the token endpoint was not asked"
        assert (api.get("Secret", NS, "regcred") is not None) == (code == 0)


def test_kubectl_oracle_available():
    if not shutil.which("kubectl"):
        pytest.skip("needs kubectl")
    assert kubectl_oracle("r", "u", "p")["type"] == "kubernetes.io/dockerconfigjson"


# ----------------------------------------------------------------------------- explain --fix

def test_explain_fix_without_a_terminal_prints_the_command(api, kubeconfig, world):
    pytest.importorskip("kubectl_podfix.diagnose.rules.images")
    pod = api.get("Pod", NS, POD)
    api.add({"apiVersion": "v1", "kind": "Event", "metadata": {"name": POD + ".1", "namespace": NS},
             "involvedObject": {"kind": "Pod", "name": POD, "namespace": NS, "uid": pod["metadata"]["uid"],
                                "fieldPath": "spec.containers{app}"},
             "reason": "Failed", "type": "Warning", "count": 3, "source": {"component": "kubelet"},
             "firstTimestamp": "2026-11-21T12:00:00Z", "lastTimestamp": "2026-11-21T12:05:00Z",
             "message": f'Failed to pull image "{IMAGE}": failed to pull and unpack image "{IMAGE}": failed to '
                        f'resolve reference "{IMAGE}": failed to authorize: failed to fetch oauth token: unexpected '
                        "status from GET request to https://registry.example.com/token: 401 Unauthorized"})
    r = run(kubeconfig, "explain", POD, "-n", NS, "--fix", stdin=None)
    assert r.code == 0, r.err
    assert f"# pod {POD}: image.auth-failed" in r.out and "kubectl podfix secret regcred" in r.out
    assert "--password-stdin" in r.out
    assert writes(api) == []


def test_non_utf8_password_on_stdin_is_one_clear_line(api, kubeconfig, world):
    import subprocess

    from clitools import BIN, ROOT, cli_env

    proc = subprocess.run([str(BIN / "kubectl-podfix"), *BASE, "--yes"], input=b"caf\xe9-\xff\xfe-pw\n",
                          capture_output=True, env=cli_env(kubeconfig), cwd=ROOT, timeout=60)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == ["error: --password-stdin: the password read from stdin is not UTF-8 text; a "
                                        "pull secret stores it as UTF-8 (pipe it as UTF-8, e.g. iconv -t UTF-8) "
                                        "(see kubectl podfix secret --help)"]
    assert b"caf" not in proc.stderr + proc.stdout and "internal error" not in err
    assert api.get("Secret", NS, "regcred") is None


def test_a_failed_step_ends_with_one_error_line_on_stderr(api, kubeconfig, world):
    api.fail("PATCH", r"/serviceaccounts/default$", 500, message="etcdserver: request timed out")
    r = run(kubeconfig, *BASE, "--yes")
    assert r.code == 1
    assert "FAILED" in r.out and "Result (incomplete)" in r.out  # the step report stays on stdout
    assert r.err.strip().splitlines()[-1] == (
        f"error: patch serviceaccount/default -n {NS} failed: the API server failed to patch serviceaccounts "
        f"'default' in namespace \"{NS}\" (500 InternalError: etcdserver: request timed out): check the "
        "cluster's health and try again")


# ----------------------------------------------------------------------------- usage errors before credentials

def exec_kubeconfig(tmp_path, server, marker):
    """A kubeconfig whose exec credential plugin leaves ``marker`` behind when it runs."""
    import yaml

    credential = json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                             "status": {"token": "exec-token"}})
    kc = tmp_path / "exec-kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sso",
        "clusters": [{"name": "sso", "cluster": {"server": server.url}}],
        "users": [{"name": "u", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "sh",
            "args": ["-c", f"touch '{marker}'; printf '%s' '{credential}'"], "interactiveMode": "Never"}}}],
        "contexts": [{"name": "sso", "context": {"cluster": "sso", "user": "u", "namespace": NS}}]}))
    return str(kc)


@pytest.mark.parametrize("args", [
    ("secret", "regcred", "--password-stdin", "--for", POD),  # no --docker-username
    ("secret", "regcred", "--docker-username", "u", "--docker-password", "x", "--password-stdin"),
    ("secret", "regcred", "--from-docker-config", "cfg.json", "--docker-username", "u"),
    ("secret", "regcred", "--docker-username", "u", "--password-stdin", "--attach", "job/migrate"),
    ("secret", "regcred", "--docker-username", "u", "--password-stdin", "--attach", "widget/x"),
    ("secret", "regcred", "--docker-username", "u", "--password-stdin", "--timeout", "soon"),
    ("fix", "pull-secret", POD, "--password-stdin"),  # no --docker-username
    ("fix", "memory", "widget/web", "--yes"),
    ("fix", "memory", POD, "--timeout", "soon"),
    ("node-check", POD, "--image", "no good"),
])
def test_usage_errors_come_before_the_exec_credential_plugin_runs(api, tmp_path, world, args):
    marker = tmp_path / "exec-plugin-ran"
    kc = exec_kubeconfig(tmp_path, api, marker)
    r = run_podfix(list(args), kubeconfig=kc, stdin="pw-usage\n")
    assert r.code == 2, r.err
    assert r.err.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in r.err
    assert not marker.exists(), "the exec credential plugin ran before the usage error"
    assert api.requests == []
    # the control: a valid command does run the plugin (the marker test is not vacuous)
    assert run_podfix(["explain", POD], kubeconfig=kc).code in (0, 3)
    assert marker.exists()


@pytest.mark.parametrize("entry, words", [
    ({"auth": 5}, "the auth field for registry.example.com is not a string"),
    ({"username": 5, "password": ["x"]}, "the username field for registry.example.com is not a string"),
    ({"username": "u", "password": {"p": 1}}, "the password field for registry.example.com is not a string"),
])
def test_a_docker_config_entry_of_the_wrong_type_is_one_line(api, kubeconfig, tmp_path, entry, words):
    """docker reads these fields as strings; a number was an internal error, a list became the password."""
    import json

    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"registry.example.com": entry}}))
    r = run(kubeconfig, "secret", "regcred", "--docker-server", "registry.example.com", "--from-docker-config",
            str(path), "-n", NS, "--yes", stdin=None)
    assert r.code == 2, r.err
    assert words in r.err and len(r.err.strip().splitlines()) == 1 and "internal error" not in r.err
    assert writes(api) == []


def test_verify_against_something_that_is_no_registry_reads_as_one_sentence(api, kubeconfig):
    """The loopback API server as --docker-server: HTTP 404 at /v2/ ('is this a container registry?'), and the
    line goes on with one sentence, not '?.'."""
    host = api.url.split("://", 1)[1]
    make_world(api, image=f"{host}/team/app:1.0")
    r = run(kubeconfig, "secret", "regcred", "--docker-server", host, "--docker-username", "u", "--password-stdin",
            "--for", POD, "-n", NS, "--verify", "--yes", "--insecure-registry", stdin="pw-no-registry\n")
    assert r.code == 4, r.err
    assert "is this a container registry? Nothing was created" in r.err, r.err
    assert "?." not in r.err and ".." not in r.err and "pw-no-registry" not in r.err
    assert writes(api) == []
