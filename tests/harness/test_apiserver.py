"""Tests of the fake API server, through the real kubernetes client and the real kubectl."""

from __future__ import annotations

import json
import shutil
import subprocess

import kubernetes
import pytest
import urllib3
from apiserver import FakeAPIServer, parse_field_selector, parse_label_selector, strategic_merge
from kubernetes.client import ApiException, AppsV1Api, AuthorizationV1Api, CoreV1Api

SMP = "application/strategic-merge-patch+json"


def pod(name, ns="shop", labels=None, phase="Running", node="node-1", **spec):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "nginx:1.25"}], **spec},
            "status": {"phase": phase}}


def event(name, obj, reason="BackOff", ns="shop", **extra):
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": obj, "namespace": ns}, "reason": reason,
            "message": f"{reason} for {obj}", "type": "Warning", "source": {"component": "kubelet"}, **extra}


def direct_client(config_path):
    """An ApiClient for the stand-in. NB: the official client copies HTTP(S)_PROXY into
    Configuration.proxy, loopback included (podfix does not: tests/security/test_proxies.py);
    the stand-in is on loopback, so no proxy."""
    cfg = kubernetes.client.Configuration()
    cfg.proxy = None
    return kubernetes.config.new_client_from_config(config_file=str(config_path), client_configuration=cfg)


# (named apart from conftest's ``api``/``kubeconfig`` fixtures: here ``client`` is a kubernetes ApiClient)
@pytest.fixture
def server():
    with FakeAPIServer() as srv:
        yield srv


@pytest.fixture
def config_path(server, tmp_path):
    return server.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def client(config_path):
    api_client = direct_client(config_path)
    yield api_client
    api_client.close()


@pytest.fixture
def v1(client):
    return CoreV1Api(client)


def data(resp):
    return json.loads(resp.data)


def names(resp):
    return [i["metadata"]["name"] for i in data(resp)["items"]]


def status_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


# ---------------------------------------------------------------- reads and selectors

@pytest.fixture
def shop(server):
    server.add(pod("a", labels={"app": "web", "tier": "front"}),
               pod("b", labels={"app": "web", "tier": "back"}, phase="Pending", node=""),
               pod("c", labels={"app": "db"}, phase="Failed", restartPolicy="Never"),
               pod("d", ns="other", labels={"app": "web"}))
    return server


@pytest.mark.parametrize("selector, expected", [
    ("", ["a", "b", "c"]),
    ("app=web", ["a", "b"]),
    ("app==web", ["a", "b"]),
    ("app!=web", ["c"]),
    ("tier", ["a", "b"]),
    ("!tier", ["c"]),
    ("app in (web, db),tier notin (back)", ["a", "c"]),
    ("app=web,tier=front", ["a"]),
    ("tier!=front", ["b", "c"]),
])
def test_label_selectors(shop, v1, selector, expected):
    assert names(v1.list_namespaced_pod("shop", label_selector=selector, _preload_content=False)) == expected
    assert shop.requests[-1].q("labelSelector") == selector


@pytest.mark.parametrize("selector", ["app in web", "a b", "app=(x", "in=x", "app in ()"])
def test_invalid_label_selector_is_400(shop, v1, selector):
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_pod("shop", label_selector=selector)
    assert err.value.status == 400
    body = status_of(err.value)
    assert body["reason"] == "BadRequest" and body["kind"] == "Status"
    assert body["message"].startswith(("unable to parse requirement", "found"))


def test_selector_parsers():
    assert parse_label_selector("a in (x,y),!b,c>3") == [("a", "in", ("x", "y")), ("b", "!", ()), ("c", ">", ("3",))]
    assert parse_field_selector(r"metadata.name=a\,b,status.phase!=Running") == [
        ("metadata.name", "=", "a,b"), ("status.phase", "!=", "Running")]


