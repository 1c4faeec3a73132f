"""Every finding podfix writes for a real text reads as a sentence: no placeholder left empty.

Each case of the fixtures (rules/failure_texts.yaml, health_texts.yaml, qa_texts.yaml,
image_pull_texts.yaml) is diagnosed as written and once more without a node (a pod whose spec names none,
as in a partial object or a file snapshot); the title, explanation, evidence and suggestions of every finding must not show the artefacts
of an empty or missing value: "the the", "Node the node", a lone "?", "''", "None", a literal CMD...
Words that are in the real texts themselves (an image literally called "None:None", a runtime message
quoting "") do not count.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import pytest
import yaml

RULES = Path(__file__).parent / "rules"
sys.path.insert(0, str(RULES))

from cases import build_ctx  # noqa: E402
from test_images import case_from_entry  # noqa: E402

from kubectl_podfix.diagnose.rules import diagnose  # noqa: E402

ARTEFACTS = {
    "the the": re.compile(r"\bthe the\b", re.I),
    "Node the node": re.compile(r"\b(\w+) the \1\b", re.I),  # "node the node", "command the command"
    "a lone ?": re.compile(r"(?:^|(?<=[\s(:=/]))\?(?=$|[\s),.;:'\"/])"),
    "''": re.compile(r"(?<![\"\\])''(?![\"'])"),  # an empty quote, not shell quoting ('"'"')
    '""': re.compile(r'(?<![\w\\])""(?![\w"])'),
    "None": re.compile(r"\bNone\b"),
    "CMD": re.compile(r"(?<![/\w])CMD(?![/\w])"),
    "node NODE": re.compile(r"\b(?:on|node) NODE\b|<node>"),
    "{placeholder}": re.compile(r"\{[a-z_]+\}"),
    "empty quotes": re.compile(r"(?:image|container|volume|secret|configmap|node) \"\"", re.I),
}

_DOUBLE_STOP = re.compile(r"(?<=[\w)\]\"'])\.\.(?=\s|$)")

FAILURE_CASES = [c for name in ("failure_texts.yaml", "health_texts.yaml")
                 for c in yaml.safe_load((RULES / name).read_text(encoding="utf-8"))["cases"]]
FAILURE_CASES += yaml.safe_load((RULES / "qa_texts.yaml").read_text(encoding="utf-8"))["cases"]
IMAGE_ENTRIES = yaml.safe_load((RULES / "image_pull_texts.yaml").read_text(encoding="utf-8"))


def _strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _scrub(text: str, inputs: list[str]) -> str:
    """Our text without the words it quotes from the real texts (those may contain anything)."""
    for raw in inputs:
        for token in re.split(r"\s+", raw):
            token = token.strip("\"'`,.:;()[]{}")
            if len(token) >= 2 and any(mark in token for mark in ("?", "''", '""', "None", "CMD", "{")):
                text = text.replace(token, " ")
    pieces = set()
    for raw in inputs:
        plain = re.sub(r"rpc error: code = \w+ desc = ", "", raw)
        pieces.update({raw.strip(), plain.strip()})
        pieces.update(seg.strip() for seg in re.split(r": ", plain))  # quoted in parts, wrapper by wrapper
    for piece in sorted(pieces, key=len, reverse=True):
        if len(piece) >= 8:
            text = text.replace(piece, " ")
    return text


def _check(findings, inputs: list[str], label: str) -> None:
    for f in findings:
        for part, text in [("title", f.title), ("explanation", f.explanation),
                           *[("evidence", e) for e in f.evidence], *[("suggestion", s) for s in f.suggestions]]:
            for m in _DOUBLE_STOP.finditer(text):  # our full stop after a message that ends with its own
                before = text[max(0, m.start() - 12):m.end()]
                assert any(before in raw for raw in inputs), f"{label}: {f.code} {part} ends twice: ...{before}..."
            clean = _scrub(text, inputs)
            for name, rx in ARTEFACTS.items():
                m = rx.search(clean)
                context = clean[max(0, m.start() - 60):m.end() + 60] if m else ""
                assert m is None, f"{label}: {f.code} {part} shows {name!r}: ...{context}..."


def _without_node(case: dict) -> dict:
    case = copy.deepcopy(case)
    case["node"] = None
    return case


@pytest.mark.parametrize("case", FAILURE_CASES, ids=[c["id"] for c in FAILURE_CASES])
def test_failure_texts_read_as_sentences(case):
    inputs = _strings(case)
    _check(diagnose(build_ctx(case)), inputs, case["id"])
    _check(diagnose(build_ctx(_without_node(case))), inputs, case["id"] + " (no node)")


@pytest.mark.parametrize("entry", IMAGE_ENTRIES, ids=[f"{i}-{e['code']}" for i, e in enumerate(IMAGE_ENTRIES)])
def test_image_pull_texts_read_as_sentences(entry):
    inputs = _strings(entry)
    ctx, _name, _ = case_from_entry(entry)
    _check(diagnose(ctx), inputs, entry["source"])
    ctx.pod["spec"].pop("nodeName", None)
    _check(diagnose(ctx), inputs, entry["source"] + " (no node)")


@pytest.mark.parametrize("text", ["Node the node cannot resolve x", "waiting for scheduling gates: ?",
                                  "command the command not found", "no manifest for '' in x",
                                  "docker run --entrypoint sh x -c 'command -v CMD'", "limit None",
                                  "it said: please try again.. Then"])
def test_the_check_catches_each_artefact(text):
    from kubectl_podfix.diagnose.model import Finding
    with pytest.raises(AssertionError):
        _check([Finding(code="x.y", severity="error", container=None, title=text, explanation="ok.")], [], "self")
