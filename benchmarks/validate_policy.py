"""The cost of organisation policy: ``validate`` of N connectors with three rules, against
``validate`` of the same connectors without any rule.

Both are the real command, ``python -m adapter_sync validate FILE``, as subprocesses (interpreter
start-up on both sides), median of ``--repeat`` runs each, interleaved. The three rules are the
kinds of ``examples/policies/``: every connector names its team (``metadata.team`` required,
matching ``^team-``), source_names carry a prefix (a ``pattern`` on ``source_name``), and the
connectors a glob matches list their kinds from an allowed set. Every connector satisfies them
(a valid config: what CI runs on every pull request). Target: with rules <= 1.5x without.

A second row shows three rules whose verdicts cannot be remembered (each wrapped in ``anyOf``,
a keyword the checker does not project: every connector goes through jsonschema): the price of
a schema outside the fast path, for information.

    PYTHONPATH=src python benchmarks/validate_policy.py               # 10,000 connectors
    PYTHONPATH=src python benchmarks/validate_policy.py --size 200 --repeat 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import _common as c

RULES = """\
policy:
  - message: every connector names its team
    schema: {required: [metadata], properties: {metadata: {required: [team], properties: {team: {pattern: "^team-"}}}}}
  - message: source_names carry the prefix
    schema: {properties: {source_name: {pattern: "^bench-"}}}
  - match: ["bench-connector-00*"]
    message: these list their kinds, from the allowed ones
    schema: {required: [accepted_kinds], properties: {accepted_kinds: {minItems: 1, items: {enum: [email, page, message, calendar, issue, custom]}}}}
"""


def uncached(rules: str) -> str:
    """The same rules, each schema wrapped in anyOf (not projected: always jsonschema)."""
    out = []
    for line in rules.splitlines():
        if line.strip().startswith("schema: {"):
            indent, schema = line.split("schema: ", 1)
            line = f"{indent}schema: {{anyOf: [{schema}]}}"
        out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="connectors (default 10000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (median; default 5)")
    args = parser.parse_args(argv)

    c.header(f"validate with policy: {args.size} connectors, 3 rules",
             ["both sides are subprocesses: python -m adapter_sync validate FILE"])
    with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
        tmpdir = Path(tmp)
        plain = c.write_yaml(tmpdir / "plain.yaml", args.size)
        body = plain.read_text(encoding="utf-8")
        ruled = tmpdir / "ruled.yaml"
        ruled.write_text(RULES + body, encoding="utf-8")
        slow = tmpdir / "uncached.yaml"
        slow.write_text(uncached(RULES) + body, encoding="utf-8")
        commands = {name: c.cli("validate", str(path))
                    for name, path in (("none", plain), ("rules", ruled), ("anyof", slow))}
        for cmd in commands.values():  # each once, unmeasured: page cache, and it must pass
            c.run(cmd)
        runs: dict[str, list[c.Run]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, cmd in commands.items():
                runs[name].append(c.run(cmd))

    walls = {name: c.median([r.wall for r in got]) for name, got in runs.items()}
    ratio = walls["rules"] / walls["none"]
    rows = [
        ["validate, no policy", walls["none"], "1.00",
         " ".join(f"{r.wall:.3f}" for r in runs["none"])],
        ["validate, 3 rules", walls["rules"], f"{ratio:.2f}",
         " ".join(f"{r.wall:.3f}" for r in runs["rules"])],
        ["validate, 3 rules in anyOf (no remembered verdicts)", walls["anyof"],
         f"{walls['anyof'] / walls['none']:.2f}",
         " ".join(f"{r.wall:.3f}" for r in runs["anyof"])],
    ]
    c.table(f"validate, {args.size} connectors, median of {args.repeat}",
            ["command", "wall s (median)", "ratio to no policy", "runs s"], rows)
    c.table("targets", ["measure", "value", "target", "met"],
            [["wall ratio 3 rules / no policy", f"{ratio:.2f}", "<= 1.5",
              "yes" if ratio <= 1.5 else "no"]])
    print(f"ratio: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
