"""The shared MIME samples as a parametrised suite: each decodes as recorded in bench/email_mime.py.

`python -m bench.email_mime` prints the pass rate and lists failures. Samples we cannot decode as
expected go into KNOWN_FAILURES with the reason (asserted to still fail), never skipped silently.
"""

from __future__ import annotations

import pytest

from bench.email_mime import EXPECTED, problems, samples_dir, score

# sample -> why we cannot decode it as expected (none at present)
KNOWN_FAILURES: dict[str, str] = {}
RECORDED_PASSED = 45

SAMPLES = sorted(str(p.relative_to(samples_dir())) for p in samples_dir().rglob("*") if p.is_file())


def test_every_sample_has_an_expectation() -> None:
    assert sorted(EXPECTED) == SAMPLES


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_decodes_as_expected(name: str) -> None:
    found = problems(name, EXPECTED[name])
    if name in KNOWN_FAILURES:
        assert found, f"{name} passes now: remove it from KNOWN_FAILURES"
    else:
        assert found == [], f"{EXPECTED[name].feature}: {found}"


def test_the_pass_rate_does_not_drop() -> None:
    passed, total, failures = score()
    assert total == len(SAMPLES)
    assert passed >= RECORDED_PASSED, f"{passed}/{total}; failing: {failures}"
    assert set(failures) == set(KNOWN_FAILURES)
