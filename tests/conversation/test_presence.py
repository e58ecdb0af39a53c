"""Presence bookkeeping for collision notices: viewing and typing entries that expire."""

from __future__ import annotations

import json

from conversation import presence


def test_a_viewer_is_present_until_the_viewing_ttl_passes() -> None:
    entries = presence.touch({}, 7, "Sam", now=100.0)
    assert presence.present(entries, 100.0) == [{"id": 7, "name": "Sam", "state": "viewing"}]
    assert presence.present(entries, 100.0 + presence.VIEWING_TTL - 1)[0]["id"] == 7
    assert presence.present(entries, 100.0 + presence.VIEWING_TTL + 1) == []


def test_typing_fades_back_to_viewing_and_notes_are_marked_private() -> None:
    entries = presence.touch({}, 7, "Sam", now=100.0, typing=True)
    assert presence.present(entries, 101.0)[0]["state"] == "typing"
    assert presence.present(entries, 100.0 + presence.TYPING_TTL + 0.5)[0]["state"] == "viewing"
    note = presence.touch(entries, 7, "Sam", now=110.0, typing=True, private=True)
    assert presence.present(note, 111.0)[0]["state"] == "typing_note"
    # a plain renewal keeps the viewer and does not resurrect an expired typing state
    renewed = presence.touch(note, 7, "Sam", now=130.0)
    assert presence.present(renewed, 130.0)[0]["state"] == "viewing"


def test_several_agents_sorted_by_name_and_leaving_removes_one() -> None:
    entries = presence.touch({}, 2, "zoë", now=0.0)
    entries = presence.touch(entries, 1, "Alex", now=1.0)
    assert [p["name"] for p in presence.present(entries, 2.0)] == ["Alex", "zoë"]
    after = presence.leave(entries, 1, now=3.0)
    assert [p["id"] for p in presence.present(after, 3.0)] == [2]
    assert presence.leave({}, 5, now=0.0) == {}


def test_entries_survive_a_json_round_trip_and_expired_ones_are_pruned() -> None:
    entries = presence.touch({}, 3, "Kim", now=10.0, typing=True)
    entries = presence.touch(entries, 4, "Lee", now=10.0 + presence.VIEWING_TTL + 5)
    stored = json.loads(json.dumps(entries))
    assert set(presence.prune(stored, 10.0 + presence.VIEWING_TTL + 6)) == {"4"}
