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
