"""The bad-input corpus: every file in tests/bad_configs must fail with exactly the problems
its header announces, one ``# expect: LINE:COL: message substring`` line per problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapter_sync.config import load
from adapter_sync.errors import ConfigError

CORPUS = Path(__file__).parents[1] / "bad_configs"
FILES = sorted(CORPUS.glob("*.yaml"))
KEY = "pk_live_corpus_key"
_EXPECT = re.compile(rb"^# expect: (\d+):(\d+): (.+)$", re.M)


def expectations(path: Path) -> list[tuple[int, int, str]]:
    return [(int(line), int(col), text.decode("ascii"))
            for line, col, text in _EXPECT.findall(path.read_bytes())]


def test_the_corpus_is_large_and_every_file_announces_its_errors():
    assert len(FILES) >= 50
    for path in FILES:
        assert expectations(path), f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_bad_config_fails_with_the_announced_problems(path: Path, monkeypatch):
    monkeypatch.delenv("ADAPTER_SYNC_TEST_UNSET", raising=False)
    with pytest.raises(ConfigError) as caught:
        load([str(path)], api_key=KEY)
    problems = caught.value.problems
    got = [f"{p.location.line}:{p.location.col}: {p.message}" if p.location else p.message
           for p in problems]
    expected = expectations(path)
    assert len(problems) == len(expected), got
    for problem, (line, col, text) in zip(problems, expected, strict=True):
        assert problem.location is not None, got
        assert problem.location.file == str(path)
        assert (problem.location.line, problem.location.col) == (line, col), got
        assert text in problem.message, got


def test_pure_python_pyyaml_gives_the_same_problems(monkeypatch):
    """Without libyaml the reader falls back to PyYAML's Python parser (and composer, to locate
    problems): same problems."""
    from adapter_sync.config import yamlload

    monkeypatch.delenv("ADAPTER_SYNC_TEST_UNSET", raising=False)
    monkeypatch.setattr(yamlload, "_Parser", yamlload._PyParser)
    monkeypatch.setattr(yamlload, "_Composer", yamlload._PyComposer)
    differ = []
    for path in FILES:
        with pytest.raises(ConfigError) as caught:
            load([str(path)], api_key=KEY)
        got = [(p.location.line, p.location.col) for p in caught.value.problems if p.location]
        if got != [(line, col) for line, col, _ in expectations(path)]:
            differ.append((path.stem, got))
    # The two libraries word and place a few syntax errors differently; nothing else differs.
    assert {name for name, _ in differ} <= {"syntax_unclosed_flow", "syntax_bad_indent",
                                            "syntax_tab_indent", "syntax_control_char"}, differ
