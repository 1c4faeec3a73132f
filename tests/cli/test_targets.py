"""TARGET in every spelling kubectl takes: deploy/web, deployment.apps/web (what `kubectl get -o name`
prints), deployments.v1.apps/web, Deployment/web, and the two-word `deployment web`; kubectl's -v=N.
"""

from __future__ import annotations

import subprocess

import pytest
from clitools import cli_env, have_kubectl, run_podfix
from rollout import QUOTA, Rollout

from kubectl_podfix.cli.options import kubectl_args
from kubectl_podfix.diagnose.model import join_target, kind_of, parse_target
from kubectl_podfix.errors import Exit, UsageError


@pytest.mark.parametrize("word, kind", [
    ("deploy", "Deployment"), ("Deployment", "Deployment"), ("deployment.apps", "Deployment"),
    ("deployments.v1.apps", "Deployment"), ("statefulset.apps", "StatefulSet"), ("sts", "StatefulSet"),
    ("daemonsets.apps", "DaemonSet"), ("replicaset.apps", "ReplicaSet"), ("job.batch", "Job"),
    ("jobs.v1.batch", "Job"), ("cronjob.batch", "CronJob"), ("cronjobs.v1.batch", "CronJob"),
    ("pod", "Pod"), ("pods.v1", "Pod"), ("po", "Pod"),
    ("deployment.extensions", None), ("job.apps", None), ("deployment.v1.batch", None), ("pod.apps", None),
    ("deployment.vx.apps", None), ("service", None), ("svc", None), ("", None),
])
def test_kind_of_takes_kubectls_spellings_and_checks_the_group(word, kind):
    assert kind_of(word) == kind


def test_parse_target_and_join_target():
    assert parse_target("deployment.apps/web") == ("Deployment", "web")
    assert parse_target("job.batch/migrate-28861") == ("Job", "migrate-28861")
    assert parse_target("pod/web-1") == ("Pod", "web-1")
    assert parse_target("web-1") == ("Pod", "web-1")
    for bad in ("deployment.extensions/web", "svc/web", "deploy/", "deploy/a/b"):
        with pytest.raises(UsageError, match="invalid target"):
            parse_target(bad)
    assert join_target(()) is None
    assert join_target(("web-1",)) == "web-1"
    assert join_target(("deployment", "web")) == "deployment/web"
    assert join_target(("statefulset.apps", "db")) == "statefulset.apps/db"
    for words in (("web-1", "web-2"), ("deploy", "web", "api"), ("deploy/web", "x"), ("svc", "web")):
        with pytest.raises(UsageError, match="one TARGET at a time"):
            join_target(words)


def test_kubectl_args_levels_are_debug():
    assert kubectl_args(["explain", "-v=6", "web"]) == ["explain", "--debug", "web"]
    assert kubectl_args(["--v=8", "explain"]) == ["--debug", "explain"]
    assert kubectl_args(["explain", "-v4"]) == ["explain", "--debug"]
    assert kubectl_args(["explain", "--v=0", "web"]) == ["explain", "web"]
    assert kubectl_args(["explain", "-v", "web"]) == ["explain", "-v", "web"]
    assert kubectl_args(["explain", "--", "-v=6"]) == ["explain", "--", "-v=6"]


def rejected_deployment(api) -> Rollout:
    r = Rollout(api, replicas=2).create()
    r.observe()
    r.rejected(QUOTA)
    return r


def codes(report: dict) -> list[str]:
    return [f["code"] for w in report.get("workloads") or [] for f in w.get("findings") or []]


def test_every_spelling_explains_the_same_workload(api, podfix):
    rejected_deployment(api)
    first = podfix("explain", "deploy/web", "-n", "shop", "-o", "json", "--exit-code")
    assert first.code == Exit.FINDINGS, first.err
    expected = codes(first.json)
    assert expected and expected[0].startswith("workload."), expected
    for spelling in (["deployment.apps/web"], ["Deployment/web"], ["deployments.v1.apps/web"], ["deployment", "web"],
                     ["deployments.apps", "web"]):
        run = podfix("explain", *spelling, "-n", "shop", "-o", "json", "--exit-code")
        assert run.code == Exit.FINDINGS, (spelling, run.err)
        assert codes(run.json) == expected, spelling


