"""Fuzz the rules and the bundle reader with generated pods, events and files (hypothesis).

Bounded and reproducible in CI: ``derandomize=True`` (a fixed seed), ``max_examples=200``.
The contract: the rules never raise on any pod shape (they tolerate malformed
fields), and ``explain -f`` raises nothing but ``PodfixError`` (whose message names
file and document) on any input text.
"""

from __future__ import annotations

import io
import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_podfix.cluster import bundle, gather
from kubectl_podfix.diagnose.context import contexts
from kubectl_podfix.diagnose.model import Snapshot
from kubectl_podfix.diagnose.report import PodResult
from kubectl_podfix.diagnose.rules import RULES, diagnose
from kubectl_podfix.errors import PodfixError
from kubectl_podfix.render import report as render

FUZZ = settings(max_examples=200, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- building blocks ------------------------------------------------------------------------------------

REASONS = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CrashLoopBackOff",
           "OOMKilled", "Error", "Completed", "ContainerCreating", "PodInitializing", "CreateContainerConfigError",
           "CreateContainerError", "RunContainerError", "ContainerCannotRun", "StartError", "Unschedulable",
           "Evicted", "DeadlineExceeded", "Preempting", "NodeLost", "Failed", "BackOff", "FailedScheduling",
           "FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox", "Unhealthy", "Killing", "Pulling",
           "FailedPostStartHook", "FailedPreStopHook", "NodeAffinity", "OutOfcpu", "OutOfmemory", "Shutdown",
           "UnexpectedAdmissionError", "SchedulingGated", "Terminated", "", "x"]
FRAGMENTS = [
    'Failed to pull image "ghcr.io/acme/web:v9": rpc error: code = NotFound desc = failed to pull and unpack image',
    "pull access denied, repository does not exist or may require authorization",
    "insufficient_scope: authorization failed", "401 Unauthorized", "toomanyrequests: You have reached your pull rate",
    "x509: certificate signed by unknown authority", "dial tcp: lookup registry.example.com: no such host",
    "no match for platform in manifest: not found", "exec format error", "i/o timeout",
    'secret "regcred" not found', 'configmap "app-config" not found', "couldn't find key PASSWORD in Secret",
    "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
    "2 Insufficient memory. preemption: 0/3 nodes are available",
    "pod has unbound immediate PersistentVolumeClaims", 'persistentvolumeclaim "data" not found',
    "MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg\" not found",
    "Liveness probe failed: HTTP probe failed with statuscode: 500",
    "Readiness probe failed: Get \"http://10.0.0.1:8080/healthz\": dial tcp 10.0.0.1:8080: connect: connection refused",
    "Startup probe failed: command timed out", "The node was low on resource: memory. Threshold quantity: 100Mi",
    "Container app was using 600Mi, which exceeds its request of 0.",
    "back-off 5m0s restarting failed container=app pod=web-1",
    'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: '
    'unable to start container process: exec: "/app/run": stat /app/run: no such file or directory',
    "Pod was active on the node longer than the specified deadline", "Preempted by pod 1234 on node n1",
    "failed to setup network for sandbox: plugin type=\"calico\" failed (add): error getting ClusterInformation",
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
    "Back-off pulling image \"nginx:latestt\"", "", "\x00", "\u2603 snowman", "%s {} [] \\",
]
IMAGES = ["nginx", "nginx:1.27", "ghcr.io/acme/web:v9", "registry.example.com:5000/team/api@sha256:" + "a" * 64,
          "localhost/x", "UPPER/Case:tag", "", "::", "a/b/c/d:e", "docker.io/library/busybox:latest"]
TIMES = st.one_of(st.sampled_from(["2026-11-20T09:00:00Z", "2026-11-20T09:00:00.123456Z", "2026-11-20T09:00:00+02:00",
                                   "not a time", "", "2026-13-45T99:99:99Z", "1970-01-01T00:00:00Z"]), st.none())

scalar = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                   st.text(max_size=12))
junk = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                    max_leaves=6)


def sometimes_wrong(strategy):
    """Mostly the right shape, sometimes junk (a string where a dict belongs, null lists...)."""
    return st.one_of(strategy, strategy, strategy, junk)


