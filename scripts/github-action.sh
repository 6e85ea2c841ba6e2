#!/usr/bin/env bash
# shellcheck disable=SC2016  # the backticks in printf formats are Markdown code, not commands
# The logic of the adapter-sync GitHub Action (action.yml calls this after installing).
#
# Environment (set by action.yml from its inputs; set them yourself to run it anywhere):
#   INPUT_PATHS          files/folders to read (default connectors/): one per line when the
#                        input has several lines (a path may then hold spaces), else
#                        separated by spaces
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
#   INPUT_FULL_PLAN_AT   where the whole plan is, for the note of a Markdown plan too long to
#                        show whole (plan --full-plan-at), e.g. "the workflow artifact `x`";
#                        default: this run's job log, which always holds the whole text plan
#   INPUT_COMMENT        true: create or update this environment's comment on the pull request
#                        (found again by its marker) with the plan, or with the failure
#   INPUT_DRIFT_ISSUE    true (command plan): changes open (or update) this environment's issue
#                        labelled adapter-sync-drift; no changes close it
#   INPUT_GITHUB_TOKEN   token for those two (the job's github.token); never printed
#   ADAPTER_API_URL, ADAPTER_API_KEY, ADAPTER_SYNC_*  read by adapter-sync itself (see --help)
#   GITHUB_STEP_SUMMARY  file the Markdown plan (and the apply's report) are appended to
#   GITHUB_OUTPUT        file the step outputs are written to (optional)
#   GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_SERVER_URL, GITHUB_RUN_ID
#                        set by GitHub: where comments and issues go, links to the run
#   RUNNER_TEMP          parent folder for this run's files (default: the system's temp folder)
#
# Outputs (read from `adapter-sync show PLANFILE --format json`): has_changes, needs_force (apply
# refuses the plan without --force), blocked (apply refuses it even with --force) as true/false;
# create_count, update_count, reactivate_count, deactivate_count; plan-file (the saved plan),
# text-file (the whole plan as text), markdown-file and markdown (the Markdown plan, under 65,000
# characters: it fits a pull-request comment); comment-marker (hidden HTML marker of this
# environment's comment, set first, so even a failed step has it).
# Exit status: 0 when everything went well, changes or not; 1 on any error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

command_data() {  # command_data TEXT: TEXT as workflow-command data (%, CR, LF escaped), so an
  # input quoted in an annotation can never end the line and start a command of its own
  local text="${1//'%'/%25}"
  text="${text//$'\r'/%0D}"
  printf '%s' "${text//$'\n'/%0A}"
}

output() {  # output NAME VALUE  (multi-line safe)
  [[ -n "${GITHUB_OUTPUT:-}" ]] || return 0
  local delimiter
  delimiter="adapter_sync_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delimiter" "$2" "$delimiter" >>"$GITHUB_OUTPUT"
}

# The comment marker comes first, so that a step failing on anything, its inputs included, still
# tells a later step which comment is this environment's (#16). An environment name that would
# break the marker is refused below; the marker then carries it sanitized (each character outside
# letters, digits, '.', '_', '-' as '_'; leading punctuation dropped; 64 at most).
environment="${INPUT_ENVIRONMENT:-}"
marker_name="$environment"
if [[ -n "$environment" && ! "$environment" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]]; then
  marker_name="$(printf '%s' "$environment" | LC_ALL=C tr -c 'A-Za-z0-9._-' '_' \
    | LC_ALL=C sed 's/^[^A-Za-z0-9]*//' | cut -c1-64)"
  environment_error="input 'environment' must be letters, digits, '.', '_' or '-' (at most 64), not '$environment'"
fi
marker="<!-- adapter-sync-plan${marker_name:+:$marker_name} -->"
output comment-marker "$marker"

run_url=""
if [[ -n "${GITHUB_REPOSITORY:-}" && -n "${GITHUB_RUN_ID:-}" ]]; then
  run_url="${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
fi
link_to_run() {  # "[TEXT](run URL)", or TEXT when the run is unknown
  if [[ -n "$run_url" ]]; then printf '[%s](%s)' "$1" "$run_url"; else printf '%s' "$1"; fi
}

boolean_input() {  # boolean_input NAME VALUE: prints true or false, or fails
  case "$2" in
    true | True | TRUE) echo true ;;
    false | False | FALSE | "") echo false ;;
    *) echo "::error::$(command_data "input '$1' must be true or false, not '$2'")" >&2; return 1 ;;
  esac
}

