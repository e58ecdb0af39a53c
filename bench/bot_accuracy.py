"""Order-status bot benchmark: intent and order-number accuracy on the fixture sets, and classify() latency.

Run ``python -m bench.bot_accuracy`` (``--help`` for options). The dev set comes from the shared fixtures
(``../shared/fixtures/bot/dev_intents.jsonl``, or ``$OMNIHUB_SHARED_DIR/fixtures``); the extra set is the
repository's held-out ``tests/fixtures/bot/extra_intents.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conversation.bot.classify import classify
from conversation.bot.language import DEFAULT_LANGUAGES, detector_for
from conversation.bot.matcher import matcher_for

REPO = Path(__file__).resolve().parents[1]
INTENTS = ("order_status", "handoff", "other")
TARGET = 0.97
PIPELINE_GOAL_MS = 50


def shared_fixtures() -> Path:
    """The shared fixtures: ``$OMNIHUB_SHARED_DIR/fixtures``, else ``shared/fixtures`` beside the repo."""
    override = os.environ.get("OMNIHUB_SHARED_DIR")
    return (Path(override) if override else REPO.parent / "shared") / "fixtures"


def fixture_sets() -> dict[str, Path]:
    """The labelled sets, by name."""
    return {
        "dev": shared_fixtures() / "bot" / "dev_intents.jsonl",
        "extra": REPO / "tests" / "fixtures" / "bot" / "extra_intents.jsonl",
    }


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message."""

    lang: str
    text: str
    intent: str
    order_number: str | None


def load_examples(path: Path) -> list[Example]:
    """Read a JSON-lines fixture of ``{"lang", "text", "intent", "order_number"}`` objects."""
    with path.open(encoding="utf-8") as fh:
        return [Example(**json.loads(line)) for line in fh if line.strip()]


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def evaluate(examples: Sequence[Example]) -> dict[str, Any]:
    """Accuracy overall and per language, the intent confusion matrix, and the misses."""
    confusion: Counter[tuple[str, str]] = Counter()
    per_language: dict[str, Counter[str]] = defaultdict(Counter)
    misses = []
    for example in examples:
        got = classify(example.text)
        intent_ok = got.intent == example.intent
        number_ok = got.order_number == example.order_number
        confusion[(example.intent, got.intent)] += 1
        tally = per_language[example.lang]
        tally.update(n=1, intent=intent_ok, number=number_ok, language=got.language == example.lang)
        if not (intent_ok and number_ok):
            misses.append({"lang": example.lang, "text": example.text,
                           "expected": [example.intent, example.order_number],
                           "got": [got.intent, got.order_number], "confidence": got.confidence})
    total = Counter[str]()
    for tally in per_language.values():
        total.update(tally)
    predicted_status = sum(confusion[(e, "order_status")] for e in INTENTS)
    return {
        "n": total["n"],
        "intent_accuracy": _ratio(total["intent"], total["n"]),
        "order_number_accuracy": _ratio(total["number"], total["n"]),
        "language_accuracy": _ratio(total["language"], total["n"]),
        # The two figures the product cares most about: a wrong status answer, and a missed handoff.
        "order_status_precision": _ratio(confusion[("order_status", "order_status")], predicted_status),
        "handoff_recall": _ratio(confusion[("handoff", "handoff")],
                                 sum(confusion[("handoff", p)] for p in INTENTS)),
        "per_language": {
            lang: {"n": t["n"], "intent_accuracy": _ratio(t["intent"], t["n"]),
                   "order_number_accuracy": _ratio(t["number"], t["n"]),
                   "language_accuracy": _ratio(t["language"], t["n"])}
            for lang, t in sorted(per_language.items())
        },
        "confusion": {e: {p: confusion[(e, p)] for p in INTENTS} for e in INTENTS},
        "misses": misses,
    }


def measure_load() -> dict[str, float]:
    """One-off costs, in ms: building the lingua detector (models loaded) and compiling the lexicons."""
    languages = frozenset(DEFAULT_LANGUAGES)
    detector_for.cache_clear()
    matcher_for.cache_clear()
    started = time.perf_counter()
    detector_for(languages)
    loaded = time.perf_counter()
    matcher_for(languages)
    compiled = time.perf_counter()
    return {"detector_load_ms": round((loaded - started) * 1000, 1),
            "lexicon_compile_ms": round((compiled - loaded) * 1000, 1)}


