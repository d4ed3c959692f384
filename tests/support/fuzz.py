"""What the fuzz test (tests/api/test_fuzz.py) is made of: the callers it signs
in as, kept signed in whatever the generated requests do to them; the edge
values it puts into schemathesis' cases; and the EC2 Query requests it builds
from botocore's model and signs with botocore's SigV4 signer.

The edge values are the inputs that reached a 500 before (issue 10, point 3):
digits ``isdigit()`` accepts and ``int()`` does not, digits ``int()`` reads
and a client should not send, integers past 64 bits or past 4,300 digits,
``NaN``, deep nesting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import ServiceModel, Shape
from hypothesis import strategies as st

from gateway.ec2.api import collect_actions
from gateway.ec2.handlers import HANDLERS
from tests.support.ec2 import REGION
from tests.support.server import Server

EDGE_TEXT = ("¹", "٥", "²0", "1_0", " 1", "-1", "0", "01", "9" * 30, "9" * 5000, str(2**63),
             str(2**64), "", "null", "NaN", "1e400", "%", "..", "\\", "a" * 300,
             # in UTC, past the years 1 to 9999 that datetime and the columns hold
             "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
             "gt:9999-12-31T23:59:59-01:00", "lt:0001-01-01T00:00:00+01:00")
# Past what a 64-bit column (or orjson) holds; drawn as often as all the rest.
WIDE_INTEGERS = (2**63, 2**64, -(2**63) - 1, 10**30, -(10**30), {"a": {"b": 2**64}}, [2**64])
EDGE_JSON = (-1, 0, 2**31, 2**63 - 1, 1e308, -1e308, 0.5, True, None, [], {}, [[[[[]]]]],
             *EDGE_TEXT)


# ---------------------------------------------------------------- callers

@dataclass
class Caller:
    """A user the fuzz calls as, scoped to a project. A generated request may
    revoke its token, change its password or delete it: ``token()`` checks the
    token before each operation and, when it no longer works, signs in again
    or has ``restore`` put the user back first."""

    server: Server
    name: str
    username: str
    password: str
    project: str
    restore: Callable[[Caller], None]
    _token: str = ""

    @property
    def identity(self) -> str:
        return f"{self.server.url}/identity/v3"

    def token(self) -> str:
        if self._token and self._works(self._token):
            return self._token
        token = self._issue()
        if token is None:
            self.restore(self)
            token = self._issue()
        assert token is not None, f"the fuzz could not sign {self.name} in again"
        self._token = token
        return token

    def _works(self, token: str) -> bool:
        r = requests.get(f"{self.identity}/auth/projects", headers={"X-Auth-Token": token},
                         timeout=30)
        return r.status_code == 200

    def _issue(self) -> str | None:
        r = requests.post(f"{self.identity}/auth/tokens", timeout=30, json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self.username, "domain": {"id": "default"},
                "password": self.password}}},
            "scope": {"project": {"name": self.project, "domain": {"id": "default"}}}}})
        return r.headers["X-Subject-Token"] if r.status_code == 201 else None

    def ec2_keys(self) -> tuple[str, str]:
        """A new EC2 credential of this user for its project."""
        token = self.token()
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        info = requests.get(f"{self.identity}/auth/tokens", headers=headers,
                            timeout=30).json()["token"]
        r = requests.post(f"{self.identity}/users/{info['user']['id']}/credentials/OS-EC2",
                          headers={"X-Auth-Token": token}, timeout=30,
                          json={"tenant_id": info["project"]["id"]})
        assert r.status_code == 201, r.text
        cred = r.json()["credential"]
        return cred["access"], cred["secret"]


# ---------------------------------------------------------------- OpenAPI cases

def can_be_negative(operation: Any) -> bool:
    """Whether schemathesis can make data that breaks the operation's schema:
    not when all it takes is strings without constraints (path ids, a binary
    body), where asking for it only ends in hypothesis' Unsatisfiable."""
    if any(b.media_type.endswith("json") or "form" in b.media_type for b in operation.body):
        return True
    for param in (*operation.query, *operation.headers):
        schema = param.definition.get("schema", {})
        if set(schema) - {"type", "description"} or schema.get("type") != "string" \
                or param.definition.get("required"):
            return True
    return False


