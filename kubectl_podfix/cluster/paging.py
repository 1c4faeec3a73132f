"""LIST pagination with read-ahead: follow the continue tokens of one LIST.

The list's metadata (with the continue token) precedes its items, so the next
page can be requested before this one is decoded: the server prepares page
N+1 while podfix decodes page N. This module only knows pages and tokens;
``Cluster.list`` says which path to fetch and what to do with the items.

A server that never stops paging (a new continue token on every page) must not
grow podfix without bound: a LIST stops with one line past PODFIX_MAX_LIST_PAGES
pages or PODFIX_MAX_LIST_ITEMS items, at a continue token seen before, and at a
page that is not a list page (a token that is not a string, items that are not
a list).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from kubectl_podfix.cluster.limits import limit
from kubectl_podfix.cluster.threads import Ahead
from kubectl_podfix.errors import PodfixError

PAGE_SIZE = 500

_CONTINUE = re.compile(rb'"continue"\s*:\s*"([^"\\]*)"')


def pages(fetch: Callable[[dict[str, Any]], bytes], decode: Callable[[bytes], Any],
          query: dict[str, Any], *, what: str = "the list",
          invalid: Callable[[str], Exception] | None = None) -> Iterator[Any]:
    """Every page of one LIST, decoded, in order.

    ``fetch(query)`` returns one page's raw body (``query`` plus ``continue`` for
    the pages after the first); ``decode`` parses it. While a page is being
    decoded and consumed, the next one is already on its way (on a daemon
    thread: closing the generator early, or Ctrl-C, never waits for a page in
    flight, which dies with the process).

    ``what`` names the list in the one-line errors (``GET /api/v1/pods``);
    ``invalid(problem)`` makes the error for a page of the wrong shape.
    """
    max_pages, max_items = limit("PODFIX_MAX_LIST_PAGES"), limit("PODFIX_MAX_LIST_ITEMS")
    invalid = invalid or (lambda problem: PodfixError(f"the API server answered {what} with {problem}"))
    seen_tokens: set[str] = set()
    count, items = 1, 0
    data = fetch(query)
    while True:
        early = _continue_token(data)
        upcoming = None
        if early and early not in seen_tokens and count < max_pages:
            upcoming = Ahead(fetch, dict(query, **{"continue": early}), name="podfix-read-ahead")
        page = decode(data)
        data = None  # the raw page is not needed any more: let it go before the next one arrives
        problem = page_problem(page)
        if problem:
            raise invalid(problem)
        items += len(page.get("items") or ())
        if items > max_items:
            raise PodfixError(f"{what} holds more than {max_items} items: podfix stopped reading it there "
                              "(set PODFIX_MAX_LIST_ITEMS to read more)")
        yield page
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return
        if token in seen_tokens:
            raise invalid(f"a continue token it had already sent (page {count + 1}): it is not paging "
                          "correctly, and the list would never end")
        seen_tokens.add(token)
        count += 1
        if count > max_pages:
            raise PodfixError(f"{what} did not end after {max_pages} pages (each with a new continue "
                              "token): podfix stopped reading it there (set PODFIX_MAX_LIST_PAGES to read more)")
        if upcoming is not None and token == early:
            data = upcoming.result()
        else:  # no early token (unusual layout): fetch the next page now
            data = fetch(dict(query, **{"continue": token}))


def page_problem(page: Any) -> str | None:
    """What makes ``page`` not a LIST page, as words after "answered ... with"; None when it is one."""
    if not isinstance(page, dict):
        return f"{_a(page)} instead of a list object"
    meta = page.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        return f"a list whose metadata is {_a(meta)}, not a mapping"
    token = (meta or {}).get("continue")
    if token is not None and not isinstance(token, str):
        return f"a continue token that is {_a(token)}, not a string"
    items = page.get("items")
    if items is not None and not isinstance(items, list):
        return f"a list whose items are {_a(items)}, not a list"
    for index, item in enumerate(items or ()):
        if not isinstance(item, dict):
            return f"a list whose item {index + 1} is {_a(item)}, not an object"
    return None


def _a(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "a mapping", list: "a list", str: "a string", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _continue_token(data: bytes) -> str | None:
    """The list's continue token, read from the metadata ahead of the items without decoding the page."""
    head = data[:8192]
    end = head.find(b'"items"')
    match = _CONTINUE.search(head, 0, end) if end > 0 else None
    return match.group(1).decode() if match else None
