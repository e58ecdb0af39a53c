"""Who is viewing or typing in a conversation: entries that expire unless their agent renews them.

Pure bookkeeping on a JSON-ready mapping `{agent_id: {name, viewing_until, typing_until, private}}`,
so any key/value store (memory, Redis) can hold it between processes. Clocks are plain seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: A viewer renews every ~20 s; a closed tab disappears within this many seconds.
VIEWING_TTL = 45.0
#: Typing is renewed on keystrokes (throttled); it fades quickly once the agent stops.
TYPING_TTL = 6.0

VIEWING = "viewing"
TYPING = "typing"
TYPING_NOTE = "typing_note"

Entries = dict[str, dict[str, Any]]


def prune(entries: Mapping[str, Mapping[str, Any]], now: float) -> Entries:
    """The entries still viewing at `now` (expired typing is cleared, the viewer kept)."""
    kept: Entries = {}
    for agent_id, entry in entries.items():
        if float(entry.get("viewing_until", 0)) <= now:
            continue
        fresh = dict(entry)
        if float(fresh.get("typing_until", 0)) <= now:
            fresh["typing_until"] = 0.0
        kept[agent_id] = fresh
    return kept


def touch(
    entries: Mapping[str, Mapping[str, Any]],
    agent_id: int,
    name: str,
    now: float,
    *,
    typing: bool = False,
    private: bool = False,
) -> Entries:
    """Record that `agent_id` views (and maybe types in) the conversation at `now`.

    `private` marks typing in a private note: colleagues see it, the customer never does.
    """
    updated = prune(entries, now)
    entry = dict(updated.get(str(agent_id), {}))
    entry["name"] = name
    entry["viewing_until"] = now + VIEWING_TTL
    if typing:
        entry["typing_until"] = now + TYPING_TTL
        entry["private"] = private
    else:
        entry.setdefault("typing_until", 0.0)
        entry.setdefault("private", False)
    updated[str(agent_id)] = entry
    return updated


def leave(entries: Mapping[str, Mapping[str, Any]], agent_id: int, now: float) -> Entries:
    """`agent_id` closed the conversation (or the socket went away)."""
    updated = prune(entries, now)
    updated.pop(str(agent_id), None)
    return updated


def state_of(entry: Mapping[str, Any], now: float) -> str:
    """ "typing", "typing_note" or "viewing"."""
    if float(entry.get("typing_until", 0)) > now:
        return TYPING_NOTE if entry.get("private") else TYPING
    return VIEWING


def present(entries: Mapping[str, Mapping[str, Any]], now: float) -> list[dict[str, Any]]:
    """`[{id, name, state}]` of the agents in the conversation at `now`, by name."""
    people = [
        {"id": int(agent_id), "name": str(entry.get("name") or ""), "state": state_of(entry, now)}
        for agent_id, entry in prune(entries, now).items()
    ]
    return sorted(people, key=lambda p: (p["name"].lower(), p["id"]))
