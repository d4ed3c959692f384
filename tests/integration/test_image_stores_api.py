"""One API node with every store enabled — file, S3 (moto's server), Object
Storage (a real Swift all-in-one) and HTTP — driven with the real clients:
`X-Image-Meta-Store` picks the store, each image records where it lives, and
the data comes back intact from each."""

from __future__ import annotations

import hashlib
import os

import pytest
import yaml
from keystoneauth1 import session as ksa_session_mod
from keystoneauth1.identity import v3

from tests.conftest import unique
from tests.support.server import make_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def multistore(tmp_path_factory, s3_server, swift_aio):
    srv = make_server(
        tmp_path_factory.mktemp("multistore"), image_stores="file,s3,swift,http",
        image_default_store="swift", image_s3_endpoint=s3_server.endpoint_url,
        image_s3_bucket=f"b-{unique('imgs')}", image_s3_access_key=s3_server.access_key,
        image_s3_secret_key=s3_server.secret_key, image_s3_region=s3_server.region,
        image_s3_part_size=5 * 1024 * 1024, image_swift_auth_url=swift_aio.auth_url,
        image_swift_auth_version="1", image_swift_user=swift_aio.user,
        image_swift_key=swift_aio.key, image_swift_container=f"c-{unique('imgs')}",
        image_swift_segment_size=2 * 1024 * 1024)
    srv.bootstrap()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def session(multistore):
    cloud = multistore.cloud("demo")["auth"]
    plugin = v3.Password(auth_url=multistore.auth_url, username="demo",
                         password=cloud["password"], user_domain_id="default",
                         project_name="demo", project_domain_id="default")
    return ksa_session_mod.Session(auth=plugin)


def test_info_stores_lists_every_store(multistore, session):
    stores = session.get(f"{multistore.url}/image/v2/info/stores").json()["stores"]
    assert {s["id"] for s in stores} == {"file", "s3", "swift", "http"}
    assert [s["id"] for s in stores if s.get("default") == "true"] == ["swift"]


@pytest.mark.parametrize("store", ["file", "s3", "swift", None])
def test_upload_and_download_in_each_store(multistore, session, store):
    url = f"{multistore.url}/image/v2/images"
    data = os.urandom(6 * 1024 * 1024 + 3)  # spans S3 parts and Swift segments
    image = session.post(url, json={"name": unique("ms"), "disk_format": "raw",
                                    "container_format": "bare"}).json()
    headers = {"Content-Type": "application/octet-stream"}
    if store:
        headers["X-Image-Meta-Store"] = store
    assert session.put(f"{url}/{image['id']}/file", data=data,
                       headers=headers).status_code == 204
    shown = session.get(f"{url}/{image['id']}").json()
    assert shown["stores"] == (store or "swift")
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert session.get(f"{url}/{image['id']}/file").content == data
    ranged = session.get(f"{url}/{image['id']}/file", headers={"Range": "bytes=5242880-"})
    assert ranged.status_code == 206 and ranged.content == data[5242880:]
    assert session.delete(f"{url}/{image['id']}").status_code == 204


def test_cli_and_sdk_use_the_default_store(multistore, tmp_path):
    import subprocess

    from tests.support.server import VENV_BIN

    disk = tmp_path / "disk.img"
    disk.write_bytes(os.urandom(3 * 1024 * 1024))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(multistore.clouds_yaml)
    name = unique("cli")
    out = subprocess.run([str(VENV_BIN / "openstack"), "--os-cloud", "demo", "image",
                          "create", "--file", str(disk), "--disk-format", "raw",
                          "--container-format", "bare", "-f", "yaml", name],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    created = yaml.safe_load(out.stdout)
    assert created["status"] == "active"
    saved = tmp_path / "saved.img"
    subprocess.run([str(VENV_BIN / "openstack"), "--os-cloud", "demo", "image", "save",
                    "--file", str(saved), name], env=env, timeout=120, check=True)
    assert saved.read_bytes() == disk.read_bytes()
