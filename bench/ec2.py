"""EC2 Query API: RunInstances and DescribeInstances against moto's EC2 server
loaded with the same instances, and DescribeInstances against the OpenStack
listing of the same servers.

    python -m bench.ec2 [--small 100] [--large 1000] [--batch 50] [--threads 8]
                        [--hosts 100] [--rounds 3] [--seconds 3] [--connections 4]
                        [--keep DIR]

The peer is moto's server (``python -m moto.server``, one process), the EC2
emulator the Python world tests against; Nimbus is one all-in-one node
(``wsgi:app`` under the project's gunicorn.conf.py, one worker, as
bench.compute: simulated hosts, unlimited quotas, responses not validated).

1. RunInstances. T boto3 clients (one connection each) send ``--small``
   RunInstances calls of one instance each, then fill up to ``--large`` with
   reservations of ``--batch`` instances (MinCount = MaxCount). Figures: calls/s
   and instances/s until the last answer (each answer is the reservation with
   its instances ``pending``); for Nimbus also the time until every instance is
   ``running`` (moto's are at once).
2. DescribeInstances with ``--small`` and with ``--large`` instances, every
   instance in one answer (MaxResults=1000), the answer read but not parsed: one
   SigV4-signed request (botocore's signer) replayed on keep-alive connections by
   bench.load, Nimbus and moto taking turns, R rounds of S seconds, at one
   connection (ms per call), and at C with ``--small`` instances (moto serves one
   request at a time, so C concurrent 1,000-instance answers would outlast the
   load generator's timeout). Ratio: Nimbus calls/s over moto's.
3. The same ``--large`` servers in both dialects on the same node:
   ``DescribeInstances`` against ``GET /compute/v2.1/servers/detail?limit=N``
   (microversion 2.26), taking turns at one connection. Ratio: the EC2 call's time
   over the OpenStack call's.

The load generator shares the machine's cores with the servers. Results are
printed and written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from bench import load
from bench.compute import Client, code_state, nimbus_stack
from bench.load import Request
from bench.stack import ROOT, free_port, serving

RESULTS = ROOT / "bench" / "results"
NIMBUS = "Nimbus all-in-one node"
MOTO = "moto server"
VERSION = "2016-11-15"
MOTO_REGION = "us-east-1"
MOTO_KEYS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
# One page of up to 1,000 (moto pages at 100 without MaxResults; Nimbus answers all).
DESCRIBE = f"Action=DescribeInstances&Version={VERSION}&MaxResults=1000"


# ---------------------------------------------------------------- servers

class Ec2Endpoint:
    """One EC2 endpoint: its URL, keys, region and what to boot on it."""

    def __init__(self, name: str, url: str, keys: tuple[str, str], region: str) -> None:
        self.name, self.url, self.keys, self.region = name, url.rstrip("/") + "/", keys, region
        self.image_id = ""
        self.instance_type = ""
        self._local = threading.local()

    def client(self) -> Any:
        """A boto3 EC2 client of this thread (one keep-alive connection each)."""
        if not hasattr(self._local, "client"):
            self._local.client = boto3.client(
                "ec2", endpoint_url=self.url, region_name=self.region,
                aws_access_key_id=self.keys[0], aws_secret_access_key=self.keys[1],
                config=Config(retries={"max_attempts": 1}, max_pool_connections=1,
                              read_timeout=120))
        return self._local.client

    @property
    def base(self) -> str:
        """scheme://host:port, for bench.load."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def signed(self, body: str) -> Request:
        """``body`` as one POST signed with SigV4 now (replayable within the skew window)."""
        request = AWSRequest(method="POST", url=self.url, data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials(*self.keys), "ec2", self.region).add_auth(request)
        return Request("POST", urlsplit(self.url).path, {k: str(v) for k, v in request.headers.items()}, body)