comment="$(boolean_input comment "${INPUT_COMMENT:-}")" || exit 1
drift_issue="$(boolean_input drift-issue "${INPUT_DRIFT_ISSUE:-}")" || exit 1
github_token="${INPUT_GITHUB_TOKEN:-}"  # for the REST helper only: adapter-sync never sees it
unset INPUT_GITHUB_TOKEN
parent="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
workdir="$(mktemp -d "$parent/adapter-sync.XXXXXX")"  # its own folder: two runs in a job never clash

# comment_body FILE: this environment's pull-request comment around FILE's Markdown, in
# $workdir/comment.md
comment_body() {
  local sha
  sha="$("$python" -c '
import json, os, sys
try:
    with open(os.environ.get("GITHUB_EVENT_PATH", ""), encoding="utf-8") as handle:
        print(((json.load(handle).get("pull_request") or {}).get("head") or {}).get("sha", "")[:7])
except (OSError, ValueError):
    print("")
')"
  {
    printf '%s\n' "$marker"
    if [[ -n "$marker_name" ]]; then printf '**Environment: `%s`**\n\n' "$marker_name"; fi
    cat "$1"
    printf '\n<sub>%s%s</sub>\n' "${sha:+Commit $sha · }" "$(link_to_run run)"
  } >"$workdir/comment.md"
}

rest() {  # rest ARGS: scripts/github-rest.py with the token (see there)
  INPUT_GITHUB_TOKEN="${github_token:-}" "$python" "$here/github-rest.py" "$@"
}

post_comment() {  # post_comment FILE: create or update this environment's comment with it
  comment_body "$1"
  echo "::group::comment on the pull request"
  local status=0
  rest comment "$marker" "$workdir/comment.md" || status=$?
  echo "::endgroup::"
  return "$status"
}

# A failed or refused step replaces the environment's comment too, so nobody reviews a plan that
# no longer holds; a cancelled one (a newer push) leaves it to the newer run.
posted=false
cancelled=false
on_exit() {
  local status=$?
  if [[ "$status" != 0 && "$comment" == true && "$posted" == false && "$cancelled" == false ]]
  then
    posted=true
    printf '## adapter-sync plan\n\n**The plan failed**: see %s. Any earlier plan for this environment no longer holds.\n' \
      "$(link_to_run "the run log")" >"$workdir/failed.md"
    post_comment "$workdir/failed.md" || true
  fi
  return "$status"
}
trap on_exit EXIT
trap 'cancelled=true; exit 130' INT TERM

error() {  # error MESSAGE: a GitHub error annotation, then exit 1
  echo "::error::$(command_data "$1")"
  exit 1
}

if [[ -n "${environment_error:-}" ]]; then error "$environment_error"; fi

command="${INPUT_COMMAND:-plan}"
case "$command" in
  plan | apply) ;;
  *) error "input 'command' must be 'plan' or 'apply', not '$command'" ;;
esac
if [[ "$drift_issue" == true && "$command" != plan ]]; then
  error "input 'drift-issue' works with command plan only"
fi

# An empty input leaves the job's environment alone; adapter-sync's default URL is used when
# neither says anything. The keys are never printed.
if [[ -n "${INPUT_API_URL:-}" ]]; then export ADAPTER_API_URL="$INPUT_API_URL"; fi
if [[ -z "${ADAPTER_API_URL:-}" ]]; then unset ADAPTER_API_URL; fi
if [[ -n "${INPUT_API_KEY:-}" ]]; then export ADAPTER_API_KEY="$INPUT_API_KEY"; fi
unset INPUT_API_KEY

if command -v adapter-sync >/dev/null 2>&1; then
  sync=(adapter-sync)
else
  sync=("$python" -m adapter_sync)
fi

markdown_file="$workdir/plan.md"
text_file="$workdir/plan.txt"
full_plan_at="${INPUT_FULL_PLAN_AT:-}"
if [[ -z "$full_plan_at" && -n "$run_url" ]]; then
  full_plan_at="the job log of $(link_to_run "this run") (its group \"The whole plan\")"
fi
full_plan_args=()
if [[ -n "$full_plan_at" ]]; then full_plan_args=(--full-plan-at "$full_plan_at"); fi