def test_field_selectors(shop, v1):
    assert names(v1.list_namespaced_pod("shop", field_selector="status.phase=Running", _preload_content=False)) \
        == ["a"]
    assert names(v1.list_namespaced_pod("shop", field_selector="spec.nodeName=", _preload_content=False)) == ["b"]
    assert names(v1.list_pod_for_all_namespaces(field_selector="metadata.name!=a,spec.restartPolicy!=Never",
                                                _preload_content=False)) == ["d", "b"]  # etcd order: "other/d" < "shop/b"
    shop.add(event("e1", "a"), event("e2", "b", reason="Failed"), {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pull", "namespace": "shop"},
        "type": "kubernetes.io/dockerconfigjson"})
    evs = v1.list_namespaced_event("shop", field_selector="involvedObject.name=b,involvedObject.kind=Pod",
                                   _preload_content=False)
    assert names(evs) == ["e2"]
    assert names(v1.list_namespaced_event("shop", field_selector="reason!=Failed,source=kubelet",
                                          _preload_content=False)) == ["e1"]
    assert names(v1.list_namespaced_secret("shop", field_selector="type=kubernetes.io/dockerconfigjson",
                                           _preload_content=False)) == ["pull"]
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_pod("shop", field_selector="spec.foo=bar")
    assert err.value.status == 400 and status_of(err.value)["message"] == "field label not supported: spec.foo"


def test_list_shapes_and_cluster_scope(shop, v1, client):
    shop.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}},
             {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "namespace": "other"},
              "spec": {"replicas": 1}})
    body = data(v1.list_pod_for_all_namespaces(_preload_content=False))
    assert body["kind"] == "PodList" and body["apiVersion"] == "v1"
    assert body["metadata"] == {"resourceVersion": str(shop._rv)}
    assert [i["metadata"]["namespace"] for i in body["items"]] == ["other", "shop", "shop", "shop"]
    assert all("kind" not in i and "apiVersion" not in i for i in body["items"])  # like the real server
    assert names(v1.list_node(_preload_content=False)) == ["node-1"]
    assert [n.metadata.name for n in v1.list_namespace().items] == ["default", "other", "shop"]
    rs = data(AppsV1Api(client).list_replica_set_for_all_namespaces(_preload_content=False))
    assert rs["kind"] == "ReplicaSetList" and rs["items"][0]["metadata"]["generation"] == 1
    got = v1.read_namespaced_pod("a", "shop")  # typed deserialisation works too
    assert got.metadata.labels == {"app": "web", "tier": "front"} and got.status.phase == "Running"
    assert shop.count("GET", "/api/v1/namespaces/shop/pods/a") == 1


def test_pagination(shop, v1):
    shop.add(*[pod(f"p{i}", ns="page") for i in range(5)])
    page = data(v1.list_namespaced_pod("page", limit=2, _preload_content=False))
    assert [i["metadata"]["name"] for i in page["items"]] == ["p0", "p1"]
    assert page["metadata"]["remainingItemCount"] == 3
    seen, token = ["p0", "p1"], page["metadata"]["continue"]
    while token:
        page = data(v1.list_namespaced_pod("page", limit=2, _continue=token, _preload_content=False))
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert seen == [f"p{i}" for i in range(5)]
    assert "remainingItemCount" not in page["metadata"]
    assert shop.count("GET", "/api/v1/namespaces/page/pods") == 3
    # with a selector, a full page ends where it ends: the last page may be empty, and no remainingItemCount
    page = data(v1.list_namespaced_pod("shop", limit=1, label_selector="app=db", _preload_content=False))
    assert [i["metadata"]["name"] for i in page["items"]] == ["c"] and "continue" not in page["metadata"]
    page = data(v1.list_namespaced_pod("shop", limit=1, label_selector="app=web", _preload_content=False))
    assert "remainingItemCount" not in page["metadata"]
    page = data(v1.list_namespaced_pod("shop", limit=1, label_selector="app=web", _continue=page["metadata"]
                                       ["continue"], _preload_content=False))
    assert [i["metadata"]["name"] for i in page["items"]] == ["b"] and page["metadata"]["continue"]
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_pod("page", _continue="not-a-token")
    assert err.value.status == 400 and "continue key is not valid" in status_of(err.value)["message"]
    shop.compact()
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_pod("page", limit=2, _continue=page["metadata"]["continue"])
    assert err.value.status == 410 and status_of(err.value)["reason"] == "Expired"
    assert status_of(err.value)["message"].startswith("The provided continue parameter is too old")


