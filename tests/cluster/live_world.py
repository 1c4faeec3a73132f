"""A realistic cluster, as `kubectl get -A -o yaml` dumps it, for the loopback API server (qa live2).

Objects carry what real API servers return: managedFields, ownerReferences with controller and
blockOwnerDeletion, conditions with lastTransitionTime, hostIP/podIPs/qosClass, init containers, native
sidecars, ephemeral containers, events written through events.k8s.io (core view: no count, null
first/lastTimestamp, eventTime and series), mirror pods, pods of custom resources podfix cannot read.

The clock: NOW (PODFIX_NOW). ``world()`` returns every object; ``EXPECT`` says what each pod and workload is.
"""

from __future__ import annotations

import copy
import hashlib

NOW = "2026-11-20T12:00:00Z"
NODES = ("ip-10-0-1-11.ec2.internal", "ip-10-0-2-12.ec2.internal", "ip-10-0-3-13.ec2.internal")
DOWN = "ip-10-0-4-14.ec2.internal"  # NotReady since 11:40 (kubelet stopped posting status)
CP = "cp-1"  # control-plane node with static pods


def uid(*parts: str) -> str:
    h = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def managed(manager: str, time: str, sub: str | None = None) -> list[dict]:
    entry = {
        "manager": manager,
        "operation": "Update",
        "apiVersion": "v1",
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}},
    }
    if sub:
        entry["subresource"] = sub
    return [entry]


def meta(
    kind: str,
    ns: str | None,
    name: str,
    created: str,
    *,
    labels=None,
    owner: tuple | None = None,
    annotations=None,
    generation: int | None = None,
    rv: str = "123456",
) -> dict:
    m = {
        "name": name,
        "uid": uid(kind, ns or "", name),
        "resourceVersion": rv,
        "creationTimestamp": created,
        "labels": dict(labels or {}),
        "managedFields": managed("kube-controller-manager", created),
    }
    if ns is not None:
        m["namespace"] = ns
    if annotations:
        m["annotations"] = dict(annotations)
    if generation is not None:
        m["generation"] = generation
    if owner:
        api_version, okind, oname, ons = owner
        m["ownerReferences"] = [
            {
                "apiVersion": api_version,
                "kind": okind,
                "name": oname,
                "uid": uid(okind, ons if ons is not None else "", oname),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return m


def cond(
    type_: str, status: str, at: str, reason: str | None = None, message: str | None = None, probe: bool = True
) -> dict:
    c = {"type": type_, "status": status, "lastTransitionTime": at}
    if probe:
        c["lastProbeTime"] = None
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def container(name: str, image: str, **extra) -> dict:
    c = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {
                "name": "kube-api-access-x7k2p",
                "readOnly": True,
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            }
        ],
    }
    c.update(extra)
    return c


def running_status(
    name: str,
    image: str,
    started: str,
    *,
    ready: bool = True,
    restarts: int = 0,
    last: dict | None = None,
    sidecar: bool = False,
) -> dict:
    digest = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
    s = {
        "name": name,
        "image": image,
        "imageID": f"{image.split(':')[0]}@{digest}",
        "containerID": "containerd://" + hashlib.sha256((name + started).encode()).hexdigest(),
        "ready": ready,
        "started": True,
        "restartCount": restarts,
        "lastState": last or {},
        "state": {"running": {"startedAt": started}},
        "volumeMounts": [
            {
                "name": "kube-api-access-x7k2p",
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "readOnly": True,
                "recursiveReadOnly": "Disabled",
            }
        ],
    }
    if sidecar:
        s["restartCount"] = restarts
    return s


def terminated_status(
    name: str, image: str, started: str, finished: str, code: int = 0, reason: str = "Completed", restarts: int = 0
) -> dict:
    digest = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
    return {
        "name": name,
        "image": image,
        "imageID": f"{image.split(':')[0]}@{digest}",
        "containerID": "containerd://" + hashlib.sha256((name + finished).encode()).hexdigest(),
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "lastState": {},
        "state": {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": started,
                "finishedAt": finished,
                "containerID": "containerd://" + "c" * 64,
            }
        },
    }


def pod(
    ns: str,
    name: str,
    *,
    created: str,
    node: str | None,
    owner: tuple | None,
    labels=None,
    containers=None,
    statuses=None,
    init=None,
    init_statuses=None,
    phase="Running",
    conditions=None,
    ip: str | None = "10.244.1.5",
    annotations=None,
    restart_policy="Always",
    qos="Burstable",
    extra_spec=None,
    extra_status=None,
) -> dict:
    containers = containers or [container("app", "nginx:1.27")]
    spec = {
        "volumes": [
            {
                "name": "kube-api-access-x7k2p",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    ],
                },
            }
        ],
        "containers": containers,
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "securityContext": {},
        "schedulerName": "default-scheduler",
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ],
    }
    if node:
        spec["nodeName"] = node
    if init:
        spec["initContainers"] = init
    spec.update(extra_spec or {})
    host_ip = "10.0.1.11" if node else None
    status = {"phase": phase, "qosClass": qos, "startTime": created}
    if node:
        status.update({"hostIP": host_ip, "hostIPs": [{"ip": host_ip}]})
    if ip and node and phase in ("Running", "Succeeded", "Failed"):
        status.update({"podIP": ip, "podIPs": [{"ip": ip}]})
    if conditions is not None:
        status["conditions"] = conditions
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    status.update(extra_status or {})
    m = meta("Pod", ns, name, created, labels=labels, owner=owner, annotations=annotations)
    m["managedFields"] += managed("kubelet", created, "status")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status}


def ready_conditions(at: str, ready: bool = True) -> list[dict]:
    s = "True" if ready else "False"
    return [
        cond("PodReadyToStartContainers", "True", at),
        cond("Initialized", "True", at),
        cond(
            "Ready",
            s,
            at,
            None if ready else "ContainersNotReady",
            None if ready else "containers with unready status: [app]",
        ),
        cond(
            "ContainersReady",
            s,
            at,
            None if ready else "ContainersNotReady",
            None if ready else "containers with unready status: [app]",
        ),
        cond("PodScheduled", "True", at),
    ]