summary() {  # summary FILE: append to the job summary, which stays within GitHub's 1 MiB limit
  # for the whole step (bytes, with what is already there; a cut falls between characters)
  [[ -n "${GITHUB_STEP_SUMMARY:-}" ]] || return 0
  "$python" -c '
import os, sys

data, target = open(sys.argv[1], "rb").read(), sys.argv[2]
room = 1_000_000 - (os.path.getsize(target) if os.path.exists(target) else 0)
if len(data) > room:
    note = b"\n\n_(cut here: the job log holds all of it)_\n"
    data = data[:max(0, room - len(note))].decode("utf-8", "ignore").encode("utf-8") + note
with open(target, "ab") as out:
    out.write(data)
' "$1" "$GITHUB_STEP_SUMMARY"
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
            "--detailed-exitcode": "the action sets it", "--auto-approve": "the action sets it",
            "--full-plan-at": "use the input full-plan-at",
            "--summary-out": "the action sets it"}
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

# plan_facts PLANFILE: "has_changes needs_force blocked create update reactivate deactivate" of
# a saved plan, from `show --format json` (the plan document, schemas/plan.schema.json), and a
# warning annotation for each safety finding.
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
flags = (plan["has_changes"], safety["needs_force"], safety["blocked"])
summary = plan["summary"]
print(*("true" if flag else "false" for flag in flags),
      *(summary[kind] for kind in ("create", "update", "reactivate", "deactivate")))
'
}