def fixed(**fields):
    """A dict with some of ``fields`` present (each value sometimes of the wrong type)."""
    return st.fixed_dictionaries({}, optional={k: sometimes_wrong(v) for k, v in fields.items()})


text = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30))
reason = st.one_of(st.sampled_from(REASONS), st.text(max_size=10))
names = st.sampled_from(["app", "web", "sidecar", "init", "db", "", "x" * 70])
quantity = st.sampled_from(["128Mi", "1Gi", "500m", "1", "0", "1e3", "bogus", "", "-1", "0.5Gi", "12345678901234567890"])
resources = fixed(limits=st.dictionaries(st.sampled_from(["cpu", "memory", "nvidia.com/gpu"]), quantity, max_size=2),
                  requests=st.dictionaries(st.sampled_from(["cpu", "memory", "ephemeral-storage"]), quantity,
                                           max_size=2))
probe = fixed(httpGet=fixed(path=st.sampled_from(["/healthz", "/", ""]), port=st.one_of(st.integers(0, 70000),
                                                                                      st.sampled_from(["http", ""]))),
              tcpSocket=fixed(port=st.integers(0, 70000)), exec=fixed(command=st.lists(st.text(max_size=5), max_size=3)),
              initialDelaySeconds=st.integers(-1, 1000), periodSeconds=st.integers(-1, 100),
              timeoutSeconds=st.integers(-1, 100), failureThreshold=st.integers(-1, 50),
              successThreshold=st.integers(-1, 5))
container = fixed(name=names, image=st.sampled_from(IMAGES), imagePullPolicy=st.sampled_from(["Always", "IfNotPresent",
                                                                                              "Never", "bogus"]),
                  resources=resources, livenessProbe=probe, readinessProbe=probe, startupProbe=probe,
                  command=st.lists(st.text(max_size=8), max_size=2), args=st.lists(text, max_size=2),
                  ports=st.lists(fixed(containerPort=st.integers(0, 70000), name=st.text(max_size=5)), max_size=2),
                  env=st.lists(fixed(name=st.text(max_size=8), value=text,
                                     valueFrom=fixed(secretKeyRef=fixed(name=names, key=names, optional=st.booleans()),
                                                     configMapKeyRef=fixed(name=names, key=names))), max_size=2),
                  envFrom=st.lists(fixed(secretRef=fixed(name=names), configMapRef=fixed(name=names)), max_size=2),
                  volumeMounts=st.lists(fixed(name=names, mountPath=st.text(max_size=8)), max_size=2),
                  restartPolicy=st.sampled_from(["Always", ""]))
terminated = fixed(exitCode=st.one_of(st.integers(-1, 300), st.just(137)), reason=reason, message=text,
                   signal=st.integers(0, 64), startedAt=TIMES, finishedAt=TIMES)
state = fixed(waiting=fixed(reason=reason, message=text), running=fixed(startedAt=TIMES), terminated=terminated)
container_status = fixed(name=names, image=st.sampled_from(IMAGES), imageID=st.text(max_size=10),
                         ready=st.booleans(), started=st.booleans(), restartCount=st.integers(-1, 10 ** 6),
                         state=state, lastState=state)
condition = fixed(type=st.sampled_from(["Ready", "PodScheduled", "ContainersReady", "Initialized",
                                        "DisruptionTarget", "PodReadyToStartContainers"]),
                  status=st.sampled_from(["True", "False", "Unknown"]), reason=reason, message=text,
                  lastTransitionTime=TIMES)
owner = fixed(kind=st.sampled_from(["ReplicaSet", "StatefulSet", "DaemonSet", "Job", "Node", "CronJob", "Deployment"]),
              name=names, controller=st.booleans(), uid=st.text(max_size=5))
metadata = fixed(name=names, namespace=st.sampled_from(["shop", "default", ""]), uid=st.sampled_from(["u1", "u2", ""]),
                 labels=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
                 annotations=st.dictionaries(st.text(max_size=5), text, max_size=2),
                 ownerReferences=st.lists(owner, max_size=2), deletionTimestamp=TIMES, creationTimestamp=TIMES)
