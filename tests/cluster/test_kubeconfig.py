"""Kubeconfig resolution must match kubectl exactly; real kubectl is the oracle."""

import json
import os
import stat
import subprocess

import pytest
import yaml

from kubectl_podfix.cluster import kubeconfig
from kubectl_podfix.errors import PodfixError


def write(path, *, clusters=(), users=(), contexts=(), current=None):
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": n, "cluster": c} for n, c in clusters],
           "users": [{"name": n, "user": u} for n, u in users],
           "contexts": [{"name": n, "context": c} for n, c in contexts]}
    if current is not None:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def kubectl_view(env, *args):
    out = subprocess.run(["kubectl", "config", "view", "--minify", "--raw", "-o", "json", *args],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture
def two_files(tmp_path):
    a = write(tmp_path / "a.yaml", clusters=[("ca", {"server": "https://a.example:6443"})],
              users=[("ua", {"token": "ta"})],
              contexts=[("ctx-a", {"cluster": "ca", "user": "ua", "namespace": "team-a"})], current="ctx-a")
    b = write(tmp_path / "b.yaml", clusters=[("cb", {"server": "https://b.example:6443"}),
                                             ("ca", {"server": "https://shadowed.example"})],
              users=[("ub", {"token": "tb"})],
              contexts=[("ctx-b", {"cluster": "cb", "user": "ub"})], current="ctx-b")
    return a, b


def test_first_file_setting_current_context_wins_like_kubectl(two_files, monkeypatch):
    a, b = two_files
    env = dict(os.environ, KUBECONFIG=f"{a}:{b}")
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    conn = kubeconfig.load()
    view = kubectl_view(env)
    assert conn.context == view["current-context"] == "ctx-a"
    assert conn.server == view["clusters"][0]["cluster"]["server"] == "https://a.example:6443"
    assert conn.namespace == "team-a"


def test_first_file_wins_for_map_keys(two_files, monkeypatch):
    a, b = two_files
    monkeypatch.setenv("KUBECONFIG", f"{b}:{a}")
    conn = kubeconfig.load(context="ctx-a")
    view = kubectl_view(dict(os.environ, KUBECONFIG=f"{b}:{a}"), "--context", "ctx-a")
    # cluster "ca" is defined in both files: b comes first, so its (shadowing) server wins.
    assert conn.server == view["clusters"][0]["cluster"]["server"] == "https://shadowed.example"
    assert conn.context == "ctx-a"


def test_empty_current_context_in_first_file_does_not_win(tmp_path, monkeypatch):
    a = write(tmp_path / "a.yaml", clusters=[("c", {"server": "https://x"})], users=[("u", {"token": "t"})],
              contexts=[("one", {"cluster": "c", "user": "u"})], current="")
    b = write(tmp_path / "b.yaml", contexts=[("two", {"cluster": "c", "user": "u", "namespace": "ns2"})],
              current="two")
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    assert kubeconfig.load().context == kubectl_view(dict(os.environ))["current-context"] == "two"


def test_cluster_and_user_overrides_and_namespace_flag(two_files, monkeypatch):
    a, b = two_files
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    conn = kubeconfig.load(cluster="cb", user="ub", namespace="other")
    assert conn.server == "https://b.example:6443"
    assert conn.config["users"][0]["user"] == {"token": "tb"}
    assert conn.namespace == "other"


def test_relative_paths_resolve_against_the_defining_file(tmp_path, monkeypatch):
    sub = tmp_path / "conf"
    sub.mkdir()
    path = write(sub / "k.yaml", clusters=[("c", {"server": "https://x", "certificate-authority": "ca.crt"})],
                 users=[("u", {"client-certificate": "certs/u.crt", "client-key": "/abs/u.key",
                               "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "./bin/auth"}})],
                 contexts=[("c", {"cluster": "c", "user": "u"})], current="c")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    conn = kubeconfig.load(kubeconfig=path)
    assert conn.config["clusters"][0]["cluster"]["certificate-authority"] == str(sub / "ca.crt")
    user = conn.config["users"][0]["user"]
    assert user["client-certificate"] == str(sub / "certs/u.crt")
    assert user["client-key"] == "/abs/u.key"
    assert user["exec"]["command"] == str(sub / "bin/auth")


def test_unknown_context_lists_known_ones(two_files, monkeypatch):
    a, b = two_files
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    with pytest.raises(PodfixError) as err:
        kubeconfig.load(context="nope")
    assert "nope" in err.value.message and "ctx-a, ctx-b" in err.value.message
    assert err.value.code == 2


def test_missing_and_malformed_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(PodfixError, match="no kubeconfig found"):
        kubeconfig.load()
    bad = tmp_path / "bad.yaml"
    bad.write_text("clusters: [\n  - name: x\n   oops")
    with pytest.raises(PodfixError, match="not valid YAML"):
        kubeconfig.load(kubeconfig=str(bad))
    with pytest.raises(PodfixError, match="not found"):
        kubeconfig.load(kubeconfig=str(tmp_path / "nothere.yaml"))


@pytest.mark.parametrize("text,seconds", [("0", None), ("", None), ("5", 5.0), ("30s", 30.0), ("1m", 60.0),
                                          ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0)])
def test_request_timeout_parsing(text, seconds):
    assert kubeconfig.parse_timeout(text) == seconds


@pytest.mark.parametrize("text", ["abc", "5x", "-1s", "1m-"])
def test_request_timeout_rejects_garbage(text):
    with pytest.raises(PodfixError) as err:
        kubeconfig.parse_timeout(text)
    assert err.value.code == 2


def test_exec_plugin_credentials_are_used(tmp_path):
    plugin = tmp_path / "auth-plugin"
    plugin.write_text("#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                      "\"status\":{\"token\":\"tok-123\"}}'\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    path = write(tmp_path / "k.yaml", clusters=[("c", {"server": "https://127.0.0.1:1"})],
                 users=[("u", {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                         "interactiveMode": "Never"}})],
                 contexts=[("c", {"cluster": "c", "user": "u"})], current="c")
    cfg = kubeconfig.client_configuration(kubeconfig.load(kubeconfig=path))
    assert "Bearer tok-123" in cfg.api_key.values()


def test_failing_exec_plugin_is_an_error_not_an_anonymous_request(tmp_path):
    plugin = tmp_path / "auth-plugin"
    plugin.write_text("#!/bin/sh\necho 'token expired, run: cloud auth login' >&2\nexit 1\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    path = write(tmp_path / "k.yaml", clusters=[("c", {"server": "https://127.0.0.1:1"})],
                 users=[("u", {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                         "interactiveMode": "Never"}})],
                 contexts=[("c", {"cluster": "c", "user": "u"})], current="c")
    with pytest.raises(PodfixError) as err:
        kubeconfig.client_configuration(kubeconfig.load(kubeconfig=path))
    assert "exec credential plugin" in err.value.message
    assert "token expired" in err.value.message


def test_v1_exec_plugin_without_interactive_mode_is_refused_like_kubectl(tmp_path):
    path = write(tmp_path / "k.yaml", clusters=[("c", {"server": "https://127.0.0.1:1"})],
                 users=[("u", {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/true"}})],
                 contexts=[("c", {"cluster": "c", "user": "u"})], current="c")
    kubectl = subprocess.run(["kubectl", "--kubeconfig", path, "get", "pods"], capture_output=True, text=True)
    assert "interactiveMode must be specified for u to use exec authentication plugin" in kubectl.stderr
    with pytest.raises(PodfixError) as err:
        kubeconfig.client_configuration(kubeconfig.load(kubeconfig=path))
    assert "interactiveMode must be specified for u to use exec authentication plugin" in err.value.message


def test_a_rotated_token_file_is_read_again_like_client_go(api, tmp_path, monkeypatch):
    """client-go reads a tokenFile again once a minute; a long wait or explain --watch must too, or it fails
    with 401 once the old token expires. A read that finds nothing keeps the token podfix has."""
    from objects import pod

    from kubectl_podfix.cluster.api import Cluster

    api.add(pod("web-1"))
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    path = write(tmp_path / "k.yaml", clusters=[("c", {"server": api.url})], users=[("u", {"tokenFile": str(token_file)})],
                 contexts=[("c", {"cluster": "c", "user": "u"})], current="c")
    api.token = "first-token"
    cluster = Cluster(kubeconfig.load(kubeconfig=path))
    cluster.get("Pod", "default", "web-1")
    token_file.write_text("second-token\n")  # the token is rotated; the server takes only the new one
    api.token = "second-token"
    monkeypatch.setattr(kubeconfig, "TOKEN_FILE_PERIOD", 0.0)
    cluster.get("Pod", "default", "web-1")
    token_file.write_text("")  # caught mid-rotation: the token podfix has stays
    cluster.get("Pod", "default", "web-1")
    assert [r.headers.get("authorization") for r in api.requests] == [
        "Bearer first-token", "Bearer second-token", "Bearer second-token"]