# ensure_base BASE: a git revision the checkout lacks (actions/checkout fetches one commit by
# default) is fetched, one commit deep: REMOTE/BRANCH as that remote's branch, anything else
# (a branch, tag or commit) from origin. A file or folder, or a revision present, is left alone.
ensure_base() {
  local base="$1" remote=origin ref="$1"
  [[ -e "$base" ]] && return 0
  git rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 0
  git rev-parse --verify --quiet "$base^{commit}" >/dev/null && return 0
  if [[ "$base" == */* ]] && git remote | grep -qxF "${base%%/*}"; then
    remote="${base%%/*}"
    ref="+refs/heads/${base#*/}:refs/remotes/$base"
  fi
  git remote | grep -qxF "$remote" || return 0
  echo "::group::$(command_data "git fetch $remote (the base $base is not in this checkout)")"
  git fetch --no-tags --depth=1 "$remote" "$ref" \
    || echo "::warning::$(command_data "cannot fetch the base $base from $remote")"
  echo "::endgroup::"
}

# show_whole PLANFILE: the whole plan as text, kept in $text_file and printed in a log group
show_whole() {
  NO_COLOR=1 "${sync[@]}" show "$1" --format text >"$text_file" \
    || error "cannot read the saved plan '$1'"
  echo "::group::The whole plan"
  cat "$text_file"
  echo "::endgroup::"
}

# paths: one per line when the input has several lines (`paths: |`; a path may then hold
# spaces; blank lines skipped, each trimmed), else separated by whitespace. Never globbed.
paths=()
if [[ "${INPUT_PATHS:-}" == *$'\n'* ]]; then
  while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    if [[ -n "$line" ]]; then paths+=("$line"); fi
  done <<<"$INPUT_PATHS"
else
  set -f
  # shellcheck disable=SC2206
  paths=(${INPUT_PATHS:-})
  set +f
fi
if ((${#paths[@]} == 0)); then paths=(connectors/); fi

plan_file="${INPUT_PLAN_FILE:-}"
if [[ "$command" == apply && -n "$plan_file" ]]; then
  # Apply a saved plan (made and reviewed in an earlier job): no config is read, no new plan.
  [[ -f "$plan_file" ]] || error "input plan-file: no saved plan at '$plan_file'"
  split_args all >"$workdir/apply-args"
  echo "::group::$(command_data "adapter-sync show $plan_file")"
  "${sync[@]}" show "$plan_file" --format markdown ${full_plan_args[@]+"${full_plan_args[@]}"} \
    | tee "$markdown_file" || error "cannot read the saved plan '$plan_file'"
  echo "::endgroup::"
else
  split_args plan >"$workdir/plan-args"
  if [[ "$command" == apply ]]; then
    split_args saved >"$workdir/apply-args"
  fi
  [[ -n "$plan_file" ]] || plan_file="$workdir/plan.json"
  mkdir -p "$(dirname "$plan_file")"

  echo "::group::adapter-sync validate"
  status=0
  "${sync[@]}" validate "${paths[@]}" || status=$?
  echo "::endgroup::"  # closed on failure too: the error is read outside the group (#16)
  [[ "$status" == 0 ]] || error "adapter-sync validate: the configuration is invalid (exit $status; each problem is listed above)"

  plan_command=(plan "${paths[@]}")
  if [[ -n "${INPUT_BASE:-}" ]]; then
    ensure_base "$INPUT_BASE"
    plan_command+=(--base "$INPUT_BASE")
  fi
  read_words "$workdir/plan-args"
  plan_command+=(${words[@]+"${words[@]}"})
  echo "::group::adapter-sync plan"
  status=0
  # tee: the plan streams into the job log as it is made, and is kept for the summary/outputs.
  "${sync[@]}" "${plan_command[@]}" --format markdown --detailed-exitcode --out "$plan_file" \
    ${full_plan_args[@]+"${full_plan_args[@]}"} | tee "$markdown_file" || status=$?
  echo "::endgroup::"
  case "$status" in
    0 | 2) ;;
    *) error "adapter-sync plan failed (exit $status)" ;;
  esac
fi
show_whole "$plan_file"
facts="$(plan_facts "$plan_file")" || error "cannot read the saved plan '$plan_file'"
read -r has_changes needs_force blocked creates updates reactivates deactivates <<<"$facts"

summary "$markdown_file"
output has_changes "$has_changes"
output needs_force "$needs_force"
output blocked "$blocked"
output create_count "$creates"
output update_count "$updates"
output reactivate_count "$reactivates"
output deactivate_count "$deactivates"
output plan-file "$plan_file"
output text-file "$text_file"
output markdown-file "$markdown_file"
output markdown "$(cat "$markdown_file")"
echo "has_changes=$has_changes needs_force=$needs_force blocked=$blocked"

if [[ "$comment" == true ]]; then
  # What apply will say, first: never a --force that cannot pass.
  if [[ "$blocked" == true ]]; then
    printf '**Apply will refuse this plan, even with `--force`** (see the caution below): change the configuration; the apply workflow will not run it.\n\n' >"$workdir/lead.md"
  elif [[ "$needs_force" == true ]]; then
    printf '**Apply will refuse this plan without `--force`** (see the caution below): after review, run the apply workflow by hand with `force`.\n\n' >"$workdir/lead.md"
  else
    : >"$workdir/lead.md"
  fi
  cat "$workdir/lead.md" "$markdown_file" >"$workdir/reviewed.md"
  posted=true  # a failure to post is its own error, not a failed plan to post
  post_comment "$workdir/reviewed.md" || error "the plan comment could not be posted (see above)"
fi

if [[ "$drift_issue" == true ]]; then
  issue_marker="<!-- adapter-sync-drift${marker_name:+:$marker_name} -->"
  echo "::group::drift issue"
  status=0
  if [[ "$has_changes" == true ]]; then
    {
      printf '%s\nThe scheduled plan found changes%s (%s): the live connectors differ from the repository. Either apply the repository (merge, or run the apply workflow) or bring the repository in line with the live state (`adapter-sync import`). This issue is updated while the drift lasts and closed when it is gone.\n\n' \
        "$issue_marker" "${marker_name:+ in \`$marker_name\`}" "$(link_to_run run)"
      cat "$markdown_file"
    } >"$workdir/issue.md"
    rest issue "$issue_marker" \
      "adapter-sync: live connectors differ from the repository${marker_name:+ ($marker_name)}" \
      "$workdir/issue.md" || status=$?
  else
    rest close-issue "$issue_marker" \
      "No drift any more ($(link_to_run run)): the live connectors match the repository. Closing." \
      || status=$?
  fi
  echo "::endgroup::"
  [[ "$status" == 0 ]] || error "the drift issue could not be updated (see above)"
fi

if [[ "$command" == apply && "$has_changes" == true ]]; then
  read_words "$workdir/apply-args"
  echo "::group::adapter-sync apply"
  result_file="$workdir/apply.txt"
  report_file="$workdir/apply.md"
  status=0
  # Exactly the plan shown above (refused if the live state changed since). Each result line
  # reaches the job log as the action finishes (and heartbeats while waiting), so a long apply
  # is never silent; the apply's own Markdown report goes to the job summary.
  NO_COLOR=1 "${sync[@]}" apply --plan "$plan_file" --auto-approve --summary-out "$report_file" \
    ${words[@]+"${words[@]}"} 2>&1 | tee "$result_file" || status=$?
  echo "::endgroup::"
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    if [[ -s "$report_file" ]]; then
      printf '\n' | cat - "$report_file" >"$workdir/apply-summary.md"
    else  # refused before any write (stale, --force, blocked): its last words
      printf '\n### Apply FAILED\n\n```\n%s\n```\n' "$(tail -n 20 "$result_file" | cut -c1-2000)" \
        >"$workdir/apply-summary.md"
    fi
    summary "$workdir/apply-summary.md"
  fi
  if [[ "$status" != 0 ]]; then
    error "adapter-sync apply failed (exit $status)"
  fi
fi