def test_page_default_caps_pages(tmp_path):
    with FakeAPIServer([pod(f"p{i}") for i in range(3)], page_default=2) as srv:
        v1 = CoreV1Api(direct_client(srv.write_kubeconfig(tmp_path / "k")))
        page = data(v1.list_namespaced_pod("shop", limit=500, _preload_content=False))
        assert len(page["items"]) == 2 and page["metadata"]["continue"]


# ---------------------------------------------------------------- errors

def test_not_found_status_is_exact(server, v1):
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_pod("x", "default")
    assert err.value.status == 404 and err.value.reason == "Not Found"
    assert status_of(err.value) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                    "message": 'pods "x" not found', "reason": "NotFound",
                                    "details": {"name": "x", "kind": "pods"}, "code": 404}
    assert err.value.headers["Content-Type"] == "application/json"
    with pytest.raises(ApiException) as err:
        AppsV1Api(v1.api_client).read_namespaced_deployment("web", "default")
    assert status_of(err.value)["message"] == 'deployments.apps "web" not found'
    assert status_of(err.value)["details"] == {"name": "web", "group": "apps", "kind": "deployments"}


def test_create_conflicts_and_validation(server, v1):
    body = {"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Running"}}
    created = data(v1.create_namespaced_pod("default", body, _preload_content=False))
    assert created["status"] == {"phase": "Pending", "qosClass": "BestEffort"}  # status is not writable
    assert created["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_pod("default", body)
    assert err.value.status == 409 and status_of(err.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_pod("default", {"metadata": {}, "spec": body["spec"]})
    st = status_of(err.value)
    assert err.value.status == 422 and st["reason"] == "Invalid"
    assert st["message"] == 'Pod "" is invalid: metadata.name: Required value: name or generateName is required'
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_pod("nowhere", body)
    assert err.value.status == 404 and status_of(err.value)["message"] == 'namespaces "nowhere" not found'
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_pod("a", "default", {"spec": {"restartPolicy": "Never"}})
    assert err.value.status == 422
    assert status_of(err.value)["message"].startswith(
        'Pod "a" is invalid: spec: Forbidden: pod updates may not change fields other than '
        "`spec.containers[*].image`")
    stale = dict(created, metadata={**created["metadata"], "resourceVersion": "1"})
    with pytest.raises(ApiException) as err:
        v1.replace_namespaced_pod("a", "default", stale)
    assert err.value.status == 409 and "the object has been modified" in status_of(err.value)["message"]


# ---------------------------------------------------------------- patches

def test_strategic_merge_patch_of_pod(server, v1):
    server.add(pod("web", ns="default", imagePullSecrets=[{"name": "old"}],
                   initContainers=[{"name": "init", "image": "busybox"}]))
    server.add({**server.get("Pod", "default", "web"),
                "metadata": {**server.get("Pod", "default", "web")["metadata"], "annotations": {"a": "1", "b": "2"}}})
    rv = server.get("Pod", "default", "web")["metadata"]["resourceVersion"]
    patch = {"metadata": {"annotations": {"a": None, "c": "3"}},
             "spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}
    out = data(v1.patch_namespaced_pod("web", "default", patch, field_manager="podfix", _preload_content=False))
    req = server.requests[-1]
    assert (req.method, req.content_type, req.q("fieldManager"), req.json) == ("PATCH", SMP, "podfix", patch)
    assert out["metadata"]["annotations"] == {"b": "2", "c": "3"}
    assert out["spec"]["containers"] == [{"name": "app", "image": "nginx:1.26"}]
    assert out["spec"]["initContainers"] == [{"name": "init", "image": "busybox"}]
    assert int(out["metadata"]["resourceVersion"]) > int(rv)
    assert server.get("Pod", "default", "web")["status"] == {"phase": "Running"}  # status kept on update


def test_strategic_merge_of_lists_and_directives(server, client):
    server.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                "spec": {"template": {"spec": {
                    "imagePullSecrets": [{"name": "old"}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                    "containers": [{"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"},
                                                                             {"name": "B", "value": "2"}],
                                    "ports": [{"containerPort": 80}]}]}}}})
    patch = {"spec": {"template": {"spec": {
        "imagePullSecrets": [{"name": "regcred"}],
        "tolerations": [{"key": "b", "operator": "Exists"}],
        "containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}, {"name": "C", "value": "3"}],
                        "ports": [{"containerPort": 80, "name": "http"}]},
                       {"name": "sidecar", "image": "proxy:2"}],
        "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}]}}}}
    out = AppsV1Api(client).patch_namespaced_deployment("web", "default", patch, _preload_content=False)
    spec = data(out)["spec"]["template"]["spec"]
    assert spec["imagePullSecrets"] == [{"name": "old"}, {"name": "regcred"}]
    assert spec["tolerations"] == [{"key": "b", "operator": "Exists"}]  # no merge key: replaced
    assert spec["containers"] == [
        {"name": "app", "image": "app:1", "env": [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}],
         "ports": [{"containerPort": 80, "name": "http"}]},
        {"name": "sidecar", "image": "proxy:2"}]
    assert data(out)["metadata"]["generation"] == 2
    assert strategic_merge({"a": {"x": 1}, "volumes": [{"name": "p"}], "finalizers": ["f"], "b": 1},
                           {"a": {"$patch": "replace", "y": 2}, "volumes": [{"$patch": "replace"}, {"name": "q"}],
                            "finalizers": ["g"], "$retainKeys": ["a", "volumes", "finalizers"]}) \
        == {"a": {"y": 2}, "volumes": [{"name": "q"}], "finalizers": ["f", "g"]}


def test_merge_and_json_patch(server, v1):
    server.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"},
                "data": {"a/b": "1", "keep": "2"}})
    out = v1.patch_namespaced_config_map("cm", "default", {"data": {"keep": None, "n": "3"}},
                                         _content_type="application/merge-patch+json", _preload_content=False)
    assert data(out)["data"] == {"a/b": "1", "n": "3"}
    ops = [{"op": "test", "path": "/data/a~1b", "value": "1"}, {"op": "replace", "path": "/data/a~1b", "value": "9"},
           {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}, {"op": "remove", "path": "/data/n"}]
    out = v1.patch_namespaced_config_map("cm", "default", ops, _preload_content=False)
    assert server.requests[-1].content_type == "application/json-patch+json"
    assert data(out)["data"] == {"a/b": "9"} and data(out)["metadata"]["labels"] == {"x": "y"}
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_config_map("cm", "default", [{"op": "test", "path": "/data/a~1b", "value": "1"}])
    assert err.value.status == 422
    # the real server's answer to a failed test op (apiserver handlers/patch.go: NewGenericServerResponse)
    assert status_of(err.value) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                    "message": "the server rejected our request due to an error in our request",
                                    "reason": "Invalid", "details": {}, "code": 422}
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_config_map("cm", "default", {"data": {}}, _content_type="application/apply-patch+yaml")
    assert err.value.status == 415 and status_of(err.value)["reason"] == "UnsupportedMediaType"