@contextmanager
def moto_server(log_dir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_dir / "moto.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                 "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/moto-api/", timeout=2)
                break
            except requests.RequestException:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nimbus_keys(data_dir: Path) -> tuple[str, str]:
    creds = configparser.ConfigParser()
    creds.read(data_dir / "aws" / "credentials")
    return creds["demo"]["aws_access_key_id"], creds["demo"]["aws_secret_access_key"]


# ---------------------------------------------------------------- 1. RunInstances

def run_instances(ep: Ec2Endpoint, calls: int, per_call: int, threads: int) -> dict:
    """``calls`` RunInstances of ``per_call`` instances from ``threads`` clients."""
    times: list[float] = []
    ids: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        t0 = time.perf_counter()
        try:
            out = ep.client().run_instances(ImageId=ep.image_id, InstanceType=ep.instance_type,
                                            MinCount=per_call, MaxCount=per_call)
        except Exception as exc:  # noqa: BLE001 (a failure is a figure here)
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}"[:160])
            return
        with lock:
            times.append(time.perf_counter() - t0)
            ids.extend(i["InstanceId"] for i in out["Instances"])

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(calls)))
    seconds = time.perf_counter() - start
    return {"calls": calls, "instances_per_call": per_call, "threads": threads,
            "answered": len(times), "failures": len(failures), "failure_samples": failures[:3],
            "seconds": round(seconds, 2), "calls_per_s": round(len(times) / seconds, 1),
            "instances_per_s": round(len(ids) / seconds, 1),
            "ms_per_call": percentiles(times, 1000), "_ids": ids}


def wait_running(ep: Ec2Endpoint, ids: set[str], timeout: float) -> float | None:
    """Seconds until every one of ``ids`` is running (None: not within ``timeout``)."""
    start = time.perf_counter()
    paginator = ep.client().get_paginator("describe_instances")
    while time.perf_counter() - start < timeout:
        running = {i["InstanceId"] for page in paginator.paginate(
            Filters=[{"Name": "instance-state-name", "Values": ["running"]}],
            PaginationConfig={"PageSize": 1000})
            for r in page["Reservations"] for i in r["Instances"]}
        if ids <= running:
            return round(time.perf_counter() - start, 2)
        time.sleep(1.0)
    return None


def load_to(eps: list[Ec2Endpoint], have: int, want: int, first: bool, args: argparse.Namespace,
            report: dict) -> None:
    """Bring every endpoint from ``have`` to ``want`` instances, one endpoint after the
    other: single-instance calls the first time, reservations of ``--batch`` after."""
    per_call = 1 if first else args.batch
    calls = (want - have) // per_call
    for ep in eps:
        result = run_instances(ep, calls, per_call, args.threads)
        ids = set(result.pop("_ids"))
        result["to_running_s"] = wait_running(ep, ids, args.timeout) \
            if ep.name == NIMBUS else None
        report.setdefault("run_instances", {}).setdefault(ep.name, []).append(result)
        print(f"  {ep.name}: {calls} x RunInstances({per_call}): {result['calls_per_s']} calls/s, "
              f"{result['instances_per_s']} instances/s, failures {result['failures']}"
              + (f", all running after {result['to_running_s']} s"
                 if result["to_running_s"] is not None else ""), flush=True)


# ---------------------------------------------------------------- 2. DescribeInstances

def count_instances(ep: Ec2Endpoint) -> int:
    """Instances in the one page the measured call answers (which must be all)."""
    out = ep.client().describe_instances(MaxResults=1000)
    assert not out.get("NextToken"), f"{ep.name} answered more than one page"
    return sum(len(r["Instances"]) for r in out["Reservations"])


