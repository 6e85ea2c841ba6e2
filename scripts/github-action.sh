#!/usr/bin/env bash
# The logic of the adapter-sync GitHub Action (action.yml calls this after installing).
#
# Environment (set by action.yml from its inputs; set them yourself to run it anywhere):
#   INPUT_PATHS          files/folders to read, separated by spaces or newlines (default connectors/)
#   INPUT_COMMAND        plan (default) or apply
#   INPUT_ARGS           extra arguments, split like a shell does (quotes, backslashes) but never
#                        expanded or evaluated, e.g. "--prune --include 'team-a-*' --force".
#                        plan: all go to plan. apply: to the plan (not --force, --concurrency,
#                        --max-duration) and to the apply (not --prune, --include, --exclude:
#                        the saved plan keeps them); with INPUT_PLAN_FILE, all go to the apply.
#   INPUT_BASE           plan --base BASE: a config file/folder or a git revision (optional)
#   INPUT_PLAN_FILE      plan: also save the plan here (plan --out). apply: apply exactly this
#                        saved plan (apply --plan; refused if stale), without planning again.
#   INPUT_ENVIRONMENT    a name for this configuration (e.g. staging): the comment marker has it
#   INPUT_API_URL        API base URL; when empty, ADAPTER_API_URL from the environment is kept
#   INPUT_API_KEY        API key; when empty, ADAPTER_API_KEY from the environment is kept
#   ADAPTER_API_URL, ADAPTER_API_KEY, ADAPTER_SYNC_*  read by adapter-sync itself (see --help)
#   GITHUB_STEP_SUMMARY  file the Markdown plan (and the apply's results) are appended to
#   GITHUB_OUTPUT        file the step outputs are written to (optional)
#   RUNNER_TEMP          parent folder for this run's files (default: the system's temp folder)
#
# Outputs: comment-marker (hidden HTML marker for this environment's pull-request comment),
# has_changes (true/false), needs_force (true/false: apply refuses the plan without --force),
# plan-file (the saved plan), markdown-file (the Markdown plan), markdown (its text: adapter-sync
# keeps it under 65,000 characters, so it fits in a pull-request comment).
# Exit status: 0 when everything went well, changes or not; 1 on any error.
set -euo pipefail

error() {  # error MESSAGE: a GitHub error annotation, then exit 1
  echo "::error::$1"
  exit 1
}

command="${INPUT_COMMAND:-plan}"
case "$command" in
  plan | apply) ;;
  *) error "input 'command' must be 'plan' or 'apply', not '$command'" ;;
esac

environment="${INPUT_ENVIRONMENT:-}"
if [[ -n "$environment" && ! "$environment" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]]; then
  error "input 'environment' must be letters, digits, '.', '_' or '-' (at most 64), not '$environment'"
fi

# An empty input leaves the job's environment alone; adapter-sync's default URL is used when
# neither says anything. The key is never printed.
if [[ -n "${INPUT_API_URL:-}" ]]; then export ADAPTER_API_URL="$INPUT_API_URL"; fi
if [[ -z "${ADAPTER_API_URL:-}" ]]; then unset ADAPTER_API_URL; fi
if [[ -n "${INPUT_API_KEY:-}" ]]; then export ADAPTER_API_KEY="$INPUT_API_KEY"; fi
unset INPUT_API_KEY

python="${PYTHON:-python3}"
if command -v adapter-sync >/dev/null 2>&1; then
  sync=(adapter-sync)
else
  sync=("$python" -m adapter_sync)
fi

parent="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
workdir="$(mktemp -d "$parent/adapter-sync.XXXXXX")"  # its own folder: two runs in a job never clash
markdown_file="$workdir/plan.md"

output() {  # output NAME VALUE  (multi-line safe)
  [[ -n "${GITHUB_OUTPUT:-}" ]] || return 0
  local delimiter
  delimiter="adapter_sync_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delimiter" "$2" "$delimiter" >>"$GITHUB_OUTPUT"
}

summary() {  # summary FILE: append to the job summary, within GitHub's 1 MiB limit
  [[ -n "${GITHUB_STEP_SUMMARY:-}" ]] || return 0
  local limit=$((1000 * 1000))
  if (($(wc -c <"$1") > limit)); then
    head -c "$limit" "$1" >>"$GITHUB_STEP_SUMMARY"
    printf '\n\n_(plan truncated: see the job log for the whole of it)_\n' >>"$GITHUB_STEP_SUMMARY"
  else
    cat "$1" >>"$GITHUB_STEP_SUMMARY"
  fi
}

# split_args MODE > FILE: INPUT_ARGS as NUL-separated words. Split with Python's shlex (quotes
# and backslashes as in a shell; no variable, command or glob expansion), never with eval.
# MODE: all, plan (without the apply-only options) or saved (without the selection options a
# saved plan keeps). Options the action sets itself are refused.
split_args() {
  "$python" -c '
import os, shlex, sys

APPLY_ONLY = {"--force": False, "--concurrency": True, "--max-duration": True}
SELECTION = {"--prune": False, "--include": True, "--exclude": True}
RESERVED = {"--format": "the action sets it", "--out": "use the input plan-file",
            "--plan": "use the input plan-file", "--base": "use the input base",
            "--detailed-exitcode": "the action sets it", "--auto-approve": "the action sets it"}
try:
    words = shlex.split(os.environ.get("INPUT_ARGS", ""))
except ValueError as exc:
    sys.exit(f"::error::input args cannot be split: {exc}")
drop = {"all": {}, "plan": APPLY_ONLY, "saved": SELECTION}[sys.argv[1]]
out, i = [], 0
while i < len(words):
    word = words[i]
    name = word.split("=", 1)[0]
    if name in RESERVED:
        sys.exit(f"::error::input args must not contain {name}: {RESERVED[name]}")
    takes_value = {**APPLY_ONLY, **SELECTION}.get(name, False) and "=" not in word
    step = 2 if takes_value else 1
    if name not in drop:
        out += words[i:i + step]
    i += step
sys.stdout.write("".join(w + "\0" for w in out))
' "$1"
}