def test_two_targets_and_unknown_kinds_are_usage_errors_before_connecting(podfix):
    for args in (["explain", "web-1", "web-2"], ["explain", "service", "web"], ["wait", "deploy", "web", "api"],
                 ["fix", "memory", "a", "b"], ["explain", "deployment.extensions/web"]):
        run = podfix(*args, env_extra={"KUBECONFIG": "/nonexistent/kubeconfig"})
        assert run.code == Exit.USAGE, (args, run.err)
        assert "Traceback" not in run.err and len(run.err.strip().splitlines()) == 1, run.err
        assert "kubeconfig" not in run.err, run.err


@pytest.mark.skipif(not have_kubectl(), reason="kubectl is not installed")
def test_kubectl_get_o_name_feeds_podfix_through_kubectl(api, kubeconfig):
    """`kubectl get deploy -o name | xargs kubectl podfix explain`: kubectl prints deployment.apps/web."""
    rejected_deployment(api)
    env = cli_env(kubeconfig)
    names = subprocess.run(["kubectl", "get", "deploy", "-n", "shop", "-o", "name"], capture_output=True, text=True,
                           env=env, timeout=60)
    assert names.returncode == 0 and names.stdout.strip() == "deployment.apps/web", names.stderr
    run = run_podfix(["explain", names.stdout.strip(), "-n", "shop", "--exit-code", "-v=6"], via_kubectl=True,
                     env=env)
    assert run.code == Exit.FINDINGS, run.err
    assert "deployment/web" in run.out and "quota" in run.out.lower(), run.out
    assert "GET " in run.err and "/apis/apps/v1/namespaces/shop/deployments/web" in run.err  # -v=6 shows requests


def test_boolean_flags_take_kubectls_true_and_false():
    assert kubectl_args(["explain", "-A=true"]) == ["explain", "--all-namespaces"]
    assert kubectl_args(["explain", "--all-namespaces=false"]) == ["explain"]
    assert kubectl_args(["fix", "memory", "x", "--wait=false", "--yes=true"]) == ["fix", "memory", "x", "--no-wait",
                                                                                    "--yes"]
    assert kubectl_args(["wait", "deploy/x", "--fail-fast=false"]) == ["wait", "deploy/x", "--no-fail-fast"]
    assert kubectl_args(["explain", "-n=true"]) == ["explain", "-n=true"]  # not a boolean flag: left to click
    assert kubectl_args(["explain", "--namespace=false"]) == ["explain", "--namespace=false"]


def test_all_namespaces_true_scans_every_namespace(api, podfix):
    rejected_deployment(api)
    run = podfix("explain", "--all-namespaces=true", "--exit-code")
    assert run.code == Exit.FINDINGS, run.err
    assert "shop" in run.out and "deployment/web" in run.out


def test_boolean_flags_list_matches_the_commands_flags():
    """BOOLEAN_FLAGS is kept by hand (reading it from click would load every command at start-up): it must
    name exactly the boolean flags the commands have, hidden aliases aside."""
    import click

    from kubectl_podfix.cli.options import BOOLEAN_FLAGS, NEGATABLE
    from kubectl_podfix.cli.root import cli

    longs, shorts, negatable = set(), {}, set()

    def walk(command):
        for param in command.params:
            if isinstance(param, click.Option) and param.is_flag and not param.hidden and param.name != "help":
                names = [o for o in param.opts if o.startswith("--")]
                longs.update(o[2:] for o in names)
                shorts.update({o[1:]: names[0][2:] for o in param.opts if len(o) == 2 and names})
                if param.secondary_opts:
                    negatable.update(o[2:] for o in names)
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name))
    walk(cli)
    longs.discard("version")  # eager: prints and exits
    shorts.pop("v", None)  # -v is --debug, and -v=N is kubectl's verbosity
    shorts.pop("h", None)
    assert {k for k, v in BOOLEAN_FLAGS.items() if not v} == longs
    assert {k: v for k, v in BOOLEAN_FLAGS.items() if v} == shorts
    assert NEGATABLE == negatable
