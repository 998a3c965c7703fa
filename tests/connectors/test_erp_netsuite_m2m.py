"""NetSuite OAuth 2.0 machine to machine: a signed JWT client assertion for an access token, against the fake."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from erp_fakes import FakeNetSuite
from test_erp_business_central import order

from connectors.erp.base import PermanentError, TransientError
from connectors.erp.config import ErpSettings
from connectors.erp.netsuite import ClientCredentials, NetSuite

CLIENT_ID = "5f1c2d0e9a" * 6
CERT_ID = "Zm9vYmFyY2VydGlmaWNhdGVpZA"
SKUS = {"PKG-SW-18", "PKG-BOX-2012"}


@pytest.fixture(scope="module")
def rsa_key():  # type: ignore[no-untyped-def]
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def netsuite(rsa_key):  # type: ignore[no-untyped-def]
    with FakeNetSuite(
        token="not-used-" + "x" * 20,
        vendors={"uline"},
        items=SKUS,
        client_id=CLIENT_ID,
        certificate_id=CERT_ID,
        public_key=rsa_key.public_key(),
    ) as fake:
        yield fake


def connector(fake, key, *, algorithm="PS256", certificate_id=CERT_ID) -> NetSuite:  # type: ignore[no-untyped-def]
    auth = ClientCredentials(
        token_url=f"{fake.url}/auth/oauth2/v1/token",
        client_id=CLIENT_ID,
        certificate_id=certificate_id,
        private_key=key,
        algorithm=algorithm,
    )
    return NetSuite(base_url=fake.url, auth=auth, timeout=5.0)


def test_m2m_token_from_a_signed_assertion_then_the_po_is_upserted(netsuite, rsa_key):
    """The connector signs a PS256 JWT (kid = certificate id, iss = client id, aud = token endpoint, scope
    rest_webservices, at most an hour), gets one access token and uses it for every call."""
    erp = connector(netsuite, rsa_key)
    po = erp.create_po(order())
    assert po.created and po.number.startswith("PO")
    assert erp.create_po(order()).created is False and erp.get_po_status("PR-1042").status == "open"
    assert len(netsuite.assertions) == 1
    header, payload = netsuite.assertions[0]
    assert (header["alg"], header["kid"], header["typ"]) == ("PS256", CERT_ID, "JWT")
    assert payload["iss"] == CLIENT_ID and payload["aud"] == f"{netsuite.url}/auth/oauth2/v1/token"
    assert payload["scope"] == "rest_webservices" and 0 < payload["exp"] - payload["iat"] <= 3600
    api_calls = [r for r in netsuite.requests if r[1] != "/auth/oauth2/v1/token"]
    assert all(r[2]["authorization"] == "Bearer ns-m2m-1" for r in api_calls)
    token_call = next(r for r in netsuite.requests if r[1] == "/auth/oauth2/v1/token")
    assert "authorization" not in token_call[2]  # the assertion is the credential; no secret travels as a header


def test_an_ec_key_signs_with_es256(rsa_key):
    """A certificate with an EC key works the same way, signed ES256."""
    key = ec.generate_private_key(ec.SECP256R1())
    with FakeNetSuite(
        token="unused-" + "y" * 20,
        vendors={"uline"},
        items=SKUS,
        client_id=CLIENT_ID,
        certificate_id=CERT_ID,
        public_key=key.public_key(),
    ) as fake:
        erp = connector(fake, key, algorithm="ES256")
        assert erp.create_po(order()).created
        assert fake.assertions[0][0]["alg"] == "ES256"


def test_a_revoked_token_is_replaced_once_and_the_call_repeated(netsuite, rsa_key):
    """NetSuite revokes the access token: the next call gets 401, fetches a new token and succeeds; still
    one PO."""
    erp = connector(netsuite, rsa_key)
    erp.create_po(order())
    netsuite.revoke()
    assert erp.get_po_status("PR-1042") is not None
    assert len(netsuite.assertions) == 2 and len(netsuite.orders) == 1


def test_the_token_is_renewed_before_it_expires(netsuite, rsa_key):
    """An hour-long token is used until a minute before its end, then a new assertion gets a new one."""
    now = [1_800_000_000.0]
    netsuite.clock = lambda: now[0]
    auth = ClientCredentials(
        token_url=f"{netsuite.url}/auth/oauth2/v1/token",
        client_id=CLIENT_ID,
        certificate_id=CERT_ID,
        private_key=rsa_key,
        clock=lambda: now[0],
    )
    erp = NetSuite(base_url=netsuite.url, auth=auth, timeout=5.0)
    erp.get_po_status("PR-1")
    now[0] += 3000
    erp.get_po_status("PR-1")
    assert auth.tokens_fetched == 1
    now[0] += 560
    erp.get_po_status("PR-1")
    assert auth.tokens_fetched == 2 and len(netsuite.assertions) == 2


def test_an_unmapped_certificate_is_a_permanent_error_that_says_what_to_check(netsuite, rsa_key):
    """A certificate id NetSuite does not know: a permanent error naming the settings and the M2M setup page,
    never the key."""
    erp = connector(netsuite, rsa_key, certificate_id="revoked-cert")
    with pytest.raises(PermanentError) as err:
        erp.create_po(order())
    assert "PROCUREBOT_NETSUITE_CERTIFICATE_ID" in err.value.reason and "M2M" in err.value.reason
    assert "PRIVATE KEY" not in err.value.reason and netsuite.orders == {}


def test_a_token_endpoint_outage_is_transient(netsuite, rsa_key):
    """The token endpoint answers 503: the outbox retries later."""
    netsuite.faults.append("500")
    with pytest.raises(TransientError, match="token endpoint"):
        connector(netsuite, rsa_key).create_po(order())


def _pem(key, path: Path) -> Path:  # type: ignore[no-untyped-def]
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def test_settings_build_the_m2m_connector_and_refuse_a_key_that_does_not_fit(netsuite, rsa_key, tmp_path):
    """From environment settings: client id, certificate id and key file make the M2M connector; a missing
    one is named; an RSA key with ES256 or a file that is not a key fails at start with what to change."""
    key_file = _pem(rsa_key, tmp_path / "netsuite.pem")
    s = ErpSettings(
        _env_file=None,
        erp_connector="netsuite",
        netsuite_base_url=netsuite.url,
        netsuite_client_id=CLIENT_ID,
        netsuite_certificate_id=CERT_ID,
        netsuite_private_key_file=key_file,
    )
    assert NetSuite.from_settings(s).create_po(order()).created
    with pytest.raises(ValueError, match="PROCUREBOT_NETSUITE_CERTIFICATE_ID"):
        NetSuite.from_settings(s.model_copy(update={"netsuite_certificate_id": ""}))
    with pytest.raises(ValueError, match="ES256 needs an EC private key"):
        NetSuite.from_settings(s.model_copy(update={"netsuite_jwt_algorithm": "ES256"}))
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        NetSuite.from_settings(s.model_copy(update={"netsuite_private_key_file": tmp_path / "junk.pem"}))
    with pytest.raises(ValueError, match="PS256, PS384"):
        NetSuite.from_settings(s.model_copy(update={"netsuite_jwt_algorithm": "RS256"}))