read_words() {  # read_words FILE: fill the array `words` from NUL-separated FILE (bash 3.2 too)
  words=()
  local word
  while IFS= read -r -d '' word; do words+=("$word"); done <"$1"
}

# plan_facts PLANFILE: "has_changes needs_force" of a saved plan, from the plan document
# (schemas/plan.schema.json), and a warning annotation for each safety finding.
plan_facts() {
  "${sync[@]}" show "$1" --format json | "$python" -c '
import json, sys

try:
    plan = json.load(sys.stdin)
except ValueError:
    sys.exit(1)  # show has said why
safety = plan["safety"]
def escape(text):  # workflow-command data: %, CR and LF escaped
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
for finding in safety["findings"]:
    how = "--force or not" if finding["effect"] == "blocked" else "without --force"
    about = ", ".join(finding["subjects"][:20])
    numbers = ", ".join(f"{k} {v:g}" for k, v in finding["numbers"].items())
    detail = ": ".join(part for part in (finding["code"], about, numbers) if part)
    print(f"::warning title=adapter-sync::apply will refuse this plan {how} ({escape(detail)})",
          file=sys.stderr)
print("true" if plan["has_changes"] else "false", "true" if safety["needs_force"] else "false")
'
}

# A failed step can still tell the comment step where its comment is: this output comes first.
marker="<!-- adapter-sync-plan${environment:+:$environment} -->"
output comment-marker "$marker"

set -f  # paths: split on whitespace (GitHub inputs are strings); no globbing
# shellcheck disable=SC2206
paths=(${INPUT_PATHS:-connectors/})
set +f

plan_file="${INPUT_PLAN_FILE:-}"
if [[ "$command" == apply && -n "$plan_file" ]]; then
  # Apply a saved plan (made and reviewed in an earlier job): no config is read, no new plan.
  [[ -f "$plan_file" ]] || error "input plan-file: no saved plan at '$plan_file'"
  split_args all >"$workdir/apply-args"
  echo "::group::adapter-sync show $plan_file"
  "${sync[@]}" show "$plan_file" --format markdown | tee "$markdown_file" \
    || error "cannot read the saved plan '$plan_file'"
  echo "::endgroup::"
else
  split_args plan >"$workdir/plan-args"
  if [[ "$command" == apply ]]; then
    split_args saved >"$workdir/apply-args"
  fi
  [[ -n "$plan_file" ]] || plan_file="$workdir/plan.json"
  mkdir -p "$(dirname "$plan_file")"

  echo "::group::adapter-sync validate"
  "${sync[@]}" validate "${paths[@]}"
  echo "::endgroup::"

  plan_command=(plan "${paths[@]}")
  if [[ -n "${INPUT_BASE:-}" ]]; then plan_command+=(--base "$INPUT_BASE"); fi
  read_words "$workdir/plan-args"
  plan_command+=(${words[@]+"${words[@]}"})
  echo "::group::adapter-sync plan"
  status=0
  # tee: the plan streams into the job log as it is made, and is kept for the summary/outputs.
  "${sync[@]}" "${plan_command[@]}" --format markdown --detailed-exitcode --out "$plan_file" \
    | tee "$markdown_file" || status=$?
  echo "::endgroup::"
  case "$status" in
    0 | 2) ;;
    *) error "adapter-sync plan failed (exit $status)" ;;
  esac
fi
facts="$(plan_facts "$plan_file")" || error "cannot read the saved plan '$plan_file'"
read -r has_changes needs_force <<<"$facts"

summary "$markdown_file"
output has_changes "$has_changes"
output needs_force "$needs_force"
output plan-file "$plan_file"
output markdown-file "$markdown_file"
output markdown "$(cat "$markdown_file")"
echo "has_changes=$has_changes needs_force=$needs_force"

if [[ "$command" == apply && "$has_changes" == true ]]; then
  read_words "$workdir/apply-args"
  echo "::group::adapter-sync apply"
  result_file="$workdir/apply.txt"
  status=0
  # Exactly the plan shown above (refused if the live state changed since). Each result line
  # reaches the job log as the action finishes (and heartbeats while waiting), so a long apply
  # is never silent; the copy in $result_file goes to the job summary.
  NO_COLOR=1 "${sync[@]}" apply --plan "$plan_file" --auto-approve ${words[@]+"${words[@]}"} 2>&1 \
    | tee "$result_file" || status=$?
  echo "::endgroup::"
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    {
      printf '\n### Apply %s\n\n```\n' "$([[ $status == 0 ]] && echo succeeded || echo FAILED)"
      cat "$result_file"
      printf '```\n'
    } >>"$GITHUB_STEP_SUMMARY"
  fi
  if [[ "$status" != 0 ]]; then
    error "adapter-sync apply failed (exit $status)"
  fi
fi
