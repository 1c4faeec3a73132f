"""explain POD against the loopback API server, through the real client and the real kubectl."""

import pytest
from clitools import have_kubectl
from objects import event, pod, running, waiting

NOT_FOUND = ('Failed to pull image "ghcr.io/acme/web:v9": failed to pull and unpack image '
             '"ghcr.io/acme/web:v9": failed to resolve reference "ghcr.io/acme/web:v9": '
             'ghcr.io/acme/web:v9: not found')
AUTH = ('Failed to pull image "registry.example.com/team/api:1.4": failed to pull and unpack image '
        '"registry.example.com/team/api:1.4": failed to resolve reference "registry.example.com/team/api:1.4": '
        'pull access denied, repository does not exist or may require authorization: server message: '
        'insufficient_scope: authorization failed')


def image_pod(name="web-7c9d8b6f5d-x2lqp", image="ghcr.io/acme/web:v9", **kw):
    return pod(name, namespace="shop", labels={"pod-template-hash": "7c9d8b6f5d"},
               owner=("ReplicaSet", "web-7c9d8b6f5d"),
               containers=[{"name": "proxy", "image": "nginx:1.27"}, {"name": "web", "image": image}],
               statuses=[running("proxy"), waiting("web", "ImagePullBackOff", f'Back-off pulling image "{image}"',
                                                   image=image)], **kw)


def seed(api, p, *messages):
    api.add(p, *[event(p, "Failed", m, container="web", count=4) for m in messages],
            event(p, "BackOff", f'Back-off pulling image "{p["spec"]["containers"][1]["image"]}"', type_="Normal",
                  container="web", count=9),
            # another pod's event in the same namespace must not leak in
            event(pod("other", namespace="shop"), "Failed", "unrelated", container="web"))


def test_explain_pod_live_in_two_requests(api, podfix):
    p = image_pod()
    seed(api, p, NOT_FOUND)
    api.clear_requests()
    run = podfix("explain", "web-7c9d8b6f5d-x2lqp", "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    report = run.json
    assert report["kind"] == "PodfixReport"
    (result,) = report["pods"]
    assert result["owner"] == {"kind": "Deployment", "name": "web"}
    first = result["findings"][0]
    assert (first["code"], first["container"]) == ("image.not-found", "web")
    paths = [(r.method, r.path) for r in api.requests]
    assert paths == [("GET", "/api/v1/namespaces/shop/pods/web-7c9d8b6f5d-x2lqp"),
                     ("GET", "/api/v1/namespaces/shop/events")]
    selector = api.requests[1].q("fieldSelector")
    assert f"involvedObject.uid={p['metadata']['uid']}" in selector
    assert "involvedObject.name=web-7c9d8b6f5d-x2lqp" in selector


def test_auth_failure_reads_the_named_pull_secret_in_a_third_request(api, podfix):
    p = image_pod(image="registry.example.com/team/api:1.4", pull_secrets=["regcred"])
    seed(api, p, AUTH)
    api.clear_requests()
    run = podfix("explain", p["metadata"]["name"], "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    first = run.json["pods"][0]["findings"][0]
    assert first["code"] == "image.pull-secret-missing"
    assert "regcred" in first["title"] + first["explanation"]
    assert len(api.requests) == 3
    assert (api.requests[2].method, api.requests[2].path) == ("GET", "/api/v1/namespaces/shop/secrets/regcred")


def test_exit_code_flag_and_text_output(api, podfix):
    p = image_pod()
    seed(api, p, NOT_FOUND)
    run = podfix("explain", p["metadata"]["name"], "-n", "shop", "--exit-code")
    assert run.code == 3
    assert "image.not-found" in run.out and "web" in run.out
    assert "\033[" not in run.out  # not a TTY: no colour
    assert run.err == ""


def test_context_namespace_is_the_default(api, tmp_path):
    from clitools import run_podfix
    p = image_pod()
    seed(api, p, NOT_FOUND)
    cfg = api.write_kubeconfig(str(tmp_path / "kc"), namespace="shop")
    run = run_podfix(["explain", p["metadata"]["name"], "-o", "json"], kubeconfig=cfg)
    assert run.code == 0, run.err
    assert run.json["pods"][0]["namespace"] == "shop"


def test_pod_not_found_is_one_line(api, podfix):
    run = podfix("explain", "nope", "-n", "shop")
    assert run.code == 1
    assert run.err.strip().count("\n") == 0
    assert 'pod "nope" not found in namespace "shop"' in run.err
    assert "Traceback" not in run.err


def test_unreachable_server_is_one_line(tmp_path):
    from apiserver import FakeAPIServer
    from clitools import run_podfix
    server = FakeAPIServer().start()
    cfg = server.write_kubeconfig(str(tmp_path / "kc"), context="dead")
    server.stop()
    run = run_podfix(["explain", "x"], kubeconfig=cfg)
    assert run.code == 1
    assert "cannot reach the API server" in run.err and "dead" in run.err
    assert "Traceback" not in run.err


@pytest.mark.skipif(not have_kubectl(), reason="needs kubectl on PATH")
def test_through_real_kubectl_plugin_dispatch(api, kubeconfig):
    from clitools import run_podfix
    p = image_pod()
    seed(api, p, NOT_FOUND)
    run = run_podfix(["explain", p["metadata"]["name"], "-n", "shop", "-o", "json"], kubeconfig=kubeconfig,
                     via_kubectl=True)
    assert run.code == 0, run.err
    assert run.json["pods"][0]["findings"][0]["code"] == "image.not-found"
    offline = run_podfix(["explain", "-f", "examples/imagepull-notfound.yaml", "-o", "json"], via_kubectl=True)
    assert offline.code == 0, offline.err
    first = offline.json["pods"][0]["findings"][0]
    assert (first["code"], first["container"]) == ("image.not-found", "web")


def test_live_path_loads_no_client_models_nor_requests(api, kubeconfig):
    """explain POD takes the client's Configuration only (see kube.py): imports are most of its run time."""
    import subprocess
    import sys
    p = image_pod()
    seed(api, p, NOT_FOUND)
    code = ("import sys\nfrom kubectl_podfix.cli import main\n"
            f"try:\n    main(['explain', '{p['metadata']['name']}', '-n', 'shop', '-o', 'json'])\n"
            "except SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
            "heavy = ('kubernetes.client.api_client', 'kubernetes.client.models.v1_pod', 'requests', 'oauthlib',"
            " 'kubernetes.config.kube_config', 'dateutil')\n"
            "print('LOADED', [m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"KUBECONFIG": kubeconfig, "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


def test_a_failing_log_read_degrades_to_a_note(api, podfix):
    """A 5xx on pods/log (the node's kubelet unreachable) must not cost the diagnosis."""
    p = pod("w1", namespace="shop", phase="Running", containers=[{"name": "app", "image": "acme/app:1"}],
            statuses=[{"name": "app", "image": "acme/app:1", "ready": False, "restartCount": 4,
                       "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting"}},
                       "lastState": {"terminated": {"reason": "Error", "exitCode": 1,
                                                    "startedAt": "2026-11-20T09:00:00Z",
                                                    "finishedAt": "2026-11-20T09:00:05Z"}}}])
    api.add(p)
    api.fail("GET", r"/pods/w1/log$", 500, message='Get "https://10.0.0.7:10250/containerLogs/shop/w1/app": '
             "dial tcp 10.0.0.7:10250: i/o timeout")
    run = podfix("explain", "w1", "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    report = run.json
    assert report["pods"][0]["findings"][0]["code"] == "container.crash-loop"
    assert any("log" in w for w in report.get("warnings", []))