volume = fixed(name=names, persistentVolumeClaim=fixed(claimName=names), configMap=fixed(name=names),
               secret=fixed(secretName=names), emptyDir=fixed(sizeLimit=quantity))
spec = fixed(containers=st.lists(container, max_size=3), initContainers=st.lists(container, max_size=2),
             imagePullSecrets=st.lists(fixed(name=names), max_size=2), serviceAccountName=names,
             nodeName=st.sampled_from(["worker-1", "", "gone"]), volumes=st.lists(volume, max_size=2),
             nodeSelector=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
             tolerations=st.lists(fixed(key=st.text(max_size=5), operator=st.sampled_from(["Exists", "Equal"]),
                                        effect=st.sampled_from(["NoSchedule", "NoExecute", ""])), max_size=2),
             restartPolicy=st.sampled_from(["Always", "OnFailure", "Never", "x"]),
             activeDeadlineSeconds=st.integers(-1, 10 ** 6), priorityClassName=st.text(max_size=5),
             schedulingGates=st.lists(fixed(name=st.text(max_size=5)), max_size=1), runtimeClassName=names,
             affinity=junk, overhead=junk)
status = fixed(phase=st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown", ""]), reason=reason,
               message=text, conditions=st.lists(condition, max_size=3),
               containerStatuses=st.lists(container_status, max_size=3),
               initContainerStatuses=st.lists(container_status, max_size=2),
               ephemeralContainerStatuses=st.lists(container_status, max_size=1),
               nominatedNodeName=names, startTime=TIMES, qosClass=st.sampled_from(["Guaranteed", "Burstable", "BestEffort"]),
               resize=st.sampled_from(["Infeasible", "Deferred"]))
pods = st.builds(lambda extra, **kw: {**extra, **kw},
                 st.fixed_dictionaries({"apiVersion": st.just("v1"), "kind": st.just("Pod")}),
                 metadata=sometimes_wrong(metadata), spec=sometimes_wrong(spec), status=sometimes_wrong(status))
events = st.builds(lambda body, **kw: {**body, **kw}, st.just({"apiVersion": "v1", "kind": "Event"}),
                   reason=sometimes_wrong(reason), message=sometimes_wrong(text),
                   type=st.sampled_from(["Warning", "Normal", None]),
                   count=sometimes_wrong(st.integers(-1, 10 ** 6)), firstTimestamp=TIMES, lastTimestamp=TIMES,
                   eventTime=TIMES,
                   involvedObject=sometimes_wrong(fixed(kind=st.just("Pod"), name=names,
                                                        namespace=st.sampled_from(["shop", "default"]),
                                                        uid=st.sampled_from(["u1", "u2"]),
                                                        fieldPath=st.sampled_from(["spec.containers{app}",
                                                                                   "spec.initContainers{init}", ""]))),
                   source=sometimes_wrong(fixed(component=st.sampled_from(["kubelet", "default-scheduler"]),
                                                host=names)),
                   metadata=sometimes_wrong(fixed(namespace=st.sampled_from(["shop", "default"]), name=names)))
related = st.one_of(
    st.builds(lambda m, d, t: {"apiVersion": "v1", "kind": "Secret", "metadata": m, "data": d, "type": t},
              sometimes_wrong(fixed(name=names, namespace=st.sampled_from(["shop", "default"]))),
              sometimes_wrong(st.dictionaries(st.sampled_from([".dockerconfigjson", ".dockercfg", "k"]),
                                              st.one_of(st.sampled_from(["", "e30=", "bm90IGpzb24=", "!!"]),
                                                        junk), max_size=2)),
              st.sampled_from(["kubernetes.io/dockerconfigjson", "Opaque", None])),
    st.builds(lambda m, s: {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m, "imagePullSecrets": s},
              sometimes_wrong(fixed(name=names, namespace=st.sampled_from(["shop", "default"]))),
              sometimes_wrong(st.lists(fixed(name=names), max_size=2))),
    st.builds(lambda m, s, st_: {"apiVersion": "v1", "kind": "Node", "metadata": m, "spec": s, "status": st_},
              sometimes_wrong(fixed(name=st.sampled_from(["worker-1", "gone"]))), junk,
              sometimes_wrong(fixed(allocatable=st.dictionaries(st.sampled_from(["cpu", "memory"]), quantity),
                                    conditions=st.lists(condition, max_size=2), nodeInfo=junk))),
    st.builds(lambda kind, m, body: {"apiVersion": "v1", "kind": kind, "metadata": m, **body},
              st.sampled_from(["ConfigMap", "PersistentVolumeClaim", "ReplicaSet", "Deployment", "Job"]),
              sometimes_wrong(fixed(name=names, namespace=st.sampled_from(["shop", "default"]),
                                    ownerReferences=st.lists(owner, max_size=1))),
              st.dictionaries(st.sampled_from(["spec", "status", "data"]), junk, max_size=2)),
)


