"""The -f reader: every shape people save, Secret values dropped, precise errors."""

import base64
import io
import json

import pytest
import yaml
from objects import event, pod, waiting

from kubectl_podfix.cluster import bundle
from kubectl_podfix.errors import PodfixError


def failing_pod():
    return pod("web-1", namespace="shop", statuses=[waiting("app", "ErrImagePull")])


def test_kubectl_get_pod_events_list(tmp_path):
    p = failing_pod()
    doc = {"apiVersion": "v1", "kind": "List", "items": [p, event(p, "Failed", "boom", container="app")],
           "metadata": {"resourceVersion": ""}}
    f = tmp_path / "saved.yaml"
    f.write_text(yaml.safe_dump(doc))
    snap = bundle.read([str(f)])
    assert [x["metadata"]["name"] for x in snap.pods] == ["web-1"]
    assert snap.events[0]["message"] == "boom"
    assert {"logs", "metrics"} <= snap.missing


def test_multi_document_yaml_json_and_stdin(tmp_path):
    p = failing_pod()
    ev = event(p, "Failed", "x", container="app")
    multi = tmp_path / "multi.yaml"
    multi.write_text("---\n" + yaml.safe_dump(p) + "---\n" + yaml.safe_dump(ev) + "---\n")
    js = tmp_path / "one.json"
    js.write_text(json.dumps(pod("other", namespace="shop")))
    snap = bundle.read([str(multi), str(js), "-"], stdin=io.StringIO(json.dumps([pod("third")])))
    assert sorted(x["metadata"]["name"] for x in snap.pods) == ["other", "third", "web-1"]
    assert len(snap.events) == 1


def test_events_k8s_io_v1_are_normalized(tmp_path):
    p = failing_pod()
    new_style = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "type": "Warning", "reason": "Failed",
                 "note": 'Failed to pull image "x": not found', "reportingController": "kubelet",
                 "regarding": {"kind": "Pod", "name": "web-1", "namespace": "shop", "uid": p["metadata"]["uid"],
                               "fieldPath": "spec.containers{app}"},
                 "eventTime": "2026-11-20T09:00:00.123456Z",
                 "series": {"count": 7, "lastObservedTime": "2026-11-20T09:10:00.000000Z"},
                 "metadata": {"name": "e1", "namespace": "shop"}}
    f = tmp_path / "e.yaml"
    f.write_text(yaml.safe_dump_all([p, new_style]))
    ev = bundle.read([str(f)]).events[0]
    assert ev["message"] == 'Failed to pull image "x": not found'
    assert ev["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert ev["count"] == 7
    assert ev["lastTimestamp"] == "2026-11-20T09:10:00.000000Z"


def test_secret_values_never_survive_reading(tmp_path):
    cfg = {"auths": {"registry.example.com": {"username": "u", "password": "SENTINEL-PW",
                                               "auth": base64.b64encode(b"u:SENTINEL-PW").decode()}}}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
              "metadata": {"name": "regcred", "namespace": "shop"},
              "data": {".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()}}
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump_all([failing_pod(), secret]))
    snap = bundle.read([str(f)])
    stored = snap.get("Secret", "shop", "regcred")
    assert "SENTINEL" not in json.dumps(stored)
    assert stored["data"] == {".dockerconfigjson": ""}
    assert stored["metadata"]["annotations"]["podfix.io/registries"] == "registry.example.com"
    assert snap.knows("Secret", "shop")


@pytest.mark.parametrize("config,annotation", [
    ({"auths": {}}, ""),  # readable, names no registry: covers nothing
    ({"credsStore": "desktop"}, ""),  # no auths at all: the kubelet reads nothing from it
    ({"auths": {"a.example.com": {"auth": "dTpw"}, "b.example.com": {"username": "u", "password": "p"}}},
     "a.example.com,b.example.com"),
    # Docker Desktop's config.json: the entry is there, the credentials are in the OS keychain.
    ({"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"}, ""),
    (None, None),  # not a docker config: unknown
])
def test_redacted_pull_secret_says_which_registries_it_covers(config, annotation):
    from kubectl_podfix.cluster.redact import redact_secret
    raw = base64.b64encode(json.dumps(config).encode()).decode() if config is not None else "bm90IGpzb24="
    out = redact_secret({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                         "metadata": {"name": "regcred", "namespace": "shop"}, "data": {".dockerconfigjson": raw}})
    assert out["metadata"]["annotations"].get("podfix.io/registries") == annotation
    assert out["data"] == {".dockerconfigjson": ""}


@pytest.mark.parametrize("text,expected", [
    ("kind: Pod\nmetadata: {name: x\n", "document 1"),
    ("---\nkind: Pod\nmetadata: {name: a}\n---\n- just\n- a list of strings\n", "document 2, item 1"),
    ("42\n", "expected a Kubernetes object"),
    ("apiVersion: v1\nitems:\n- {metadata: {name: a}}\nkind: List\n", "no kind"),
    # a document that parses but cannot be built (a list as a key) is named by its own number
    ("kind: Pod\nmetadata: {name: p, labels: {[a]: b}}\n", "document 1, line 2: found unhashable key"),
    ("kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {labels: {[a]: b}}\n", "document 2, line 5"),
])
def test_malformed_files_name_file_and_document(tmp_path, text, expected):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(PodfixError) as err:
        bundle.read([str(f)])
    assert str(f) in err.value.message and expected in err.value.message
    assert err.value.code == 1


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(PodfixError, match="no such file"):
        bundle.read([str(tmp_path / "nope.yaml")])
    with pytest.raises(PodfixError, match="a directory with no .yaml"):
        bundle.read([str(tmp_path)])


def test_a_directory_reads_its_manifests_like_kubectl(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(pod("a", namespace="shop")))
    (tmp_path / "b.json").write_text(json.dumps(pod("b", namespace="shop")))
    (tmp_path / "notes.txt").write_text("not a manifest")
    snap = bundle.read([str(tmp_path)])
    assert [p["metadata"]["name"] for p in snap.pods] == ["a", "b"]


def test_saved_bundle_round_trips(tmp_path):
    p = failing_pod()
    f = tmp_path / "in.yaml"
    f.write_text(yaml.safe_dump_all([p, event(p, "Failed", "m", container="app")]))
    snap = bundle.read([str(f)])
    snap.logs[("shop", "web-1", "app")] = "panic: boom"
    snap.missing.discard("logs")
    out = tmp_path / "saved.yaml"
    bundle.write(str(out), snap, snap.pods, logs=True)  # --save-logs
    again = bundle.read([str(out)])
    assert again.pods == snap.pods
    assert again.events == snap.events
    assert again.logs == {("shop", "web-1", "app"): "panic: boom"}
    assert "logs" not in again.missing
    # without --save-logs the log lines stay out, and the bundle says the logs are missing
    bundle.write(str(out), snap, snap.pods)
    again = bundle.read([str(out)])
    assert again.logs == {} and "logs" in again.missing and "panic: boom" not in out.read_text()
    assert "were not saved (use --save-logs)" in out.read_text()


def test_file_with_no_pods_in_the_asked_namespace_says_so(tmp_path):
    from clitools import run_podfix

    f = tmp_path / "saved.yaml"
    f.write_text(yaml.safe_dump_all([failing_pod(), pod("web-2", namespace="shop")]))
    run = run_podfix(["explain", "-f", str(f), "-n", "prod"])
    assert run.code == 0, run.err
    assert run.out.strip() == "No pods with problems found."
