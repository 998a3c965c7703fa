"""Attachments kept in an S3-compatible bucket: requests signed as AWS documents (Signature Version 4), files written
and read back through the service, a refused key told clearly with nothing half-written, settings checked."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from approvals.attachments import Attachment
from approvals.workflow.attachments import attach_command
from bot.settings import Settings
from connectors.s3 import S3Error, S3Store, sign
from tests import attachment_files as files
from tests.factories import boxes, submit
from tests.fake_s3 import FakeS3

KEY, SECRET = "AKIDPROCUREBOT", "s3cr3t-procurebot-0123456789"


def test_the_signature_is_the_one_aws_publishes_for_its_example_request():
    """AWS's Signature Version 4 example for S3 (GET /test.txt with a Range header, 24 May 2013) signs to the
    signature AWS gives for it."""
    headers = sign(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        {"Range": "bytes=0-9"},
        hashlib.sha256(b"").hexdigest(),
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        at=datetime(2013, 5, 24, tzinfo=timezone.utc),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


@pytest.fixture
def bucket():
    with FakeS3(bucket="pb-files", access_key=KEY, secret_key=SECRET) as fake:
        yield fake


def test_a_quote_goes_to_the_bucket_and_comes_back(service, bucket):
    """With the bucket as the store, Jake's quote is written under its SHA-256, and Maria reads the same bytes."""
    service.attachment_store = S3Store(bucket.bucket_url, access_key=KEY, secret_key=SECRET, clock=service.clock)
    number = service.submit(submit(lines=[boxes(80)])).number
    quote = files.pdf()
    service.attach(
        attach_command(actor="jake.miller", surface="web", number=number, filename="q.pdf", data=quote), quote
    )
    assert bucket.objects == {f"sha256/{hashlib.sha256(quote).hexdigest()}": quote}
    listed = service.attachments(number, "maria.lopez")
    assert service.attachment(number, listed[0].id, "maria.lopez")[1] == quote


def test_a_wrong_secret_is_told_and_nothing_is_recorded(service, bucket):
    """A store configured with the wrong secret refuses the upload with what to check; no attachment is recorded."""
    service.attachment_store = S3Store(bucket.bucket_url, access_key=KEY, secret_key="wrong", clock=service.clock)
    number = service.submit(submit(lines=[boxes(80)])).number
    quote = files.pdf()
    with pytest.raises(S3Error, match="refused to write a file \\(403 SignatureDoesNotMatch\\). Check the access key"):
        service.attach(
            attach_command(actor="jake.miller", surface="web", number=number, filename="q.pdf", data=quote), quote
        )
    with Session(service.engine) as s:
        assert s.exec(select(Attachment)).all() == []
    assert bucket.objects == {}


def test_the_bucket_settings_are_checked_at_start():
    """A bucket URL without keys, with a directory as well, or over plain http to another host is refused."""
    base = {"_env_file": None, "attachments_s3_url": "https://s3.us-east-1.amazonaws.com/pb-files"}
    with pytest.raises(ValidationError, match="PROCUREBOT_ATTACHMENTS_S3_ACCESS_KEY_ID"):
        Settings(**base)
    keys = {"attachments_s3_access_key_id": KEY, "attachments_s3_secret_access_key": SECRET}
    with pytest.raises(ValidationError, match="not both"):
        Settings(**base, **keys, attachments_dir="/srv/files")
    with pytest.raises(ValidationError, match="must be https and end in the bucket"):
        Settings(**{**base, "attachments_s3_url": "http://files.example.com/pb-files"}, **keys)
    assert Settings(**base, **keys).attachments_s3_region == "us-east-1"


def test_the_server_keeps_uploads_in_the_configured_bucket(db_url, bucket, tmp_path):
    """A server started with PROCUREBOT_ATTACHMENTS_S3_* settings keeps an API upload in the bucket, not in the
    database, and serves it back."""
    from fastapi.testclient import TestClient

    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.tokens import create_token

    settings = Settings(
        database_url=db_url,
        admin_token=None,
        env="dev",
        var_dir=tmp_path,
        _env_file=None,
        attachments_s3_url=bucket.bucket_url,
        attachments_s3_access_key_id=KEY,
        attachments_s3_secret_access_key=SECRET,
    )
    runtime = build_runtime(settings)
    with TestClient(create_app(settings, runtime=runtime)) as client:
        h = {"Authorization": f"Bearer {create_token(runtime.engine, name='t', role='service', act_as=True)}"}
        number = runtime.service.submit(submit(lines=[boxes(80)])).number
        quote = files.pdf()
        posted = client.post(
            f"/api/v1/requisitions/{number}/attachments",
            headers=h,
            data={"actor": "jake.miller"},
            files={"file": ("quote.pdf", quote, "application/pdf")},
        )
        assert posted.status_code == 201, posted.text
        assert list(bucket.objects.values()) == [quote]
        assert client.get(posted.json()["attachments"][0]["download"], headers=h).content == quote
    runtime.engine.dispose()
