"""A shared file as players and podcast apps ask for it: ranges, and a copy they already hold.

Starlette's FileResponse answers Range requests (206, 416, HEAD, If-Range),
which iOS Safari needs before it plays audio. Two things RFC 9110 asks for
it does not do, and this does: a Range header in a unit other than bytes, or
whose ranges are not valid (the last byte before the first), is ignored and
the whole file sent; and ``If-None-Match`` with the file's current ETag gets
304, so a client revalidating its copy does not download it again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

BYTE_RANGE = re.compile(r"\s*(?:(\d+)-(\d*)|-\d+)\s*")
KEPT_ON_304 = ("etag", "last-modified", "cache-control", "accept-ranges")


class SharedFileResponse(FileResponse):
    def __init__(self, path: Path, media_type: str) -> None:
        # Stated now, so the ETag is known before anything is sent.
        super().__init__(path, media_type=media_type, filename=path.name, content_disposition_type="inline", stat_result=os.stat(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        if scope["method"] in ("GET", "HEAD") and etag_matches(headers.get("if-none-match"), self.headers["etag"]):
            kept = {name: self.headers[name] for name in KEPT_ON_304 if name in self.headers}
            await Response(status_code=304, headers=kept)(scope, receive, send)
            return
        if "range" in headers and not valid_byte_ranges(headers["range"]):
            scope = {**scope, "headers": [(name, value) for name, value in scope["headers"] if name.lower() != b"range"]}
        await super().__call__(scope, receive, send)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weakly compared, as RFC 9110 says for it) or is "*"."""
    if if_none_match is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def valid_byte_ranges(value: str) -> bool:
    """Whether a Range header asks for bytes, in ranges each of whose first byte is not after its last."""
    unit, _, ranges = value.partition("=")
    if unit.strip().lower() != "bytes":
        return False
    for part in ranges.split(","):
        match = BYTE_RANGE.fullmatch(part)
        if not match or (match[2] and int(match[2]) < int(match[1])):
            return False
    return True
