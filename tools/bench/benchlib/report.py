"""Metrics, goals and the side-by-side table every benchmark prints.

A row shows each tool's value, the ratio isofuse / peer for every peer
(ratios below 1 favour isofuse where lower is better), which way is better,
the goal and whether it is met.  The goals are those of issue #17 (its
table: where users wait) or earlier issues' ("keep" = do not lose what
was measured then)."""

import json
import os
from typing import NamedTuple, Optional


class Goal(NamedTuple):
    """A limit on the ratio isofuse / ``peer`` (or, ``absolute``, on
    isofuse's own value in the metric's unit)."""
    limit: float
    at_most: bool                  # True: value <= limit; False: value >= limit
    peer: Optional[str] = None     # None: the table's first peer
    absolute: bool = False
    why: str = "#17"               # where the goal comes from, or "keep"

    def text(self, unit):
        op = "<=" if self.at_most else ">="
        amount = (f"{self.limit:g} {unit}" if self.absolute else f"{self.limit:.2f}x")
        peer = f" {self.peer}" if self.peer and not self.absolute else ""
        return f"{op} {amount}{peer}" + (f" ({self.why})" if self.why else "")

    def met(self, value):
        if value is None:
            return None
        return value <= self.limit if self.at_most else value >= self.limit


class Metric(NamedTuple):
    key: str
    label: str
    unit: str
    higher_is_better: bool
    fmt: str = "{:.2f}"
    goal: Optional[Goal] = None
    part: str = ""                 # "big", "small", ...: the results' first level

    def title(self):
        return f"{self.part + ': ' if self.part else ''}{self.label} [{self.unit}]"


def ratio(a, b):
    return a / b if a is not None and b else None


def goal_check(metric, values, peers):
    """(goal text, met True/False/None, the value compared) for one row."""
    g = metric.goal
    if g is None:
        return "", None, None
    if g.absolute:
        value = values.get("isofuse")
    else:
        peer = g.peer or (peers[0] if peers else None)
        value = ratio(values.get("isofuse"), values.get(peer)) if peer else None
    return g.text(metric.unit), g.met(value), value


def comparison(metrics, results, names, ref="isofuse"):
    """Header and rows of the side-by-side table, and the goal verdicts.

    ``results`` is {part: {tool: {key: value}}} (part "" when the metrics
    have none)."""
    peers = [n for n in names if n != ref] if ref in names else []
    header = ["metric", *names, *[f"{ref}/{p}" for p in peers], "better", "goal", "met?"]
    rows, verdicts = [], []
    for m in metrics:
        values = {n: results.get(m.part, {}).get(n, {}).get(m.key) for n in names}
        if all(v is None for v in values.values()):
            continue
        row = [m.title(), *[m.fmt.format(v) if v is not None else "-"
                            for v in values.values()]]
        for p in peers:
            r = ratio(values[ref], values[p])
            row.append(f"{r:.2f}x" if r is not None else "-")
        text, met, compared = goal_check(m, values, peers)
        row += ["higher" if m.higher_is_better else "lower", text, yes_no(met)]
        rows.append(row)
        if m.goal is not None:
            verdicts.append({"part": m.part, "key": m.key, "goal": text,
                             "value": compared, "met": met})
    return header, rows, verdicts


def yes_no(met):
    return "" if met is None else ("yes" if met else "NO")


def format_table(header, rows, left=(0,)):
    """A Markdown table; columns in ``left`` left-aligned, others right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt_row(r):
        return "| " + " | ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(r, widths))) + " |"

    return [fmt_row(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
            *[fmt_row(r) for r in rows]]


def goals_note(verdicts):
    judged = [v for v in verdicts if v["met"] is not None]
    if not judged:
        return ""
    missed = [f"{v['part'] + ':' if v['part'] else ''}{v['key']}"
              for v in judged if not v["met"]]
    return (f"goals met: {len(judged) - len(missed)}/{len(judged)}"
            + (f"; missed: {', '.join(missed)}" if missed else ""))


def host_note(info):
    h = info["host"]
    commits = info.get("commit_start"), info.get("commit_end")
    commit = (commits[0] if commits[0] == commits[1]
              else f"{commits[0]} at start, {commits[1]} at end")
    return (f"host: {h['cpus']} CPUs, kernel {h['kernel']}, Python {h['python']}; "
            "1-min load average start/min/max/end: "
            + " / ".join(f"{x:.2f}" for x in info["loadavg_1min"])
            + f" (other work on the machine skews the numbers); commit {commit}")


def command_note(commands):
    return "commands: " + "; ".join(" ".join(os.path.basename(a) if i == 0 else a
                                             for i, a in enumerate(v))
                                    for v in commands.values())


def cold_note(dropped, what="page cache, dentries and inodes dropped before the step"):
    return (f"cold = {what}: "
            + {True: "yes", None: "skipped (--no-cold)",
               "n/a": "no cold step in this selection"}.get(
                dropped, "NO (drop_caches failed: 'cold' numbers are warm)"))


def emit(as_json, document, render, failed=False):
    """Print ``document`` as JSON, or the text ``render()`` makes of it;
    returns the exit status: 1 when a check ``failed``, else 0."""
    print(json.dumps(document, indent=2) if as_json else render())
    return 1 if failed else 0
