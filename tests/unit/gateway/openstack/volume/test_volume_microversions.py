"""Parsing the Block Storage microversion header, and the paths with a project id."""

from __future__ import annotations

import pytest

from gateway.openstack.volume import microversions
from gateway.openstack.volume.microversions import APIVersion, InvalidVersion
from gateway.openstack.volume.project_urls import split_project

H = "openstack-api-version"


@pytest.mark.parametrize(("header", "version"), [
    (None, (3, 0)), ("volume 3.0", (3, 0)), ("volume 3.27", (3, 27)),
    ("volume latest", (3, 71)), ("compute 2.90, volume 3.44", (3, 44)),
    ("compute 2.90", (3, 0)), ("block-storage 3.10", (3, 10))])
def test_parse(header, version):
    assert microversions.parse({H: header} if header else {}) == APIVersion(*version)


@pytest.mark.parametrize(("header", "status"), [
    ("volume 3.72", 406), ("volume 2.0", 406), ("volume 4.0", 406),
    ("volume 3.x", 400), ("volume 3", 400), ("volume 03.1", 400),
    ("volume 3.1234567890", 406)])
def test_refused(header, status):
    with pytest.raises(InvalidVersion) as raised:
        microversions.parse({H: header})
    assert raised.value.status == status


@pytest.mark.parametrize(("path", "split"), [
    ("/volume/v3/volumes", ("/volume/v3/volumes", None)),
    ("/volume/v3/p1/volumes", ("/volume/v3/volumes", "p1")),
    ("/volume/v3/p1/volumes/v/action", ("/volume/v3/volumes/v/action", "p1")),
    ("/volume/v3/p1/os-quota-sets/p2", ("/volume/v3/os-quota-sets/p2", "p1")),
    ("/volume/v3/types/t1", ("/volume/v3/types/t1", None)),
    ("/volume/v3/p1", ("/volume/v3/p1", None)),
    ("/volume/v3/p1/unknown", ("/volume/v3/p1/unknown", None)),
    ("/volume/", ("/volume/", None))])
def test_split_project(path, split):
    assert split_project(path, "/volume/v3") == split
