"""Cluster-scale triage: `explain` with no POD, -A, -l, --field-selector and TYPE/NAME targets.

Everything runs the installed console script against FakeAPIServer (one case goes
through the real kubectl's plugin mechanism) and checks what users see: the summary
table's workload counts, the per-pod JSON contract, and the requests made.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
import uuid

import pytest
from apiserver import FakeAPIServer
from clitools import BIN, ROOT, cli_env, have_kubectl, run_podfix
from objects import event, pod, running, waiting

HASH = "7c9f8d6b5"
PULL_MSG = ('rpc error: code = NotFound desc = failed to pull and unpack image "{img}": failed to resolve '
            'reference "{img}": {img}: not found')


# -- builders ----------------------------------------------------------------------

def _uid() -> str:
    return str(uuid.uuid4())


def image_failing(name: str, img: str = "registry.example.com/shop/web:9.9.9", **kw) -> list[dict]:
    p = pod(name, statuses=[waiting("app", "ImagePullBackOff", f'Back-off pulling image "{img}"', image=img)],
            containers=[{"name": "app", "image": img}], **kw)
    return [p, event(p, "Failed", f'Failed to pull image "{img}": ' + PULL_MSG.format(img=img), container="app",
                     count=7),
            event(p, "Failed", "Error: ImagePullBackOff", container="app", count=30)]


def crashing(name: str, **kw) -> list[dict]:
    st = waiting("app", "CrashLoopBackOff", f"back-off 5m0s restarting failed container=app pod={name}", restarts=9)
    st["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-20T09:10:00Z",
                                      "finishedAt": "2026-11-20T09:10:02Z"}}
    p = pod(name, statuses=[st], phase="Running", **kw)
    return [p, event(p, "BackOff", f"Back-off restarting failed container app in pod {name}", container="app",
                     count=40)]


def unschedulable(name: str, **kw) -> list[dict]:
    msg = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
           "3 No preemption victims found for incoming pod.")
    p = pod(name, node=None, phase="Pending", **kw)
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "message": msg, "lastTransitionTime": "2026-11-20T09:00:01Z"}]
    return [p, event(p, "FailedScheduling", msg, count=12, component="default-scheduler")]


def healthy(name: str, phase: str = "Running", **kw) -> list[dict]:
    p = pod(name, statuses=[running("app")], phase=phase, **kw)
    if phase == "Succeeded":
        p["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
        p["status"]["containerStatuses"][0]["ready"] = False
    return [p]


def deployment(name: str, *, failing: int, ok: int = 0, make=image_failing, ns: str = "default",
               labels: dict | None = None) -> list[dict]:
    """A Deployment, its ReplicaSet and pods: ``failing`` made by ``make``, ``ok`` healthy."""
    sel = {"app": name}
    dep_uid, rs = _uid(), f"{name}-{HASH}"
    objs = [{"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": name, "namespace": ns, "uid": dep_uid, "labels": sel},
             "spec": {"replicas": failing + ok, "selector": {"matchLabels": sel},
                      "template": {"metadata": {"labels": sel}, "spec": {"containers": [{"name": "app"}]}}}},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": rs, "namespace": ns, "labels": {**sel, "pod-template-hash": HASH},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                               "uid": dep_uid, "controller": True}]},
             "spec": {"replicas": failing + ok, "selector": {"matchLabels": {**sel, "pod-template-hash": HASH}}}}]
    pod_labels = {**sel, "pod-template-hash": HASH, **(labels or {})}
    for i in range(failing + ok):
        pname = f"{rs}-{i:05d}"
        build = make if i < failing else healthy
        objs += build(pname, namespace=ns, owner=("ReplicaSet", rs), labels=pod_labels)
    return objs


def statefulset(name: str, *, failing: int, ok: int = 0, make=crashing, ns: str = "default") -> list[dict]:
    sel = {"app": name}
    objs = [{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": ns},
             "spec": {"replicas": failing + ok, "serviceName": name, "selector": {"matchLabels": sel},
                      "template": {"metadata": {"labels": sel}, "spec": {"containers": [{"name": "app"}]}}}}]
    for i in range(failing + ok):
        objs += (make if i >= ok else healthy)(f"{name}-{i}", namespace=ns, owner=("StatefulSet", name),
                                                labels=dict(sel))
    return objs


def job(name: str, *, failed: int, succeeded: int = 0, ns: str = "default") -> list[dict]:
    juid = _uid()
    sel = {"batch.kubernetes.io/controller-uid": juid}
    labels = {**sel, "job-name": name}
    objs = [{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns, "uid": juid},
             "spec": {"selector": {"matchLabels": sel}, "backoffLimit": 6,
                      "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app"}]}}}}]
    for i in range(failed):
        p = pod(f"{name}-f{i}", namespace=ns, owner=("Job", name), labels=dict(labels), phase="Failed",
                statuses=[{"name": "app", "image": "busybox", "ready": False, "restartCount": 0, "lastState": {},
                           "state": {"terminated": {"exitCode": 2, "reason": "Error",
                                                    "startedAt": "2026-11-20T09:00:10Z",
                                                    "finishedAt": "2026-11-20T09:00:12Z"}}}],
                restartPolicy="Never")
        objs.append(p)
    for i in range(succeeded):
        objs += healthy(f"{name}-s{i}", phase="Succeeded", namespace=ns, owner=("Job", name), labels=dict(labels))
    return objs


def table(out: str, namespace: str = "default") -> dict[tuple[str, str], tuple[str, str]]:
    """The summary table: (namespace, workload) -> (pods "2/3", diagnosis code). A scan of one namespace
    has no NAMESPACE column: its rows are in ``namespace``."""
    head, _, _ = out.partition("\n\n")
    lines = head.splitlines()
    columns = re.split(r"\s{2,}", lines[0].strip())
    assert columns[-1] == "SUMMARY" and "WORKLOAD" in columns, lines[0]
    rows = {}
    for line in lines[1:]:
        cells = dict(zip(columns, re.split(r"\s{2,}", line.strip())))
        rows[(cells.get("NAMESPACE", namespace), cells["WORKLOAD"])] = (cells["PODS"], cells["DIAGNOSIS"])
    return rows


# A scan lists the workload kinds too: a workload whose pods are never created has no pod to find.
# qa live3: a scan lists ReplicaSets with the workloads (a ReplicaSet nothing owns, its pods refused, has no pod to
# find: -n NS was silent where -A, which listed them for its pods' owners, reported it); same count where a failing
# pod's owner made the scan list them anyway, one more LIST otherwise
WORKLOAD_LISTS = [f"GET /apis/{group}/namespaces/default/{plural}?limit=500" for group, plural in (
    ("apps/v1", "deployments"), ("apps/v1", "statefulsets"), ("apps/v1", "daemonsets"), ("batch/v1", "jobs"),
    ("batch/v1", "cronjobs"), ("apps/v1", "replicasets"))]


def requests(api: FakeAPIServer) -> list[str]:
    """'GET path?key=value&...' for every request, the continue token shortened to 'continue'."""
    out = []
    for r in api.requests:
        q = "&".join(f"{k}={'…' if k == 'continue' else v[0]}" for k, v in sorted(r.query.items()))
        out.append(f"{r.method} {r.path}" + (f"?{q}" if q else ""))
    return out


# -- namespace scope ------------------------------------------------------------------

def test_namespace_groups_replicas_with_healthy_ones_counted(api, podfix):
    api.add(*deployment("web", failing=2, ok=1))
    api.add(*deployment("api", failing=3, make=crashing))
    api.add(*unschedulable("lonely"))
    api.add(*healthy("fine"), *healthy("done", phase="Succeeded"))
    api.add(*deployment("other", failing=2, ns="elsewhere"))
    r = podfix("explain")
    assert r.code == 0, r.err
    rows = table(r.out)
    assert rows == {("default", "deploy/api"): ("3/3", "container.crash-loop"),
                    ("default", "deploy/web"): ("2/3", "image.not-found"),
                    ("default", "pod/lonely"): ("1/1", "pod.unschedulable")}
    assert "3/3 pods of deploy/api: container.crash-loop" in r.out
    assert "2/3 pods of deploy/web: image.not-found" in r.out
    # healthy, Succeeded and other namespaces' pods are not listed
    assert "fine" not in r.out and "done" not in r.out and "elsewhere" not in r.out
    assert f"web-{HASH}-00002" not in r.out  # the healthy replica


def test_all_namespaces(api, podfix):
    api.add(*deployment("web", failing=2, ns="shop"), *statefulset("db", failing=1, ok=2, ns="data"))
    api.add(*image_failing("solo"))
    r = podfix("explain", "-A")
    assert r.code == 0, r.err
    assert table(r.out) == {("shop", "deploy/web"): ("2/2", "image.not-found"),
                            ("data", "sts/db"): ("1/3", "container.crash-loop"),
                            ("default", "pod/solo"): ("1/1", "image.not-found")}
    assert all("/namespaces/" not in line for line in requests(api) if "/pods?" in line or "/events?" in line)


def test_label_selector_set_based(api, podfix):
    api.add(*deployment("web", failing=2, labels={"tier": "fe"}), *deployment("api", failing=2, labels={"tier": "be"}),
            *deployment("db", failing=1, labels={"tier": "data"}), *deployment("cache", failing=1))
    r = podfix("explain", "-l", "tier in (fe,be),app notin (api)")
    assert r.code == 0, r.err
    assert table(r.out) == {("default", "deploy/web"): ("2/2", "image.not-found")}
    r = podfix("explain", "-l", "tier,!unused,tier!=data")
    assert set(table(r.out)) == {("default", "deploy/web"), ("default", "deploy/api")}
    pods_lists = [line for line in requests(api) if line.startswith("GET /api/v1/namespaces/default/pods?")]
    assert "labelSelector=tier,!unused,tier!=data" in pods_lists[-1]


def test_field_selector(api, podfix):
    for i in range(3):
        api.add(*crashing(f"c{i}", node=f"worker-{i}"))
    r = podfix("explain", "--field-selector", "spec.nodeName=worker-1")
    assert r.code == 0, r.err
    assert table(r.out) == {("default", "pod/c1"): ("1/1", "container.crash-loop")}
    assert any("fieldSelector=spec.nodeName=worker-1" in line for line in requests(api))


@pytest.mark.parametrize("target, want", [
    ("deploy/web", {("default", "deploy/web"): ("2/3", "image.not-found")}),
    ("deployment/web", {("default", "deploy/web"): ("2/3", "image.not-found")}),
    ("sts/db", {("default", "sts/db"): ("2/4", "container.crash-loop")}),
    ("job/export", {("default", "job/export"): ("2/3", None)}),
])
def test_workload_targets(api, podfix, target, want):
    api.add(*deployment("web", failing=2, ok=1), *deployment("webhook", failing=1),
            *statefulset("db", failing=2, ok=2), *job("export", failed=2, succeeded=1), *job("other", failed=1))
    r = podfix("explain", target)
    assert r.code == 0, r.err
    rows = table(r.out)
    assert set(rows) == set(want), r.out
    for key, (count, code) in want.items():
        assert rows[key][0] == count
        if code:
            assert rows[key][1] == code
    # the workload is read once; its pods come from one LIST with its selector
    pod_lists = [line for line in requests(api) if "/pods?" in line]
    assert len(pod_lists) == 1 and "labelSelector=" in pod_lists[0]


def test_json_keeps_per_pod_contract(api, podfix):
    api.add(*deployment("web", failing=3, ok=1), *unschedulable("lonely"), *healthy("fine"))
    r = podfix("explain", "-o", "json")
    assert r.code == 0, r.err
    doc = r.json
    assert doc["kind"] == "PodfixReport"
    names = sorted(p["name"] for p in doc["pods"])
    assert names == sorted([f"web-{HASH}-0000{i}" for i in range(3)] + ["lonely"])
    codes = {p["name"]: p["findings"][0]["code"] for p in doc["pods"]}
    assert codes["lonely"] == "pod.unschedulable"
    assert {codes[n] for n in names if n != "lonely"} == {"image.not-found"}
    assert all(p["owner"] == {"kind": "Deployment", "name": "web"} for p in doc["pods"] if p["name"] != "lonely")


# -- requests ---------------------------------------------------------------------------

def test_namespace_scan_requests_exact_and_flat(kubeconfig, tmp_path):
    def scan(n_failing: int) -> list[str]:
        with FakeAPIServer() as api:
            api.add(*deployment("web", failing=n_failing, ok=2, make=unschedulable), *healthy("fine"))
            kc = api.write_kubeconfig(str(tmp_path / f"kc{n_failing}"), namespace="default")
            r = run_podfix(["explain"], kubeconfig=kc)
            assert r.code == 0, r.err
            assert table(r.out) == {("default", "deploy/web"): (f"{n_failing}/{n_failing + 2}",
                                                                 "pod.unschedulable")}
            return requests(api)

    want = ["GET /api/v1/namespaces/default/pods?limit=500", *WORKLOAD_LISTS,
            "GET /api/v1/namespaces/default/events?fieldSelector=type=Warning,involvedObject.kind=Pod&limit=500"]
    assert scan(5) == want
    assert scan(50) == want


def test_pull_and_crash_failures_add_one_list_and_one_log_per_workload(api, podfix):
    api.add(*deployment("web", failing=6, make=image_failing), *deployment("api", failing=8, make=crashing))
    api.logs.update({("default", f"api-{HASH}-{i:05d}", "app", True): "panic: boom\n" for i in range(8)})
    r = podfix("explain")
    assert r.code == 0, r.err
    reqs = requests(api)
    logs = [line for line in reqs if line.endswith("previous=true&tailLines=40") or "/log?" in line]
    assert len(logs) == 1, reqs  # one replica's log speaks for the group
    assert reqs[:8] == ["GET /api/v1/namespaces/default/pods?limit=500", *WORKLOAD_LISTS,
                        "GET /api/v1/namespaces/default/events?fieldSelector=type=Warning,involvedObject.kind=Pod&limit=500"]
    # a plain "not found" is not about credentials: no ServiceAccount LIST
    assert not any("serviceaccounts" in line for line in reqs)
    assert len(reqs) == 9
    # no per-pod GETs besides that log
    assert [line for line in reqs if re.match(r"GET /api/v1/namespaces/default/pods/[^/?]+(\?|$)", line)] == []
    assert "panic: boom" in r.out


def test_pagination_limit_and_continue(tmp_path):
    with FakeAPIServer(page_default=3) as api:
        api.add(*deployment("web", failing=10, ok=1, make=unschedulable))
        kc = api.write_kubeconfig(str(tmp_path / "kc"), namespace="default")
        r = run_podfix(["explain", "-o", "json"], kubeconfig=kc)
        assert r.code == 0, r.err
        assert len(r.json["pods"]) == 10
        reqs = requests(api)
        pod_pages = [line for line in reqs if "/pods?" in line]
        event_pages = [line for line in reqs if "/events?" in line]
        assert len(pod_pages) == 4  # 11 pods, 3 a page
        assert len(event_pages) == 4  # 10 Warning events
        assert all("limit=500" in line for line in pod_pages + event_pages)
        assert all("continue=" in line for line in pod_pages[1:] + event_pages[1:])
        assert "continue=" not in pod_pages[0]
        r = run_podfix(["explain"], kubeconfig=kc)
        assert table(r.out) == {("default", "deploy/web"): ("10/11", "pod.unschedulable")}


def test_many_pods_default_page_size(tmp_path):
    with FakeAPIServer() as api:
        api.add(*deployment("web", failing=30, ok=1100, make=unschedulable))
        kc = api.write_kubeconfig(str(tmp_path / "kc"), namespace="default")
        r = run_podfix(["explain"], kubeconfig=kc)
        assert r.code == 0, r.err
        assert table(r.out) == {("default", "deploy/web"): ("30/1130", "pod.unschedulable")}
        assert len([line for line in requests(api) if "/pods?" in line]) == 3  # 500 + 500 + 130


# -- partial permissions, progress -------------------------------------------------------

def test_events_forbidden_still_diagnoses(api, podfix):
    api.add(*deployment("web", failing=2, ok=1), *unschedulable("lonely"))
    api.deny("list", "events")
    r = podfix("explain")
    assert r.code == 0, r.err
    rows = table(r.out)
    assert rows[("default", "deploy/web")][0] == "2/3"
    assert rows[("default", "deploy/web")][1].startswith("image.")
    assert rows[("default", "pod/lonely")] == ("1/1", "pod.unschedulable")
    assert re.search(r"note: events could not be listed", r.out + r.err)
    j = podfix("explain", "-o", "json")
    assert j.code == 0 and any("events" in w for w in j.json.get("warnings", []))


def test_replicasets_forbidden_infers_deployment(api, podfix):
    api.add(*deployment("web", failing=2, ok=1))
    api.deny("list", "replicasets.apps")
    r = podfix("explain")
    assert r.code == 0, r.err
    assert table(r.out) == {("default", "deploy/web"): ("2/3", "image.not-found")}
    assert "replicasets could not be listed" in r.out


def _run_on_tty(args: list[str], env: dict) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal and stdout on a pipe; return (code, stdout, tty output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(BIN / "kubectl-podfix"), *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    tty = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=30)
    os.close(master)
    return code, out, tty.decode(errors="replace")


def test_progress_only_on_a_tty(api, podfix, kubeconfig):
    api.add(*deployment("web", failing=2))
    code, out, tty = _run_on_tty(["explain"], cli_env(kubeconfig))
    assert code == 0
    assert "listing pods" in tty
    assert "listing" not in out and "\r" not in out
    r = podfix("explain")
    assert "listing" not in r.err and "\r" not in r.err and "listing" not in r.out


# -- fast start ----------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["explain", "--help"], ["completion"],
                                  ["__complete", "explain", "--out"]])
def test_fast_paths_do_not_import_the_kubernetes_client(argv):
    code = ("import sys\n"
            "from kubectl_podfix.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('kubernetes', 'urllib3', 'yaml', 'tabulate', 'dateutil', 'requests'))\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=cli_env())
    assert "HEAVY []" in proc.stderr, proc.stderr


# -- through the real kubectl ---------------------------------------------------------------

@pytest.mark.skipif(not have_kubectl(), reason="kubectl not installed")
def test_through_kubectl_plugin(api, kubeconfig):
    api.add(*deployment("web", failing=2, ok=1), *statefulset("db", failing=1))
    r = run_podfix(["explain"], kubeconfig=kubeconfig, via_kubectl=True)
    assert r.code == 0, r.err
    assert table(r.out) == {("default", "deploy/web"): ("2/3", "image.not-found"),
                            ("default", "sts/db"): ("1/1", "container.crash-loop")}


def test_pvcs_are_listed_once_and_only_for_a_pod_whose_own_events_speak_of_volumes(api, podfix):
    """A StatefulSet pod waiting on an unbound claim gets the namespace's PVCs (one LIST); a pod with
    a claim but no volume trouble of its own does not make podfix list them."""
    msg = "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: not helpful"
    vol = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]
    stuck = pod("db-0", node=None, owner=("StatefulSet", "db"), volumes=vol)
    stuck["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                      "message": msg}]
    other = pod("cache-0", namespace="other", node=None, owner=("StatefulSet", "cache"), volumes=vol)
    other["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                      "message": "0/3 nodes are available: 3 Insufficient cpu."}]
    api.add(stuck, other, event(stuck, "FailedScheduling", msg, component="default-scheduler"),
            event(other, "FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.",
                  component="default-scheduler"),
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data-db-0", "namespace": "default"},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "missing-class"},
             "status": {"phase": "Pending"}})
    r = podfix("explain", "-A", "-o", "json")
    assert r.code == 0, r.err
    pvc_lists = [line for line in requests(api) if "persistentvolumeclaims" in line]
    assert pvc_lists == ["GET /api/v1/namespaces/default/persistentvolumeclaims?limit=500"]
    codes = {p["name"]: p["findings"][0]["code"] for p in r.json["pods"]}
    assert codes == {"db-0": "pod.unschedulable", "cache-0": "pod.unschedulable"}
