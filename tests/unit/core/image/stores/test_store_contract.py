"""The one behaviour suite every image store passes (STYLE.md habit 4).

Writable stores (file, S3 via moto, Swift all-in-one) run the same tests
through the ``case`` fixture; the read-only HTTP store has its own cases
against a local origin server.
"""

from __future__ import annotations

import hashlib
import os
import random
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from core import errors
from core.image.stores import (
    ObjectMissing,
    ReadOnlyStore,
    StoreError,
    build_stores,
    store_for_location,
)
from core.image.stores.http import HttpStore
from core.settings import Settings
from tests.support.server import free_port

if TYPE_CHECKING:
    from conftest import StoreCase

MiB = 1 << 20
# One worker runs the whole suite, so each run starts one Swift and one moto
# (with pyproject's --dist loadgroup), not one per worker.
pytestmark = pytest.mark.xdist_group("image-store-servers")


def generated(size: int, seed: int = 0, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``size`` deterministic pseudo-random bytes, produced lazily in chunks."""
    rng = random.Random(seed)
    while size > 0:
        piece = rng.randbytes(min(chunk, size))
        size -= len(piece)
        yield piece


def digests(chunks: Iterator[bytes]) -> tuple[int, str, str]:
    """(size, MD5 hex, SHA-512 hex) of a stream."""
    md5, sha, size = hashlib.md5(), hashlib.sha512(), 0
    for chunk in chunks:
        md5.update(chunk)
        sha.update(chunk)
        size += len(chunk)
    return size, md5.hexdigest(), sha.hexdigest()


def new_id() -> str:
    return os.urandom(16).hex()


def read(case: StoreCase, location: str, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join(case.store.get(location, offset, length))


def interrupted(chunks: Iterator[bytes], after: int) -> Iterator[bytes]:
    """Yields ``after`` bytes of ``chunks``, then fails like a dropped client."""
    sent = 0
    for chunk in chunks:
        if sent >= after:
            raise ConnectionResetError("client went away")
        sent += len(chunk)
        yield chunk


# ---- writable stores ------------------------------------------------------
def test_round_trip_reports_size_and_hashes(case: StoreCase) -> None:
    data = b"".join(generated(300_000, seed=1))
    chunks = [data[:1], b"", data[1:70_000], data[70_000:]]
    stored = case.store.add(new_id(), chunks)
    assert stored.size == len(data)
    assert stored.checksum == hashlib.md5(data).hexdigest()
    assert stored.hash_value == hashlib.sha512(data).hexdigest()
    assert stored.hash_algo == "sha512"
    assert case.store.owns(stored.location)
    assert case.store.size(stored.location) == len(data)
    assert read(case, stored.location) == data
    assert not case.segmented(stored.location)


def test_empty_image(case: StoreCase) -> None:
    stored = case.store.add(new_id(), iter(()))
    assert (stored.size, stored.checksum) == (0, hashlib.md5(b"").hexdigest())
    assert read(case, stored.location) == b""
    assert case.store.size(stored.location) == 0


@pytest.mark.parametrize(("offset", "length", "expected"), [
    (0, 10, slice(0, 10)),                      # start
    (123_456, 5_000, slice(123_456, 128_456)),  # middle
    (299_990, None, slice(299_990, None)),      # to the end
    (299_990, 100, slice(299_990, None)),       # length beyond the end
    (300_000, None, slice(0, 0)),               # offset at the end
    (400_000, 10, slice(0, 0)),                 # offset past the end
    (5, 0, slice(0, 0)),                        # nothing
])
def test_ranges(case: StoreCase, offset: int, length: int | None, expected: slice) -> None:
    data = b"".join(generated(300_000, seed=2))
    stored = case.store.add(new_id(), [data])
    assert read(case, stored.location, offset, length) == data[expected]


def test_negative_range_is_invalid(case: StoreCase) -> None:
    stored = case.store.add(new_id(), [b"abc"])
    with pytest.raises(errors.InvalidInput):
        case.store.get(stored.location, -1)


def test_large_upload_goes_in_parts(case: StoreCase) -> None:
    size = 12 * MiB + 12_345
    stored = case.store.add(new_id(), generated(size, seed=3))
    assert (stored.size, stored.checksum, stored.hash_value) == digests(generated(size, seed=3))
    assert case.store.size(stored.location) == size
    assert digests(case.store.get(stored.location)) == digests(generated(size, seed=3))
    if case.name != "file":
        assert case.segmented(stored.location)
    data = b"".join(generated(size, seed=3))
    boundary = case.part_size
    assert read(case, stored.location, boundary - 10, 20) == data[boundary - 10:boundary + 10]
    assert read(case, stored.location, size - 100, 1000) == data[-100:]
    case.store.delete(stored.location)
    assert case.leftovers() == []


@pytest.mark.parametrize("size", [1000, 12 * MiB], ids=["small", "parts"])
def test_max_size_exceeded_leaves_nothing(case: StoreCase, size: int) -> None:
    with pytest.raises(errors.PayloadTooLarge):
        case.store.add(new_id(), generated(size + 1, seed=4), max_size=size)
    assert case.leftovers() == []


def test_max_size_is_inclusive(case: StoreCase) -> None:
    stored = case.store.add(new_id(), [b"x" * 1000], max_size=1000)
    assert stored.size == 1000


@pytest.mark.parametrize("after", [70_000, 7 * MiB], ids=["small", "parts"])
def test_interrupted_upload_leaves_nothing(case: StoreCase, after: int) -> None:
    with pytest.raises(ConnectionResetError):
        case.store.add(new_id(), interrupted(generated(12 * MiB, seed=5), after))
    assert case.leftovers() == []
    stored = case.store.add(new_id(), [b"still works"])  # the store is still usable
    assert read(case, stored.location) == b"still works"


@pytest.mark.parametrize("size", [1000, 3 * MiB], ids=["small", "parts"])
def test_delete_then_get_is_missing(case: StoreCase, size: int) -> None:
    stored = case.store.add(new_id(), generated(size, seed=6))
    case.store.delete(stored.location)
    with pytest.raises(ObjectMissing):
        case.store.get(stored.location)  # raised before iterating
    with pytest.raises(ObjectMissing):
        case.store.size(stored.location)
    case.store.delete(stored.location)  # twice is fine
    assert case.leftovers() == []


def test_never_written_location_is_missing(case: StoreCase) -> None:
    location = case.location_for(new_id())
    assert case.store.owns(location)
    with pytest.raises(ObjectMissing):
        case.store.get(location)
    with pytest.raises(ObjectMissing):
        case.store.get(location, 10, 0)
    with pytest.raises(ObjectMissing):
        case.store.size(location)
    case.store.delete(location)


def test_foreign_locations_are_refused(case: StoreCase) -> None:
    foreign = {"file": "s3://bucket/x", "s3": "s3://other-bucket/x",
               "swift": "swift://other-container/x"}[case.name]
    for location in (foreign, "file:///etc/passwd", "http://example.invalid/x"):
        assert not case.store.owns(location)
        with pytest.raises((StoreError, ObjectMissing)):
            case.store.get(location)
        with pytest.raises((StoreError, ObjectMissing)):
            case.store.delete(location)


def test_concurrent_uploads(case: StoreCase) -> None:
    def round_trip(n: int) -> bool:
        data = b"".join(generated(200_000 + n, seed=n))
        return read(case, case.store.add(new_id(), [data]).location) == data

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(round_trip, range(4))) == [True] * 4


def test_memory_stays_bounded(case: StoreCase) -> None:
    size = 64 * MiB if case.name == "file" else 32 * MiB
    tracemalloc.start()
    try:
        stored = case.store.add(new_id(), generated(size, seed=7))
        assert digests(case.store.get(stored.location))[0] == size
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < case.memory_bound, f"peak {peak / MiB:.1f} MiB"


def test_file_store_refuses_paths_outside_its_root(tmp_path) -> None:
    from core.image.stores.file import FileStore

    store = FileStore(tmp_path / "images")
    outside = tmp_path / "secret"
    outside.write_bytes(b"secret")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "link").symlink_to(outside)
    for location in (f"file://{tmp_path}/images/../secret", f"file://{outside}",
                     f"file://{tmp_path}/images/link", "file://images/x"):
        assert not store.owns(location)
        with pytest.raises(StoreError):
            store.get(location)
        with pytest.raises(StoreError):
            store.delete(location)
    assert outside.read_bytes() == b"secret"
    for image_id in ("../x", "a/b", ".hidden", ""):
        with pytest.raises(errors.InvalidInput):
            store.add(image_id, [b"x"])


# ---- the read-only HTTP store ---------------------------------------------
DATA = b"".join(generated(200_000, seed=8))


@pytest.fixture
def http(origin) -> HttpStore:
    origin.files["image.raw"] = DATA
    return HttpStore(connect_timeout=2, read_timeout=5)


@pytest.mark.parametrize("kind", ["plain", "ranged", "nolength", "redirect"])
def test_http_reads_and_sizes(http: HttpStore, origin, kind: str) -> None:
    url = f"{origin.url}/{kind}/image.raw"
    assert http.owns(url)
    assert b"".join(http.get(url)) == DATA
    assert http.size(url) == len(DATA)


@pytest.mark.parametrize("kind", ["plain", "ranged"])
@pytest.mark.parametrize(("offset", "length"), [(0, 10), (70_000, 65_536), (199_990, None),
                                                (199_990, 100), (200_000, None), (5, 0)])
def test_http_ranges(http: HttpStore, origin, kind: str, offset: int,
                     length: int | None) -> None:
    url = f"{origin.url}/{kind}/image.raw"
    end = None if length is None else offset + length
    assert b"".join(http.get(url, offset, length)) == DATA[offset:end]


def test_http_missing_and_unreachable(http: HttpStore, origin) -> None:
    for url in (f"{origin.url}/plain/nope", f"http://127.0.0.1:{free_port()}/image.raw"):
        with pytest.raises(ObjectMissing):
            http.get(url)
        with pytest.raises(ObjectMissing):
            http.size(url)
    with pytest.raises(StoreError):
        http.get(f"{origin.url}/error/image.raw")


def test_http_is_read_only(http: HttpStore, origin) -> None:
    assert http.read_only
    with pytest.raises(ReadOnlyStore):
        http.add(new_id(), [b"x"])
    with pytest.raises(ReadOnlyStore):
        http.delete(f"{origin.url}/plain/image.raw")
    assert not http.owns("file:///etc/passwd") and not http.owns("swift://c/o")


# ---- the registry -------------------------------------------------------
def test_registry_builds_enabled_stores_and_routes_locations(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, image_stores="file,s3,swift,http",
                        image_s3_endpoint="http://127.0.0.1:1", image_s3_bucket="b",
                        image_swift_auth_url="http://127.0.0.1:1/auth/v1.0",
                        image_swift_container="c")
    stores = build_stores(settings)
    assert list(stores) == ["file", "s3", "swift", "http"]
    assert all(store.id == name for name, store in stores.items())
    assert stores["file"].owns(f"file://{tmp_path / 'images'}/abc")
    for location, name in ((f"file://{tmp_path / 'images'}/x", "file"), ("s3://b/x", "s3"),
                           ("swift://c/x", "swift"), ("https://example.org/x", "http")):
        assert store_for_location(stores, location) is stores[name]
    with pytest.raises(ObjectMissing):
        store_for_location(stores, "rbd://pool/image")
    with pytest.raises(ObjectMissing):
        store_for_location({"file": stores["file"]}, "s3://b/x")


def test_s3_parts_grow_so_ten_thousand_parts_hold_large_images() -> None:
    from core.image.stores.s3 import MAX_PARTS, S3Store, _parts

    store = S3Store.__new__(S3Store)
    store.part_size = 5 * 1024 * 1024
    sizes = [store.part_size_for(n) for n in (1, 1000, 1001, 2001, MAX_PARTS)]
    assert sizes == [store.part_size, store.part_size, 2 * store.part_size,
                     3 * store.part_size, 10 * store.part_size]
    assert sum(store.part_size_for(n) for n in range(1, MAX_PARTS + 1)) == \
        55_000 * store.part_size
    # the regrouping follows the sizes it is given, the last part short
    parts = list(_parts([b"a" * 7, b"b" * 10], lambda n: 3 * n))
    assert [(bytes(p), last) for p, last in parts] == [
        (b"aaa", False), (b"aaaabb", False), (b"bbbbbbbb", True)]
