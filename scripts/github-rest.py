#!/usr/bin/env python3
"""The GitHub REST calls of the adapter-sync Action (scripts/github-action.sh runs this).

    github-rest.py comment MARKER BODY_FILE
        Create or update THE comment of this pull request whose body starts with MARKER (one
        per environment: the marker names it), with the text of BODY_FILE.
    github-rest.py issue MARKER TITLE BODY_FILE
        Update the open issue labelled adapter-sync-drift whose body holds MARKER, or open one.
    github-rest.py close-issue MARKER TEXT
        Close that issue (if one is open), with TEXT as a last comment.

Environment: GITHUB_API_URL (https://api.github.com unless GitHub Enterprise says otherwise),
GITHUB_REPOSITORY (owner/name), GITHUB_EVENT_PATH (the event: the pull request's number),
INPUT_GITHUB_TOKEN (the job's token; never printed). Standard library only (urllib): the Action
installs adapter-sync and nothing else. Prints what it did; on failure one ``::error::`` line
saying what to fix, exit 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

LABEL = "adapter-sync-drift"
TIMEOUT = 30
#: GitHub refuses a comment or issue body over 65,536 characters.
BODY_LIMIT = 65_536
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')

#: What each kind of write needs from the token, for the 403 message.
PERMISSION = {"comment": "pull-requests: write", "issue": "issues: write"}


class Failure(Exception):
    """A failure the user fixes; its text is the one line shown."""


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), (parts.netloc.rsplit("@", 1)[-1]).lower()


class _SameOrigin(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only on the API's own scheme and host: urllib would carry the
    Authorization header (the job's token) to any host an answer points at."""

    def __init__(self, api: str) -> None:
        super().__init__()
        self.origin = _origin(api)

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        if _origin(newurl) != self.origin:
            scheme, host = _origin(newurl)
            raise Failure(f"{req.get_method()} {req.full_url.split('?', 1)[0]}: redirected "
                          f"(HTTP {code}) to another host ({scheme}://{host}); refused: the "
                          "token is only sent to GITHUB_API_URL")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class GitHub:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
        self.opener = urllib.request.build_opener(_SameOrigin(self.api))
        self.repo = os.environ.get("GITHUB_REPOSITORY", "")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", self.repo):
            raise Failure(f"GITHUB_REPOSITORY must be OWNER/NAME, not {self.repo!r}")
        self.token = os.environ.get("INPUT_GITHUB_TOKEN", "").strip()
        if not self.token:
            raise Failure("input github-token is empty: pass ${{ github.token }} (the default) "
                          "or a token that may write " + PERMISSION[kind].split(":")[0])

    def call(self, method: str, path_or_url: str, body: Any = None) -> tuple[Any, str]:
        """(the decoded answer, its Link header) of one call; Failure on any error."""
        url = path_or_url if path_or_url.startswith(self.api + "/") else self.api + path_or_url
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
            "Authorization": f"Bearer {self.token}", "User-Agent": "adapter-sync-action",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with self.opener.open(request, timeout=TIMEOUT) as answer:
                raw = answer.read()
                link = answer.headers.get("Link", "")
        except urllib.error.HTTPError as error:
            raise Failure(self._explain(method, url, error)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise Failure(f"{method} {self._shown(url)}: cannot reach the GitHub API "
                          f"({reason}); check GITHUB_API_URL") from None
        try:
            return (json.loads(raw) if raw else None), link
        except ValueError:
            raise Failure(f"{method} {self._shown(url)}: the answer is not JSON") from None

    def _shown(self, url: str) -> str:
        return url.split("?", 1)[0]

    def _explain(self, method: str, url: str, error: urllib.error.HTTPError) -> str:
        try:
            message = str(json.loads(error.read() or b"{}").get("message", ""))
        except (ValueError, AttributeError, OSError):
            message = ""
        message = " ".join(message.split())[:200]
        said = f"HTTP {error.code}" + (f": {message}" if message else "")
        where = f"{method} {self._shown(url)}"
        if error.code == 403 and "rate limit" in message.lower():
            return f"{where}: the GitHub API rate limit was reached ({said}); run the job again later"
        if error.code == 403:
            return (f"{where}: the token may not do this ({said}): give the job "
                    f"`permissions: {PERMISSION[self.kind]}` (pull requests from forks only get "
                    "a read-only token)")
        if error.code == 401:
            return f"{where}: the token was refused ({said}): check the input github-token"
        if error.code == 404:
            return (f"{where}: not found ({said}): check GITHUB_REPOSITORY and that the token "
                    "can see this repository")
        return f"{where}: {said}"

    def paginate(self, path: str) -> list[Any]:
        """Every item of a listing, following its Link: rel="next" pages (on this API only)."""
        items: list[Any] = []
        url: str | None = path
        while url:
            page, link = self.call("GET", url)
            if not isinstance(page, list):
                raise Failure(f"GET {self._shown(self.api + path)}: expected a list")
            items += page
            found = _NEXT.search(link)
            url = found.group(1) if found and found.group(1).startswith(self.api + "/") else None
        return items


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        body = handle.read()
    if len(body) > BODY_LIMIT:
        raise Failure(f"the text is {len(body):,} characters; GitHub takes at most {BODY_LIMIT:,}")
    return body


def pull_request_number() -> int:
    path = os.environ.get("GITHUB_EVENT_PATH", "")
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError):
        event = {}
    number = (event.get("pull_request") or {}).get("number")
    if number is None and (event.get("issue") or {}).get("pull_request"):
        number = event["issue"].get("number")  # issue_comment on a pull request
    if not isinstance(number, int):
        raise Failure("input comment: this event has no pull request (GITHUB_EVENT_PATH); "
                      "comment only on pull_request events")
    return number


