"""A small in-memory server speaking the parts of the Hugging Face Hub protocol that SignSpace uses.

Uploads: repo create, validate-yaml, preupload (always "regular": contents inline), NDJSON commit,
branch create, Space variables. Downloads: repo info by revision, tree listing (what ``load_dataset`` reads),
HEAD/GET resolve with X-Repo-Commit
and ETag, 404 + X-Error-Code for missing entries. Faults can be injected per path (status, count).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

TOKEN = "hf_testTOKENdoNotLeak0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_listing(tree: dict[str, bytes], folder: str, recursive: bool) -> list[dict]:
    """Entries under ``folder`` as the tree API lists them: files with size and oid, then implied folders."""
    prefix = f"{folder}/" if folder else ""
    entries: dict[str, dict] = {}
    for path, data in sorted(tree.items()):
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        for depth in range(1, len(parts)):  # the folders on the way
            if depth > 1 and not recursive:
                break
            sub = prefix + "/".join(parts[:depth])
            entries.setdefault(
                sub, {"type": "directory", "path": sub, "oid": hashlib.sha1(sub.encode()).hexdigest(), "size": 0}
            )
        if recursive or len(parts) == 1:
            entries[path] = {"type": "file", "path": path, "oid": hashlib.sha1(data).hexdigest(), "size": len(data)}
    if folder and not entries:
        raise KeyError(folder)
    return list(entries.values())


def read_commit(body: str) -> tuple[dict, list, str]:
    """The NDJSON body of a commit: (files added, paths deleted, summary)."""
    files, deleted, message = {}, [], ""
    for line in body.splitlines():
        item = json.loads(line)
        if item["key"] == "header":
            message = item["value"].get("summary", "")
        elif item["key"] == "file":
            files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
        elif item["key"] == "deletedFile":
            deleted.append(item["value"]["path"])
        else:
            raise ValueError(f"unsupported commit line {item['key']}")
    return files, deleted, message


def repo_info(repo, repo_id: str, revision: str):
    sha = repo.branches.get(revision) or (revision if revision in repo.trees else None)
    if sha is None:
        return 404, {"error": f"Invalid rev id: {revision}"}, {"X-Error-Code": "RevisionNotFound"}
    siblings = [{"rfilename": name} for name in sorted(repo.trees[sha])]
    info = {"id": repo_id, "modelId": repo_id, "sha": sha, "private": repo.private, "sdk": repo.sdk}
    return 200, {**info, "siblings": siblings}, {}


def space_settings(repo, method: str, tail: str, body: str):
    """A Space's variables (read, add) and requested hardware."""
    if tail == "variables" and method == "POST":
        data = json.loads(body)
        repo.variables[data["key"]] = data["value"]
    elif tail == "hardware" and method == "POST":
        repo.hardware = json.loads(body)["flavor"]
        runtime = {"current": None, "requested": repo.hardware}
        return (
            200,
            {"stage": "BUILDING", "hardware": runtime, "storage": None, "gcTimeout": None, "sdkVersion": None},
            {},
        )
    elif method != "GET" or tail != "variables":
        raise KeyError(tail)
    return 200, {k: {"value": v} for k, v in repo.variables.items()}, {}


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    sdk: str | None = None
    branches: dict[str, str] = field(default_factory=dict)  # branch -> commit sha
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit sha -> files
    variables: dict[str, str] = field(default_factory=dict)
    hardware: str | None = None
    commits: list[dict] = field(default_factory=list)


