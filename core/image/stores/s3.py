"""The S3 store: image data as objects in one bucket of any S3-compatible service.

Small images go up in one ``PutObject``; larger ones as a multipart upload of
``part_size`` parts, holding one part in memory at a time. A failed multipart
upload is aborted, so no parts stay behind (and cost money).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core import errors
from core.image.stores.base import ObjectMissing, StoredData, StoreError
from core.image.stores.hashing import HashingReader, check_range

log = logging.getLogger(__name__)

SCHEME = "s3://"
MIN_PART_SIZE = 5 << 20  # S3's minimum for every part but the last
MAX_PARTS = 10_000
# Each chunk is a thread hand-off and a send through the ASGI stack: 1 MiB
# reads download 3-6x faster than 64 KiB at one chunk of memory (bench/image.py).
READ_CHUNK = 1024 * 1024
_MISSING = {"NoSuchKey", "NoSuchBucket", "NotFound", "404"}
CONTENT_TYPE = "application/octet-stream"


class S3Store:
    """Keeps each image as ``s3://<bucket>/<image_id>``."""

    id = "s3"
    description = "S3 object storage"
    read_only = False

    def __init__(self, endpoint_url: str, bucket: str, access_key: str, secret_key: str,
                 region: str = "us-east-1", part_size: int = 16 << 20, *,
                 session: boto3.session.Session | None = None) -> None:
        """``session``: a boto3 session to share (building the S3 client from a
        fresh one loads botocore's models again, ~0.3 s)."""
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 part size must be at least {MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self.region = region
        self.part_size = part_size
        config = Config(
            # Path style works with IP endpoints and every S3-compatible service.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10, read_timeout=60,
            # Newer botocore adds CRC checksums by default; many S3-compatible
            # services reject or ignore them, so only send what S3 requires.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required")
        # Empty keys: fall back to boto3's credential chain (env, instance role).
        self.client: Any = (session or boto3.session.Session()).client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
            config=config)
        self._bucket_ready = False
        self._lock = threading.Lock()

    # ---- locations ------------------------------------------------------
    def owns(self, location: str) -> bool:
        """Whether ``location`` names an object in this store's bucket."""
        prefix = f"{SCHEME}{self.bucket}/"
        return location.startswith(prefix) and len(location) > len(prefix)

    def _key_of(self, location: str) -> str:
        if not self.owns(location):
            raise StoreError("Not a location of this S3 store.", location=location)
        return location[len(SCHEME) + len(self.bucket) + 1:]

    def part_size_for(self, number: int) -> int:
        """Part ``number``'s size: the part size for parts 1-1000, twice it for
        1001-2000, three times for 2001-3000, ... ten times for the last 1,000.
        S3 allows 10,000 parts: growing lets them hold 55,000 part sizes (880 GiB
        with 16 MiB parts, not 156 GiB), holding one part of at most 10x the part
        size in memory."""
        return self.part_size * (1 + (number - 1) // 1000)

    # ---- the contract ---------------------------------------------------
    def add(self, image_id: str, chunks: Iterable[bytes], *,
            max_size: int | None = None) -> StoredData:
        """Uploads in one request, or in parts once the data outgrows one part."""
        if not image_id or image_id.startswith("/"):
            raise errors.InvalidInput(f"Invalid image id for the S3 store: {image_id!r}")
        reader = HashingReader(chunks, max_size)
        try:
            self._ensure_bucket()
            parts = _parts(reader, self.part_size_for)
            first = next(parts, (bytearray(), True))
            if first[1]:
                self.client.put_object(Bucket=self.bucket, Key=image_id, Body=first[0],
                                       ContentType=CONTENT_TYPE)
            else:
                pending = [first[0]]
                del first  # _multipart pops the only reference, so a sent part is freed
                self._multipart(image_id, pending, parts)
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"S3 upload failed: {exc}", image_id=image_id) from exc
        return reader.stored_at(f"{SCHEME}{self.bucket}/{image_id}")

    def get(self, location: str, offset: int = 0,
            length: int | None = None) -> Iterator[bytes]:
        """Starts a (ranged) GET now and streams its body."""
        check_range(offset, length)
        key = self._key_of(location)
        if length == 0:
            self.size(location)  # still report a missing object
            return iter(())
        kwargs: dict[str, str] = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            kwargs["Range"] = f"bytes={offset}-{end}"
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, **kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise ObjectMissing(location=location) from exc
            if _code(exc) == "InvalidRange":  # offset at or past the end
                return iter(())
            raise StoreError(f"S3 download failed: {exc}", location=location) from exc
        except BotoCoreError as exc:
            raise StoreError(f"S3 download failed: {exc}", location=location) from exc
        return _stream(response["Body"], location)

    def size(self, location: str) -> int:
        """The object's size from a HEAD request."""
        key = self._key_of(location)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise ObjectMissing(location=location) from exc
            raise StoreError(f"S3 HEAD failed: {exc}", location=location) from exc
        except BotoCoreError as exc:
            raise StoreError(f"S3 HEAD failed: {exc}", location=location) from exc
        return int(head["ContentLength"])

    def delete(self, location: str) -> None:
        """Deletes the object; S3 answers success for a missing key too."""
        key = self._key_of(location)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise StoreError(f"S3 delete failed: {exc}", location=location) from exc
        except BotoCoreError as exc:
            raise StoreError(f"S3 delete failed: {exc}", location=location) from exc

    # ---- helpers --------------------------------------------------------
    def _ensure_bucket(self) -> None:
        """Creates the bucket on first use if it does not exist."""
        with self._lock:
            if self._bucket_ready:
                return
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) not in _MISSING:
                    raise
                kwargs: dict[str, Any] = {}
                if self.region and self.region != "us-east-1":
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
                try:
                    self.client.create_bucket(Bucket=self.bucket, **kwargs)
                except ClientError as create_exc:
                    if _code(create_exc) not in ("BucketAlreadyOwnedByYou",):
                        raise
            self._bucket_ready = True

    def _multipart(self, key: str, pending: list[bytearray],
                   parts: Iterator[tuple[bytearray, bool]]) -> None:
        """Uploads the part in ``pending``, then the rest of ``parts``, as one
        multipart upload; aborts it on any failure."""
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=CONTENT_TYPE)["UploadId"]
        try:
            done: list[dict[str, Any]] = []
            body: bytearray | None = pending.pop()
            while body is not None:
                number = len(done) + 1
                if number > MAX_PARTS:
                    raise StoreError(f"The image needs more than {MAX_PARTS} parts; raise "
                                     "the S3 part size.")
                etag = self.client.upload_part(Bucket=self.bucket, Key=key, Body=body,
                                               UploadId=upload_id, PartNumber=number)["ETag"]
                done.append({"PartNumber": number, "ETag": etag})
                body = None  # drop this part before the next one is read
                body = next(parts, (None, True))[0]
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": done})
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key,
                                                   UploadId=upload_id)
            except (BotoCoreError, ClientError):
                log.exception("could not abort multipart upload %s of %s", upload_id, key)
            raise


def _parts(chunks: Iterable[bytes], size_for: Callable[[int], int]
           ) -> Iterator[tuple[bytearray, bool]]:
    """Regroups ``chunks`` into ``(part, is_last)`` pairs, part N being
    ``size_for(N)`` bytes (the last may be shorter). Knowing a part is the last
    needs only one more chunk, so at most one part and one chunk are held
    (parts are bytearrays, which botocore sends as they are: no copy)."""
    buf = bytearray()
    full: bytearray | None = None
    number = 1
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            if full is not None:
                yield full, False
                full = None
            size = size_for(number)
            take = min(len(view), size - len(buf))
            buf += view[:take]
            view = view[take:]
            if len(buf) == size:
                full, buf, number = buf, bytearray(), number + 1
    if full is not None:
        yield full, True
    elif buf:
        yield buf, True


def _stream(body: Any, location: str) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_CHUNK)
    except (BotoCoreError, ClientError) as exc:
        raise StoreError(f"S3 download failed: {exc}", location=location) from exc
    finally:
        body.close()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