def measure_latency(texts: Sequence[str], rounds: int) -> dict[str, float]:
    """classify() latency in ms over ``rounds`` passes of ``texts``, after one warm-up pass."""
    for text in texts:
        classify(text)
    samples = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            classify(text)
            samples.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(samples, n=100)
    return {"calls": len(samples), "p50_ms": round(statistics.median(samples), 3),
            "p95_ms": round(cuts[94], 3), "max_ms": round(max(samples), 3)}


def run_latency_pipeline(args: argparse.Namespace) -> dict[str, Any] | None:
    """End-to-end latency from an inbound message committed to the bot's reply queued (bench.bot_pipeline).

    Measured on the embedded default (SQLite in a temporary directory, the in-process queue, the real
    ingest and bot jobs) with `--customers` customers holding 1-3 orders each; None with `--no-pipeline`.
    """
    if args.no_pipeline:
        return None
    from bench.bot_pipeline import measure_pipeline

    messages = 30 if args.smoke else args.pipeline_messages
    return measure_pipeline(messages=messages, customers=args.customers)


def _print_set(name: str, result: dict[str, Any], show_misses: int) -> None:
    print(f"\n== {name} set (n={result['n']}) ==")
    print(f"intent accuracy        {result['intent_accuracy']:.3f}")
    print(f"order-number accuracy  {result['order_number_accuracy']:.3f}")
    print(f"language accuracy      {result['language_accuracy']:.3f}")
    print(f"order_status precision {result['order_status_precision']:.3f}   "
          f"handoff recall {result['handoff_recall']:.3f}")
    print("per language           n    intent  number  language")
    for lang, figures in result["per_language"].items():
        print(f"  {lang}                  {figures['n']:>3}  {figures['intent_accuracy']:.3f}   "
              f"{figures['order_number_accuracy']:.3f}   {figures['language_accuracy']:.3f}")
    print("confusion (rows: expected, columns: predicted)")
    print("  " + " " * 14 + "".join(f"{p:>14}" for p in INTENTS))
    for expected, row in result["confusion"].items():
        print(f"  {expected:<14}" + "".join(f"{row[p]:>14}" for p in INTENTS))
    for miss in result["misses"][:show_misses]:
        print(f"  miss [{miss['lang']}] {miss['text']!r}: expected {miss['expected']}, got {miss['got']} "
              f"({miss['confidence']})")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="quick run for CI: one latency round; exits 1 if a set misses the targets")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write every figure to PATH as JSON")
    parser.add_argument("--rounds", type=int, default=20, help="latency passes over all texts (default 20)")
    parser.add_argument("--misses", type=int, default=10, help="misses to print per set (default 10)")
    parser.add_argument("--pipeline-messages", type=int, default=300,
                        help="bot answers timed through ingest and the job queue (default 300; 30 with --smoke)")
    parser.add_argument("--customers", type=int, default=2000,
                        help="customers (1-3 orders each) in the pipeline's database (default 2000)")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the end-to-end latency measurement")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; the exit status is 1 when a set is below the 97 % targets."""
    args = _parse(argv)
    report: dict[str, Any] = {"load": measure_load(), "sets": {}}
    texts: list[str] = []
    for name, path in fixture_sets().items():
        examples = load_examples(path)
        texts.extend(example.text for example in examples)
        report["sets"][name] = evaluate(examples)
        _print_set(name, report["sets"][name], args.misses)
    report["latency"] = measure_latency(texts, rounds=1 if args.smoke else args.rounds)
    report["pipeline_latency"] = run_latency_pipeline(args)
    load, latency = report["load"], report["latency"]
    print(f"\ndetector load {load['detector_load_ms']} ms (once per language set), "
          f"lexicon compile {load['lexicon_compile_ms']} ms")
    print(f"classify() latency over {latency['calls']} calls: p50 {latency['p50_ms']} ms, "
          f"p95 {latency['p95_ms']} ms, max {latency['max_ms']} ms")
    pipeline = report["pipeline_latency"]
    if pipeline is not None:
        print(f"bot answer latency (inbound committed -> reply queued) over {pipeline['n']} messages, "
              f"{pipeline['customers']} customers, {pipeline['orders']} orders, embedded default: "
              f"p50 {pipeline['p50_ms']} ms, p95 {pipeline['p95_ms']} ms, max {pipeline['max_ms']} ms "
              f"(goal p95 < {PIPELINE_GOAL_MS} ms)")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    below = [name for name, result in report["sets"].items()
             if min(result["intent_accuracy"], result["order_number_accuracy"]) < TARGET]
    if below:
        print(f"below the {TARGET:.0%} target: {', '.join(below)}", file=sys.stderr)
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