@st.composite
def coherent_cases(draw):
    """A pod whose statuses, events, logs and related objects refer to each other, as in a real cluster,
    with values drawn from real failure texts (and sometimes junk): this is what reaches deep rule paths."""
    ns, name, uid = "shop", "web-1", "u1"
    cnames = draw(st.lists(st.sampled_from(["app", "sidecar"]), min_size=1, max_size=2, unique=True))
    inits = draw(st.lists(st.just("init"), max_size=1))
    value = lambda s: draw(st.one_of(s, s, s, junk))  # noqa: E731

    def cspec(c):
        return {"name": c, "image": draw(st.sampled_from(IMAGES)),
                **draw(st.fixed_dictionaries({}, optional={"resources": resources, "livenessProbe": probe,
                                                           "readinessProbe": probe, "startupProbe": probe,
                                                           "command": st.lists(st.text(max_size=6), max_size=2),
                                                           "env": st.lists(fixed(name=st.text(max_size=4),
                                                                                 valueFrom=fixed(secretKeyRef=fixed(
                                                                                     name=names, key=names))),
                                                                           max_size=1),
                                                           "imagePullPolicy": st.sampled_from(["Always", "Never"])}))}

    def cstatus(c):
        kind = draw(st.sampled_from(["waiting", "running", "terminated"]))
        body = ({"reason": value(reason), "message": value(text)} if kind == "waiting" else
                {"startedAt": draw(TIMES)} if kind == "running" else
                {"exitCode": draw(st.sampled_from([0, 1, 2, 126, 127, 128, 137, 139, 143, 255])),
                 "reason": value(reason), "message": value(text), "finishedAt": draw(TIMES)})
        out = {"name": c, "image": draw(st.sampled_from(IMAGES)), "ready": draw(st.booleans()),
               "restartCount": draw(st.integers(0, 50)), "state": {kind: body}}
        if draw(st.booleans()):
            out["lastState"] = {"terminated": {"exitCode": draw(st.sampled_from([1, 137, 0, 255])),
                                               "reason": value(reason), "message": value(text),
                                               "startedAt": draw(TIMES), "finishedAt": draw(TIMES)}}
        return out

    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": draw(TIMES),
                        "labels": {"pod-template-hash": "5d9f"},
                        "ownerReferences": draw(st.lists(owner, max_size=1))},
           "spec": {"containers": [cspec(c) for c in cnames], "initContainers": [cspec(c) for c in inits],
                    "nodeName": draw(st.sampled_from(["worker-1", None])), "serviceAccountName": "default",
                    "imagePullSecrets": draw(st.lists(st.just({"name": "regcred"}), max_size=1)),
                    "volumes": draw(st.lists(volume, max_size=1)),
                    "restartPolicy": draw(st.sampled_from(["Always", "OnFailure", "Never"]))},
           "status": {"phase": draw(st.sampled_from(["Pending", "Running", "Failed", "Succeeded", "Unknown"])),
                      "reason": draw(st.one_of(st.none(), reason)), "message": draw(st.one_of(st.none(), text)),
                      "conditions": draw(st.lists(condition, max_size=2)),
                      "containerStatuses": [cstatus(c) for c in cnames if draw(st.integers(0, 4))],
                      "initContainerStatuses": [cstatus(c) for c in inits]}}
    evs = []
    for _ in range(draw(st.integers(0, 4))):
        c = draw(st.sampled_from(cnames + inits + [None]))
        inv = {"kind": "Pod", "name": name, "namespace": ns, "uid": uid}
        if c:
            inv["fieldPath"] = f"spec.{'initContainers' if c == 'init' else 'containers'}{{{c}}}"
        evs.append({"apiVersion": "v1", "kind": "Event", "type": draw(st.sampled_from(["Warning", "Normal"])),
                    "reason": value(reason), "message": value(text), "count": draw(st.integers(1, 500)),
                    "firstTimestamp": draw(TIMES), "lastTimestamp": draw(TIMES), "involvedObject": inv,
                    "source": {"component": draw(st.sampled_from(["kubelet", "default-scheduler"]))},
                    "metadata": {"name": f"e{len(evs)}", "namespace": ns}})
    objs = draw(st.lists(related, max_size=2))
    if draw(st.booleans()):
        objs.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                     "metadata": {"name": "regcred", "namespace": ns},
                     "data": {".dockerconfigjson": draw(st.sampled_from(
                         ["eyJhdXRocyI6IHsicmVnaXN0cnkuZXhhbXBsZS5jb20iOiB7fX19", "e30=", "!!"]))}})
    logs = [(c, draw(text)) for c in cnames if draw(st.booleans())]
    return pod, evs, objs, logs