def test_dry_run_persists_nothing(server, v1):
    server.add(pod("web", ns="default"))
    before = server.get("Pod", "default", "web")
    writes, deletes = [], []
    server.on_write.append(lambda verb, obj: writes.append(verb))
    server.on_delete.append(deletes.append)
    out = v1.patch_namespaced_pod("web", "default", {"spec": {"containers": [{"name": "app", "image": "x:2"}]}},
                                  dry_run="All", _preload_content=False)
    assert data(out)["spec"]["containers"][0]["image"] == "x:2"
    v1.delete_namespaced_pod("web", "default", dry_run="All")
    v1.create_namespaced_pod("default", {"metadata": {"name": "new"}, "spec": before["spec"]}, dry_run="All")
    assert server.get("Pod", "default", "web") == before and server.get("Pod", "default", "new") is None
    assert writes == [] and deletes == []
    v1.delete_namespaced_pod("web", "default", grace_period_seconds=0, propagation_policy="Background")
    assert server.get("Pod", "default", "web") is None and [d["metadata"]["name"] for d in deletes] == ["web"]
    assert server.requests[-1].q("gracePeriodSeconds") == "0"


def test_hooks_simulate_a_controller(server, v1):
    def recreate(obj):
        server.add({**obj, "metadata": {"name": obj["metadata"]["name"], "namespace": "default"}})
    server.add(pod("web", ns="default"))
    uid = server.get("Pod", "default", "web")["metadata"]["uid"]
    server.on_delete.append(recreate)
    v1.delete_namespaced_pod("web", "default")
    assert server.get("Pod", "default", "web")["metadata"]["uid"] != uid
    server.add({**server.get("Pod", "default", "web"), "metadata": {
        **server.get("Pod", "default", "web")["metadata"], "finalizers": ["x/y"]}})
    v1.delete_namespaced_pod("web", "default")
    assert server.get("Pod", "default", "web")["metadata"]["deletionTimestamp"]
    v1.patch_namespaced_pod("web", "default", {"metadata": {"finalizers": None}})
    assert server.get("Pod", "default", "web")["metadata"].get("deletionTimestamp") is None  # recreated again


