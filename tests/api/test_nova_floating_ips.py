"""Nova's floating IP proxies (``/os-floating-ips``, ``/os-floating-ip-pools``,
addFloatingIp / removeFloatingIp), deprecated in 2.36 and kept below it,
through keystoneauth sessions (the clients that still speak them); the same
floating IPs through the Network API (openstacksdk) and EC2 (boto3)."""

from __future__ import annotations

from tests.conftest import sdk_connection, unique
from tests.support.compute_api import wait_for

PREFIX = unique("nova-fip")


def fault(r) -> tuple[int, str]:
    (kind,) = r.json().values()
    return r.status_code, kind["message"]


def test_pools_allocate_show_release(demo, server):
    api = demo.compute
    assert {"name": "public"} in api.ok("GET", "/os-floating-ip-pools")["floating_ip_pools"]
    made = api.ok("POST", "/os-floating-ips", {"pool": "public"})["floating_ip"]
    assert made["ip"].startswith("203.0.113.") and made["pool"] == "public"
    assert made["fixed_ip"] is None and made["instance_id"] is None
    assert api.ok("GET", f"/os-floating-ips/{made['id']}")["floating_ip"] == made
    assert made["id"] in {f["id"] for f in api.ok("GET", "/os-floating-ips")["floating_ips"]}
    conn = sdk_connection(server, "demo")
    try:  # the Network API's floating IP, and EC2's address
        assert conn.network.get_ip(made["id"]).floating_ip_address == made["ip"]
    finally:
        conn.close()
    assert made["ip"] in {a["PublicIp"] for a in demo.ec2.describe_addresses()["Addresses"]}
    assert api("DELETE", f"/os-floating-ips/{made['id']}").status_code == 202
    assert api("GET", f"/os-floating-ips/{made['id']}").status_code == 404
    assert api("DELETE", f"/os-floating-ips/{made['id']}").status_code == 404
    assert api("POST", "/os-floating-ips", {"pool": "nope"}).status_code == 404


def test_add_and_remove_on_a_server(demo, image):
    api = demo.compute
    made = api.ok("POST", "/os-floating-ips", {})["floating_ip"]
    sid = api.ok("POST", "/servers", {"server": {
        "name": f"{PREFIX}-vm", "imageRef": image, "flavorRef": "1"}},
        status=202)["server"]["id"]
    try:
        wait_for(api, sid, "ACTIVE")
        fixed = api.ok("GET", f"/servers/{sid}")["server"]["addresses"]["private"][0]["addr"]
        wrong = api("POST", f"/servers/{sid}/action", {"addFloatingIp": {
            "address": made["ip"], "fixed_address": "10.255.255.1"}})
        assert wrong.status_code == 400
        assert api("POST", f"/servers/{sid}/action", {"addFloatingIp": {
            "address": "198.51.100.9"}}).status_code == 404
        assert api("POST", f"/servers/{sid}/action", {"addFloatingIp": {
            "address": made["ip"], "fixed_address": fixed}}).status_code == 202
        addresses = api.ok("GET", f"/servers/{sid}")["server"]["addresses"]["private"]
        assert {(a["addr"], a["OS-EXT-IPS:type"]) for a in addresses} == {
            (fixed, "fixed"), (made["ip"], "floating")}
        shown = api.ok("GET", f"/os-floating-ips/{made['id']}")["floating_ip"]
        assert (shown["fixed_ip"], shown["instance_id"]) == (fixed, sid)
        assert api("POST", f"/servers/{sid}/action", {"removeFloatingIp": {
            "address": made["ip"]}}).status_code == 202
        again = api("POST", f"/servers/{sid}/action", {"removeFloatingIp": {
            "address": made["ip"]}})
        assert fault(again) == (409, f"Floating IP {made['ip']} is not associated with "
                                     f"instance {sid}.")
        assert api("POST", f"/servers/{sid}/action", {"addFloatingIp": {}}).status_code == 400
    finally:
        api("DELETE", f"/servers/{sid}")
        api("DELETE", f"/os-floating-ips/{made['id']}")


def test_the_proxies_are_gone_from_2_36(demo):
    """Nova answers 404 for its network proxies from 2.36 (and the actions from
    2.44); clients use the Network API there."""
    api = demo.compute
    made = api.ok("POST", "/os-floating-ips", {"pool": "public"}, mv="2.35")["floating_ip"]
    for method, path, body in (("GET", "/os-floating-ip-pools", None),
                               ("GET", "/os-floating-ips", None),
                               ("GET", f"/os-floating-ips/{made['id']}", None),
                               ("POST", "/os-floating-ips", {"pool": "public"}),
                               ("DELETE", f"/os-floating-ips/{made['id']}", None)):
        assert fault(api(method, path, body, mv="2.36")) == (
            404, "The resource could not be found."), (method, path)
    assert api("DELETE", f"/os-floating-ips/{made['id']}", mv="2.35").status_code == 202
