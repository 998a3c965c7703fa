"""An S3-compatible bucket as the attachment store (AWS S3, MinIO, Ceph, Cloudflare R2, ...), over plain HTTPS.

Objects are written with `PUT` and read with `GET` at `<url>/<key>` (path-style: the bucket is the URL's first
path segment, which every S3-compatible server accepts), each request signed with AWS Signature Version 4
(`AWS4-HMAC-SHA256`, the payload's SHA-256 in `x-amz-content-sha256`). Keys are content hashes
(`sha256/<hex>`), so a PUT of a key that exists rewrites the same bytes and a retried upload is harmless.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from approvals.clock import Clock, utcnow

ALGORITHM = "AWS4-HMAC-SHA256"


class S3Error(Exception):
    """The bucket refused or failed a request; the message says which and what to check."""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    payload_hash: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    at: datetime,
    service: str = "s3",
) -> dict[str, str]:
    """The headers to send: `headers` plus host, x-amz-date, x-amz-content-sha256 and the SigV4 Authorization
    (every header given is signed). `url`'s path must already be URI-encoded as it will be sent."""
    parts = urlsplit(url)
    amz_date = at.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    host = parts.netloc
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    names = sorted(signed)
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    canonical = "\n".join(
        [
            method.upper(),
            parts.path or "/",
            query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {k: v for k, v in headers.items()}
    out.update({"x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    out["Authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope},SignedHeaders={';'.join(names)},Signature={signature}"
    )
    return out


class S3Store:
    """Attachments' bytes in an S3-compatible bucket (see the module docstring)."""

    name = "s3"

    def __init__(
        self,
        url: str,
        *,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        timeout: float = 30.0,
        clock: Clock = utcnow,
    ) -> None:
        self.url = url.rstrip("/")
        self._access_key, self._secret_key, self.region = access_key, secret_key, region
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self.clock = clock

    def _object(self, key: str) -> str:
        return f"{self.url}/{quote(key, safe='/')}"

    def _send(self, method: str, key: str, body: bytes = b"") -> httpx.Response:
        url = self._object(key)
        headers = sign(
            method,
            url,
            {"Content-Type": "application/octet-stream"} if method == "PUT" else {},
            hashlib.sha256(body).hexdigest(),
            access_key=self._access_key,
            secret_key=self._secret_key,
            region=self.region,
            at=self.clock(),
        )
        try:
            return self._http.request(method, url, content=body if method == "PUT" else None, headers=headers)
        except httpx.HTTPError as exc:
            raise S3Error(f"the attachment bucket at {self.url} did not answer ({type(exc).__name__})") from exc

    def put(self, session: Any, key: str, data: bytes) -> None:
        res = self._send("PUT", key, data)
        if res.status_code not in (200, 201, 204):
            raise S3Error(_why(res, self.url, "write"))

    def get(self, session: Any, key: str) -> bytes | None:
        res = self._send("GET", key)
        if res.status_code == 404:
            return None
        if res.status_code != 200:
            raise S3Error(_why(res, self.url, "read"))
        return res.content


def _why(res: httpx.Response, url: str, what: str) -> str:
    code = ""
    if "<Code>" in res.text:
        code = res.text.split("<Code>", 1)[1].split("</Code>", 1)[0][:60]
    hint = " Check the access key, the secret and the region." if res.status_code in (401, 403) else ""
    return f"the attachment bucket at {url} refused to {what} a file ({res.status_code} {code}).{hint}".replace(
        " ).", ")."
    )
