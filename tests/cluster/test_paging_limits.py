"""A LIST ends: a server that never stops paging costs one line and exit 1, not all the memory.

Each test points the loopback API server's pod LIST at a misbehaving answer (tests/hostile.py)
and runs ``explain -A``, which pages through every pod.
"""

from __future__ import annotations

import json
import time

import pytest
from clitools import one_error_line
from hostile import endless_pages, raw

from kubectl_podfix.cluster.paging import pages
from kubectl_podfix.errors import PodfixError

PODS = r"^/api/v1/pods$"


def healthy(n: int, count: int = 1) -> list[dict]:
    return [{"metadata": {"name": f"p{n}-{i}", "namespace": "default", "uid": f"u{n}-{i}"},
             "spec": {"containers": [{"name": "app", "image": "nginx"}]}, "status": {"phase": "Running"}}
            for i in range(count)]



def test_endless_continue_tokens_stop_at_the_page_cap(api, podfix):
    fn = endless_pages(items=healthy)
    api.answer("GET", PODS, fn)
    started = time.monotonic()
    run = podfix("explain", "-A", env_extra={"PODFIX_MAX_LIST_PAGES": "30"})
    line = one_error_line(run)
    assert time.monotonic() - started < 20
    assert "did not end after 30 pages" in line and "PODFIX_MAX_LIST_PAGES" in line and "/api/v1/pods" in line
    assert fn.count["n"] == 30  # not one page more


def test_default_page_cap_is_2000_pages():
    fetched = []

    def fetch(query):
        fetched.append(query.get("continue"))
        return json.dumps({"metadata": {"continue": f"t{len(fetched)}"}, "items": []}).encode()

    with pytest.raises(PodfixError, match="did not end after 2000 pages"):
        for _ in pages(fetch, json.loads, {"limit": 500}, what="the list GET /api/v1/pods"):
            pass
    assert len(fetched) == 2000


def test_item_cap_stops_a_list_that_is_too_long(api, podfix):
    api.answer("GET", PODS, endless_pages(items=lambda n: healthy(n, 500)))
    line = one_error_line(podfix("explain", "-A", env_extra={"PODFIX_MAX_LIST_ITEMS": "1200"}))
    assert "holds more than 1200 items" in line and "PODFIX_MAX_LIST_ITEMS" in line


def test_repeated_continue_token_ends_the_list(api, podfix):
    fn = endless_pages(items=healthy, token=lambda n: "the-same-token")
    api.answer("GET", PODS, fn)
    line = one_error_line(podfix("explain", "-A"))
    assert "a continue token it had already sent" in line and "GET /api/v1/pods" in line
    assert fn.count["n"] == 2


@pytest.mark.parametrize("page, words", [
    ({"kind": "PodList", "metadata": {"continue": 5}, "items": []}, "a continue token that is a number, not a string"),
    ({"kind": "PodList", "metadata": {"continue": ["x"]}, "items": []}, "a continue token that is a list"),
    ({"kind": "PodList", "metadata": {}, "items": 7}, "a list whose items are a number, not a list"),
    ({"kind": "PodList", "metadata": {}, "items": {"a": 1}}, "a list whose items are a mapping, not a list"),
    ({"kind": "PodList", "metadata": {}, "items": [1, 2]}, "a list whose item 1 is a number, not an object"),
    ({"kind": "PodList", "metadata": 3, "items": []}, "a list whose metadata is a number"),
    ([1, 2, 3], "a list instead of a list object"),
    (json.dumps("just a string"), "a string instead of a list object"),
])
def test_a_list_answer_of_the_wrong_shape_is_one_line(api, podfix, page, words):
    api.answer("GET", PODS, raw(page))
    line = one_error_line(podfix("explain", "-A"))
    assert words in line and "GET /api/v1/pods" in line


def test_a_bad_limit_override_is_a_usage_error(api, podfix):
    one_error_line(podfix("explain", "-A", env_extra={"PODFIX_MAX_LIST_PAGES": "lots"}), 2)
