#!/usr/bin/env bash
# The logic of the adapter-sync GitHub Action (action.yml calls this after installing).
#
# Environment (set by action.yml; set them yourself to run it anywhere):
#   INPUT_PATHS          files/folders to read, separated by spaces or newlines (default connectors/)
#   INPUT_COMMAND        plan (default) or apply
#   ADAPTER_API_URL      API base URL (read by adapter-sync itself)
#   ADAPTER_API_KEY      API key (read by adapter-sync itself; never printed)
#   GITHUB_STEP_SUMMARY  file the Markdown plan is appended to (optional)
#   GITHUB_OUTPUT        file the step outputs are written to (optional)
#   RUNNER_TEMP          folder for the plan file (default: a new temporary folder)
#
# Outputs: has_changes (true/false), markdown-file (path of the Markdown plan), markdown (its text,
# cut at 60,000 bytes so it fits in a pull-request comment).
# Exit status: 0 when everything went well, changes or not; 1 on any error.
set -euo pipefail

command="${INPUT_COMMAND:-plan}"
case "$command" in
  plan | apply) ;;
  *) echo "::error::input 'command' must be 'plan' or 'apply', not '$command'"; exit 1 ;;
esac

# Paths: split on whitespace (GitHub inputs are strings); no globbing.
set -f
# shellcheck disable=SC2206
paths=(${INPUT_PATHS:-connectors/})
set +f

if command -v adapter-sync >/dev/null 2>&1; then
  sync=(adapter-sync)
else
  sync=("${PYTHON:-python3}" -m adapter_sync)
fi

workdir="${RUNNER_TEMP:-}"
if [[ -z "$workdir" ]]; then
  workdir="$(mktemp -d)"
fi
markdown_file="$workdir/adapter-sync-plan.md"

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

echo "::group::adapter-sync validate"
"${sync[@]}" validate "${paths[@]}"
echo "::endgroup::"

echo "::group::adapter-sync plan"
status=0
# tee: the plan streams into the job log as it is made, and is kept for the summary/outputs.
"${sync[@]}" plan "${paths[@]}" --format markdown --detailed-exitcode | tee "$markdown_file" \
  || status=$?
echo "::endgroup::"

case "$status" in
  0) has_changes=false ;;
  2) has_changes=true ;;
  *) echo "::error::adapter-sync plan failed (exit $status)"; exit 1 ;;
esac
summary "$markdown_file"
output has_changes "$has_changes"
output markdown-file "$markdown_file"
if (($(wc -c <"$markdown_file") > 60000)); then  # a PR comment holds 65,536 characters
  output markdown "$(head -c 60000 "$markdown_file")
$(printf '\n_(plan truncated: the whole plan is in the job summary)_')"
else
  output markdown "$(cat "$markdown_file")"
fi
echo "has_changes=$has_changes"

if [[ "$command" == apply && "$has_changes" == true ]]; then
  echo "::group::adapter-sync apply"
  result_file="$workdir/adapter-sync-apply.txt"
  status=0
  # Each result line reaches the job log as the action finishes (and heartbeats while waiting),
  # so a long apply is never silent; the copy in $result_file goes to the job summary.
  NO_COLOR=1 "${sync[@]}" apply "${paths[@]}" --auto-approve 2>&1 | tee "$result_file" \
    || status=$?
  echo "::endgroup::"
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    {
      printf '\n### Apply %s\n\n```\n' "$([[ $status == 0 ]] && echo succeeded || echo FAILED)"
      cat "$result_file"
      printf '```\n'
    } >>"$GITHUB_STEP_SUMMARY"
  fi
  if [[ "$status" != 0 ]]; then
    echo "::error::adapter-sync apply failed (exit $status)"
    exit 1
  fi
fi