# ---------------------------------------------------------------- RBAC, faults, auth

def test_deny_gives_real_forbidden(server, v1, client):
    server.add(pod("web", ns="default"), pod("web", ns="shop"))
    server.deny("list", "pods", "default")
    server.deny("get", "pods/log")
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_pod("default")
    assert err.value.status == 403
    assert status_of(err.value)["message"] == ('pods is forbidden: User "system:serviceaccount:default:test" cannot '
                                               'list resource "pods" in API group "" in the namespace "default"')
    assert status_of(err.value)["details"] == {"kind": "pods"}
    v1.list_namespaced_pod("shop")
    v1.read_namespaced_pod("web", "default")
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_pod_log("web", "shop")
    assert status_of(err.value)["message"] == ('pods "web" is forbidden: User "system:serviceaccount:default:test" '
                                               'cannot get resource "pods/log" in API group "" in the namespace "shop"')
    server.deny("*", "deployments.apps")
    with pytest.raises(ApiException) as err:
        AppsV1Api(client).list_deployment_for_all_namespaces()
    assert status_of(err.value)["message"].endswith(
        'cannot list resource "deployments" in API group "apps" at the cluster scope')
    authz = AuthorizationV1Api(client)

    def allowed(**attrs):
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}}
        return data(authz.create_self_subject_access_review(body, _preload_content=False))["status"]["allowed"]
    assert allowed(verb="list", resource="pods", namespace="default") is False
    assert allowed(verb="list", resource="pods", namespace="shop") is True
    assert allowed(verb="get", resource="pods", subresource="log", namespace="x") is False
    assert allowed(verb="patch", group="apps", resource="deployments", namespace="x") is False


