"""No bare pod is ever lost: ``--recreate-bare`` (fix restart, and the secret flow's restart) checks the
re-create with a server dry run under a generated name BEFORE deleting, saves the manifest to a 0600 file
whose path is printed before the delete, removes it once the pod exists again, and keeps it (saying where)
on every other way out. Admission denials are reported as admission, not as missing RBAC."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import yaml
from apiserver import ApiError as ServerError
from clitools import cli_env, run_podfix
from world import NS, oom_status, pod_obj, writes

from kubectl_podfix.cli.options import connect
from kubectl_podfix.errors import Exit
from kubectl_podfix.fix import engine
from kubectl_podfix.fix import restart as rst
from kubectl_podfix.fix import workload as wl

PSA = ('pods "lonely-podfix-check-x1y2z" is forbidden: violates PodSecurity "restricted:latest": '
       'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)')


def run(kubeconfig, tmp_path, *args, stdin=None):
    tmp = tmp_path / "tmpdir"
    tmp.mkdir(exist_ok=True)
    return run_podfix(list(args), kubeconfig=kubeconfig, stdin=stdin, env=cli_env(kubeconfig, TMPDIR=str(tmp)))


def leftovers(tmp_path):
    return sorted((tmp_path / "tmpdir").glob("podfix-recreate-*"))


def test_recreate_rejected_by_admission_deletes_nothing(api, kubeconfig, tmp_path):
    api.add(pod_obj("lonely", statuses=[oom_status()]))
    api.fail("POST", r"/namespaces/default/pods$", 403, reason="Forbidden", message=PSA, times=1)
    api.clear_requests()
    r = run(kubeconfig, tmp_path, "fix", "restart", "lonely", "-n", NS, "--recreate-bare", "--yes", "--no-wait")
    assert r.code == Exit.REFUSED, r.out + r.err
    assert api.get("Pod", NS, "lonely") is not None
    sent = [x for x in writes(api) if "selfsubjectaccessreviews" not in x.path]
    assert [(x.method, x.query.get("dryRun")) for x in sent] == [("POST", ["All"])]  # the check only
    assert sent[0].json["metadata"].get("name") is None
    assert sent[0].json["metadata"]["generateName"] == "lonely-podfix-check-"
    assert "not deleted: creating pod/lonely again would be rejected (rejected by admission:" in r.out
    assert "violates PodSecurity" in r.out and "create role" not in r.out + r.err
    assert leftovers(tmp_path) == []


def test_manifest_is_saved_before_the_delete_and_removed_once_the_pod_is_back(api, kubeconfig, tmp_path):
    api.add(pod_obj("lonely", statuses=[oom_status()]))
    seen = []

    def at_delete(verb, kind, ns, name):  # what exists when the DELETE arrives
        if verb == "delete" and kind == "Pod":
            seen.extend((f, stat.S_IMODE(f.stat().st_mode)) for d in leftovers(tmp_path) for f in d.iterdir())
    api.before_write = [at_delete]
    r = run(kubeconfig, tmp_path, "fix", "restart", "lonely", "-n", NS, "--recreate-bare", "--yes", "--no-wait")
    assert r.code == 0, r.out + r.err
    [(saved, mode)] = seen
    assert mode == 0o600
    assert f"saved the manifest of pod/lonely to {saved}" in r.out
    assert r.out.index(str(saved)) < r.out.index("Applied:")
    assert leftovers(tmp_path) == [] and api.get("Pod", NS, "lonely") is not None


def test_failed_recreate_keeps_the_manifest_and_says_where(api, kubeconfig, tmp_path):
    api.add(pod_obj("lonely", statuses=[oom_status()]))
    creates = []

    def quota_after_delete(verb, kind, ns, name):  # the dry run passes; the real create hits a quota
        if verb == "create" and kind == "Pod":
            creates.append(1)
            if len(creates) == 2:
                raise ServerError(403, 'pods "lonely" is forbidden: exceeded quota: pods, requested: pods=1, '
                                       "used: pods=5, limited: pods=5", "Forbidden")
    api.before_write = [quota_after_delete]
    r = run(kubeconfig, tmp_path, "fix", "restart", "lonely", "-n", NS, "--recreate-bare", "--yes", "--no-wait")
    assert r.code == Exit.REFUSED
    assert api.get("Pod", NS, "lonely") is None
    [folder] = leftovers(tmp_path)
    [saved] = folder.iterdir()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    manifest = yaml.safe_load(saved.read_text())
    assert manifest["metadata"]["name"] == "lonely" and manifest["kind"] == "Pod"
    assert f"its manifest is kept in {saved} (kubectl create -f {saved})" in r.out + r.err
    assert "rejected by admission: " in r.out and "exceeded quota" in r.out


def test_interrupted_between_delete_and_create_keeps_the_manifest(api, kubeconfig, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    api.add(pod_obj("lonely", statuses=[oom_status()]))
    cluster = connect({"kubeconfig": kubeconfig})
    w = wl.resolve(cluster, NS, "lonely")
    plan = rst.plan_restart(w, only_pod=True, recreate_bare=True)

    class CtrlCOnCreate:
        def __getattr__(self, name):
            return getattr(cluster, name)

        def create(self, kind, namespace, body, *, dry_run=False):
            if not dry_run:
                raise KeyboardInterrupt
            return cluster.create(kind, namespace, body, dry_run=dry_run)

    err = io.StringIO()
    try:
        engine.apply(plan, CtrlCOnCreate(), io.StringIO(), err)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    [folder] = sorted(Path(tmp_path).glob("podfix-recreate-*"))
    [saved] = folder.iterdir()
    assert f"pod/lonely was deleted and not created again: its manifest is kept in {saved}" in err.getvalue()
    assert api.get("Pod", NS, "lonely") is None


def test_a_bare_pod_changed_since_it_was_read_is_not_deleted(api, kubeconfig, tmp_path):
    api.add(pod_obj("lonely", statuses=[oom_status()]))

    def new_image(verb, kind, ns, name):  # someone fixes the pod's image in place meanwhile
        if verb == "delete" and kind == "Pod":
            pod = api.get("Pod", NS, "lonely")
            pod["spec"]["containers"][0]["image"] = "registry.example.com/team/app:1.1"
            pod["metadata"].pop("resourceVersion")
            api.add(pod)
            api.before_write = []
    api.before_write = [new_image]
    r = run(kubeconfig, tmp_path, "fix", "restart", "lonely", "-n", NS, "--recreate-bare", "--yes", "--no-wait")
    assert r.code == Exit.REFUSED, r.out + r.err
    assert "error: pod/lonely changed since it was read" in r.err and "nothing was changed" in r.err
    assert api.get("Pod", NS, "lonely")["spec"]["containers"][0]["image"].endswith(":1.1")
    assert leftovers(tmp_path) == []


def test_secret_flow_recreates_a_bare_pod_the_same_way(api, kubeconfig, tmp_path):
    api.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": NS}},
            pod_obj("lonely", labels={"app": "lonely"}, statuses=[{
                "name": "app", "ready": False, "restartCount": 0, "image": "registry.example.com/team/app:1.0",
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]))
    api.fail("POST", r"/namespaces/default/pods$", 403, reason="Forbidden", message=PSA, times=1)
    cluster = connect({"kubeconfig": kubeconfig})
    from kubectl_podfix.cli.secret import read_situation
    from kubectl_podfix.fix.pull_secret import Credentials, plan_pull_secret

    sit = read_situation(cluster, NS, "regcred", pod=cluster.get("Pod", NS, "lonely"), attach=[], restart=True)
    plan = plan_pull_secret(sit, Credentials("registry.example.com", "u", "pw-bare"), restart=True,
                            recreate_bare=True)
    assert [(s.verb, s.kind) for s in plan.steps][-2:] == [("delete", "Pod"), ("create", "Pod")]
    assert plan.steps[-2].resource_version == api.get("Pod", NS, "lonely")["metadata"]["resourceVersion"]
    result = engine.apply(plan, cluster, io.StringIO(), io.StringIO())
    assert result.code == Exit.REFUSED
    assert api.get("Pod", NS, "lonely") is not None
    assert [r.status for r in result.results][-2:] == ["failed", "not attempted"]


def test_a_manifest_that_cannot_be_saved_deletes_nothing_and_leaves_no_partial_copy(api, kubeconfig, tmp_path):
    """A full disk or a quota while the manifest is written (here: a file size limit, EFBIG): the pod is not
    deleted, the partial copy and its directory are removed, and the run ends with the step report and one
    error line saying where, never an internal error."""
    import resource
    import signal
    import subprocess

    from clitools import BIN, ROOT

    api.add(pod_obj("lonely", statuses=[oom_status()]))
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing podfix
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    proc = subprocess.run([str(BIN / "kubectl-podfix"), "fix", "restart", "lonely", "-n", NS, "--recreate-bare",
                           "--yes", "--no-wait"], env=cli_env(kubeconfig, TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1"),
                          cwd=ROOT, capture_output=True, text=True, preexec_fn=small_files, timeout=60)
    assert proc.returncode == Exit.ERROR, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: delete pod/lonely -n default failed: not deleted: its manifest could not be saved first (File too "
        f"large, in {tmp}): free space there or set TMPDIR to another directory"]
    assert api.get("Pod", NS, "lonely") is not None
    assert [w.method for w in writes(api) if "selfsubjectaccessreviews" not in w.path] == ["POST"]  # the dry run
    assert list(tmp.iterdir()) == []