def node(name: str, ready: bool = True, since: str = "2026-11-01T08:00:00Z", role: str | None = None) -> dict:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": "us-east-1a",
        "node.kubernetes.io/instance-type": "m5.large",
    }
    if role:
        labels[f"node-role.kubernetes.io/{role}"] = ""
    if ready:
        conds = [
            cond(t, "False", since, r, m, probe=False) | {"lastHeartbeatTime": "2026-11-20T11:59:30Z"}
            for t, r, m in (
                ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            )
        ]
        conds.append(
            cond("Ready", "True", since, "KubeletReady", "kubelet is posting ready status", probe=False)
            | {"lastHeartbeatTime": "2026-11-20T11:59:30Z"}
        )
        taints = []
    else:
        conds = [
            cond(
                t,
                "Unknown",
                "2026-11-20T11:40:40Z",
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                probe=False,
            )
            | {"lastHeartbeatTime": "2026-11-20T11:39:55Z"}
            for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
        ]
        taints = [
            {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": "2026-11-20T11:40:40Z"},
            {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2026-11-20T11:40:45Z"},
        ]
    if role == "control-plane":
        taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
    spec = {
        "podCIDR": "10.244.1.0/24",
        "podCIDRs": ["10.244.1.0/24"],
        "providerID": f"aws:///us-east-1a/i-{uid(name)[:17]}",
    }
    if taints:
        spec["taints"] = taints
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta(
            "Node", None, name, "2026-11-01T08:00:00Z", labels=labels, annotations={"node.alpha.kubernetes.io/ttl": "0"}
        ),
        "spec": spec,
        "status": {
            "capacity": {"cpu": "2", "memory": "7934460Ki", "pods": "29", "ephemeral-storage": "20959212Ki"},
            "allocatable": {"cpu": "1930m", "memory": "7244284Ki", "pods": "29", "ephemeral-storage": "18242267924"},
            "conditions": conds,
            "addresses": [{"type": "InternalIP", "address": "10.0.1.11"}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "ec2" + "0" * 29,
                "systemUUID": "ec2" + "1" * 29,
                "bootID": uid("boot", name),
                "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                "osImage": "Amazon Linux 2023.6.20241121",
                "containerRuntimeVersion": "containerd://1.7.23",
                "kubeletVersion": "v1.31.2-eks-94953ac",
                "kubeProxyVersion": "v1.31.2-eks-94953ac",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": [
                {
                    "names": ["docker.io/library/nginx@sha256:" + "e" * 64, "docker.io/library/nginx:1.27"],
                    "sizeBytes": 72955450,
                }
            ],
        },
    }


def new_event(
    obj: dict,
    reason: str,
    note: str,
    *,
    type_="Warning",
    controller="kubelet",
    instance=None,
    action="",
    time="2026-11-20T11:50:00.000000Z",
    series: tuple | None = None,
    field_path=None,
) -> dict:
    """An event written through events.k8s.io/v1, as the core/v1 API serves it."""
    m = obj["metadata"]
    inv = {
        "kind": obj["kind"],
        "namespace": m.get("namespace"),
        "name": m["name"],
        "uid": m["uid"],
        "apiVersion": obj["apiVersion"],
        "resourceVersion": m.get("resourceVersion"),
    }
    if field_path:
        inv["fieldPath"] = field_path
    ev = {
        "apiVersion": "v1",
        "kind": "Event",
        "type": type_,
        "reason": reason,
        "message": note,
        "involvedObject": inv,
        "source": {},
        "firstTimestamp": None,
        "lastTimestamp": None,
        "eventTime": time,
        "reportingComponent": controller,
        "reportingInstance": instance or controller,
        "action": action or reason,
        "metadata": {
            "name": f"{m['name']}.{uid('ev', m['name'], reason)[:16].replace('-', '')}",
            "namespace": m.get("namespace") or "default",
            "uid": uid("ev", m["name"], reason),
            "resourceVersion": "99",
            "creationTimestamp": time[:19] + "Z",
            "managedFields": managed(controller, time[:19] + "Z"),
        },
    }
    if series:
        ev["series"] = {"count": series[0], "lastObservedTime": series[1]}
    return ev


def old_event(
    obj: dict,
    reason: str,
    message: str,
    *,
    type_="Warning",
    component="kubelet",
    count=1,
    first="2026-11-20T11:00:00Z",
    last="2026-11-20T11:55:00Z",
    field_path=None,
) -> dict:
    m = obj["metadata"]
    inv = {
        "kind": obj["kind"],
        "namespace": m.get("namespace"),
        "name": m["name"],
        "uid": m["uid"],
        "apiVersion": obj["apiVersion"],
        "resourceVersion": m.get("resourceVersion"),
    }
    if field_path:
        inv["fieldPath"] = field_path
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "type": type_,
        "reason": reason,
        "message": message,
        "involvedObject": inv,
        "source": {"component": component},
        "count": count,
        "firstTimestamp": first,
        "lastTimestamp": last,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": "",
        "metadata": {
            "name": f"{m['name']}.{uid('oev', m['name'], reason)[:16].replace('-', '')}",
            "namespace": m.get("namespace") or "default",
            "uid": uid("oev", m["name"], reason),
            "resourceVersion": "98",
            "creationTimestamp": first,
        },
    }


def template(app: str, image: str, **extra) -> dict:
    return {
        "metadata": {"creationTimestamp": None, "labels": {"app": app}},
        "spec": {
            "containers": [container("app", image, **extra)],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
        },
    }


def deployment(ns: str, name: str, replicas: int, image: str, status: dict, gen: int = 2, rev: str = "2") -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(
            "Deployment",
            ns,
            name,
            "2026-10-01T10:00:00Z",
            labels={"app": name},
            generation=gen,
            annotations={"deployment.kubernetes.io/revision": rev},
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": template(name, image),
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        },
        "status": {"observedGeneration": gen, **status},
    }


def replicaset(
    ns: str,
    name: str,
    owner_kind: str,
    owner: str,
    replicas: int,
    image: str,
    hash_: str,
    status: dict,
    rev: str = "2",
    owner_api: str = "apps/v1",
    app: str | None = None,
    hash_label: str = "pod-template-hash",
) -> dict:
    app = app or owner
    t = template(app, image)
    t["metadata"]["labels"][hash_label] = hash_
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta(
            "ReplicaSet",
            ns,
            name,
            "2026-11-19T10:00:00Z",
            labels={"app": app, hash_label: hash_},
            owner=(owner_api, owner_kind, owner, ns),
            generation=1,
            annotations={
                "deployment.kubernetes.io/revision": rev,
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + 1),
            },
        ),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app, hash_label: hash_}}, "template": t},
        "status": {"observedGeneration": 1, **status},
    }


def healthy_deploy_status(n: int, at: str = "2026-11-19T10:02:00Z") -> dict:
    return {
        "replicas": n,
        "updatedReplicas": n,
        "readyReplicas": n,
        "availableReplicas": n,
        "conditions": [
            cond(
                "Available", "True", at, "MinimumReplicasAvailable", "Deployment has minimum availability.", probe=False
            )
            | {"lastUpdateTime": at},
            cond(
                "Progressing",
                "True",
                at,
                "NewReplicaSetAvailable",
                'ReplicaSet "x" has successfully progressed.',
                probe=False,
            )
            | {"lastUpdateTime": at},
        ],
    }


