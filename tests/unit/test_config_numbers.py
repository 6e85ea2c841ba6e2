"""Numbers in the config (issue #16): a fraction where the schema wants a number is accepted and
enforced, and no message about a number contradicts itself; a bare ``*`` glob gets the same
"quote it" hint as ``*-legacy``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapter_sync.config import load
from adapter_sync.errors import ConfigError
from adapter_sync.model import Desired, DesiredConnector, Live, LiveConnector, SafetyRules
from adapter_sync.planner import check_safety as _check_safety
from adapter_sync.planner import plan
from adapter_sync.render import finding_sentence


def check_safety(p):
    """Why apply refuses ``p`` without --force (its sentences), or None."""
    safety = _check_safety(p)
    return "; ".join(finding_sentence(f) for f in safety.findings) if safety.needs_force \
        else None


def _load(tmp_path: Path, text: str) -> Desired:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return load([str(path)])


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    return [p.message for p in caught.value.problems]


@pytest.mark.parametrize(("text", "value"), [("12.5", 12.5), ("0.5", 0.5), (".5", 0.5),
                                             ("+7.25", 7.25), ("1.25e+1", 12.5), ("30", 30)])
def test_a_fraction_of_a_percent_is_accepted(tmp_path: Path, text: str, value: float) -> None:
    desired = _load(tmp_path, f"safety:\n  max_deactivate_percent: {text}\n"
                    f"  small_account_percent: {text}\nconnectors: {{}}\n")
    assert desired.safety.max_deactivate_percent == value
    assert desired.safety.small_account_percent == value


def test_a_fractional_threshold_is_enforced(tmp_path: Path) -> None:
    desired = _load(tmp_path, "safety:\n  max_deactivate_percent: 12.5\n  min_active: 1\n"
                    "connectors:\n" + "".join(f"  c{i}: {{name: C}}\n" for i in range(7)))
    live = Live.from_list([LiveConnector(f"id-{i}", f"c{i}", "C") for i in range(8)])
    # 1 of 8 is exactly 12.5%: allowed; 2 of 8 (25%) is more: refused without --force
    assert check_safety(plan(desired, live, prune=True)) is None
    fewer = Desired({k: c for k, c in desired.connectors.items() if k != "c0"},
                    safety=desired.safety)
    message = check_safety(plan(fewer, live, prune=True))
    assert message and "2 of 8" in message and "more than 12.5%" in message


def test_the_share_refused_never_reads_as_the_limit() -> None:
    """10 of 33 is 30.3%: "(30%): more than 30%" would contradict itself; so would 4 of 7
    (57.1%) against a small-account limit of 57.14."""
    cs = {f"c{i}": DesiredConnector(f"c{i}", "C") for i in range(23)}
    live = Live.from_list([LiveConnector(f"id-{i}", f"c{i}", "C") for i in range(33)])
    message = check_safety(plan(Desired(cs), live, prune=True))
    assert message and "(30.3%): more than 30%" in message
    small = Desired({f"c{i}": DesiredConnector(f"c{i}", "C") for i in range(3)},
                    safety=SafetyRules(small_account_percent=57.14))
    live = Live.from_list([LiveConnector(f"id-{i}", f"c{i}", "C") for i in range(7)])
    message = check_safety(plan(small, live, prune=True))
    assert message and "(57.143%): more than 57.14% of an account" in message


_CONTRADICTION = re.compile(r"expected (an? [a-z]+), got \1\b")


@pytest.mark.parametrize("value", ["12.5", "1e3", "0x10", "1_000", "10.0", "1:30", ".inf",
                                   ".nan", '"12"', "'12.5'", "yes", "2024-01-01", "abc", "-0.5",
                                   "[1]", "{a: 1}", "true"])
@pytest.mark.parametrize("key", ["max_deactivate_percent", "min_active"])
def test_no_message_about_a_number_contradicts_itself(tmp_path: Path, key: str,
                                                      value: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"safety:\n  {key}: {value}\nconnectors: {{}}\n", encoding="utf-8")
    try:
        load([str(path)])
    except ConfigError as error:
        for problem in error.problems:
            assert not _CONTRADICTION.search(problem.message), problem.message
            assert "got a number" not in problem.message, problem.message
            assert "is not a whole number" not in problem.message or "10.0" not in value


def test_number_messages_say_what_to_write(tmp_path: Path) -> None:
    assert _problems(tmp_path, "safety:\n  min_active: 10.0\n") == [
        "safety.min_active: expected an integer, got 10.0; write it without the decimal "
        "point: 10"]
    assert _problems(tmp_path, "safety:\n  min_active: 2.5\n") == [
        "safety.min_active: expected an integer, got 2.5, which is not a whole number"]
    (message,) = _problems(tmp_path, "safety:\n  max_deactivate_percent: 1e3\n")
    assert "got '1e3', which YAML tools read differently" in message
    assert _problems(tmp_path, "safety:\n  max_deactivate_percent: '12.5'\n") == [
        'safety.max_deactivate_percent: expected a number, got the string "12.5"; remove the '
        "quotes"]


def test_a_fraction_stays_a_quote_it_error_where_a_string_is_wanted(tmp_path: Path) -> None:
    (message,) = _problems(tmp_path, "connectors:\n  a:\n    name: A\n    metadata: {v: 1.10}\n")
    assert 'quote it if you mean the string: "1.10"' in message


@pytest.mark.parametrize("globs", ["[billing-*, *]", "[*, billing-*]", "\n  - billing-*\n  - *"])
def test_a_bare_star_glob_gets_the_quote_it_hint(tmp_path: Path, globs: str) -> None:
    (message,) = _problems(tmp_path, f"protect: {globs}\nconnectors: {{}}\n")
    assert message.endswith("""a value starting with '*' is read as a YAML alias: quote it, """
                            """as "*\"""")
