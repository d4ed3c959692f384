"""Device names of a server's volumes, as Nova with the libvirt driver gives
them: the root disk is ``/dev/vda`` and each volume attached takes the next
free ``/dev/vdX``. A name the caller asks for must look like a device path
(Nova's ``match_device``) but is otherwise ignored, as libvirt has ignored
it since Liberty; EC2 keeps the name it was asked for beside Nova's."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from core import errors

ROOT_DEVICE = "/dev/vda"
PREFIX = "/dev/vd"
# nova/block_device.py _dev = re.compile('^/dev/'); match_device
_DEVICE = re.compile(r"^/dev/x{0,1}[a-z]{0,1}d{0,1}([a-z]+)[0-9]*$")


def check_requested(device: str | None) -> None:
    """InvalidInput (Nova's 400) unless ``device`` is None or a device path."""
    if device is None:
        return
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise errors.InvalidInput(f"The supplied device path ({device}) is invalid.",
                                  param="device")


def _letters(index: int) -> str:
    """0 → a, 25 → z, 26 → aa (as libvirt names the 27th disk)."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = string.ascii_lowercase[rest] + out
    return out


def next_device_name(used: Iterable[str | None]) -> str:
    """The first ``/dev/vdX`` that is neither the root disk nor in ``used``."""
    taken = {d for d in used if d} | {ROOT_DEVICE}
    index = 1
    while f"{PREFIX}{_letters(index)}" in taken:
        index += 1
    return f"{PREFIX}{_letters(index)}"