def describe(eps: list[Ec2Endpoint], size: int, args: argparse.Namespace) -> dict:
    """DescribeInstances of every instance, the endpoints taking turns."""
    out: dict[str, Any] = {"instances": size}
    for ep in eps:
        seen = count_instances(ep)
        assert seen == size, f"{ep.name} lists {seen} instances, not {size}"
        probe = requests.post(ep.url, data=DESCRIBE, headers=ep.signed(DESCRIBE).headers,
                              timeout=120)
        assert probe.status_code == 200, probe.text[:300]
        out.setdefault("answer_bytes", {})[ep.name] = len(probe.content)
    # moto serves one request at a time: C concurrent 1,000-instance answers outlast
    # the load generator's 10 s timeout, so C connections only at --small.
    for connections in (1, args.connections) if size <= args.small else (1,):
        rates: dict[str, list[float]] = {ep.name: [] for ep in eps}
        for _ in range(args.rounds):
            for ep in eps:
                request = ep.signed(DESCRIBE)
                result = load.run(ep.base, request, args.seconds, connections)
                assert result.errors == 0 and result.ok, (ep.name, result)
                rates[ep.name].append(result.rate)
        key = f"{connections}_connection{'s' if connections > 1 else ''}"
        out[key] = {name: summary(r, connections) for name, r in rates.items()}
        nimbus, moto = (statistics.median(rates[n]) for n in (NIMBUS, MOTO))
        out[key]["ratio_nimbus_over_moto"] = round(nimbus / moto, 2)
        print(f"  DescribeInstances, {size} instances, {connections} connection(s): "
              + ", ".join(f"{n} {out[key][n]['calls_per_s']}/s" for n in rates)
              + f"; ratio {out[key]['ratio_nimbus_over_moto']}", flush=True)
    return out


def summary(rates: list[float], connections: int) -> dict:
    median = statistics.median(rates)
    return {"calls_per_s": round(median, 2), "ms_per_call": round(1000 * connections / median, 1),
            "rounds": [round(r, 2) for r in rates]}


# ---------------------------------------------------------------- 3. two dialects

def dialects(nimbus: Ec2Endpoint, client: Client, size: int, args: argparse.Namespace) -> dict:
    """DescribeInstances and /servers/detail of the same servers, taking turns."""
    base = nimbus.base
    detail = Request("GET", f"/compute/v2.1/servers/detail?limit={size}", dict(client.headers))
    listed = client.get(detail.path).json()["servers"]
    assert len(listed) == size, len(listed)
    rates: dict[str, list[float]] = {"ec2": [], "openstack": []}
    for _ in range(args.rounds):
        for name, request in (("ec2", nimbus.signed(DESCRIBE)), ("openstack", detail)):
            result = load.run(base, request, args.seconds, 1)
            assert result.errors == 0 and result.ok, (name, result)
            rates[name].append(result.rate)
    out: dict[str, Any] = {"instances": size,
                           **{name: summary(r, 1) for name, r in rates.items()}}
    out["ratio_ec2_over_openstack_time"] = round(
        out["ec2"]["ms_per_call"] / out["openstack"]["ms_per_call"], 2)
    print(f"  {size} servers: DescribeInstances {out['ec2']['ms_per_call']} ms, "
          f"/servers/detail {out['openstack']['ms_per_call']} ms; "
          f"ratio {out['ratio_ec2_over_openstack_time']}", flush=True)
    return out


# ---------------------------------------------------------------- main

def percentiles(values: list[float], scale: float = 1.0) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(x * scale for x in values)
    return {"p50": round(statistics.median(v), 1), "p95": round(v[int(0.95 * (len(v) - 1))], 1),
            "max": round(v[-1], 1), "n": len(v)}


def prepare(nimbus: Ec2Endpoint, moto: Ec2Endpoint) -> None:
    """What to boot: Nimbus's image and an EC2-named flavor; moto's first AMI."""
    images = nimbus.client().describe_images(Filters=[{"Name": "name",
                                                       "Values": ["nimbus-tiny"]}])
    nimbus.image_id = images["Images"][0]["ImageId"]
    nimbus.instance_type = "t2.nano"
    moto.image_id = moto.client().describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    moto.instance_type = "t2.nano"


