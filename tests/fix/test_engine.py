"""The fix engine and plan rendering, in process against the loopback API server."""

from __future__ import annotations

import io

import pytest

from kubectl_podfix.cli.options import connect
from kubectl_podfix.errors import Exit
from kubectl_podfix.fix import engine
from kubectl_podfix.fix.plan import Plan, Step, WaitSpec, diff
from kubectl_podfix.fix.pull_secret import Credentials, Situation, plan_pull_secret

PW = "Eng1ne-sentinel-pw"


@pytest.fixture
def cluster(api, kubeconfig):
    return connect({"kubeconfig": kubeconfig})


def secret_plan(ns: str = "default") -> Plan:
    creds = Credentials("registry.example.com", "u", PW)
    return plan_pull_secret(Situation(ns, "regcred"), creds)


def run(plan, cluster, **kw):
    out, err = io.StringIO(), io.StringIO()
    result = engine.run(plan, cluster, out=out, err=err, poll=0.05, **kw)
    assert PW not in out.getvalue() + err.getvalue()
    return result, out.getvalue(), err.getvalue()


def test_diff_masks_secret_values_and_repr_hides_them():
    plan = secret_plan()
    step = plan.steps[0]
    text = diff(step)
    assert "'***'" in text and PW not in text
    assert diff(step, mask=False) == text  # a sensitive step is masked even when asked not to
    assert PW not in repr(step) and PW not in repr(plan) and PW not in repr(Credentials("s", "u", PW))


def test_tty_confirmation_declined_writes_nothing(api, cluster):
    asked = []
    result, out, err = run(secret_plan(), cluster, interactive=True,
                           confirm=lambda q: asked.append(q) or False)
    assert result.code == Exit.REFUSED and asked == ["Apply these 1 change(s)?"]
    assert result.error == "not applied: not confirmed"  # the command prints it as its one error: line
    assert api.get("Secret", "default", "regcred") is None


def test_tty_confirmation_accepted_applies(api, cluster):
    result, out, _ = run(secret_plan(), cluster, interactive=True, confirm=lambda q: True)
    assert result.code == Exit.OK and [s.ref for s in result.done] == ["secret/regcred"]
    assert api.get("Secret", "default", "regcred")["type"] == "kubernetes.io/dockerconfigjson"


def test_yes_skips_the_question(api, cluster):
    result, _, _ = run(secret_plan(), cluster, interactive=True, yes=True,
                       confirm=lambda q: pytest.fail("asked"))
    assert result.code == Exit.OK


def test_empty_plan_sends_nothing(api, cluster):
    result, out, _ = run(Plan("x", "nothing", "default"), cluster, yes=True)
    assert result.code == Exit.OK and "Nothing to change" in out
    assert [r.method for r in api.requests] == []


def test_needed_permissions_are_unique_and_ordered():
    steps = [Step("create", "Secret", "a", "s"), Step("patch", "ServiceAccount", "a", "d"),
             Step("delete", "Pod", "a", "p1"), Step("delete", "Pod", "a", "p2"),
             Step("replace", "Secret", "a", "s"), Step("patch", "Deployment", "a", "web")]
    assert engine.needed_permissions(Plan("x", "t", "a", steps)) == [
        ("create", "", "secrets", "a"), ("patch", "", "serviceaccounts", "a"), ("delete", "", "pods", "a"),
        ("update", "", "secrets", "a"), ("patch", "apps", "deployments", "a")]


def test_preflight_unavailable_warns_and_continues(api, cluster):
    api.fail("POST", "selfsubjectaccessreviews", 404)
    result, _, err = run(secret_plan(), cluster, yes=True)
    assert result.code == Exit.OK and "could not check permissions" in err


def test_server_dry_run_checks_a_recreate_under_a_generated_name(api, cluster):
    api.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
             "spec": {"containers": [{"name": "c", "image": "x"}]}})
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "x"}]}}
    plan = Plan("x", "recreate", "default", [Step("delete", "Pod", "default", "p"),
                                             Step("create", "Pod", "default", "p", body=manifest, after=manifest)])
    result, out, _ = run(plan, cluster, dry_run="server")
    assert [r.status for r in result.results] == ["ok", "ok"]
    assert "checked under a generated name" in result.results[1].message
    [check] = [q for q in api.requests if q.method == "POST" and q.path.endswith("/pods")]
    assert check.query.get("dryRun") == ["All"] and check.json["metadata"] == {"generateName": "p-podfix-check-"}
    assert api.get("Pod", "default", "p") is not None and len(api.objects("Pod", "default")) == 1


