"""A local fake of the few GitHub REST endpoints the Action uses (issue comments and issues),
served on 127.0.0.1 for ``GITHUB_API_URL``.

- ``GET/POST /repos/O/R/issues/N/comments``, ``PATCH /repos/O/R/issues/comments/ID``
- ``GET/POST /repos/O/R/issues``, ``PATCH /repos/O/R/issues/N``

Listings are paginated as GitHub does (``per_page``, ``page``, a ``Link: <...>; rel="next"``
header), at most ``page_size`` per page whatever ``per_page`` asks, so tests see several pages.
Tokens: ``write_token`` may do everything; ``read_token`` may read, and a write with it gets
GitHub's 403 "Resource not accessible by integration"; any other token gets 401.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WRITE_TOKEN = "ghs_fake_write_token_0123456789"
READ_TOKEN = "ghs_fake_read_token_0123456789"


@dataclass
class FakeGitHub:
    repo: str = "acme/connectors"
    page_size: int = 100
    api_prefix: str = ""  # GitHub Enterprise Server serves the API under /api/v3
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, auth
    _ids: int = 1000

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any, link: str = "") -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if link:
                    self.send_header("Link", link)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                auth = self.headers.get("Authorization", "")
                fake.requests.append((method, self.path, auth))
                token = auth.removeprefix("Bearer ").removeprefix("token ")
                if token not in (WRITE_TOKEN, READ_TOKEN):
                    return self._answer(401, {"message": "Bad credentials"})
                if method != "GET" and token != WRITE_TOKEN:
                    return self._answer(403, {"message": "Resource not accessible by integration"})
                status, answer, link = fake.route(method, self.path, body, self.server_url)
                self._answer(status, answer, link)

            @property
            def server_url(self) -> str:
                host, port = self.server.server_address[:2]
                return f"http://{host}:{port}"

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the endpoints -------------------------------------------------------------------------

    def _id(self) -> int:
        self._ids += 1
        return self._ids

    def _page(self, items: list[Any], path: str, base: str) -> tuple[int, Any, str]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        per_page = min(int(query.get("per_page", ["30"])[0]), self.page_size)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page: page * per_page]
        link = ""
        if page * per_page < len(items):
            query["page"] = [str(page + 1)]
            rest = "&".join(f"{k}={v[0]}" for k, v in query.items())
            link = f'<{base}{parts.path}?{rest}>; rel="next"'
        return 200, chunk, link

    def route(self, method: str, path: str, body: Any, base: str) -> tuple[int, Any, str]:
        prefix = f"{self.api_prefix}/repos/{self.repo}"
        route = urlsplit(path).path
        if not route.startswith(prefix + "/"):
            return 404, {"message": "Not Found"}, ""
        route = route[len(prefix):]
        if m := re.fullmatch(r"/issues/(\d+)/comments", route):
            thread = self.comments.setdefault(int(m[1]), [])
            if method == "GET":
                return self._page(thread, path, base)
            comment = {"id": self._id(), "body": body["body"],
                       "user": {"login": "github-actions[bot]", "type": "Bot"},
                       "html_url": f"https://github.example/{self.repo}/pull/{m[1]}"}
            thread.append(comment)
            return 201, comment, ""
        if m := re.fullmatch(r"/issues/comments/(\d+)", route):
            for thread in self.comments.values():
                for comment in thread:
                    if comment["id"] == int(m[1]):
                        comment["body"] = body["body"]
                        return 200, comment, ""
            return 404, {"message": "Not Found"}, ""
        if route == "/issues":
            if method == "GET":
                query = parse_qs(urlsplit(path).query)
                state = query.get("state", ["open"])[0]
                labels = set(query.get("labels", [""])[0].split(",")) - {""}
                found = [i for i in self.issues if (state == "all" or i["state"] == state)
                         and labels <= {label["name"] for label in i["labels"]}]
                return self._page(found, path, base)
            issue = {"number": len(self.issues) + 1, "title": body["title"], "body": body["body"],
                     "state": "open", "labels": [{"name": n} for n in body.get("labels", [])]}
            self.issues.append(issue)
            return 201, issue, ""
        if m := re.fullmatch(r"/issues/(\d+)", route):
            issue = next((i for i in self.issues if i["number"] == int(m[1])), None)
            if issue is None:
                return 404, {"message": "Not Found"}, ""
            issue.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
            return 200, issue, ""
        return 404, {"message": "Not Found"}, ""

    # -- what tests read -----------------------------------------------------------------------

    def bodies(self, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get(number, [])]

    def open_issues(self) -> list[dict[str, Any]]:
        return [i for i in self.issues if i["state"] == "open"]