def put_edge_values(case: Any, data: st.DataObject) -> None:
    """Put one or two edge values into a valid case: a path parameter, a
    declared query parameter, or a member (new or replaced) of some object of
    the JSON body, at any depth."""
    for _ in range(data.draw(st.integers(1, 2))):
        parts = []
        if case.path_parameters:
            parts.append("path")
        if case.operation.query:
            parts.append("query")
        if isinstance(case.body, dict):
            parts += ["body", "body"]
        if not parts:
            return
        part = data.draw(st.sampled_from(parts))
        if part == "path":
            key = data.draw(st.sampled_from(sorted(case.path_parameters)))
            case.path_parameters[key] = data.draw(st.sampled_from(EDGE_TEXT))
        elif part == "query":
            key = data.draw(st.sampled_from(sorted({p.name for p in case.operation.query})))
            case.query = {**(case.query or {}), key: data.draw(st.sampled_from(EDGE_TEXT))}
        else:
            node = case.body
            while True:
                inner = sorted(k for k, v in node.items() if isinstance(v, dict))
                if not inner or data.draw(st.integers(0, 3)) == 0:
                    break
                node = node[data.draw(st.sampled_from(inner))]
            keys = sorted(node)
            key = (data.draw(st.sampled_from(keys)) if keys and data.draw(st.booleans())
                   else "fuzz_extra")
            node[key] = data.draw(st.one_of(st.sampled_from(WIDE_INTEGERS),
                                            st.sampled_from(EDGE_JSON)))


# ---------------------------------------------------------------- EC2 Query

INDEXES = ("1", "1", "2", "3", "¹", "٥", "0", "01", "100001", "9" * 30, "", "-1", "1_0")
EC2_VALUES = ("", "¹", "٥", "²0", "1_0", "-1", "0", "5", "100", "9" * 30, "9" * 5000, str(2**63),
              "true", "false", "1e400", "NaN", "-1.5", "i-0123456789abcdef0", "ami-00000001",
              "sg-0123456789abcdef0", "default", "tcp", "2024-01-01T00:00:00Z",
              "9999-12-31T23:59:59-01:00", "%", "\x00", "a" * 300, "eyJhZnRlciI6IDF9",
              "W1tbW1tbW1tbXV1dXV1dXV1dXQ==")
# Well-formed authentication parameters with no credential behind them, SigV4
# presigned and SigV2: the fuzz breaks one or two of them at a time.
PRESIGNED = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
             "X-Amz-Credential": "AKIDNOBODY/20240101/RegionOne/ec2/aws4_request",
             "X-Amz-Date": "20240101T000000Z", "X-Amz-Expires": "300",
             "X-Amz-SignedHeaders": "host", "X-Amz-Signature": "0" * 64}
SIGV2 = {"AWSAccessKeyId": "AKIDNOBODY", "SignatureVersion": "2",
         "SignatureMethod": "HmacSHA256", "Timestamp": "2024-01-01T00:00:00Z",
         "Signature": "AAAA"}
AUTH_VALUES = (*EC2_VALUES, "AWS4-HMAC-SHA256", "AKID/20240101/RegionOne/ec2/aws4_request",
               "AKID/٢٠٢٤٠١٠١/RegionOne/ec2/aws4_request", "20240101T000000Z",
               "٢٠٢٤0101T000000Z", "host", "host;x-amz-date", "2", "HmacSHA1", "604800",
               "604801", "2024-01-01T00:00:00", "9999-12-31T23:59:59Z", "+٥")


def one_field_changes() -> list[list[tuple[str, str]]]:
    """Every well-formed set (PRESIGNED, SIGV2) with one parameter given each of
    AUTH_VALUES in turn: the sweep that found X-Amz-Expires=¹."""
    out = []
    for params in (PRESIGNED, SIGV2):
        for name in params:
            for value in AUTH_VALUES:
                out.append([*((k, v) for k, v in params.items() if k != name), (name, value)])
    return out