def test_delete_of_a_pod_already_gone_counts_as_done(api, cluster):
    plan = Plan("x", "t", "default", [Step("delete", "Pod", "default", "gone")])
    result, _, _ = run(plan, cluster, yes=True)
    assert result.code == Exit.OK and result.results[0].message == "already gone"


def _pod(name, uid_labels, *, ready=False, reason=None):
    status = {"phase": "Running" if ready else "Pending",
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if reason:
        status["containerStatuses"] = [{"name": "app", "state": {"waiting": {"reason": reason}}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                                            "labels": uid_labels},
            "spec": {"containers": [{"name": "app", "image": "x"}]}, "status": status}


def test_classify():
    assert engine.classify(_pod("a", {}, ready=True))[0] == "ready"
    assert engine.classify(_pod("a", {}, reason="ErrImagePull")) == ("failed", "app: ErrImagePull")
    assert engine.classify(_pod("a", {}, reason="ContainerCreating")) == ("pending", "ContainerCreating")


def test_wait_ignores_old_pods_and_waits_for_expected_ready(api, cluster):
    api.add(_pod("old", {"app": "w"}, reason="ImagePullBackOff"), _pod("new1", {"app": "w"}, ready=True),
            _pod("new2", {"app": "w"}, reason="ContainerCreating"), _pod("other", {"app": "z"}, reason="ErrImagePull"))
    old_uid = api.get("Pod", "default", "old")["metadata"]["uid"]
    spec = WaitSpec("default", "Deployment", "w", "app=w", [old_uid], expect=2)
    ticks = iter(range(100))
    result = engine.wait_for(spec, cluster, timeout=3, err=io.StringIO(), clock=lambda: next(ticks),
                             sleep=lambda s: None)
    assert result.outcome == "timeout" and "new2 ContainerCreating" in result.message
    spec.expect = 1
    result = engine.wait_for(spec, cluster, timeout=3, err=io.StringIO(), sleep=lambda s: None)
    assert result.outcome == "ready" and result.pod == "new1"


def test_wait_progress_only_on_a_tty(api, cluster):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    api.add(_pod("slow", {"app": "w"}, reason="ContainerCreating"))
    spec = WaitSpec("default", "Deployment", "w", "app=w", [])
    ticks = iter(range(100))
    tty, plain = Tty(), io.StringIO()
    for stream in (tty, plain):
        engine.wait_for(spec, cluster, timeout=2, err=stream, clock=lambda: next(ticks), sleep=lambda s: None)
    assert "waiting for deployment/w: 0/1 new pod(s) Ready" in tty.getvalue()
    assert plain.getvalue() == ""


# ----------------------------------------------------------------------------- every way out is one error: line

@pytest.mark.parametrize("case, flags, code, line", [
    ("no terminal", [], Exit.REFUSED, "error: not applied: no terminal to confirm on; re-run with --yes"),
    ("rbac", ["--yes"], Exit.REFUSED, "error: not applied: 1 permission(s) missing (listed above)"),
    ("server dry run", ["--dry-run=server"], Exit.ERROR,
     "error: the server dry run rejected patch deployment/web -n default: the API server rejected"),
    ("fails again", ["--yes", "--timeout", "20s"], Exit.ERROR,
     "error: deployment/web: new pod web-new-1 fails again: "),
    ("wait timeout", ["--yes", "--timeout", "1s"], Exit.ERROR, "error: deployment/web: no new pod Ready "),
])
def test_every_engine_refusal_ends_with_one_error_line(api, podfix, case, flags, code, line):
    # they used to exit 4 or 1 with no error: line at all (RBAC, server dry run, the wait) or an unprefixed
    # "not applied: ..." line: a CI log grepping for "error:" saw a silent failure
    from world import NS, act_as_controllers, add_workload

    pod = add_workload(api, "Deployment")
    if case == "rbac":
        api.deny("patch", "deployments.apps")
    if case == "server dry run":
        api.fail("PATCH", r"/deployments/web$", 422, reason="Invalid",
                 message='Deployment.apps "web" is invalid: spec.template: Invalid value')
    if case == "fails again":
        act_as_controllers(api, ready=False)
    r = podfix("fix", "memory", pod, "-n", NS, *flags)
    assert r.code == code, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    errors = [x for x in r.err.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(line), r.err
    assert r.err.rstrip().splitlines()[-1] == errors[0]  # the last line