class HubServer:
    def __init__(self, port: int):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.lock = threading.Lock()
        self.reset()

    # ---- test controls -------------------------------------------------------------------------
    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.repos: dict[tuple[str, str], Repo] = {}
            self.faults: list[dict] = []
            self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers)

    def fail(self, path_regex: str, status: int, times: int = 1, method: str | None = None) -> None:
        """The next ``times`` requests whose path matches answer ``status`` (e.g. 503, 401)."""
        self.faults.append({"pattern": re.compile(path_regex), "status": status, "times": times, "method": method})

    def add_repo(self, repo_id: str, files: dict[str, bytes], repo_type: str = "model", branch: str = "main") -> str:
        with self.lock:
            repo = self.repos.setdefault((repo_type, repo_id), Repo(repo_type, repo_id))
            return self._commit(repo, branch, files, "seed")

    def files(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> dict[str, bytes]:
        repo = self.repos[(repo_type, repo_id)]
        return repo.trees[repo.branches[revision]]

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        return self.repos[(repo_type, repo_id)]

    # ---- server ---------------------------------------------------------------------------------
    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server._handle(self, "GET")

            def do_HEAD(self):
                server._handle(self, "HEAD")

            def do_POST(self):
                server._handle(self, "POST")

            def do_PUT(self):
                server._handle(self, "PUT")

            def do_DELETE(self):
                server._handle(self, "DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- protocol -------------------------------------------------------------------------------
    def _commit(self, repo: Repo, branch: str, files: dict[str, bytes], message: str, deleted=()) -> str:
        parent = repo.branches.get(branch)
        tree = dict(repo.trees.get(parent, {}))
        tree.update(files)
        for path in deleted:
            tree.pop(path, None)
        digest = hashlib.sha1(f"{parent}{message}{len(repo.commits)}".encode())
        for path in sorted(tree):
            digest.update(path.encode() + hashlib.sha1(tree[path]).digest())
        sha = digest.hexdigest()
        repo.trees[sha] = tree
        repo.branches[branch] = sha
        repo.commits.append({"sha": sha, "branch": branch, "message": message, "files": sorted(files)})
        return sha

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(request.path)
        path = unquote(url.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        self.requests.append((method, path, dict(request.headers)))
        for fault in self.faults:
            if fault["times"] > 0 and fault["pattern"].search(path) and fault["method"] in (None, method):
                fault["times"] -= 1
                return self._send(request, fault["status"], {"error": f"injected {fault['status']}"})
        try:
            status, payload, headers = self._route(method, path, url.path, body, request.headers, parse_qs(url.query))
        except KeyError as exc:
            status, payload, headers = 404, {"error": f"not found: {exc}"}, {"X-Error-Code": "RepoNotFound"}
        self._send(request, status, payload, headers, head=method == "HEAD")

    def _send(self, request, status, payload, headers=None, head=False) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        request.send_response(status)
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        if not isinstance(payload, bytes):
            request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if not head:
            request.wfile.write(data)

    def _authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {TOKEN}"

    def _route(self, method, path, raw_path, body, headers, query):
        if method == "POST" and path == "/api/repos/create":
            if not self._authorized(headers):
                return 401, {"error": "Invalid credentials in Authorization header"}, {}
            data = json.loads(body)
            repo_type = data.get("type") or "model"
            repo_id = f"{data['organization']}/{data['name']}" if data.get("organization") else data["name"]
            if "/" not in repo_id:
                repo_id = f"tester/{repo_id}"
            key = (repo_type, repo_id)
            prefix = "" if repo_type == "model" else f"{repo_type}s/"
            answer = {"url": f"{self.endpoint}/{prefix}{repo_id}", "name": repo_id}
            with self.lock:
                if key in self.repos:
                    return 409, {"error": "You already created this repo", **answer}, {}
                repo = Repo(
                    repo_type,
                    repo_id,
                    private=data.get("visibility") == "private" or bool(data.get("private")),
                    sdk=data.get("sdk"),
                )
                repo.variables.update({v["key"]: v["value"] for v in data.get("variables") or []})
                self.repos[key] = repo
                self._commit(repo, "main", {".gitattributes": b"*.safetensors filter=lfs\n"}, "initial commit")
            return 200, answer, {}
        if method == "POST" and path == "/api/validate-yaml":
            return 200, {"errors": [], "warnings": []}, {}
        if path.startswith("/api/"):
            return self._api(method, path[len("/api/") :], body, headers, query)
        return self._resolve(method, raw_path, headers)

    def _api(self, method, rest, body, headers, query):
        match = re.match(r"^(models|datasets|spaces)/([^/]+/[^/]+)(?:/(.*))?$", rest)
        if not match:
            raise KeyError(rest)
        repo_type, repo_id, tail = match.group(1)[:-1], match.group(2), match.group(3) or ""
        repo = self.repos[(repo_type, repo_id)]
        if repo.private and not self._authorized(headers):
            raise KeyError(repo_id)
        if method in ("POST", "PUT", "DELETE") and not self._authorized(headers):
            return 401, {"error": "Invalid credentials in Authorization header"}, {}
        if method == "GET" and (tail == "" or tail.startswith("revision/")):
            return repo_info(repo, repo_id, tail[len("revision/") :] if tail else "main")
        if method == "GET" and tail.startswith("tree/"):  # what load_dataset lists (HfFileSystem)
            revision, _, folder = tail[len("tree/") :].partition("/")
            sha = repo.branches.get(revision) or (revision if revision in repo.trees else None)
            if sha is None:
                return 404, {"error": f"Invalid rev id: {revision}"}, {"X-Error-Code": "RevisionNotFound"}
            recursive = query.get("recursive", ["false"])[0] == "true"
            return 200, tree_listing(repo.trees[sha], folder.strip("/"), recursive), {}
        if method == "POST" and tail.startswith("preupload/"):
            files = json.loads(body)["files"]
            return (
                200,
                {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]},
                {},
            )
        if method == "POST" and tail.startswith("commit/"):
            branch = tail[len("commit/") :]
            if branch not in repo.branches:
                return 404, {"error": f"Invalid rev id: {branch}"}, {"X-Error-Code": "RevisionNotFound"}
            try:
                files, deleted, message = read_commit(body)
            except ValueError as exc:
                return 400, {"error": str(exc)}, {}
            with self.lock:
                sha = self._commit(repo, branch, files, message, deleted)
            prefix = "" if repo_type == "model" else f"{repo_type}s/"
            return 200, {"commitOid": sha, "commitUrl": f"{self.endpoint}/{prefix}{repo_id}/commit/{sha}"}, {}
        if method == "POST" and tail.startswith("branch/"):
            branch = tail[len("branch/") :]
            if branch in repo.branches:
                return 409, {"error": "Reference already exists"}, {}
            repo.branches[branch] = repo.branches["main"]
            return 200, {}, {}
        if tail in ("variables", "hardware"):
            return space_settings(repo, method, tail, body)
        raise KeyError(tail)

    def _resolve(self, method, raw_path, headers):
        # The revision is one URL-quoted segment ("refs%2Fpr%2F1"), so match before unquoting.
        match = re.match(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", raw_path)
        if not match or method not in ("GET", "HEAD"):
            raise KeyError(raw_path)
        repo_type = (match.group(1) or "models")[:-1]
        repo_id, revision, filename = unquote(match.group(2)), unquote(match.group(3)), unquote(match.group(4))
        repo = self.repos[(repo_type, repo_id)]
        sha = repo.branches.get(revision) or (revision if revision in repo.trees else None)
        if sha is None:
            return 404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"}
        tree = repo.trees[sha]
        if filename not in tree:
            return 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha}
        data = tree[filename]
        etag = f'"{hashlib.sha1(data).hexdigest()}"'
        return 200, data, {"X-Repo-Commit": sha, "ETag": etag, "Content-Type": "application/octet-stream"}