@st.composite
def authentication_parameters(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A presigned or SigV2 set of parameters with one or two of them given
    another value (an edge value or any text), dropped, or given twice."""
    params = dict(draw(st.sampled_from([PRESIGNED, SIGV2])))
    out = list(params.items())
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.sampled_from(sorted(params)))
        value = draw(st.one_of(st.sampled_from(AUTH_VALUES), st.text(max_size=20)))
        how = draw(st.sampled_from(["replace", "replace", "drop", "again"]))
        if how != "again":
            out = [(k, v) for k, v in out if k != name]
        if how != "drop":
            out.append((name, value))
    return out
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def _wire(name: str, shape: Shape) -> str:
    serialization = shape.serialization
    if "queryName" in serialization:
        return str(serialization["queryName"])
    if "name" in serialization:
        return str(serialization["name"])[:1].upper() + str(serialization["name"])[1:]
    return name


def parameter_names(shape: Shape | None, prefix: str = "", depth: int = 0) -> list[str]:
    """The wire names of an input shape's scalars, ``#`` for each list index
    (``Filter.#.Value.#``), as botocore's EC2 serializer writes them."""
    if shape is None or depth > 4:
        return []
    out: list[str] = []
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        wire = f"{prefix}{_wire(name, member)}"
        if member.type_name == "structure":
            out += parameter_names(member, wire + ".", depth + 1)
        elif member.type_name == "list":
            if member.member.type_name == "structure":
                out += parameter_names(member.member, wire + ".#.", depth + 1)
            else:
                out.append(wire + ".#")
        else:
            out.append(wire)
    return out


@st.composite
def query_parameters(draw: st.DrawFn, action: str, names: list[str]) -> list[tuple[str, str]]:
    """``Action`` and a few parameters: names of the action's model (indexes
    drawn from INDEXES) or any text, values from EC2_VALUES or any text."""
    out = [("Action", action)]
    if draw(st.integers(0, 5)) == 0:
        out.append(("Version", draw(st.sampled_from(["2016-11-15", "2014-10-01",
                                                      "٢٠١٦-١١-١٥", "x"]))))
    for _ in range(draw(st.integers(0, 5))):
        if names and draw(st.integers(0, 4)):
            name = draw(st.sampled_from(names))
            while "#" in name:
                name = name.replace("#", draw(st.sampled_from(INDEXES)), 1)
        else:
            name = draw(st.text(min_size=1, max_size=12))
        out.append((name, draw(st.one_of(st.sampled_from(EC2_VALUES), st.text(max_size=20),
                                         st.integers().map(str)))))
    return out


def send_query(endpoint: str, params: list[tuple[str, str]], keys: tuple[str, str] | None,
               how: str, session: requests.Session) -> requests.Response:
    """``params`` to the EC2 endpoint: signed in the Authorization header
    (``how="header"``), presigned in the query string (``"presigned"``), or
    as they are (``keys`` None)."""
    body = urlencode(params)
    if keys is None:
        return session.post(endpoint, data=body.encode(), headers=FORM, timeout=30)
    if how == "presigned":
        req = AWSRequest(method="GET", url=f"{endpoint}?{body}")
        SigV4QueryAuth(Credentials(*keys), "ec2", REGION, expires=300).add_auth(req)
        return session.get(req.url, timeout=30)
    req = AWSRequest(method="POST", url=endpoint, data=body.encode(), headers=FORM)
    SigV4Auth(Credentials(*keys), "ec2", REGION).add_auth(req)
    sent = {k: v for k, v in req.headers.items() if k.lower() != "host"}
    return session.post(endpoint, data=body.encode(), headers=sent, timeout=30)


def implemented_actions(model: ServiceModel) -> list[str]:
    """The actions the EC2 edge serves (handlers marked with ``@action``)."""
    return sorted(collect_actions(model, [cls.__new__(cls) for cls in HANDLERS]))