def run(args: argparse.Namespace) -> dict:
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_generator": load.TOOL, "client_shares_cpus": True,
                    "loadavg_at_start": list(os.getloadavg())},
        "hosts": args.hosts, "code": code_state()}
    with tempfile.TemporaryDirectory(prefix="nimbus-bench-ec2-") as tmp, ExitStack() as stack:
        logs = args.keep or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        data_dir = logs / "data"
        port = free_port()
        nimbus_def = nimbus_stack(data_dir, port, args.hosts, args.large)
        node = stack.enter_context(serving(nimbus_def, 1, logs, port))
        node.wait("/identity/v3", timeout=300)
        moto_url, moto_proc = stack.enter_context(moto_server(logs))
        region = os.environ.get("NIMBUS_REGION", "RegionOne")
        nimbus = Ec2Endpoint(NIMBUS, f"{node.url}/ec2/", nimbus_keys(data_dir), region)
        moto = Ec2Endpoint(MOTO, f"{moto_url}/", MOTO_KEYS, MOTO_REGION)
        eps = [nimbus, moto]
        prepare(nimbus, moto)
        cpu0 = {NIMBUS: node.cpu_seconds(), MOTO: cpu_seconds(moto_proc.pid)}
        print("RunInstances", flush=True)
        load_to(eps, 0, args.small, True, args, report)
        print("DescribeInstances", flush=True)
        report["describe"] = [describe(eps, args.small, args)]
        load_to(eps, args.small, args.large, False, args, report)
        report["describe"].append(describe(eps, args.large, args))
        report["server_cpu_seconds"] = {NIMBUS: round(node.cpu_seconds() - cpu0[NIMBUS], 1),
                                        MOTO: round(cpu_seconds(moto_proc.pid) - cpu0[MOTO], 1)}
        print("Two dialects, one node", flush=True)
        report["ec2_vs_openstack"] = dialects(nimbus, Client(node.url, data_dir), args.large,
                                              args)
    report["machine"]["loadavg_at_end"] = list(os.getloadavg())
    return report


def render(report: dict) -> str:
    lines = [f"EC2 bench, {report['when']} ({report['machine']['cpus']} cpus, "
             f"load generator {report['machine']['load_generator']})"]
    for name, runs in report["run_instances"].items():
        for r in runs:
            lines.append(f"  RunInstances {name}: {r['calls']} calls x {r['instances_per_call']}"
                         f": {r['calls_per_s']} calls/s, {r['instances_per_s']} instances/s, "
                         f"p50 {r['ms_per_call'].get('p50')} ms"
                         + (f", running after {r['to_running_s']} s"
                            if r.get("to_running_s") is not None else ""))
    for d in report["describe"]:
        for key in [k for k in d if k.endswith(("connection", "connections"))]:
            row = d[key]
            lines.append(f"  DescribeInstances {d['instances']} ({key}): "
                         f"Nimbus {row[NIMBUS]['calls_per_s']}/s ({row[NIMBUS]['ms_per_call']} ms)"
                         f", moto {row[MOTO]['calls_per_s']}/s ({row[MOTO]['ms_per_call']} ms)"
                         f", ratio {row['ratio_nimbus_over_moto']}")
    d = report["ec2_vs_openstack"]
    lines.append(f"  {d['instances']} servers: DescribeInstances {d['ec2']['ms_per_call']} ms vs "
                 f"/servers/detail {d['openstack']['ms_per_call']} ms: ratio "
                 f"{d['ratio_ec2_over_openstack_time']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ec2", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50, help="instances per RunInstances "
                        "when filling up to --large")
    parser.add_argument("--threads", type=int, default=8, help="RunInstances client threads")
    parser.add_argument("--hosts", type=int, default=100, help="simulated compute hosts")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds to wait for Nimbus's instances to run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="per measurement and round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the server logs and the data directory in DIR")
    args = parser.parse_args(argv)
    if (args.large - args.small) % args.batch:
        parser.error("--large minus --small must be a multiple of --batch")
    report = run(args)
    print(render(report))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ec2-{report['when'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
