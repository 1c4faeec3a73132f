"""Which tags a mistyped tag probably meant, for the image fix's suggestions.

Pure string ranking over a tag list that client.list_tags fetched; no I/O.
"""

from __future__ import annotations

import re

_NUMS = re.compile(r"\d+")


def _tag_shape(tag: str) -> tuple[list[int], frozenset[str]]:
    """Leading version numbers ("v1.25.3-alpine" -> [1, 25, 3]) and the flavor words ({"alpine"})."""
    text = tag.lower()
    m = re.match(r"v?(\d+(?:[._]\d+)*)", text)
    nums = [int(x) for x in _NUMS.findall(m.group(1))] if m else []
    rest = text[m.end():] if m else text
    words = frozenset(w for w in re.findall(r"[a-z]+", rest))
    return nums, words


def closest_tags(wanted: str, tags: list[str], n: int = 3) -> list[str]:
    """The ``n`` tags most likely meant by ``wanted`` (best first).

    Ranked by: same flavor words (``-alpine``, ``-slim``), then how many leading
    version numbers agree, then difflib similarity, then newest version first.
    "lates" -> "latest", "v1.2.33" -> "v1.2.3", "1.25-alpine" -> "1.25.x-alpine".
    Tags that share neither spelling nor version line with ``wanted`` are left out.
    """
    import difflib

    if n <= 0 or not tags:
        return []
    w_nums, w_words = _tag_shape(wanted)
    w_low = wanted.lower()
    scored = []
    for tag in dict.fromkeys(tags):
        if tag == wanted:
            scored.append(((0, 0, 0.0, (), ""), tag))  # sorts first
            continue
        nums, words = _tag_shape(tag)
        ratio = difflib.SequenceMatcher(None, w_low, tag.lower(), autojunk=False).ratio()
        common = 0
        for a, b in zip(w_nums, nums):
            if a != b:
                break
            common += 1
        same_flavor = words == w_words
        if ratio < 0.6 and not (common >= 1 and same_flavor):
            continue
        key = (0 if same_flavor else 1, -common, -round(ratio, 3),
               tuple(-x for x in nums), tag)
        scored.append(((1,) + key, tag))
    scored.sort(key=lambda item: item[0])
    return [tag for _, tag in scored[:n]]
