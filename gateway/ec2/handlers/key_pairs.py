"""Create / Import / Describe / DeleteKeyPair over the compute key pairs.

They are Nova's key pairs (per user, as ec2-api had them), under ``key-…``
IDs, minted by ``KeyPairService.create`` whichever API creates them; key pairs
older than that get one the first time EC2 lists them, in one batch insert
(see ``KeyPairs._ec2_ids``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from core import errors
from core.compute.keypairs import fingerprint
from core.compute.models import KeyPair
from core.idmap.ids import Kind, canonical_id, key_pair_os_uuid
from core.tagging.rules import Resource, check_tags
from core.tagging.service import TagService
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.tags import tag_specifications

INDEX = "os_compute_api:os-keypairs:index"
CREATE = "os_compute_api:os-keypairs:create"
DELETE = "os_compute_api:os-keypairs:delete"
KEY_TYPES = {"ssh-rsa": "rsa", "ssh-ed25519": "ed25519"}
_RFC4716_BEGIN = "---- BEGIN SSH2 PUBLIC KEY ----"
_RFC4716_END = "---- END SSH2 PUBLIC KEY ----"
BAD_KEY_FORMAT = "Key is not in valid OpenSSH public key format"

FILTERS: Filters[dict[str, Any]] = Filters({
    "key-pair-id": lambda k: k["KeyPairId"],
    "key-name": lambda k: k["KeyName"],
    "fingerprint": lambda k: k["KeyFingerprint"],
    "key-type": lambda k: k.get("KeyType"),
}, tags=lambda k: {t["Key"]: t["Value"] for t in k["Tags"]})


def key_type(public_key: str) -> str | None:
    """EC2's name of an OpenSSH key's type (EC2 knows rsa and ed25519 only)."""
    return KEY_TYPES.get(public_key.split(" ", 1)[0])


def openssh_public_key(material: bytes) -> str:
    """An imported public key in OpenSSH's one-line format; the RFC 4716 (SSH2)
    format AWS also accepts is converted. Ec2Error(InvalidKey.Format) if
    neither."""
    try:
        text = material.decode("ascii").strip()
    except UnicodeDecodeError:
        raise Ec2Error("InvalidKey.Format", BAD_KEY_FORMAT) from None
    if not text.startswith(_RFC4716_BEGIN):
        return text
    body: list[str] = []
    continued = False
    for line in text.splitlines()[1:]:
        line = line.strip()
        if line.startswith(_RFC4716_END):
            break
        if continued or ":" in line:  # a header line, maybe continued with "\"
            continued = line.endswith("\\")
            continue
        body.append(line)
    blob_text = "".join(body)
    try:
        blob = base64.b64decode(blob_text, validate=True)
        size = int.from_bytes(blob[:4], "big")
        name = blob[4:4 + size].decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Ec2Error("InvalidKey.Format", BAD_KEY_FORMAT) from None
    return f"{name} {blob_text}"


class KeyPairs(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.tags: TagService = deps.tags

    def _ec2_ids(self, keys: list[KeyPair]) -> dict[int, str]:
        """EC2 IDs by key pair row id. Keys are minted when created; only keys
        older than that have none until here, and get them in one batch."""
        uuids = {k.id: key_pair_os_uuid(k.id, k.created_at) for k in keys}
        ids = self.deps.ids.ec2_ids_for(
            Kind.KEY_PAIR, [(uuids[k.id], k.project_id or "") for k in keys])
        return {key_id: ids[uuid] for key_id, uuid in uuids.items()}

    @staticmethod
    def _view(key: KeyPair, ec2_id: str, include_public_key: bool = False,
              tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
        return {"KeyPairId": ec2_id, "KeyName": key.name, "KeyFingerprint": key.fingerprint,
                "KeyType": key_type(key.public_key), "Tags": list(tags or []),
                "CreateTime": key.created_at,
                "PublicKey": key.public_key if include_public_key else None}

    @action("DescribeKeyPairs", rules=(INDEX,))
    def describe_key_pairs(self, call: Call) -> dict[str, Any]:
        names = call.get("KeyNames", [])
        wanted_ids = [canonical_id(Kind.KEY_PAIR, v) for v in call.get("KeyPairIds", [])]
        keys = self.deps.keypairs.list_keypairs(call.ctx)
        ids = self._ec2_ids(keys)
        uuids = {k.id: key_pair_os_uuid(k.id, k.created_at) for k in keys}
        tags = self.tags.tags_of(call.ctx, Kind.KEY_PAIR, uuids.values())
        views = [self._view(k, ids[k.id], call.get("IncludePublicKey", False), tags[uuids[k.id]])
                 for k in keys]
        if names:
            missing = [n for n in names if n not in {v["KeyName"] for v in views}]
            if missing:
                raise errors.NotFound(kind="key_pair", ids=missing, by="name")
            views = [v for v in views if v["KeyName"] in names]
        if wanted_ids:
            missing = [i for i in wanted_ids if i not in {v["KeyPairId"] for v in views}]
            if missing:
                raise errors.NotFound(kind="key_pair", ids=missing, by="id")
            views = [v for v in views if v["KeyPairId"] in wanted_ids]
        return {"KeyPairs": FILTERS.apply(views, call.get("Filters"))}

    def _create(self, call: Call, public_key: str | None
                ) -> tuple[KeyPair, str, str | None, list[dict[str, str]]]:
        tags = tag_specifications(call, "key-pair")
        check_tags(tags)
        key, private = self.deps.keypairs.create(call.ctx, call.params["KeyName"],
                                                 public_key=public_key)
        # Minted by KeyPairService.create; this reads it.
        os_uuid = key_pair_os_uuid(key.id, key.created_at)
        ec2_id = self.deps.ids.ec2_id_for(Kind.KEY_PAIR, os_uuid, key.project_id or "")
        if tags:
            self.tags.create(call.ctx, [Resource(Kind.KEY_PAIR, ec2_id, os_uuid)], tags)
        return key, ec2_id, private, [{"Key": k, "Value": v} for k, v in sorted(tags.items())]

    @action("CreateKeyPair", rules=(CREATE,))
    def create_key_pair(self, call: Call) -> dict[str, Any]:
        if call.get("KeyType", "rsa") != "rsa":
            raise Ec2Error("InvalidParameterValue",
                           f"Key type {call.params['KeyType']} is not supported; use rsa.")
        if call.get("KeyFormat", "pem") != "pem":
            raise Ec2Error("InvalidParameterValue",
                           f"Key format {call.params['KeyFormat']} is not supported; use pem.")
        key, ec2_id, private, tags = self._create(call, None)
        return {"KeyPairId": ec2_id, "KeyName": key.name, "KeyFingerprint": key.fingerprint,
                "KeyMaterial": private, "Tags": tags}

    @action("ImportKeyPair", rules=(CREATE,))
    def import_key_pair(self, call: Call) -> dict[str, Any]:
        public_key = openssh_public_key(call.params["PublicKeyMaterial"])
        try:
            fingerprint(public_key)
        except errors.InvalidInput:
            raise Ec2Error("InvalidKey.Format", BAD_KEY_FORMAT) from None
        key, ec2_id, _, tags = self._create(call, public_key)
        return {"KeyPairId": ec2_id, "KeyName": key.name, "KeyFingerprint": key.fingerprint,
                "Tags": tags}

    @action("DeleteKeyPair", rules=(DELETE,))
    def delete_key_pair(self, call: Call) -> dict[str, Any]:
        """By name it is idempotent, as in AWS: a name that does not exist is
        deleted already. An ID must name one of the caller's key pairs."""
        name, key_id = call.get("KeyName"), call.get("KeyPairId")
        if not name and not key_id:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter KeyName or KeyPairId.")
        keys = self.deps.keypairs.list_keypairs(call.ctx)
        uuids = {k.id: key_pair_os_uuid(k.id, k.created_at) for k in keys}
        known = self.deps.ids.existing(Kind.KEY_PAIR, uuids.values())
        if key_id:
            wanted = canonical_id(Kind.KEY_PAIR, key_id)
            key = next((k for k in keys if known.get(uuids[k.id]) == wanted), None)
            if key is None or (name and key.name != name):
                raise errors.NotFound(kind="key_pair", id=key_id, by="id")
        else:
            key = next((k for k in keys if k.name == name), None)
            if key is None:
                return {"Return": True}
        try:
            self.deps.keypairs.delete(call.ctx, key.name)
        except errors.NotFound:
            pass  # deleted meanwhile: the outcome the caller asked for
        return {"Return": True, "KeyPairId": known.get(uuids[key.id])}
