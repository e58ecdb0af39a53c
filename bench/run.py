"""Run every benchmark and rewrite bench/RESULTS.md (`make bench`; `make bench-smoke` for tiny sizes).

Run ``python -m bench.run --help``. Each benchmark runs in its own process with `--json`, `--rounds` times
(ranges over the rounds are reported); its figures, its goals (met or missed) and our figures as a share
of the reference ceilings in ../shared/notes/PERFORMANCE.md are rendered into RESULTS.md. The analysis of
each benchmark is written by hand in bench/NOTES.md (one `## <bench>` section each) and included, so it
survives regeneration. `--smoke` writes to a temporary file unless `--output` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOTES = REPO / "bench" / "NOTES.md"
RESULTS = REPO / "bench" / "RESULTS.md"
DASH, TIMES = "\u2013", "\u00d7"  # typographic range dash and multiplication sign in the Markdown


@dataclass
class Figure:
    """One headline number, its goal (if any) and the reference ceiling it compares to (if any)."""

    label: str
    value: float
    unit: str = ""
    target: float | None = None
    higher_is_better: bool = True
    ceiling: tuple[float, float] | None = None  # (low, high) of the reference measurement
    ceiling_label: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


@dataclass
class Bench:
    """A benchmark: how to run it and how to read its JSON."""

    name: str
    title: str
    args: list[str]
    smoke_args: list[str]
    figures: Callable[[dict[str, Any]], list[Figure]]
    details: Callable[[dict[str, Any]], list[str]]
    json: bool = True


@dataclass
class Outcome:
    """What one round of one benchmark produced."""

    command: str
    seconds: float
    returncode: int
    data: dict[str, Any] | None
    output: str
    load_before: float
    load_after: float
    figures: list[Figure] = field(default_factory=list)


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


# --- figures per benchmark ---------------------------------------------------------------------------

INGEST_CEILING = (1600.0, 2300.0)  # Litestar POST + dedupe INSERT + UPDATE conversation + Redis PUBLISH


def ingest_figures(data: dict[str, Any]) -> list[Figure]:
    out = []
    for run in data["runs"]:
        pg = run["backend"].startswith("PostgreSQL")
        tag = "PostgreSQL + Redis" if pg else "SQLite"
        out.append(Figure(f"ingest {tag}: accepted msg/s", run["throughput_msg_s"], "msg/s",
                          1500.0 if pg else 800.0, True, INGEST_CEILING if pg else None,
                          "POST + dedupe INSERT + UPDATE + PUBLISH" if pg else ""))  # fmt: skip
        out.append(Figure(f"ingest {tag}: p99 at {run['fixed_rate']['rate_target']:.0f} msg/s",
                          run["fixed_rate"]["latency"]["p99_ms"], "ms", 50.0 if pg else None, False))  # fmt: skip
        out.append(Figure(f"ingest {tag}: peak RSS per process", run["peak_rss_mb_per_process"], "MB", 250.0, False))
        out.append(Figure(f"ingest {tag}: verification failures", 0.0 if run["verification"]["ok"] else 1.0, "",
                          0.0, False))  # fmt: skip
    return out


def ingest_details(data: dict[str, Any]) -> list[str]:
    lines = ["| backend | workers | msg/s (wrk) | p50 / p95 / p99 at max | at fixed rate: achieved, p50 / p95 / p99 | "
             "RSS per process / all | verified |", "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in data["runs"]:
        w, f, v = r["wrk"], r["fixed_rate"], r["verification"]
        lines.append(
            f"| {r['backend']} | {r['workers']} | {_fmt(r['throughput_msg_s'])} | {w['p50_ms']} / {w['p95_ms']} / "
            f"{w['p99_ms']} ms | {f['achieved_rate']} msg/s, {f['latency']['p50_ms']} / {f['latency']['p95_ms']} / "
            f"{f['latency']['p99_ms']} ms | {r['peak_rss_mb_per_process']} / {r['peak_rss_mb_all_processes']} MB | "
            f"{'OK' if v['ok'] else 'FAILED'}: {v['stored']} stored of {v['issued']} sent, {v['duplicates']} "
            f"duplicates |"
        )
    return lines


def fanout_figures(data: dict[str, Any]) -> list[Figure]:
    out = []
    for run in data["runs"]:
        at = f"fan-out at {run['rate_target']:.0f} msg/s"
        goal = run["rate_target"] >= 500  # the goal is stated at 500 msg/s
        out += [
            Figure(f"{at}: send -> event p99", run["send_to_event"]["p99_ms"], "ms", 50.0 if goal else None, False),
            Figure(f"{at}: send -> event p50", run["send_to_event"]["p50_ms"], "ms"),
            Figure(f"{at}: events missed", float(run["missed"]), "", 0.0, False),
            Figure(f"{at}: frames delivered/s", run["events_per_second"], "/s"),
        ]  # fmt: skip
        if goal:
            out.append(Figure(f"{at}: inbound msg/s achieved", run["achieved_rate"], "msg/s", None, True,
                              INGEST_CEILING, "POST + dedupe INSERT + UPDATE + PUBLISH"))  # fmt: skip
    return out


def fanout_details(data: dict[str, Any]) -> list[str]:
    first = data["runs"][0]
    lines = [
        f"{first['subscribers']} sockets over {first['processes']} `omnihub serve` processes, {first['inboxes']} "
        f"inboxes, {first['inboxes_per_agent']} per agent (each message reaches "
        f"{first['subscribers'] * first['inboxes_per_agent'] // first['inboxes']} sockets).",
        "",
        "| rate (achieved) | send -> event p50 / p95 / p99 / max ms | 2xx -> event p50 / p99 | webhook p50 / p99 | "
        "missed | seconds with p99 > 50 ms | CPU cores: hub / PostgreSQL+Redis / clients / whole machine |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for d in data["runs"]:
        s, a, w, c = d["send_to_event"], d["ack_to_event"], d["webhook_latency"], d.get("cpu_cores") or {}
        clients = round(c.get("subscribers", 0) + c.get("generator", 0), 2)
        lines.append(
            f"| {d['rate_target']:.0f} ({d['achieved_rate']}) msg/s, {d['events_per_second']:.0f} frames/s | "
            f"{s['p50_ms']} / {s['p95_ms']} / {s['p99_ms']} / {s['max_ms']} | {a['p50_ms']} / {a['p99_ms']} | "
            f"{w['p50_ms']} / {w['p99_ms']} | {d['missed']} | {_seconds(d.get('per_second') or {})} | "
            f"{c.get('hub_servers')} / {c.get('postgres_redis')} / {clients} / {c.get('machine_total')} |"
        )
    errors = sorted({e for d in data["runs"] for e in d.get("server_errors", [])})
    if errors:
        lines += ["", "Server errors logged:", "", "```", *errors, "```"]
    return lines


def _seconds(per_second: dict[str, Any]) -> str:
    if not per_second:
        return ""
    return (f"{per_second['seconds_with_p99_over_goal']} of {per_second['seconds']} (worst second's p99 "
            f"{per_second['worst_second_p99_ms']} ms)")  # fmt: skip


CONSOLE_CEILINGS = {  # database-only times at 100k/1M (PERFORMANCE.md), ms
    "list": 0.23, "thread": 0.13, "search_order": 0.17, "search_common": 34.0,
}  # fmt: skip


def console_figures(data: dict[str, Any]) -> list[Figure]:
    out = []
    for run in data["runs"]:
        tag = "PostgreSQL" if run["backend"].startswith("PostgreSQL") else "SQLite"
        messages = run["sizes"]["messages"]
        size = f"{messages // 1_000_000}M msgs" if messages % 1_000_000 == 0 else f"{messages // 1000}k msgs"
        e = run["endpoints"]
        lists = {k: v for k, v in e.items() if k.startswith("list:")}
        worst = max(lists.values(), key=lambda v: v["p95_ms"])
        goal = tag == "PostgreSQL"  # the goals and the reference ceilings are PostgreSQL's

        def ceiling(key: str, goal: bool = goal) -> tuple[float, float] | None:
            return (CONSOLE_CEILINGS[key],) * 2 if goal else None

        out += [
            Figure(f"console {tag} {size}: list p95 (worst view)", worst["p95_ms"], "ms", 20.0 if goal else None, False,
                   ceiling("list"), "DB-only list query"),
            Figure(f"console {tag} {size}: thread open p95 (conversation + customer)",
                   e["thread open (conversation + customer)"]["p95_ms"], "ms", 20.0 if goal else None, False,
                   ceiling("thread"), "DB-only 50 newest messages"),
            Figure(f"console {tag} {size}: search order number p95", e["search: order number"]["p95_ms"], "ms",
                   20.0 if goal else None, False, ceiling("search_order"), "DB-only rare term"),
            Figure(f"console {tag} {size}: search common word p95", e["search: common word (~3 %)"]["p95_ms"], "ms",
                   100.0 if goal else None, False, ceiling("search_common"), "DB-only common word"),
            Figure(f"console {tag} {size}: SQL statements per request (usual, worst)",
                   max(v["sql_statements"]["usual"] for v in e.values() if v["sql_statements"]), "", 5.0, False),
            Figure(f"console {tag} {size}: seeding time", run["seed"]["seconds"], "s"),
        ]  # fmt: skip
    return out


def console_details(data: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for run in data["runs"]:
        s = run["sizes"]
        seed = run["seed"]
        lines += [
            f"**{run['backend']}**: {s['conversations']:,} conversations, {s['messages']:,} messages, "
            f"{s['customers']:,} customers, {s['orders']:,} orders, seeded in {seed['seconds']} s "
            f"({', '.join(f'{k} {v}' for k, v in seed.items() if k.endswith('_s'))}); common words in "
            f"{', '.join(f'{w} {v:.1%}' for w, v in seed['word_share'].items())} of messages. "
            f"{run['client']}; {run['server']}; {run['samples']} samples per endpoint after {run['warmup']}.",
            "",
            "| endpoint | p50 ms | p95 ms | p99 ms | SQL statements (usual / max) | bytes |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, f in run["endpoints"].items():
            sql = f["sql_statements"]
            counts = f"{sql['usual']} / {sql['max']}" if sql else "-"
            lines.append(f"| {name} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} | {counts} | {f['response_bytes'] or ''} |")
        lines.append("")
    return lines


SAQ_NOOP = (1090.0, 1090.0)  # SAQ no-op jobs/s (PERFORMANCE.md)


def outbound_figures(data: dict[str, Any]) -> list[Figure]:
    out = []
    for run in data["runs"]:
        saq = run["mode"] == "saq"
        tag = "SAQ worker" if saq else "in-process (SQLite)"
        t, p = run["throughput_phase"], run["pickup_phase"]
        rate = (Figure(f"outbound {tag}: replies/s per worker process", t["replies_per_s"], "/s", 500.0, True, SAQ_NOOP,
                       "SAQ no-op jobs/s") if saq else
                Figure(f"outbound {tag}: replies/s end to end (API and sends in one process)", t["replies_per_s"], "/s"))
        out += [
            rate,
            Figure(f"outbound {tag}: pickup p95", p["pickup"]["p95_ms"], "ms", 50.0, False),
            Figure(f"outbound {tag}: delivered twice or never", float(t["delivered_twice"] + p["delivered_twice"]
                   + t["never_accepted"] + p["never_accepted"]), "", 0.0, False),
        ]  # fmt: skip
    return out


def outbound_details(data: dict[str, Any]) -> list[str]:
    lines = ["| set-up | pickup p50 / p95 / p99 (at rate) | replies/s while draining | all sent (incl. retry delay) | "
             "queued at | retried after 503 | CPU per reply (hub process) / cores: hub, PostgreSQL+Redis, provider, "
             "machine | checks |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in data["runs"]:
        p, t = r["pickup_phase"], r["throughput_phase"]
        lines.append(
            f"| {r['setup']} | {p['pickup']['p50_ms']} / {p['pickup']['p95_ms']} / {p['pickup']['p99_ms']} ms "
            f"({p['replies']} at {p['rate']:.0f}/s) | {t['replies_per_s']} ({t['replies']} replies) | {t['all_sent_s']} s "
            f"({t['all_sent_per_s']}/s) | {t['queueing']['queue_rate']}/s | {p['retried_after_503'] + t['retried_after_503']} "
            f"| {_cpu_cell(t.get('cpu') or {})} | {'OK' if r['ok'] else 'FAILED'}: twice {p['delivered_twice'] + t['delivered_twice']}, never "
            f"{p['never_accepted'] + t['never_accepted']} |"
        )
    return lines


def _cpu_cell(c: dict[str, Any]) -> str:
    if not c:
        return ""
    return (f"{c['worker_ms_per_reply']} ms / {c['worker_cores']}, {c['postgres_redis_cores']}, {c['provider_cores']}, "
            f"{c['machine_cores']}")  # fmt: skip


def bot_figures(data: dict[str, Any]) -> list[Figure]:
    out = []
    for name, s in data["sets"].items():
        out.append(Figure(f"bot {name}: intent accuracy", s["intent_accuracy"], "", 0.97, True))
        out.append(Figure(f"bot {name}: order-number accuracy", s["order_number_accuracy"], "", 0.97, True))
    out.append(Figure("bot: classify() p95", data["latency"]["p95_ms"], "ms"))
    pipeline = data.get("pipeline_latency")
    if pipeline:
        out.append(Figure("bot: answer latency p95 (committed -> reply queued)", pipeline["p95_ms"], "ms", 50.0, False))
    return out


def bot_details(data: dict[str, Any]) -> list[str]:
    lines = ["| set | n | intent | order number | language | `order_status` precision | handoff recall |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for name, s in data["sets"].items():
        lines.append(f"| {name} | {s['n']} | **{s['intent_accuracy']:.3f}** | **{s['order_number_accuracy']:.3f}** | "
                     f"{s['language_accuracy']:.3f} | {s['order_status_precision']:.3f} | {s['handoff_recall']:.3f} |")  # fmt: skip
    languages = sorted({lang for s in data["sets"].values() for lang in s["per_language"]})
    lines += ["", "Per language, intent / order number (n):", "", "| set | " + " | ".join(languages) + " |",
              "| --- |" + " --- |" * len(languages)]  # fmt: skip
    for name, s in data["sets"].items():
        cells = []
        for lang in languages:
            f = s["per_language"].get(lang)
            cells.append(f"{f['intent_accuracy']:.3f} / {f['order_number_accuracy']:.3f} ({f['n']})" if f else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lat, load = data["latency"], data["load"]
    lines += ["", f"`classify()` over {lat['calls']} calls: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, max "
              f"{lat['max_ms']} ms; detector load {load['detector_load_ms']} ms, lexicon compile "
              f"{load['lexicon_compile_ms']} ms."]  # fmt: skip
    pipeline = data.get("pipeline_latency")
    if pipeline:
        lines.append(f"Answer latency (inbound committed -> reply queued) over {pipeline['n']} messages: p50 "
                     f"{pipeline['p50_ms']} ms, p95 {pipeline['p95_ms']} ms, max {pipeline['max_ms']} ms.")  # fmt: skip
    return lines


EMAIL_LABELS = {
    "discourse_email_reply_trimmer (reply)": "discourse_exact",
    "mailgun_talon/standard_replies (reply_with_signature)": "talon_standard",
    "mailgun_talon/html_replies (whitespace-insensitive)": "talon_html",
    "mailgun_talon/standard_replies (reply, informative)": "talon_standard_reply_level",
    "mailgun_talon/html_replies (exact, informative)": "talon_html_exact",
}


def email_figures(data: dict[str, Any]) -> list[Figure]:
    d = data["discourse_exact"]
    return [
        Figure(f"email trimming: Discourse cases trimmed exactly (of {d['total']})", float(d["passed"]), ""),
        Figure("email trimming: emails/s", data["throughput_emails_per_s"], "/s"),
    ]


def email_details(data: dict[str, Any]) -> list[str]:
    lines = ["| fixture set (level) | score |", "| --- | --- |"]
    for label, key in EMAIL_LABELS.items():
        if key in data:
            s = data[key]
            lines.append(f"| `{label}` | **{s['passed']}/{s['total']}** |")
    lines += ["", f"Throughput: {_fmt(data['throughput_emails_per_s'])} emails/s (mixed plain and HTML)."]
    failures = [f"`{f['name']}`" for key in EMAIL_LABELS.values() if key in data for f in data[key]["failures"]]
    if failures:
        lines.append(f"Failing cases: {', '.join(sorted(set(failures)))}.")
    return lines


def _none(_: dict[str, Any]) -> list[Any]:
    return []


BENCHES = [
    Bench("ingest", "Ingest (signed webhooks)", ["--duration", "15", "--messages", "60000", "--rate-seconds", "10"],
          ["--smoke"], ingest_figures, ingest_details),
    Bench("fanout", "Fan-out to console sockets", ["--rate", "100,250,500", "--seconds", "10"], ["--smoke"],
          fanout_figures, fanout_details),
    Bench("console", "Console read paths", [], ["--smoke"], console_figures, console_details),
    Bench("outbound", "Outbound replies", [], ["--smoke"], outbound_figures, outbound_details),
    Bench("bot_accuracy", "Bot accuracy", [], ["--smoke"], bot_figures, bot_details),
    Bench("email_trimming", "Email trimming", [], ["--smoke"], email_figures, email_details),
    Bench("email_mime", "Email MIME decoding", [], [], _none, _none, json=False),
]  # fmt: skip


# --- running ------------------------------------------------------------------------------------------


def run_bench(bench: Bench, smoke: bool, workdir: Path, round_no: int) -> Outcome:
    """One round of one benchmark in its own process; its output is echoed as it comes."""
    out = workdir / f"{bench.name}-{round_no}.json"
    args = [*(bench.smoke_args if smoke else bench.args), *(["--json", str(out)] if bench.json else [])]
    shown = " ".join(["python", "-m", f"bench.{bench.name}", *(a for a in args if not a.startswith(str(workdir)))])
    shown = shown.replace(" --json", " --json /tmp/" + bench.name + ".json") if bench.json else shown
    print(f"\n### {bench.title} (round {round_no}): {shown}", flush=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", f"bench.{bench.name}", *args], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    process.wait()
    data = json.loads(out.read_text()) if bench.json and out.exists() else None
    outcome = Outcome(shown, round(time.perf_counter() - started, 1), process.returncode, data, "".join(lines),
                      load_before, os.getloadavg()[0])  # fmt: skip
    if data is not None:
        try:
            outcome.figures = bench.figures(data)
        except (KeyError, TypeError, ValueError) as exc:
            outcome.output += f"\n(could not read the figures: {exc!r})"
    return outcome


# --- rendering ----------------------------------------------------------------------------------------


def notes_sections(text: str) -> dict[str, str]:
    """`## name` sections of NOTES.md by name (the text before the first heading is under "")."""
    sections: dict[str, str] = {}
    name, body = "", []
    for line in text.splitlines():
        match = re.match(r"^## (\S+)", line)
        if match:
            sections[name] = "\n".join(body).strip()
            name, body = match.group(1), []
        else:
            body.append(line)
    sections[name] = "\n".join(body).strip()
    return sections


def _range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return _fmt(low) if _fmt(low) == _fmt(high) else f"{_fmt(low)}{DASH}{_fmt(high)}"


def _goal_cell(figures: list[Figure]) -> str:
    first = figures[0]
    if first.target is None:
        return ""
    op = "≥" if first.higher_is_better else "≤"
    met = [f.met for f in figures]
    verdict = "met" if all(met) else "**missed**" if not any(met) else f"met in {sum(bool(m) for m in met)}/{len(met)} rounds"
    unit = f" {first.unit}" if first.unit else ""
    return f"{op} {_fmt(first.target)}{unit}: {verdict}"


def _ceiling_cell(figures: list[Figure]) -> str:
    first = figures[0]
    if first.ceiling is None:
        return ""
    low, high = first.ceiling
    values = [f.value for f in figures]
    if first.higher_is_better:  # a throughput: our share of the ceiling
        shares = [v / high for v in values] + [v / low for v in values]
        span = _fmt(low) if low == high else f"{_fmt(low)}{DASH}{_fmt(high)}"
        share = f"{min(shares):.0%}" if f"{min(shares):.0%}" == f"{max(shares):.0%}" else f"{min(shares):.0%}{DASH}{max(shares):.0%}"
        return f"{share} of {span} ({first.ceiling_label})"
    times = [v / low for v in values]  # a latency: how many times the database-only time
    span = _ratio(min(times)) if _ratio(min(times)) == _ratio(max(times)) else f"{_ratio(min(times))}{DASH}{_ratio(max(times))}"
    return f"{span}{TIMES} the {_fmt(low)} ms {first.ceiling_label}"


def figure_table(rounds: list[Outcome]) -> list[str]:
    by_label: dict[str, list[Figure]] = {}
    for outcome in rounds:
        for figure in outcome.figures:
            by_label.setdefault(figure.label, []).append(figure)
    if not by_label:
        return []
    lines = [f"| figure | {'range over ' + str(len(rounds)) + ' rounds' if len(rounds) > 1 else 'value'} | goal | "
             "vs reference ceiling |", "| --- | --- | --- | --- |"]  # fmt: skip
    for label, figures in by_label.items():
        unit = f" {figures[0].unit}" if figures[0].unit else ""
        lines.append(f"| {label} | {_range([f.value for f in figures])}{unit} | {_goal_cell(figures)} | "
                     f"{_ceiling_cell(figures)} |")  # fmt: skip
    return lines


def render(results: dict[str, list[Outcome]], notes: str, smoke: bool, started: datetime) -> str:
    """RESULTS.md from every benchmark's rounds and the hand-written notes."""
    sections = notes_sections(notes)
    lines = [
        "# Bench results",
        "",
        "Generated by `python -m bench.run" + (" --smoke" if smoke else "") + "` (`make bench`); do not edit by hand:",
        "the analysis lives in `bench/NOTES.md` and is included below.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; commit {_commit()}",
        f"- machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"{_memory()}; PostgreSQL, Redis, the load generators and the hub share these cores",
        "- reference ceilings: `../shared/notes/PERFORMANCE.md` (measured on the same kind of machine)",
        "",
    ]
    if sections.get("general"):
        lines += [sections["general"], ""]
    lines += ["## Goals", "", "| figure | value | goal | vs reference ceiling |", "| --- | --- | --- | --- |"]
    for rounds in results.values():
        for row in figure_table(rounds)[2:]:
            if "met" in row or "missed" in row:
                lines.append(row)
    for name, rounds in results.items():
        bench = next(b for b in BENCHES if b.name == name)
        last = rounds[-1]
        lines += ["", f"## {bench.title}", "", "Command (from the repository root):", "", "```", last.command, "```", ""]
        loads = ", ".join(f"{o.load_before:.1f}→{o.load_after:.1f}" for o in rounds)
        lines.append(f"Rounds: {len(rounds)}, {', '.join(f'{o.seconds} s' for o in rounds)}; load average "
                     f"(1 min) before→after: {loads}.")  # fmt: skip
        failed = [o for o in rounds if o.returncode != 0]
        if failed:
            lines.append(f"Exit status non-zero in {len(failed)} round(s): see the output below.")
        lines.append("")
        lines += figure_table(rounds)
        if last.data is not None:
            lines += ["", "Last round:", "", *bench.details(last.data)]
        elif not bench.json or failed:
            lines += ["", "Output of the last round:", "", "```", *last.output.strip().splitlines()[-40:], "```"]
        note = sections.get(name)
        if note:
            lines += ["", "### Analysis", "", note]
    return "\n".join(lines).rstrip() + "\n"


