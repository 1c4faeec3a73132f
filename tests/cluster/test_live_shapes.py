"""Live answers are shape-checked like -f files: a wrong answer is an API error, never "no problems".

A GET pod answered with an empty body, ``{}``, a Deployment, another pod, or a pod whose
``spec.containers`` is a map used to pass ``--exit-code`` as healthy or end in ``internal
error``. Each is now exit 1 with one line naming what was wrong; so are workloads fetched by
name and LIST items.
"""

from __future__ import annotations

import json

import pytest
from clitools import one_error_line
from hostile import raw
from objects import pod, waiting

GET_POD = r"^/api/v1/namespaces/shop/pods/web-1$"


def crashing(name="web-1", namespace="shop"):
    return pod(name, namespace=namespace, phase="Running",
               statuses=[waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container", restarts=7)])



def healthy_pod(name="web-1", namespace="shop"):
    return pod(name, namespace=namespace, phase="Running", statuses=[])


def containers_as_map():
    p = healthy_pod()
    p["spec"]["containers"] = {"app": {"image": "nginx"}}
    return p


@pytest.mark.parametrize("answer, words", [
    (b"", "an empty body instead of Pod shop/web-1"),
    (b"   \n", "an empty body instead of Pod shop/web-1"),
    ({}, "an empty object instead of Pod shop/web-1"),
    ({"kind": "Pod"}, "an object without metadata.name instead of Pod shop/web-1"),
    ({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web-1", "namespace": "shop"}},
     "a Deployment instead of Pod shop/web-1"),
    (healthy_pod("web-2"), "Pod shop/web-2 instead of Pod shop/web-1"),
    (healthy_pod("web-1", "prod"), "Pod prod/web-1 instead of Pod shop/web-1"),
    (containers_as_map(), "a Pod whose spec.containers must be a list, not a mapping"),
    ([], "a list instead of Pod shop/web-1"),
    (b"null", "null instead of Pod shop/web-1"),
    (b"7", "a number instead of Pod shop/web-1"),
], ids=["empty", "blank", "{}", "no-name", "deployment", "other-name", "other-namespace", "containers-map",
        "list", "null", "number"])
def test_a_get_pod_answer_of_the_wrong_shape_is_an_api_error(api, podfix, answer, words):
    api.add(crashing())
    api.answer("GET", GET_POD, raw(answer))
    line = one_error_line(podfix("explain", "web-1", "-n", "shop", "--exit-code"))
    assert words in line and "GET /api/v1/namespaces/shop/pods/web-1" in line and api.url in line


def test_a_workload_fetched_by_name_is_checked(api, podfix):
    api.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
             "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {}, "spec": {}}}})
    api.answer("GET", r"/deployments/web$", raw(healthy_pod("web")), times=1)
    line = one_error_line(podfix("explain", "deploy/web", "-n", "shop", "--exit-code"))
    assert "a Pod instead of Deployment shop/web" in line
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"selector": {"matchLabels": ["app=web"]}}}
    api.answer("GET", r"/deployments/web$", raw(bad), times=1)
    line = one_error_line(podfix("explain", "deploy/web", "-n", "shop", "--exit-code"))
    assert "a Deployment whose spec.selector.matchLabels must be a mapping, not a list" in line


def test_a_list_item_of_the_wrong_shape_is_an_api_error(api, podfix):
    bad = crashing("web-2")
    bad["status"]["containerStatuses"][0]["restartCount"] = "seven"
    items = [crashing("web-1"), bad]
    for item in items:
        item.pop("kind"), item.pop("apiVersion")
    api.answer("GET", r"^/api/v1/namespaces/shop/pods$",
               raw({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}))
    line = one_error_line(podfix("explain", "-n", "shop", "--exit-code"))
    assert ("a list whose item 2 (Pod shop/web-2) is malformed: "
            "status.containerStatuses[0].restartCount must be an integer, not a string") in line


def test_nulls_and_lone_surrogates_in_a_live_answer_are_read_like_a_file(api, podfix):
    p = crashing()
    p["spec"]["containers"].append(None)
    p["metadata"]["annotations"] = {"note": "ok", "gone": None}
    p["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = "back-off \ud800 restarting"
    body = json.dumps(p).encode()  # json escapes the lone surrogate as \ud800
    assert b"\\ud800" in body and b"null" in body
    api.add(crashing())
    api.answer("GET", GET_POD, raw(body))
    for output in ("text", "json", "yaml"):
        run = podfix("explain", "web-1", "-n", "shop", "-o", output)
        assert run.code == 0, run.err
        assert "Traceback" not in run.err and "\ufffd" in run.out or output != "text"


@pytest.mark.parametrize("raw, needed", [
    (b'{"a": 1}', False),
    # the nulls the real API server writes in every answer: no copy of the page
    (b'{"conditions":[{"type":"Ready","lastProbeTime":null}],"eventTime": null,'
     b'"template":{"metadata":{"creationTimestamp":null}}}', False),
    (b'{"message": "the value is null", "nullable": true}', False),
    (b'{"status": null}', True),
    (b'{"spec": {"containers": null}}', True),
    (b'{"odd-key": null}', True),
    (b'{"items": [null]}', True),
    (b'{"items": [1, null]}', True),
    (b'null', True),
    (b'{"name": "\\ud800"}', True),
])
def test_a_page_is_copied_only_when_it_holds_an_unusual_null_or_a_surrogate(raw, needed):
    from kubectl_podfix.cluster.api import _needs_cleaning

    assert _needs_cleaning(raw) is needed


@pytest.mark.parametrize("when", ["list", "watch"])
@pytest.mark.parametrize("command", [("wait", "deploy/web", "--timeout", "20s"), ("explain", "-w")])
def test_wait_and_watch_check_their_lists_and_events_too(api, kubeconfig, command, when):
    """wait and explain -w read pods through their own LIST and WATCH (cluster/watch.py), which skipped the
    shape check: a pod whose status.conditions was a mapping ended in 'internal error: AttributeError at
    diagnose/rules/pods/status.py'. Now the same one line as a LIST item of the wrong shape, exit 1."""
    import subprocess
    import threading
    import time

    from clitools import BIN, ROOT, cli_env
    from rollout import Rollout

    kc = api.write_kubeconfig(kubeconfig, namespace="shop")
    r = Rollout(api, replicas=1).create()
    r.observe()
    name = r.add_pod()
    r.sync()

    def break_it():
        p = api.get("Pod", "shop", name)
        p["status"]["conditions"] = {"Ready": "False"}
        api.add(p)

    if when == "list":
        break_it()
    else:
        threading.Thread(target=lambda: (api.wait_for_watchers(1, "/api/v1/namespaces/shop/pods"), time.sleep(0.3),
                                         break_it()), daemon=True).start()
    proc = subprocess.run([str(BIN / "kubectl-podfix"), *command], capture_output=True, text=True,
                          env=cli_env(kc), cwd=ROOT, timeout=30)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert [line for line in proc.stderr.splitlines() if line.startswith("error:")] == [last]
    where = "a list whose item 1" if when == "list" else "a watch event whose object"
    assert (f"answered GET /api/v1/namespaces/shop/pods with {where} (Pod shop/{name}) is malformed: "
            "status.conditions must be a list, not a mapping") in last


@pytest.mark.parametrize("answer, words", [
    (b"", "an empty object instead of Secret shop/regcred"),
    ({}, "an empty object instead of Secret shop/regcred"),
    ({"kind": "Status", "apiVersion": "v1", "status": "Success"}, "a Status instead of Secret shop/regcred"),
], ids=["empty", "{}", "status-200"])
def test_a_write_answered_with_something_else_is_not_taken_for_done(api, podfix, answer, words):
    """A 200 to the Secret POST that is not the Secret (a proxy's page, an empty body) is one error line,
    never "created"."""
    image = "registry.example.com/team/api:1.4"
    p = pod("api-1", namespace="shop", containers=[{"name": "api", "image": image}],
            statuses=[waiting("api", "ImagePullBackOff", f'Back-off pulling image "{image}"', image=image)])
    api.add(p, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}})
    api.answer("POST", r"^/api/v1/namespaces/shop/secrets$", raw(answer))
    run = podfix("secret", "regcred", "--docker-server", "registry.example.com", "--docker-username", "u",
                 "--password-stdin", "-n", "shop", "--for", "api-1", "--yes", "--no-wait", stdin="pw-write\n")
    assert run.code != 0 and "Traceback" not in run.err + run.out and "internal error" not in run.err
    assert "pw-write" not in run.out + run.err
    errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and words in errors[0] and "cannot tell whether it was changed" in errors[0], run.err
    assert "POST /api/v1/namespaces/shop/secrets" in errors[0]