def repair(obj):
    """Null out the fields whose type the reader refuses (bundle.SHAPES): what is left is what rules can see."""
    if not isinstance(obj, dict):
        return obj
    shapes = bundle.SHAPES.get(obj.get("kind"), bundle._META)

    def fix(value, steps, kind):
        if not steps or not isinstance(value, (dict, list)):
            return
        step, rest = steps[0], steps[1:]
        if step == "[]":
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if not rest:
                        if bundle._check(item, [], kind, "x"):
                            value[i] = None
                    else:
                        fix(item, rest, kind)
            return
        if not isinstance(value, dict) or value.get(step) is None:
            return
        if not rest:
            if bundle._check(value[step], [], kind, "x"):
                value[step] = None
            return
        fix(value[step], rest, kind)

    for path, kind in shapes.items():
        fix(obj, path.replace("[]", ".[]").split("."), kind)
    obj = bundle.without_nulls(obj)
    assert bundle.shape_problem(obj) is None, bundle.shape_problem(obj)
    return obj


def snapshot_of(pod, evs, objs, logs, missing, listed, source):
    pod, evs, objs = repair(pod), [repair(e) for e in evs], [repair(o) for o in objs]
    snap = Snapshot(source=source)
    snap.pods.append(pod)
    snap.events.extend(gather.normalize_event(e) if isinstance(e, dict) else e for e in evs)
    for obj in objs:
        snap.add(obj)
    ns = pod.get("metadata", {}).get("namespace") if isinstance(pod.get("metadata"), dict) else None
    name = pod.get("metadata", {}).get("name") if isinstance(pod.get("metadata"), dict) else None
    for container, log in logs:
        snap.logs[(ns if isinstance(ns, str) else "", name if isinstance(name, str) else "", container)] = log
    snap.missing.update(missing)
    snap.listed.update(listed)
    return snap


# -- the rules ---------------------------------------------------------------------------------------------------

random_cases = st.tuples(pods, st.lists(events, max_size=4), st.lists(related, max_size=3),
                         st.lists(st.tuples(names, text), max_size=2))


@FUZZ
@given(case=st.one_of(coherent_cases(), coherent_cases(), random_cases),
       missing=st.sets(st.sampled_from(["events", "secrets", "serviceaccounts", "logs", "metrics", "nodes"])),
       listed=st.sets(st.tuples(st.sampled_from(["Secret", "ServiceAccount", "Node", "ConfigMap",
                                                 "PersistentVolumeClaim"]),
                                st.sampled_from(["shop", "default", "*"]))),
       source=st.sampled_from(["cluster", "file"]))
def test_rules_never_raise(case, missing, listed, source):
    snap = snapshot_of(*case, missing, listed, source)
    results = []
    for ctx in contexts(snap):
        gather.needs_logs(ctx.pod)
        gather.is_suspect(ctx.pod)
        gather.pull_failing(ctx.pod)
        findings = diagnose(ctx)
        for f in findings:
            assert f.severity in ("error", "warning", "info") and isinstance(f.code, str)
        results.append(PodResult(ctx, findings))
    for fmt, fn in render.FORMATS.items():
        fn(results, io.StringIO(), color=fmt == "text", warnings=["w"], owners_of_all=snap.owners_of_all, scope=True)