def _commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    return sha.strip() + (" (with uncommitted changes)" if dirty.strip() else "")


def _memory() -> str:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return "memory unknown"
    return f"{kib / 2**20:.0f} GiB RAM"


def save(results: dict[str, list[Outcome]], folder: Path) -> None:
    """Every round's outcome as JSON, so `--render FOLDER` can redo RESULTS.md (e.g. after editing NOTES.md)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rounds in results.items():
        payload = [{k: v for k, v in o.__dict__.items() if k != "figures"} for o in rounds]
        (folder / f"{name}.json").write_text(json.dumps(payload, indent=1, default=str))


def load(folder: Path) -> dict[str, list[Outcome]]:
    """What `save` wrote, figures recomputed (benchmarks in BENCHES order)."""
    results: dict[str, list[Outcome]] = {}
    for bench in BENCHES:
        path = folder / f"{bench.name}.json"
        if not path.exists():
            continue
        results[bench.name] = []
        for raw in json.loads(path.read_text()):
            outcome = Outcome(**raw)
            if outcome.data is not None:
                outcome.figures = bench.figures(outcome.data)
            results[bench.name].append(outcome)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (what CI runs); RESULTS.md is left alone")
    parser.add_argument("--rounds", type=int, help="rounds per benchmark (default 2, 1 with --smoke)")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES], help="run only these")
    parser.add_argument("--output", type=Path, help="where to write the results (default bench/RESULTS.md)")
    parser.add_argument("--save", type=Path, help="also keep every round's JSON in this folder")
    parser.add_argument("--render", type=Path, metavar="FOLDER", help="only re-render from a --save folder")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.smoke else 2)
    output = args.output or (Path(tempfile.gettempdir()) / "omnihub-RESULTS.smoke.md" if args.smoke else RESULTS)
    started = datetime.now(UTC)
    results: dict[str, list[Outcome]] = {}
    if args.render:
        results = load(args.render)
        started = datetime.fromtimestamp(min(p.stat().st_mtime for p in args.render.glob("*.json")), UTC)
    else:
        with tempfile.TemporaryDirectory(prefix="omnihub-bench-run-") as tmp:
            for bench in BENCHES:
                if args.only and bench.name not in args.only:
                    continue
                results[bench.name] = [run_bench(bench, args.smoke, Path(tmp), n + 1) for n in range(rounds)]
        if args.save:
            save(results, args.save)
    notes = NOTES.read_text(encoding="utf-8") if NOTES.exists() else ""
    smoke = args.smoke or any("--smoke" in o.command for rounds in results.values() for o in rounds)
    output.write_text(render(results, notes, smoke, started), encoding="utf-8")
    print(f"\nwrote {output}")
    failed = [name for name, outcomes in results.items() if any(o.returncode != 0 for o in outcomes)]
    if failed:
        print(f"benchmarks that exited non-zero: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