def test_fail_retry_after_and_drop(server, v1):
    server.fail("GET", r"/pods$", 429, retry_after=0, times=1)
    v1.list_namespaced_pod("default")  # urllib3 honours Retry-After on GET and retries by itself
    assert server.count("GET") == 2
    server.fail("POST", r"/pods$", 429, retry_after=7, times=1)
    body = {"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_pod("default", body)
    assert err.value.status == 429 and err.value.headers["Retry-After"] == "7"
    assert status_of(err.value)["details"] == {"retryAfterSeconds": 7}
    assert status_of(err.value)["reason"] == "TooManyRequests"
    server.fail("*", "/pods", 500, message="etcdserver: request timed out", times=1)
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_pod("default")
    assert (err.value.status, status_of(err.value)["message"]) == (500, "etcdserver: request timed out")
    server.clear_requests()
    server.fail("POST", r"/pods$", None, drop=True, times=1)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        v1.create_namespaced_pod("default", body)
    v1.create_namespaced_pod("default", body)
    server.fail("GET", r"/pods/a$", None, drop=True)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        v1.read_namespaced_pod("a", "default")
    assert server.count("GET", "/api/v1/namespaces/default/pods/a") == 4  # 1 + urllib3's 3 retries
    server.clear_requests()
    server.fail("GET", "/version", None, delay=0.2)  # slow answers; urllib3 retries read timeouts on GET too
    with pytest.raises(urllib3.exceptions.MaxRetryError) as err:
        kubernetes.client.VersionApi(v1.api_client).get_code(_request_timeout=0.05)
    assert isinstance(err.value.reason, urllib3.exceptions.ReadTimeoutError) and server.count() == 4


def test_token_is_checked(tmp_path):
    with FakeAPIServer(token="s3cret") as srv:
        good = CoreV1Api(direct_client(srv.write_kubeconfig(tmp_path / "a")))
        good.list_namespace()
        assert srv.requests[-1].headers["authorization"] == "Bearer s3cret"
        bad = CoreV1Api(direct_client(srv.write_kubeconfig(tmp_path / "b", token="nope")))
        with pytest.raises(ApiException) as err:
            bad.list_namespace()
        assert err.value.status == 401 and status_of(err.value)["reason"] == "Unauthorized"


# ---------------------------------------------------------------- subresources, other groups

def test_pod_logs(server, v1):
    two = pod("two", ns="default", initContainers=[{"name": "init", "image": "busybox"}])
    two["spec"]["containers"].append({"name": "side", "image": "envoy"})
    two["status"]["containerStatuses"] = [{"name": "side", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]
    server.add(pod("web", ns="default"), two)
    server.logs[("default", "web", "app", False)] = "one\ntwo\nthree\n"
    server.logs[("default", "web", "app", True)] = "crashed\n"
    def log(*args, **kwargs):  # kubernetes 36.0.3 returns "b'...'" for text bodies unless we read raw
        return v1.read_namespaced_pod_log(*args, **kwargs, _preload_content=False).data.decode()
    assert log("web", "default") == "one\ntwo\nthree\n"
    assert server.requests[-1].path == "/api/v1/namespaces/default/pods/web/log"
    assert log("web", "default", container="app", tail_lines=2) == "two\nthree\n"
    assert log("web", "default", limit_bytes=5) == "one\nt"
    assert log("web", "default", previous=True) == "crashed\n"
    resp = v1.read_namespaced_pod_log("web", "default", _preload_content=False)
    assert resp.headers["Content-Type"] == "text/plain"
    cases = [({"name": "two", "previous": True, "container": "app"},
              'previous terminated container "app" in pod "two" not found'),
             ({"name": "two"}, "a container name must be specified for pod two, choose one of: [app side] "
                               "or one of the init containers: [init]"),
             ({"name": "two", "container": "nope"}, "container nope is not valid for pod two"),
             ({"name": "two", "container": "side"},
              'container "side" in pod "two" is waiting to start: trying and failing to pull image')]
    for kwargs, message in cases:
        with pytest.raises(ApiException) as err:
            v1.read_namespaced_pod_log(namespace="default", **kwargs)
        assert (err.value.status, status_of(err.value)["message"]) == (400, message)
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_pod_log("ghost", "default")
    assert err.value.status == 404


def test_events_k8s_io_shares_the_store(server, client):
    server.add(event("e1", "web", ns="default", count=3, firstTimestamp="2024-01-01T00:00:00Z"))
    server.add({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e2", "namespace": "default"},
                "regarding": {"kind": "Pod", "name": "db", "namespace": "default"}, "note": "hello",
                "reason": "Pulled", "type": "Normal", "reportingController": "kubelet",
                "eventTime": "2024-01-01T00:00:00.000000Z", "reportingInstance": "node-1", "action": "Pull"})
    assert server.get("Event", "default", "e2")["message"] == "hello"
    assert server.get("Event", "default", "e1")["eventTime"] is None  # the real server serialises null
    new = data(kubernetes.client.EventsV1Api(client).list_namespaced_event("default", _preload_content=False))
    assert new["kind"] == "EventList" and new["apiVersion"] == "events.k8s.io/v1"
    e1 = new["items"][0]
    assert (e1["note"], e1["regarding"]["name"], e1["deprecatedCount"]) == ("BackOff for web", "web", 3)
    assert e1["deprecatedFirstTimestamp"] == "2024-01-01T00:00:00Z" and "involvedObject" not in e1
    sel = data(kubernetes.client.EventsV1Api(client).list_namespaced_event(
        "default", field_selector="regarding.name=db", _preload_content=False))
    assert [i["metadata"]["name"] for i in sel["items"]] == ["e2"]
    core = data(CoreV1Api(client).list_namespaced_event("default", field_selector="reportingComponent=kubelet",
                                                     _preload_content=False))
    assert [(i["metadata"]["name"], i["involvedObject"]["name"]) for i in core["items"]] == [("e2", "db")]


def test_metrics_group_only_with_pod_metrics(server, client):
    custom = kubernetes.client.CustomObjectsApi(client)
    with pytest.raises(ApiException) as err:
        custom.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "default", "pods")
    assert err.value.status == 404
    groups = data(kubernetes.client.ApisApi(client).get_api_versions(_preload_content=False))["groups"]
    assert "metrics.k8s.io" not in [g["name"] for g in groups]
    server.add({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                "metadata": {"name": "web", "namespace": "default"}, "window": "30s",
                "containers": [{"name": "app", "usage": {"cpu": "5m", "memory": "20Mi"}}]})
    got = custom.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "default", "pods")
    assert got["kind"] == "PodMetricsList" and got["items"][0]["containers"][0]["usage"]["memory"] == "20Mi"


