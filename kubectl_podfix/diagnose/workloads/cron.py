"""Would the CronJob controller parse this schedule?  The rules of github.com/robfig/cron/v3's ParseStandard,
which both the API server's validation and the CronJob controller use (pure).

Five fields (minute, hour, day of month, month, day of week) separated by blanks, or a descriptor (@yearly,
@annually, @monthly, @weekly, @daily, @midnight, @hourly, @every <duration>), optionally after a "TZ=zone" or
"CRON_TZ=zone" prefix. Each field is a comma-separated list of `*`, `?`, `N`, `N-M`, each with an optional
`/step`; months and weekdays also take their three-letter English names. Lenient where robfig is: a value it
accepts is never called invalid here.
"""

from __future__ import annotations

import re

_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, {m: i + 1 for i, m in enumerate(
               ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}),
           # robfig's bound is 6; 7 (Sunday in many crons) is let through: never a false alarm on a doubt
           ("day of week", 0, 7, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}))
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_DURATION = re.compile(r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$")


def schedule_error(schedule: object) -> str | None:
    """Why robfig/cron's standard parser refuses ``schedule``, in its words, or None when it parses."""
    if not isinstance(schedule, str):
        return None  # not a schedule podfix can read: say nothing
    spec = schedule.strip()
    if not spec:
        return "empty spec string"
    if spec.startswith(("TZ=", "CRON_TZ=")):
        parts = spec.split(None, 1)
        spec = parts[1].strip() if len(parts) > 1 else ""
        if not spec:
            return "empty spec string after the time zone"
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            duration = spec[len("@every "):].strip()
            return None if _DURATION.match(duration) else f"failed to parse duration {spec}: invalid duration"
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: {schedule}"
    for text, (name, low, high, names) in zip(fields, _FIELDS):
        for expr in text.split(","):
            err = _range_error(expr, low, high, names)
            if err:
                return f"{err} (the {name} field, {text!r})"
    return None


def _number(text: str, names: dict[str, int]) -> int | str:
    """The value of a field's number or name, or an error (robfig: parseIntOrName, mustParseInt)."""
    if text.lower() in names:
        return names[text.lower()]
    if not re.fullmatch(r"[+-]?\d+", text):
        return f"failed to parse int from {text}"
    value = int(text)
    if value < 0:
        return f"negative number ({value}) not allowed: {text}"
    return value


def _range_error(expr: str, low: int, high: int, names: dict[str, int]) -> str | None:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if len(range_and_step) > 2:
        return f"too many slashes: {expr}"
    if low_and_high[0] in ("*", "?"):
        start, end = low, high  # robfig reads nothing after the star's hyphen
    else:
        if len(low_and_high) > 2:
            return f"too many hyphens: {expr}"
        start = _number(low_and_high[0], names)
        if isinstance(start, str):
            return start
        end = start
        if len(low_and_high) == 2:
            end = _number(low_and_high[1], names)
            if isinstance(end, str):
                return end
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], {})
        if isinstance(step, str):
            return step
        if len(low_and_high) == 1:
            end = high  # "N/step" means "N-max/step"
        if step == 0:
            return f"step of range should be a positive number: {expr}"
    if start < low:
        return f"beginning of range ({start}) below minimum ({low}): {expr}"
    if end > high:
        return f"end of range ({end}) above maximum ({high}): {expr}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    return None