def comment(marker: str, body_file: str) -> str:
    github = GitHub("comment")
    body = _read(body_file)
    number = pull_request_number()
    listing = github.paginate(f"/repos/{github.repo}/issues/{number}/comments?per_page=100")
    mine = next((c for c in listing if str(c.get("body") or "").startswith(marker)), None)
    if mine is not None:
        done, _ = github.call("PATCH", f"/repos/{github.repo}/issues/comments/{mine['id']}",
                              {"body": body})
        return f"Updated the plan comment on #{number}: {(done or {}).get('html_url', '')}"
    done, _ = github.call("POST", f"/repos/{github.repo}/issues/{number}/comments", {"body": body})
    return f"Posted the plan comment on #{number}: {(done or {}).get('html_url', '')}"


def _open_issues(github: GitHub, marker: str) -> list[dict[str, Any]]:
    listing = github.paginate(f"/repos/{github.repo}/issues?state=open&labels={LABEL}"
                              "&per_page=100")
    return [i for i in listing if "pull_request" not in i
            and marker in str(i.get("body") or "")]


def issue(marker: str, title: str, body_file: str) -> str:
    github = GitHub("issue")
    body = _read(body_file)
    found = _open_issues(github, marker)
    if found:
        number = found[0]["number"]
        github.call("PATCH", f"/repos/{github.repo}/issues/{number}", {"title": title, "body": body})
        return f"Updated drift issue #{number}"
    done, _ = github.call("POST", f"/repos/{github.repo}/issues",
                          {"title": title, "body": body, "labels": [LABEL]})
    return f"Opened drift issue #{(done or {}).get('number', '?')}"


def close_issue(marker: str, text: str) -> str:
    github = GitHub("issue")
    closed = []
    for found in _open_issues(github, marker):
        number = found["number"]
        github.call("POST", f"/repos/{github.repo}/issues/{number}/comments", {"body": text})
        github.call("PATCH", f"/repos/{github.repo}/issues/{number}",
                    {"state": "closed", "state_reason": "completed"})
        closed.append(f"#{number}")
    return f"Closed drift issue {', '.join(closed)}" if closed else "No drift issue open"


def main(argv: list[str]) -> int:
    commands = {"comment": (comment, 2), "issue": (issue, 3), "close-issue": (close_issue, 2)}
    if len(argv) < 1 or argv[0] not in commands or len(argv) - 1 != commands[argv[0]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    function, _ = commands[argv[0]]
    try:
        print(function(*argv[1:]))
    except Failure as failure:
        text = str(failure).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::error title=adapter-sync::{text}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
