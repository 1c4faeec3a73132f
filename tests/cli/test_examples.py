"""The shipped examples explain to the diagnosis they are named after, offline."""

import pytest
from clitools import run_podfix


@pytest.mark.parametrize("path,code,container", [
    ("examples/imagepull-notfound.yaml", "image.not-found", "web"),
    ("examples/crashloop-oom.yaml", "container.oom-killed", "postgres"),
    ("examples/pending-unschedulable.yaml", "pod.unschedulable", None),
])
def test_example(path, code, container):
    run = run_podfix(["explain", "-f", path, "-o", "json", "--exit-code"], env={"PATH": "/usr/bin:/bin"})
    assert run.code == 3, run.err  # an error finding, by design
    first = run.json["pods"][0]["findings"][0]
    assert (first["code"], first["container"]) == (code, container)
    assert first["evidence"] and first["suggestions"]


def test_workload_example_offline():
    """A Deployment with no pods at all, saved with its ReplicaSet, events and the quota: explained offline."""
    run = run_podfix(["explain", "-f", "examples/deployment-quota.yaml", "-o", "json", "--exit-code"],
                     env={"PATH": "/usr/bin:/bin"})
    assert run.code == 3, run.err
    (web,) = [w for w in run.json["workloads"] if w["name"] == "checkout"]
    first = web["findings"][0]
    assert first["code"] == "workload.quota-exceeded"
    assert first["details"]["quota"] == "compute-quota"
    assert "deployment/search (limits.cpu=4)" in first["explanation"]
    text = run_podfix(["explain", "-f", "examples/deployment-quota.yaml", "deploy/checkout"],
                      env={"PATH": "/usr/bin:/bin"})
    assert text.code == 0, text.err
    assert text.out.split()[:5] == ["WORKLOAD", "PODS", "SINCE", "DIAGNOSIS", "SUMMARY"]
    assert "deployment shop/checkout (0/3 ready)" in text.out