def world() -> list[dict]:
    objs: list[dict] = []
    add = objs.append
    for n in NODES:
        add(node(n))
    add(node(DOWN, ready=False))
    add(node(CP, role="control-plane"))

    # -- prod/web: a healthy Deployment; its previous ReplicaSet left an evicted pod behind -----------------
    add(deployment("prod", "web", 3, "nginx:1.27", healthy_deploy_status(3)))
    add(
        replicaset(
            "prod",
            "web-7d4b9c8f6",
            "Deployment",
            "web",
            3,
            "nginx:1.27",
            "7d4b9c8f6",
            {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 3},
        )
    )
    add(
        replicaset("prod", "web-5c6f8d7b9", "Deployment", "web", 0, "nginx:1.26", "5c6f8d7b9", {"replicas": 0}, rev="1")
    )
    for i, suffix in enumerate(("x2k9p", "m4q7r", "z8w3t")):
        add(
            pod(
                "prod",
                f"web-7d4b9c8f6-{suffix}",
                created="2026-11-19T10:00:30Z",
                node=NODES[i],
                owner=("apps/v1", "ReplicaSet", "web-7d4b9c8f6", "prod"),
                labels={"app": "web", "pod-template-hash": "7d4b9c8f6"},
                containers=[container("app", "nginx:1.27")],
                statuses=[running_status("app", "nginx:1.27", "2026-11-19T10:00:40Z")],
                conditions=ready_conditions("2026-11-19T10:00:41Z"),
                ip=f"10.244.{i}.21",
            )
        )
    evicted = pod(
        "prod",
        "web-5c6f8d7b9-qq7zl",
        created="2026-11-10T10:00:00Z",
        node=NODES[0],
        owner=("apps/v1", "ReplicaSet", "web-5c6f8d7b9", "prod"),
        labels={"app": "web", "pod-template-hash": "5c6f8d7b9"},
        containers=[container("app", "nginx:1.26")],
        phase="Failed",
        ip=None,
        statuses=[
            terminated_status(
                "app",
                "nginx:1.26",
                "2026-11-10T10:00:10Z",
                "2026-11-18T03:12:44Z",
                code=137,
                reason="ContainerStatusUnknown",
            )
        ],
        conditions=[
            cond(
                "DisruptionTarget",
                "True",
                "2026-11-18T03:12:40Z",
                "TerminationByKubelet",
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91Mi. ",
            ),
            cond("Ready", "False", "2026-11-18T03:12:44Z", "PodFailed"),
            cond("PodScheduled", "True", "2026-11-10T10:00:00Z"),
        ],
        extra_status={
            "reason": "Evicted",
            "message": "The node was low on resource: memory. Threshold quantity: 100Mi, "
            "available: 91Mi. Container app was using 180Mi, request is 128Mi, "
            "has larger consumption of memory. ",
        },
    )
    add(evicted)

    # -- prod/api: a rollout stuck on a crash-looping new ReplicaSet; the old pods keep serving ------------
    add(
        deployment(
            "prod",
            "api",
            2,
            "ghcr.io/acme/api:2.0.0",
            {
                "replicas": 3,
                "updatedReplicas": 1,
                "readyReplicas": 2,
                "availableReplicas": 2,
                "unavailableReplicas": 1,
                "conditions": [
                    cond(
                        "Available",
                        "True",
                        "2026-11-19T10:02:00Z",
                        "MinimumReplicasAvailable",
                        "Deployment has minimum availability.",
                        probe=False,
                    ),
                    cond(
                        "Progressing",
                        "False",
                        "2026-11-20T11:45:00Z",
                        "ProgressDeadlineExceeded",
                        'ReplicaSet "api-6b7c8d9f5" has timed out progressing.',
                        probe=False,
                    ),
                ],
            },
            gen=3,
            rev="3",
        )
    )
    add(
        replicaset(
            "prod",
            "api-6b7c8d9f5",
            "Deployment",
            "api",
            1,
            "ghcr.io/acme/api:2.0.0",
            "6b7c8d9f5",
            {"replicas": 1, "fullyLabeledReplicas": 1},
            rev="3",
        )
    )
    add(
        replicaset(
            "prod",
            "api-84d5f6c7b",
            "Deployment",
            "api",
            2,
            "ghcr.io/acme/api:1.9.3",
            "84d5f6c7b",
            {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2},
            rev="2",
        )
    )
    for i, suffix in enumerate(("h7n2c", "k3v8d")):
        add(
            pod(
                "prod",
                f"api-84d5f6c7b-{suffix}",
                created="2026-11-19T10:00:00Z",
                node=NODES[i],
                owner=("apps/v1", "ReplicaSet", "api-84d5f6c7b", "prod"),
                labels={"app": "api", "pod-template-hash": "84d5f6c7b"},
                containers=[container("app", "ghcr.io/acme/api:1.9.3")],
                statuses=[running_status("app", "ghcr.io/acme/api:1.9.3", "2026-11-19T10:00:20Z")],
                conditions=ready_conditions("2026-11-19T10:00:21Z"),
            )
        )
    crash = pod(
        "prod",
        "api-6b7c8d9f5-p9s4m",
        created="2026-11-20T11:35:00Z",
        node=NODES[2],
        owner=("apps/v1", "ReplicaSet", "api-6b7c8d9f5", "prod"),
        labels={"app": "api", "pod-template-hash": "6b7c8d9f5"},
        containers=[container("app", "ghcr.io/acme/api:2.0.0")],
        statuses=[
            {
                **running_status(
                    "app",
                    "ghcr.io/acme/api:2.0.0",
                    "x",
                    ready=False,
                    restarts=7,
                    last={
                        "terminated": {
                            "exitCode": 1,
                            "reason": "Error",
                            "startedAt": "2026-11-20T11:54:01Z",
                            "finishedAt": "2026-11-20T11:54:02Z",
                            "containerID": "containerd://" + "d" * 64,
                        }
                    },
                ),
                "started": False,
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 5m0s restarting failed container=app "
                        "pod=api-6b7c8d9f5-p9s4m_prod(" + uid("Pod", "prod", "api-6b7c8d9f5-p9s4m") + ")",
                    }
                },
            }
        ],
        conditions=ready_conditions("2026-11-20T11:35:05Z", ready=False),
    )
    add(crash)
    add(
        new_event(
            crash,
            "BackOff",
            "Back-off restarting failed container app in pod api-6b7c8d9f5-p9s4m_prod("
            + crash["metadata"]["uid"]
            + ")",
            instance=NODES[2],
            field_path="spec.containers{app}",
            time="2026-11-20T11:36:10.123456Z",
            series=(88, "2026-11-20T11:59:10.654321Z"),
        )
    )
    # the app's previous log
    # (logs are set by the test: api.logs)

    # -- prod/db: a healthy StatefulSet with an init container and a native sidecar ---------------------------
    add(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta("StatefulSet", "prod", "db", "2026-10-01T10:00:00Z", labels={"app": "db"}, generation=1),
            "spec": {
                "replicas": 2,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": template("db", "postgres:16.4"),
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "volumeClaimTemplates": [
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "data", "creationTimestamp": None},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}},
                            "volumeMode": "Filesystem",
                        },
                        "status": {"phase": "Pending"},
                    }
                ],
            },
            "status": {
                "observedGeneration": 1,
                "replicas": 2,
                "readyReplicas": 2,
                "currentReplicas": 2,
                "updatedReplicas": 2,
                "availableReplicas": 2,
                "currentRevision": "db-6f9b7c5d8",
                "updateRevision": "db-6f9b7c5d8",
                "collisionCount": 0,
            },
        }
    )
    for i in range(2):
        p = pod(
            "prod",
            f"db-{i}",
            created="2026-11-15T10:00:00Z",
            node=NODES[i],
            owner=("apps/v1", "StatefulSet", "db", "prod"),
            labels={
                "app": "db",
                "controller-revision-hash": "db-6f9b7c5d8",
                "statefulset.kubernetes.io/pod-name": f"db-{i}",
                "apps.kubernetes.io/pod-index": str(i),
            },
            containers=[container("postgres", "postgres:16.4")],
            init=[
                container("init-perms", "busybox:1.36", command=["sh", "-c", "chown 999 /data"]),
                container(
                    "pgbouncer",
                    "bitnami/pgbouncer:1.23.1",
                    restartPolicy="Always",
                    startupProbe={
                        "tcpSocket": {"port": 6432},
                        "periodSeconds": 5,
                        "failureThreshold": 30,
                        "timeoutSeconds": 1,
                        "successThreshold": 1,
                    },
                ),
            ],
            statuses=[running_status("postgres", "postgres:16.4", "2026-11-15T10:00:20Z")],
            init_statuses=[
                terminated_status("init-perms", "busybox:1.36", "2026-11-15T10:00:05Z", "2026-11-15T10:00:06Z"),
                running_status("pgbouncer", "bitnami/pgbouncer:1.23.1", "2026-11-15T10:00:07Z"),
            ],
            conditions=ready_conditions("2026-11-15T10:00:21Z"),
            extra_spec={"hostname": f"db-{i}", "subdomain": "db"},
        )
        add(p)
        add(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": meta(
                    "PersistentVolumeClaim",
                    "prod",
                    f"data-db-{i}",
                    "2026-11-15T10:00:00Z",
                    labels={"app": "db"},
                    annotations={
                        "pv.kubernetes.io/bind-completed": "yes",
                        "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                    },
                ),
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "10Gi"}},
                    "storageClassName": "gp3",
                    "volumeMode": "Filesystem",
                    "volumeName": f"pvc-{uid('pv', str(i))}",
                },
                "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}},
            }
        )

    # -- prod: a pod being deleted (rolling restart), a pod with a finished ephemeral debug container ----------
    add(deployment("prod", "worker", 1, "ghcr.io/acme/worker:4.1", healthy_deploy_status(1)))
    add(
        replicaset(
            "prod",
            "worker-66d9b8c7f4",
            "Deployment",
            "worker",
            1,
            "ghcr.io/acme/worker:4.1",
            "66d9b8c7f4",
            {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "fullyLabeledReplicas": 1},
        )
    )
    going = pod(
        "prod",
        "worker-66d9b8c7f4-old01",
        created="2026-11-18T10:00:00Z",
        node=NODES[1],
        owner=("apps/v1", "ReplicaSet", "worker-66d9b8c7f4", "prod"),
        labels={"app": "worker", "pod-template-hash": "66d9b8c7f4"},
        containers=[container("app", "ghcr.io/acme/worker:4.1")],
        statuses=[running_status("app", "ghcr.io/acme/worker:4.1", "2026-11-18T10:00:10Z", ready=False)],
        conditions=ready_conditions("2026-11-20T11:59:45Z", ready=False),
    )
    going["metadata"]["deletionTimestamp"] = "2026-11-20T12:00:15Z"
    going["metadata"]["deletionGracePeriodSeconds"] = 30
    add(going)
    dbg = pod(
        "prod",
        "worker-66d9b8c7f4-new02",
        created="2026-11-20T11:59:40Z",
        node=NODES[0],
        owner=("apps/v1", "ReplicaSet", "worker-66d9b8c7f4", "prod"),
        labels={"app": "worker", "pod-template-hash": "66d9b8c7f4"},
        containers=[container("app", "ghcr.io/acme/worker:4.1")],
        statuses=[running_status("app", "ghcr.io/acme/worker:4.1", "2026-11-20T11:59:45Z")],
        conditions=ready_conditions("2026-11-20T11:59:46Z"),
        extra_spec={
            "ephemeralContainers": [
                {
                    "name": "debugger-7xk2q",
                    "image": "busybox:1.36",
                    "stdin": True,
                    "tty": True,
                    "targetContainerName": "app",
                    "terminationMessagePolicy": "File",
                    "terminationMessagePath": "/dev/termination-log",
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {},
                }
            ]
        },
        extra_status={
            "ephemeralContainerStatuses": [
                terminated_status(
                    "debugger-7xk2q",
                    "busybox:1.36",
                    "2026-11-20T11:59:50Z",
                    "2026-11-20T11:59:58Z",
                    code=130,
                    reason="Error",
                )
            ]
        },
    )
    add(dbg)

    # -- monitoring/node-exporter: a DaemonSet, one of its pods on the NotReady node -------------------------
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": meta(
            "DaemonSet",
            "monitoring",
            "node-exporter",
            "2026-10-01T10:00:00Z",
            labels={"app": "node-exporter"},
            generation=1,
            annotations={"deprecated.daemonset.template.generation": "1"},
        ),
        "spec": {
            "selector": {"matchLabels": {"app": "node-exporter"}},
            "template": template("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2"),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "revisionHistoryLimit": 10,
        },
        "status": {
            "observedGeneration": 1,
            "currentNumberScheduled": 5,
            "desiredNumberScheduled": 5,
            "numberMisscheduled": 0,
            "numberReady": 4,
            "numberAvailable": 4,
            "numberUnavailable": 1,
            "updatedNumberScheduled": 5,
        },
    }
    add(ds)
    for i, n in enumerate((*NODES, DOWN, CP)):
        ok = n != DOWN
        p = pod(
            "monitoring",
            f"node-exporter-{'abcde'[i]}{'fghij'[i]}9k{i}",
            created="2026-11-01T08:05:00Z",
            node=n,
            owner=("apps/v1", "DaemonSet", "node-exporter", "monitoring"),
            labels={"app": "node-exporter", "controller-revision-hash": "7f8c9d6b5", "pod-template-generation": "1"},
            containers=[container("app", "quay.io/prometheus/node-exporter:v1.8.2")],
            statuses=[running_status("app", "quay.io/prometheus/node-exporter:v1.8.2", "2026-11-01T08:05:10Z")],
            conditions=ready_conditions("2026-11-01T08:05:11Z"),
            extra_spec={
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]}
                            ]
                        }
                    }
                },
                "hostNetwork": True,
            },
        )
        if not ok:  # the node lifecycle controller marks pods on a lost node not Ready (MarkPodsNotReady)
            for c in p["status"]["conditions"]:
                if c["type"] == "Ready":
                    c.update(status="False", lastTransitionTime="2026-11-20T11:40:45Z")
                    c.pop("reason", None), c.pop("message", None)
        add(p)

    # -- kube-system: static pods' mirrors (owner Node) -----------------------------------------------------
    for comp, img in (
        ("kube-apiserver", "registry.k8s.io/kube-apiserver:v1.31.2"),
        ("etcd", "registry.k8s.io/etcd:3.5.15-0"),
    ):
        mp = pod(
            "kube-system",
            f"{comp}-{CP}",
            created="2026-11-01T08:00:30Z",
            node=CP,
            owner=("v1", "Node", CP, None),
            labels={"component": comp, "tier": "control-plane"},
            containers=[container(comp, img)],
            qos="Burstable",
            statuses=[
                running_status(
                    comp,
                    img,
                    "2026-11-01T08:00:20Z",
                    restarts=2,
                    last={
                        "terminated": {
                            "exitCode": 255,
                            "reason": "Unknown",
                            "startedAt": "2026-10-30T08:00:20Z",
                            "finishedAt": "2026-11-01T07:59:00Z",
                        }
                    },
                )
            ],
            conditions=ready_conditions("2026-11-01T08:00:40Z"),
            ip="10.0.9.1",
            annotations={
                "kubernetes.io/config.mirror": "9f1c" + "0" * 28,
                "kubernetes.io/config.hash": "9f1c" + "0" * 28,
                "kubernetes.io/config.seen": "2026-11-01T08:00:10.123456789Z",
                "kubernetes.io/config.source": "file",
            },
            extra_spec={"hostNetwork": True, "priorityClassName": "system-node-critical", "priority": 2000001000},
        )
        add(mp)

    # -- batch: a completed Job (a first attempt failed, the retry succeeded); a CronJob's finished runs ------
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(
            "Job",
            "batch",
            "migrate-2026-11-20",
            "2026-11-20T09:00:00Z",
            labels={"batch.kubernetes.io/job-name": "migrate-2026-11-20"},
            generation=1,
        ),
        "spec": {
            "parallelism": 1,
            "completions": 1,
            "backoffLimit": 6,
            "completionMode": "NonIndexed",
            "suspend": False,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {
                "matchLabels": {"batch.kubernetes.io/controller-uid": uid("Job", "batch", "migrate-2026-11-20")}
            },
            "manualSelector": False,
            "template": {
                "metadata": {"labels": {"batch.kubernetes.io/job-name": "migrate-2026-11-20"}},
                "spec": {"containers": [container("migrate", "ghcr.io/acme/migrate:1.4")], "restartPolicy": "Never"},
            },
        },
        "status": {
            "conditions": [
                cond(
                    "SuccessCriteriaMet",
                    "True",
                    "2026-11-20T09:03:10Z",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ),
                cond(
                    "Complete",
                    "True",
                    "2026-11-20T09:03:10Z",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ),
            ],
            "startTime": "2026-11-20T09:00:00Z",
            "completionTime": "2026-11-20T09:03:10Z",
            "succeeded": 1,
            "failed": 1,
            "ready": 0,
            "terminating": 0,
            "uncountedTerminatedPods": {},
        },
    }
    add(job)
    jlabels = {
        "batch.kubernetes.io/job-name": "migrate-2026-11-20",
        "job-name": "migrate-2026-11-20",
        "batch.kubernetes.io/controller-uid": uid("Job", "batch", "migrate-2026-11-20"),
    }
    add(
        pod(
            "batch",
            "migrate-2026-11-20-8xk2p",
            created="2026-11-20T09:00:00Z",
            node=NODES[0],
            owner=("batch/v1", "Job", "migrate-2026-11-20", "batch"),
            labels=jlabels,
            phase="Failed",
            restart_policy="Never",
            containers=[container("migrate", "ghcr.io/acme/migrate:1.4")],
            statuses=[
                terminated_status(
                    "migrate",
                    "ghcr.io/acme/migrate:1.4",
                    "2026-11-20T09:00:05Z",
                    "2026-11-20T09:01:30Z",
                    code=1,
                    reason="Error",
                )
            ],
            conditions=[
                cond("PodReadyToStartContainers", "False", "2026-11-20T09:01:31Z"),
                cond("Initialized", "True", "2026-11-20T09:00:00Z"),
                cond("Ready", "False", "2026-11-20T09:01:31Z", "PodFailed"),
                cond("ContainersReady", "False", "2026-11-20T09:01:31Z", "PodFailed"),
                cond("PodScheduled", "True", "2026-11-20T09:00:00Z"),
            ],
            annotations={"batch.kubernetes.io/job-tracking": ""},
        )
    )
    add(
        pod(
            "batch",
            "migrate-2026-11-20-q4w7n",
            created="2026-11-20T09:01:40Z",
            node=NODES[1],
            owner=("batch/v1", "Job", "migrate-2026-11-20", "batch"),
            labels=jlabels,
            phase="Succeeded",
            restart_policy="Never",
            containers=[container("migrate", "ghcr.io/acme/migrate:1.4")],
            statuses=[
                terminated_status("migrate", "ghcr.io/acme/migrate:1.4", "2026-11-20T09:01:45Z", "2026-11-20T09:03:05Z")
            ],
            conditions=[
                cond("PodReadyToStartContainers", "False", "2026-11-20T09:03:06Z"),
                cond("Initialized", "True", "2026-11-20T09:01:40Z", "PodCompleted"),
                cond("Ready", "False", "2026-11-20T09:03:06Z", "PodCompleted"),
                cond("ContainersReady", "False", "2026-11-20T09:03:06Z", "PodCompleted"),
                cond("PodScheduled", "True", "2026-11-20T09:01:40Z"),
            ],
        )
    )
    cj = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta("CronJob", "batch", "report", "2026-10-01T10:00:00Z", generation=1),
        "spec": {
            "schedule": "0 * * * *",
            "concurrencyPolicy": "Forbid",
            "suspend": False,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"creationTimestamp": None},
                "spec": {
                    "backoffLimit": 2,
                    "template": {
                        "metadata": {"creationTimestamp": None},
                        "spec": {
                            "containers": [container("report", "ghcr.io/acme/report:3")],
                            "restartPolicy": "OnFailure",
                        },
                    },
                },
            },
        },
        "status": {"lastScheduleTime": "2026-11-20T11:00:00Z", "lastSuccessfulTime": "2026-11-20T11:01:12Z"},
    }
    add(cj)
    for hour in ("10", "11"):
        jn = f"report-2948{hour}0"
        j = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta(
                "Job",
                "batch",
                jn,
                f"2026-11-20T{hour}:00:00Z",
                owner=("batch/v1", "CronJob", "report", "batch"),
                generation=1,
                labels={"batch.kubernetes.io/job-name": jn},
                annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": f"2026-11-20T{hour}:00:00Z"},
            ),
            "spec": {
                "backoffLimit": 2,
                "completions": 1,
                "parallelism": 1,
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid("Job", "batch", jn)}},
                "template": {
                    "metadata": {"labels": {"batch.kubernetes.io/job-name": jn}},
                    "spec": {
                        "containers": [container("report", "ghcr.io/acme/report:3")],
                        "restartPolicy": "OnFailure",
                    },
                },
            },
            "status": {
                "conditions": [
                    cond("SuccessCriteriaMet", "True", f"2026-11-20T{hour}:01:12Z", "CompletionsReached"),
                    cond("Complete", "True", f"2026-11-20T{hour}:01:12Z", "CompletionsReached"),
                ],
                "startTime": f"2026-11-20T{hour}:00:00Z",
                "completionTime": f"2026-11-20T{hour}:01:12Z",
                "succeeded": 1,
                "ready": 0,
                "terminating": 0,
                "uncountedTerminatedPods": {},
            },
        }
        add(j)
        add(
            pod(
                "batch",
                f"{jn}-t{hour}x9",
                created=f"2026-11-20T{hour}:00:00Z",
                node=NODES[2],
                owner=("batch/v1", "Job", jn, "batch"),
                phase="Succeeded",
                restart_policy="OnFailure",
                labels={"batch.kubernetes.io/job-name": jn, "job-name": jn,
                            "batch.kubernetes.io/controller-uid": uid("Job", "batch", jn),
                            "controller-uid": uid("Job", "batch", jn)},
                containers=[container("report", "ghcr.io/acme/report:3")],
                statuses=[
                    terminated_status(
                        "report",
                        "ghcr.io/acme/report:3",
                        f"2026-11-20T{hour}:00:40Z",
                        f"2026-11-20T{hour}:01:10Z",
                        restarts=1,
                    )
                ],
                conditions=[
                    cond("Ready", "False", f"2026-11-20T{hour}:01:11Z", "PodCompleted"),
                    cond("PodScheduled", "True", f"2026-11-20T{hour}:00:00Z"),
                ],
            )
        )

    # -- argo: pods of an Argo Rollout (ReplicaSet owned by a Rollout, rollouts-pod-template-hash) -------------
    add(
        replicaset(
            "argo",
            "checkout-7f9d8c6b5",
            "Rollout",
            "checkout",
            2,
            "ghcr.io/acme/checkout:5",
            "7f9d8c6b5",
            {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "fullyLabeledReplicas": 2},
            owner_api="argoproj.io/v1alpha1",
            hash_label="rollouts-pod-template-hash",
        )
    )
    for i, s in enumerate(("a1b2c", "d3e4f")):
        add(
            pod(
                "argo",
                f"checkout-7f9d8c6b5-{s}",
                created="2026-11-19T10:00:00Z",
                node=NODES[i],
                owner=("apps/v1", "ReplicaSet", "checkout-7f9d8c6b5", "argo"),
                labels={"app": "checkout", "rollouts-pod-template-hash": "7f9d8c6b5"},
                containers=[container("app", "ghcr.io/acme/checkout:5")],
                statuses=[running_status("app", "ghcr.io/acme/checkout:5", "2026-11-19T10:00:10Z")],
                conditions=ready_conditions("2026-11-19T10:00:11Z"),
            )
        )
    add(
        replicaset(
            "argo",
            "cart-5d6f7b8c9",
            "Rollout",
            "cart",
            1,
            "ghcr.io/acme/cart:9",
            "5d6f7b8c9",
            {"replicas": 1, "fullyLabeledReplicas": 1},
            owner_api="argoproj.io/v1alpha1",
            hash_label="rollouts-pod-template-hash",
        )
    )
    cart = pod(
        "argo",
        "cart-5d6f7b8c9-zz9yx",
        created="2026-11-20T11:00:00Z",
        node=NODES[0],
        owner=("apps/v1", "ReplicaSet", "cart-5d6f7b8c9", "argo"),
        labels={"app": "cart", "rollouts-pod-template-hash": "5d6f7b8c9"},
        containers=[container("app", "ghcr.io/acme/cart:9")],
        phase="Pending",
        ip=None,
        statuses=[
            {
                "name": "app",
                "image": "ghcr.io/acme/cart:9",
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 0,
                "lastState": {},
                "state": {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": 'Back-off pulling image "ghcr.io/acme/cart:9": ErrImagePull: '
                        'failed to pull and unpack image "ghcr.io/acme/cart:9": failed '
                        'to resolve reference "ghcr.io/acme/cart:9": '
                        "ghcr.io/acme/cart:9: not found",
                    }
                },
            }
        ],
        conditions=ready_conditions("2026-11-20T11:00:02Z", ready=False),
    )
    add(cart)

    # -- spark: a driver owned by a SparkApplication, executors owned by the driver pod ----------------------
    add(
        pod(
            "spark",
            "pi-driver",
            created="2026-11-20T11:50:00Z",
            node=NODES[1],
            owner=("sparkoperator.k8s.io/v1beta2", "SparkApplication", "pi", "spark"),
            labels={"spark-role": "driver", "sparkoperator.k8s.io/app-name": "pi", "spark-app-selector": "spark-1"},
            containers=[container("spark-kubernetes-driver", "spark:3.5.3")],
            restart_policy="Never",
            statuses=[running_status("spark-kubernetes-driver", "spark:3.5.3", "2026-11-20T11:50:10Z")],
            conditions=ready_conditions("2026-11-20T11:50:11Z"),
        )
    )
    for i in (1, 2):
        add(
            pod(
                "spark",
                f"pi-exec-{i}",
                created="2026-11-20T11:50:30Z",
                node=NODES[i],
                owner=("v1", "Pod", "pi-driver", "spark"),
                labels={"spark-role": "executor", "spark-exec-id": str(i), "spark-app-selector": "spark-1"},
                containers=[container("spark-kubernetes-executor", "spark:3.5.3")],
                restart_policy="Never",
                statuses=[running_status("spark-kubernetes-executor", "spark:3.5.3", "2026-11-20T11:50:40Z")],
                conditions=ready_conditions("2026-11-20T11:50:41Z"),
            )
        )
    oom = pod(
        "spark",
        "pi-exec-3",
        created="2026-11-20T11:50:30Z",
        node=NODES[0],
        owner=("v1", "Pod", "pi-driver", "spark"),
        phase="Failed",
        restart_policy="Never",
        labels={"spark-role": "executor", "spark-exec-id": "3", "spark-app-selector": "spark-1"},
        containers=[container("spark-kubernetes-executor", "spark:3.5.3")],
        statuses=[
            terminated_status(
                "spark-kubernetes-executor",
                "spark:3.5.3",
                "2026-11-20T11:50:40Z",
                "2026-11-20T11:55:00Z",
                code=137,
                reason="OOMKilled",
            )
        ],
        conditions=[
            cond("Ready", "False", "2026-11-20T11:55:01Z", "PodFailed"),
            cond("PodScheduled", "True", "2026-11-20T11:50:30Z"),
        ],
    )
    add(oom)

    # -- virt: a KubeVirt virt-launcher pod owned by its VirtualMachineInstance -----------------------------
    add(
        pod(
            "virt",
            "virt-launcher-fedora-vm-8hx2k",
            created="2026-11-19T10:00:00Z",
            node=NODES[2],
            owner=("kubevirt.io/v1", "VirtualMachineInstance", "fedora-vm", "virt"),
            labels={
                "kubevirt.io": "virt-launcher",
                "vm.kubevirt.io/name": "fedora-vm",
                "kubevirt.io/created-by": uid("vmi"),
            },
            containers=[
                container("compute", "quay.io/kubevirt/virt-launcher:v1.4.0"),
                container("volumecontainerdisk", "quay.io/containerdisks/fedora:41"),
            ],
            init=[container("container-disk-binary", "quay.io/kubevirt/virt-launcher:v1.4.0")],
            init_statuses=[
                terminated_status(
                    "container-disk-binary",
                    "quay.io/kubevirt/virt-launcher:v1.4.0",
                    "2026-11-19T10:00:03Z",
                    "2026-11-19T10:00:04Z",
                )
            ],
            statuses=[
                running_status("compute", "quay.io/kubevirt/virt-launcher:v1.4.0", "2026-11-19T10:00:10Z"),
                running_status("volumecontainerdisk", "quay.io/containerdisks/fedora:41", "2026-11-19T10:00:10Z"),
            ],
            conditions=ready_conditions("2026-11-19T10:00:20Z")
            + [cond("LiveMigratable", "True", "2026-11-19T10:00:20Z")],
            extra_spec={"readinessGates": [{"conditionType": "kubevirt.io/virtual-machine-unpaused"}]},
            annotations={"kubevirt.io/domain": "fedora-vm", "kubectl.kubernetes.io/default-container": "compute"},
        )
    )
    virt = objs[-1]
    virt["status"]["conditions"].append(cond("kubevirt.io/virtual-machine-unpaused", "True", "2026-11-19T10:00:15Z"))

    # -- shop: a Deployment at 0 replicas, a fresh pod, a quota ----------------------------------------------
    add(deployment("shop", "legacy", 0, "ghcr.io/acme/legacy:1", {"replicas": 0, "conditions": []}, gen=4))
    add(
        deployment(
            "shop",
            "search",
            1,
            "ghcr.io/acme/search:2",
            {
                "replicas": 1,
                "updatedReplicas": 1,
                "unavailableReplicas": 1,
                "conditions": [
                    cond(
                        "Available",
                        "False",
                        "2026-11-20T11:59:50Z",
                        "MinimumReplicasUnavailable",
                        "Deployment does not have minimum availability.",
                        probe=False,
                    ),
                    cond(
                        "Progressing",
                        "True",
                        "2026-11-20T11:59:50Z",
                        "ReplicaSetUpdated",
                        'ReplicaSet "search-9c8b7d6f5" is progressing.',
                        probe=False,
                    ),
                ],
            },
        )
    )
    add(
        replicaset(
            "shop",
            "search-9c8b7d6f5",
            "Deployment",
            "search",
            1,
            "ghcr.io/acme/search:2",
            "9c8b7d6f5",
            {"replicas": 1, "fullyLabeledReplicas": 1},
        )
    )
    add(
        pod(
            "shop",
            "search-9c8b7d6f5-fr3sh",
            created="2026-11-20T11:59:50Z",
            node=NODES[0],
            ip=None,
            owner=("apps/v1", "ReplicaSet", "search-9c8b7d6f5", "shop"),
            labels={"app": "search", "pod-template-hash": "9c8b7d6f5"},
            phase="Pending",
            containers=[container("app", "ghcr.io/acme/search:2")],
            statuses=[
                {
                    "name": "app",
                    "image": "ghcr.io/acme/search:2",
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 0,
                    "lastState": {},
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                }
            ],
            conditions=[
                cond("PodReadyToStartContainers", "False", "2026-11-20T11:59:50Z"),
                cond("Initialized", "True", "2026-11-20T11:59:50Z"),
                cond(
                    "Ready",
                    "False",
                    "2026-11-20T11:59:50Z",
                    "ContainersNotReady",
                    "containers with unready status: [app]",
                ),
                cond(
                    "ContainersReady",
                    "False",
                    "2026-11-20T11:59:50Z",
                    "ContainersNotReady",
                    "containers with unready status: [app]",
                ),
                cond("PodScheduled", "True", "2026-11-20T11:59:50Z"),
            ],
        )
    )
    add(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta("ResourceQuota", "shop", "compute", "2026-10-01T10:00:00Z"),
            "spec": {"hard": {"requests.cpu": "8", "limits.memory": "16Gi"}},
            "status": {
                "hard": {"requests.cpu": "8", "limits.memory": "16Gi"},
                "used": {"requests.cpu": "100m", "limits.memory": "256Mi"},
            },
        }
    )
    add(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta("ServiceAccount", "shop", "default", "2026-10-01T10:00:00Z"),
        }
    )
    add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": meta("Secret", "shop", "regcred", "2026-10-01T10:00:00Z"),
            "data": {".dockerconfigjson": "eyJhdXRocyI6e319"},
        }
    )

    # -- queue: a pod no node takes (the scheduler writes through events.k8s.io), a Deployment pod left
    # Terminating on the lost node after taint eviction (its replacement runs), a StatefulSet pod stuck there
    add(deployment("queue", "consumer", 2, "ghcr.io/acme/consumer:7", healthy_deploy_status(2)))
    add(replicaset("queue", "consumer-5b8c7d9f6", "Deployment", "consumer", 2, "ghcr.io/acme/consumer:7",
                   "5b8c7d9f6", {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                                 "fullyLabeledReplicas": 2}))
    for i, (suffix, n) in enumerate((("r3pl1", NODES[1]), ("r3pl2", NODES[2]))):
        add(pod("queue", f"consumer-5b8c7d9f6-{suffix}", created="2026-11-20T11:46:00Z", node=n,
                owner=("apps/v1", "ReplicaSet", "consumer-5b8c7d9f6", "queue"),
                labels={"app": "consumer", "pod-template-hash": "5b8c7d9f6"},
                containers=[container("app", "ghcr.io/acme/consumer:7")],
                statuses=[running_status("app", "ghcr.io/acme/consumer:7", "2026-11-20T11:46:10Z")],
                conditions=ready_conditions("2026-11-20T11:46:11Z")))
    stuck = pod("queue", "consumer-5b8c7d9f6-l0st1", created="2026-11-18T10:00:00Z", node=DOWN,
                owner=("apps/v1", "ReplicaSet", "consumer-5b8c7d9f6", "queue"),
                labels={"app": "consumer", "pod-template-hash": "5b8c7d9f6"},
                containers=[container("app", "ghcr.io/acme/consumer:7")],
                statuses=[running_status("app", "ghcr.io/acme/consumer:7", "2026-11-18T10:00:10Z")],
                conditions=[cond("DisruptionTarget", "True", "2026-11-20T11:45:45Z", "DeletionByTaintManager",
                                 "Taint manager: deleting due to NoExecute taint"),
                            *ready_conditions("2026-11-18T10:00:11Z")])
    for c in stuck["status"]["conditions"]:
        if c["type"] == "Ready":
            c.update(status="False", lastTransitionTime="2026-11-20T11:40:45Z")
    stuck["metadata"]["deletionTimestamp"] = "2026-11-20T11:46:15Z"
    stuck["metadata"]["deletionGracePeriodSeconds"] = 30
    add(stuck)
    add(old_event(stuck, "NodeNotReady", "Node is not ready", component="node-controller",
                  first="2026-11-20T11:40:45Z", last="2026-11-20T11:40:45Z"))
    add(new_event(stuck, "TaintManagerEviction", "Marking for deletion Pod queue/consumer-5b8c7d9f6-l0st1",
                  type_="Normal", controller="taint-eviction-controller", time="2026-11-20T11:45:45.000000Z"))
    pend = pod("queue", "big-batch", created="2026-11-20T11:30:00Z", node=None, owner=None, phase="Pending", ip=None,
               labels={"app": "big-batch"},
               containers=[container("app", "ghcr.io/acme/batch:1",
                                     resources={"requests": {"cpu": "16", "memory": "64Gi"}})],
               conditions=[cond("PodScheduled", "False", "2026-11-20T11:30:00Z", "Unschedulable",
                                "0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/"
                                "control-plane: }, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
                                ", 3 Insufficient cpu, 3 Insufficient memory. preemption: 0/5 nodes are available: 2 "
                                "Preemption is not helpful for scheduling, 3 No preemption victims found for "
                                "incoming pod.")])
    add(pend)
    add(new_event(pend, "FailedScheduling", pend["status"]["conditions"][0]["message"], controller="default-scheduler",
                  instance="default-scheduler-cp-1", action="Scheduling", time="2026-11-20T11:30:00.512345Z",
                  series=(7, "2026-11-20T11:55:01.000001Z")))

    # -- batch/cleanup: a CronJob whose 10:30 run failed (BackoffLimitExceeded) and whose 11:30 run succeeded
    add({"apiVersion": "batch/v1", "kind": "CronJob",
         "metadata": meta("CronJob", "batch", "cleanup", "2026-10-01T10:00:00Z", generation=1),
         "spec": {"schedule": "30 * * * *", "concurrencyPolicy": "Allow", "suspend": False,
                  "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                  "jobTemplate": {"metadata": {"creationTimestamp": None},
                                  "spec": {"backoffLimit": 1, "template": {
                                      "metadata": {"creationTimestamp": None},
                                      "spec": {"containers": [container("cleanup", "ghcr.io/acme/cleanup:2")],
                                               "restartPolicy": "Never"}}}}},
         "status": {"lastScheduleTime": "2026-11-20T11:30:00Z", "lastSuccessfulTime": "2026-11-20T11:31:02Z"}})
    for hour, ok in (("10", False), ("11", True)):
        jn = f"cleanup-2948{hour}3"
        conds = ([cond("SuccessCriteriaMet", "True", f"2026-11-20T{hour}:31:02Z", "CompletionsReached"),
                  cond("Complete", "True", f"2026-11-20T{hour}:31:02Z", "CompletionsReached")] if ok else
                 [cond("FailureTarget", "True", f"2026-11-20T{hour}:33:00Z", "BackoffLimitExceeded",
                       "Job has reached the specified backoff limit"),
                  cond("Failed", "True", f"2026-11-20T{hour}:33:00Z", "BackoffLimitExceeded",
                       "Job has reached the specified backoff limit")])
        add({"apiVersion": "batch/v1", "kind": "Job",
             "metadata": meta("Job", "batch", jn, f"2026-11-20T{hour}:30:00Z",
                              owner=("batch/v1", "CronJob", "cleanup", "batch"), generation=1,
                              labels={"batch.kubernetes.io/job-name": jn}),
             "spec": {"backoffLimit": 1, "completions": 1, "parallelism": 1,
                      "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid("Job", "batch", jn)}},
                      "template": {"metadata": {"labels": {"batch.kubernetes.io/job-name": jn}},
                                   "spec": {"containers": [container("cleanup", "ghcr.io/acme/cleanup:2")],
                                            "restartPolicy": "Never"}}},
             "status": {"conditions": conds, "startTime": f"2026-11-20T{hour}:30:00Z",
                        **({"completionTime": f"2026-11-20T{hour}:31:02Z", "succeeded": 1} if ok else {"failed": 2}),
                        "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}})
        for k in ((0,) if ok else (0, 1)):
            add(pod("batch", f"{jn}-{'ok' if ok else 'fail'}{k}x", created=f"2026-11-20T{hour}:3{k}:00Z",
                    node=NODES[k], owner=("batch/v1", "Job", jn, "batch"), restart_policy="Never",
                    phase="Succeeded" if ok else "Failed",
                    labels={"batch.kubernetes.io/job-name": jn, "job-name": jn,
                            "batch.kubernetes.io/controller-uid": uid("Job", "batch", jn),
                            "controller-uid": uid("Job", "batch", jn)},
                    containers=[container("cleanup", "ghcr.io/acme/cleanup:2")],
                    statuses=[terminated_status("cleanup", "ghcr.io/acme/cleanup:2", f"2026-11-20T{hour}:3{k}:05Z",
                                                f"2026-11-20T{hour}:3{k}:50Z", code=0 if ok else 2,
                                                reason="Completed" if ok else "Error")],
                    conditions=[cond("Ready", "False", f"2026-11-20T{hour}:3{k}:51Z",
                                     "PodCompleted" if ok else "PodFailed"),
                                cond("PodScheduled", "True", f"2026-11-20T{hour}:3{k}:00Z")]))
    return copy.deepcopy(objs)


# what each pod and workload is: "ok" (no warning or error), "error:<code>" (first finding), "warn" (no error)
EXPECT_PODS = {
    ("prod", "web-7d4b9c8f6-x2k9p"): "ok",
    ("prod", "web-5c6f8d7b9-qq7zl"): "noerror",  # evicted pod of the old ReplicaSet: history
    ("prod", "api-84d5f6c7b-h7n2c"): "ok",
    ("prod", "api-6b7c8d9f5-p9s4m"): "error:container.crash-loop",
    ("prod", "db-0"): "ok",
    ("prod", "worker-66d9b8c7f4-old01"): "noerror",  # being deleted
    ("prod", "worker-66d9b8c7f4-new02"): "ok",  # a finished kubectl debug session
    ("kube-system", f"kube-apiserver-{CP}"): "ok",
    ("kube-system", f"etcd-{CP}"): "ok",
    ("batch", "migrate-2026-11-20-8xk2p"): "noerror",  # the Job retried and completed
    ("batch", "migrate-2026-11-20-q4w7n"): "ok",
    ("argo", "checkout-7f9d8c6b5-a1b2c"): "ok",
    ("argo", "cart-5d6f7b8c9-zz9yx"): "error:image.not-found",
    ("spark", "pi-driver"): "ok",
    ("spark", "pi-exec-1"): "ok",
    ("spark", "pi-exec-3"): "error:container.oom-killed",
    ("virt", "virt-launcher-fedora-vm-8hx2k"): "ok",
    ("shop", "search-9c8b7d6f5-fr3sh"): "ok",  # 10 s old
    ("queue", "consumer-5b8c7d9f6-r3pl1"): "ok",
    ("queue", "consumer-5b8c7d9f6-l0st1"): "noerror",  # Terminating on the lost node for 14m, replaced: cleanup
    ("queue", "big-batch"): "error:pod.unschedulable",
    ("batch", "cleanup-2948103-fail0x"): "noerror",  # the 10:30 run failed, the 11:30 run succeeded
    ("batch", "cleanup-2948113-ok0x"): "ok",
}
OWNERS = {
    ("prod", "web-5c6f8d7b9-qq7zl"): {"kind": "Deployment", "name": "web"},
    ("prod", "api-6b7c8d9f5-p9s4m"): {"kind": "Deployment", "name": "api"},
    ("argo", "cart-5d6f7b8c9-zz9yx"): {"kind": "Rollout", "name": "cart"},
    ("spark", "pi-exec-3"): {"kind": "SparkApplication", "name": "pi"},
    ("batch", "migrate-2026-11-20-8xk2p"): {"kind": "Job", "name": "migrate-2026-11-20"},
}


# -- running podfix against a world ------------------------------------------------------------------------

def kubectl_podfix(api, kubeconfig):
    """``run(*args)``: ``kubectl podfix ARGS`` through the real kubectl at NOW, with the request log cleared
    first (``run.api`` and ``run.kubeconfig`` for the tests that need them)."""
    from clitools import cli_env, run_podfix

    def run(*args: str):
        api.clear_requests()
        return run_podfix(list(args), kubeconfig=kubeconfig, via_kubectl=True,
                          env=cli_env(kubeconfig, PODFIX_NOW=NOW))
    run.api, run.kubeconfig = api, kubeconfig
    return run


def loud(findings: list[dict]) -> list[tuple[str, str]]:
    """(code, severity) of the findings that are errors or warnings."""
    return [(f["code"], f["severity"]) for f in findings if f["severity"] in ("error", "warning")]
