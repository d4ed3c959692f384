"""HashingReader: MD5 and SHA-512 give the digests of the
bytes in order, whatever the chunk sizes; the size limit still stops at once."""

from __future__ import annotations

import hashlib
import random

import pytest

from core import errors
from core.image.stores.hashing import HashingReader

BATCH = 512 * 1024  # chunk sizes around a large buffer


def _chunks(seed: int, total: int) -> list[bytes]:
    rnd = random.Random(seed)
    sizes = [1, 7, 16 * 1024, BATCH - 1, BATCH, BATCH + 1, 3 * BATCH, 0, 65536]
    out, made = [], 0
    while made < total:
        n = min(rnd.choice(sizes), total - made)
        out.append(rnd.randbytes(n))
        made += n
    return out


@pytest.mark.parametrize("seed", range(6))
def test_digests_match_hashlib_for_any_chunking(seed):
    chunks = _chunks(seed, 5 * BATCH + seed * 1000)
    reader = HashingReader(chunks)
    assert b"".join(reader) == b"".join(chunks)
    data = b"".join(chunks)
    assert reader.size == len(data)
    assert reader.checksum == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert reader.hash_value == hashlib.sha512(data).hexdigest()
    stored = reader.stored_at("file:///x")
    assert (stored.checksum, stored.hash_value) == (reader.checksum, reader.hash_value)


def test_digests_of_the_bytes_read_so_far():
    reader = HashingReader([b"a" * BATCH, b"b" * 10, b"c" * BATCH])
    first = next(reader)
    assert reader.checksum == hashlib.md5(first, usedforsecurity=False).hexdigest()
    second = next(reader)
    assert reader.hash_value == hashlib.sha512(first + second).hexdigest()
    rest = b"".join(reader)
    assert reader.checksum == hashlib.md5(first + second + rest,
                                          usedforsecurity=False).hexdigest()


def test_empty_data_has_the_empty_digests():
    reader = HashingReader([b"", b""])
    assert list(reader) == []
    assert reader.checksum == hashlib.md5(b"", usedforsecurity=False).hexdigest()
    assert reader.hash_value == hashlib.sha512(b"").hexdigest()


def test_size_limit_stops_before_the_offending_chunk():
    reader = HashingReader([b"x" * 10, b"y" * BATCH], max_size=BATCH)
    assert next(reader) == b"x" * 10
    with pytest.raises(errors.PayloadTooLarge):
        next(reader)
    assert reader.size == 10
