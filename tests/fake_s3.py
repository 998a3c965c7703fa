"""A small S3-compatible bucket on 127.0.0.1: PUT and GET of objects, path-style (`/<bucket>/<key>`), every request
checked as S3 checks it (AWS Signature Version 4 over the signed headers, the payload's SHA-256 in
x-amz-content-sha256), refused with S3's XML errors (403 SignatureDoesNotMatch, 404 NoSuchKey)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from connectors.s3 import sign
from tests.erp_fakes import FakeServer, Reply

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request,SignedHeaders=([^,]+),Signature="
)


def _error(status: int, code: str) -> Reply:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code}</Message></Error>'
    return status, {"Content-Type": "application/xml"}, body.encode()


class FakeS3(FakeServer):
    def __init__(self, *, bucket: str, access_key: str, secret_key: str, region: str = "us-east-1") -> None:
        super().__init__()
        self.bucket, self.access_key, self.secret_key, self.region = bucket, access_key, secret_key, region
        self.objects: dict[str, bytes] = {}

    @property
    def bucket_url(self) -> str:
        return f"{self.url}/{self.bucket}"

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        refused = self._refusal(method, path, headers, body)
        if refused is not None:
            return refused
        prefix = f"/{self.bucket}/"
        if not path.startswith(prefix):
            return _error(404, "NoSuchBucket")
        key = unquote(path[len(prefix) :])
        if method == "PUT":
            self.objects[key] = body
            return 200, {"ETag": '"' + hashlib.md5(body).hexdigest() + '"'}, None  # noqa: S324 - S3's ETag
        if method == "GET":
            if key not in self.objects:
                return _error(404, "NoSuchKey")
            return 200, {"Content-Type": "application/octet-stream"}, self.objects[key]
        return _error(405, "MethodNotAllowed")

    def _refusal(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        found = _AUTH.match(headers.get("authorization", ""))
        if found is None:
            return _error(403, "AccessDenied")
        access_key, _, region, names = found.groups()
        if access_key != self.access_key:
            return _error(403, "InvalidAccessKeyId")
        if headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            return _error(400, "XAmzContentSHA256Mismatch")
        at = datetime.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        given = {
            n: headers.get(n, "") for n in names.split(";") if n not in ("host", "x-amz-date", "x-amz-content-sha256")
        }
        expected = sign(
            method,
            f"http://{headers.get('host', '')}{path}",
            given,
            headers["x-amz-content-sha256"],
            access_key=access_key,
            secret_key=self.secret_key,
            region=region,
            at=at,
        )["Authorization"]
        if expected != headers.get("authorization") or region != self.region:
            return _error(403, "SignatureDoesNotMatch")
        return None

    def error_body(self, status: int, message: str) -> Any:
        return _error(status, "InternalError")[2]
