"""LIST pagination with read-ahead: follow the continue tokens of one LIST.

The list's metadata (with the continue token) precedes its items, so the next
page can be requested before this one is decoded: the server prepares page
N+1 while podfix decodes page N. This module only knows pages and tokens;
``Cluster.list`` says which path to fetch and what to do with the items.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

PAGE_SIZE = 500

_CONTINUE = re.compile(rb'"continue"\s*:\s*"([^"\\]*)"')


def pages(fetch: Callable[[dict[str, Any]], bytes], decode: Callable[[bytes], Any],
          query: dict[str, Any]) -> Iterator[Any]:
    """Every page of one LIST, decoded, in order.

    ``fetch(query)`` returns one page's raw body (``query`` plus ``continue`` for
    the pages after the first); ``decode`` parses it. While a page is being
    decoded and consumed, the next one is already on its way (one worker
    thread). Closing the generator early waits for a page in flight.
    """
    data = fetch(query)
    prefetcher = None
    try:
        while True:
            early = _continue_token(data)
            upcoming = None
            if early:
                if prefetcher is None:
                    from concurrent.futures import ThreadPoolExecutor

                    prefetcher = ThreadPoolExecutor(max_workers=1)
                upcoming = prefetcher.submit(fetch, dict(query, **{"continue": early}))
            page = decode(data)
            yield page
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            if upcoming is not None and token == early:
                data = upcoming.result()
            else:  # no early token (unusual layout): fetch the next page now
                data = fetch(dict(query, **{"continue": token}))
    finally:
        if prefetcher is not None:
            prefetcher.shutdown(wait=True, cancel_futures=True)


def _continue_token(data: bytes) -> str | None:
    """The list's continue token, read from the metadata ahead of the items without decoding the page."""
    head = data[:8192]
    end = head.find(b'"items"')
    match = _CONTINUE.search(head, 0, end) if end > 0 else None
    return match.group(1).decode() if match else None