def test_every_rule_is_reached():
    assert len(RULES) > 5  # the registry is populated: the fuzz above exercises every family


# -- the bundle reader ----------------------------------------------------------------------------------------

def _documents(objs: list) -> st.SearchStrategy[str]:
    return st.sampled_from(["yaml-multi", "yaml-list", "json-list", "json-array"]).map(
        lambda how: (
            "---\n".join(yaml.safe_dump(o) for o in objs) if how == "yaml-multi" else
            yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objs}) if how == "yaml-list" else
            json.dumps({"apiVersion": "v1", "kind": "PodList", "items": objs}) if how == "json-list" else
            json.dumps(objs)))


def _mutate(text: str, data) -> str:
    if not text:
        return text
    how = data.draw(st.sampled_from(["keep", "truncate", "insert", "delete", "tab"]))
    at = data.draw(st.integers(0, len(text)))
    if how == "truncate":
        return text[:at]
    if how == "insert":
        return text[:at] + data.draw(st.sampled_from([":", "- ", "{", "]", "'", '"', "\n  ", "&a", "*a", "!!python/x ",
                                                      "\x00", "\t", "%", "@", "? ", "|"])) + text[at:]
    if how == "delete":
        return text[:at] + text[at + data.draw(st.integers(1, 10)):]
    if how == "tab":
        return text.replace("  ", "\t", 1)
    return text


bundle_objects = st.lists(st.one_of(pods, events, related, junk,
                                    st.just({"apiVersion": "podfix.io/v1", "kind": "PodfixBundle",
                                             "listed": [["Secret", "shop"], "bad"], "missing": ["logs"]}),
                                    st.builds(lambda ns, p, c, t: {"apiVersion": "podfix.io/v1", "kind": "PodfixLog",
                                                                   "namespace": ns, "pod": p, "container": c,
                                                                   "text": t},
                                              junk, names, names, junk)), max_size=4)


coherent_objects = coherent_cases().map(lambda case: [repair(o) for o in (case[0], *case[1], *case[2])])


@FUZZ
@given(objs=st.one_of(coherent_objects, coherent_objects, bundle_objects), data=st.data())
def test_bundle_reader_raises_only_podfix_errors(tmp_path_factory, objs, data):
    try:
        text = data.draw(_documents(objs))
    except (yaml.YAMLError, ValueError, TypeError):  # junk that yaml/json cannot serialize (e.g. NaN keys)
        text = data.draw(st.text(max_size=200))
    text = _mutate(text, data)
    path = tmp_path_factory.mktemp("fuzz") / "saved.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    from kubectl_podfix.diagnose import explain

    try:
        outcome = explain.from_snapshot(bundle.read([str(path)]), paths=[str(path)])
    except PodfixError as exc:
        assert exc.message and "\n" not in exc.message, exc.message
        return
    for fmt, fn in render.FORMATS.items():
        fn(outcome.results, io.StringIO(), color=False, warnings=outcome.warnings,
           owners_of_all=outcome.snapshot.owners_of_all, scope=outcome.scope)
    out = path.parent / "resaved.yaml"
    bundle.write(str(out), outcome.snapshot, [r.ctx.pod for r in outcome.results])
    again = explain.from_snapshot(bundle.read([str(out)]), paths=[str(out)])
    assert [r.to_dict() if hasattr(r, "to_dict") else None for r in again.results] == \
        [r.to_dict() if hasattr(r, "to_dict") else None for r in outcome.results]


@FUZZ
@given(raw=st.one_of(st.text(max_size=300), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_bundle_reader_on_arbitrary_text(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "x.yaml"
    path.write_text(raw, encoding="utf-8", errors="surrogatepass")
    try:
        bundle.read([str(path)])
    except PodfixError as exc:
        assert exc.message and "\n" not in exc.message
    try:
        bundle.read(["-"], stdin=io.StringIO(raw))
    except PodfixError as exc:
        assert "stdin" in exc.message