def test_discovery_documents(server, client):
    core = data(CoreV1Api(client).get_api_resources(_preload_content=False))
    assert core["groupVersion"] == "v1"
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods["kind"] == "Pod" and pods["namespaced"] and "list" in pods["verbs"] and pods["shortNames"] == ["po"]
    assert {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]} \
        in core["resources"]
    apps = data(AppsV1Api(client).get_api_resources(_preload_content=False))
    assert apps["groupVersion"] == "apps/v1" and {r["name"] for r in apps["resources"]} == {
        "replicasets", "deployments", "statefulsets", "daemonsets"}


# ---------------------------------------------------------------- the real kubectl

KUBECTL = shutil.which("kubectl")


def kubectl(config_path, tmp_path, *args):
    return subprocess.run([KUBECTL, "--kubeconfig", str(config_path), "--cache-dir", str(tmp_path / "cache"), *args],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(not KUBECTL, reason="kubectl not installed")
def test_real_kubectl(server, config_path, tmp_path):
    p = pod("web-1", ns="shop", labels={"app": "web"})
    p["status"].update(podIP="10.0.0.5", containerStatuses=[{"name": "app", "ready": True, "restartCount": 1,
                                                             "state": {"running": {}}}])
    server.add(p)
    uid = server.get("Pod", "shop", "web-1")["metadata"]["uid"]
    server.add(event("web-1.1", "web-1", involvedObject={"kind": "Pod", "name": "web-1", "namespace": "shop",
                                                           "uid": uid}))
    r = kubectl(config_path, tmp_path, "get", "pods", "-n", "shop", "-o", "wide")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                               "NOMINATED", "NODE", "READINESS", "GATES"]
    assert r.stdout.split("\n")[1].split()[:4] == ["web-1", "1/1", "Running", "1"]
    r = kubectl(config_path, tmp_path, "describe", "pod", "web-1", "-n", "shop")
    assert r.returncode == 0, r.stderr
    assert "Name:         web-1" in r.stdout and "Image:          nginx:1.25" in r.stdout
    assert "BackOff for web-1" in r.stdout  # events found through the involvedObject field selector
    events = [q for q in server.requests if q.path == "/api/v1/namespaces/shop/events"]
    assert set(events[-1].q("fieldSelector").split(",")) == {  # kubectl's term order varies
        "involvedObject.name=web-1", "involvedObject.namespace=shop", f"involvedObject.uid={uid}"}
    r = kubectl(config_path, tmp_path, "get", "pod", "web-1", "-n", "shop", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metadata"]["uid"] == uid
    r = kubectl(config_path, tmp_path, "get", "pod", "nope", "-n", "shop")
    assert r.returncode == 1 and 'Error from server (NotFound): pods "nope" not found' in r.stderr
    server.deny("delete", "pods", "shop")
    r = kubectl(config_path, tmp_path, "auth", "can-i", "delete", "pods", "-n", "shop")  # SSAR sent as protobuf
    assert (r.returncode, r.stdout.strip()) == (1, "no")
    assert server.requests[-1].json == {"spec": {"resourceAttributes": {"namespace": "shop", "verb": "delete",
                                                                        "resource": "pods"}}}
    r = kubectl(config_path, tmp_path, "delete", "pod", "web-1", "-n", "shop")
    assert r.returncode == 1 and r.stderr.startswith('Error from server (Forbidden): pods "web-1" is forbidden')
