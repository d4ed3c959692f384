"""Image data throughput and server memory, against a file copy on the same disk.

    python -m bench.image [--size-mib 1024] [--small-mib 64] [--rounds N] [--dir DIR]

One bootstrapped Nimbus API node (gunicorn + uvicorn worker, 1 worker, file
store) with its data directory beside a source file of the given size, all in
one temporary directory on one file system. For the large and for a small
size, R rounds of:

1. copy: the source read and written in 1 MiB chunks, fsync at the end (what
   the file store does), and ``shutil.copyfile`` for reference (in-kernel copy,
   timed without its fsync, which follows untimed);
2. upload with openstacksdk ``create_image(filename=...)``: it passes an open
   file to requests, which sends it in 16 KiB blocks (the client holds no more);
3. download with openstacksdk ``download_image(stream=True)``, written to a file
   in 1 MiB chunks, fsync at the end; its MD5 is checked against the image's
   checksum and the source's afterwards, untimed.

``os.sync()`` runs before each transfer so none pays for another's writeback.
During each transfer a thread reads VmRSS of the gunicorn worker, the master and
this client every 50 ms; the worker's VmHWM (reset before through
/proc/PID/clear_refs) catches peaks between samples. Growth is the peak over the
RSS just before the transfer. The node runs wsgi:app behind a probe (an ASGI
wrapper, a dict update per message) that counts the body chunk sizes of
requests on …/file: what uvicorn hands the app and what the app sends back.
The table shows the best and the median rate of the rounds (ratios to the copy
use the best: on a shared machine, the least disturbed run); results are printed
and written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stack import ROOT, Running, Stack, free_port, serving

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 1 << 20
CHUNK = MIB
SAMPLE_SECONDS = 0.05
PROBE_ENV = "BENCH_IMAGE_PROBE_LOG"
COPY, COPYFILE, UPLOAD, DOWNLOAD = ("copy (1 MiB chunks + fsync)", "shutil.copyfile (no fsync)",
                                    "upload (sdk create_image)",
                                    "download (sdk, stream, fsync)")


# ---- the probe, inside the server ---------------------------------------------
class ChunkProbe:
    """ASGI wrapper recording, per request on ``…/file``, the sizes of the body
    chunks received and sent (a histogram: its memory does not grow with the
    body) and when the first and last of them passed, as one JSON line in ``log``."""

    def __init__(self, app: Any, log: Path) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/file"):
            await self.app(scope, receive, send)
            return
        sizes: dict[str, Counter] = {"in": Counter(), "out": Counter()}
        marks: dict[str, float] = {}  # seconds since the request arrived
        start = time.perf_counter()

        def mark(direction: str, size: int) -> None:
            sizes[direction][size] += 1
            if size:
                now = time.perf_counter() - start
                marks.setdefault(f"first_{direction}", now)
                marks[f"last_{direction}"] = now

        async def counting_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                mark("in", len(message.get("body", b"")))
            return message

        async def counting_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                marks["response_start"] = time.perf_counter() - start
            elif message["type"] == "http.response.body":
                mark("out", len(message.get("body", b"")))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            record = {"method": scope["method"], "path": scope["path"],
                      "seconds": time.perf_counter() - start, "marks": marks,
                      **{k: {str(n): c for n, c in v.items()} for k, v in sizes.items()}}
            with open(self.log, "a") as fh:
                fh.write(json.dumps(record) + "\n")


def probed_app() -> ChunkProbe:
    """gunicorn app factory, ``bench.image:probed_app()``: wsgi:app behind the probe."""
    from wsgi import app  # the real application, built from the NIMBUS_* environment

    return ChunkProbe(app, Path(os.environ[PROBE_ENV]))


def chunk_summary(histogram: dict[str, int]) -> dict:
    """Count, total, mean / min / max size and the most frequent sizes of the
    non-empty chunks in a probe histogram."""
    sizes = {int(n): c for n, c in histogram.items() if int(n)}
    count = sum(sizes.values())
    total = sum(n * c for n, c in sizes.items())
    common = sorted(sizes.items(), key=lambda item: -item[1])[:4]
    return {"chunks": count, "bytes": total, "mean": total // count if count else 0,
            "min": min(sizes, default=0), "max": max(sizes, default=0),
            "most_common": [[n, c] for n, c in common]}


# ---- memory and CPU of processes -------------------------------------------------
def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB ({} once it has gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _reset_peak(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class RssSampler:
    """Samples the VmRSS of some processes every 50 ms in a thread while the
    block runs: ``idle`` before it, ``peak`` during it (KiB)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.idle = {name: _status(pid).get("VmRSS", 0) for name, pid in pids.items()}
        self.peak = dict(self.idle)
        self.hwm_reset = {name: _reset_peak(pid) for name, pid in pids.items()}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        for name, pid in self.pids.items():
            status = _status(pid)
            peak = status.get("VmRSS", 0)
            if self.hwm_reset[name]:
                peak = max(peak, status.get("VmHWM", 0))
            self.peak[name] = max(self.peak[name], peak)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def report(self) -> dict[str, dict[str, float]]:
        return {name: {"idle_mib": round(self.idle[name] / 1024, 1),
                       "peak_mib": round(self.peak[name] / 1024, 1),
                       "growth_mib": round((self.peak[name] - self.idle[name]) / 1024, 1),
                       "samples": self.samples, "vmhwm_reset": self.hwm_reset[name]}
                for name in self.pids}


# ---- files ----------------------------------------------------------------------
def write_source(path: Path, size: int) -> None:
    """``size`` bytes of random-looking data, written 1 MiB at a time (each chunk a
    different window on an 8 MiB random pool, stamped with its number), fsynced."""
    pool = os.urandom(8 * MIB)
    with open(path, "wb") as out:
        for number, start in enumerate(range(0, size, CHUNK)):
            offset = (number * 40_961) % (7 * MIB)
            chunk = bytearray(pool[offset:offset + min(CHUNK, size - start)])
            chunk[:8] = number.to_bytes(8, "big")[:len(chunk)]
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_chunked(src: Path, dst: Path) -> None:
    """What the file store does with an upload, minus the hashing."""
    with open(src, "rb") as inp, open(dst, "xb") as out:
        while chunk := inp.read(CHUNK):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    _fsync_dir(dst.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def hash_rate(mib: int = 256) -> float:
    """MiB/s of MD5 + SHA-512 over 1 MiB chunks in one thread: the hashing every
    upload does on the server (checksum and os_hash_value)."""
    chunk = os.urandom(CHUNK)
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    start = time.perf_counter()
    for _ in range(mib):
        md5.update(chunk)
        sha.update(chunk)
    return mib / (time.perf_counter() - start)


# ---- the node ---------------------------------------------------------------------
def node_stack(data_dir: Path, port: int, probe_log: Path) -> Stack:
    """A bootstrapped data directory (catalog and clouds.yaml on ``port``) and the
    node serving it behind the probe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_DATA_DIR=str(data_dir), NIMBUS_HOST="127.0.0.1", NIMBUS_PORT=str(port),
               NIMBUS_BCRYPT_ROUNDS="4", NIMBUS_LOG_LEVEL="WARNING",
               GUNICORN_LOGLEVEL="warning", **{PROBE_ENV: str(probe_log)})
    subprocess.run([sys.executable, "-m", "core.manage", "bootstrap", "--quiet"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    return Stack("Nimbus image node", "bench.image:probed_app()", env=env)


def connect(clouds_yaml: Path) -> Any:
    """An openstacksdk Connection from the clouds.yaml bootstrap wrote (admin)."""
    # Imported here: the server imports this module too, and needs none of it.
    import openstack.config
    import openstack.connection

    config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)],
                                              vendor_files=[], secure_files=[])
    return openstack.connection.Connection(config=config.get_one(cloud="admin"))


# ---- measurements ------------------------------------------------------------------
@dataclass
class Transfer:
    """One timed transfer and what the processes did meanwhile."""

    name: str
    size: int
    seconds: float
    server_cpu: float | None = None
    client_cpu: float = 0.0
    memory: dict = field(default_factory=dict)
    chunks: dict = field(default_factory=dict)
    phases: dict = field(default_factory=dict)  # seconds, from the probe's marks

    @property
    def rate(self) -> float:
        return self.size / MIB / self.seconds


@contextmanager
def measured(name: str, size: int, node: Running | None) -> Iterator[Transfer]:
    """Times the block and, with a node, samples memory and worker CPU."""
    os.sync()
    pids = {"client": os.getpid()}
    if node is not None:
        (worker,) = node.worker_pids()
        pids.update(worker=worker, master=node.proc.pid)
        cpu = node.cpu_seconds()
    transfer = Transfer(name, size, 0.0)
    client_cpu = time.process_time()
    with RssSampler(pids) as sampler:
        start = time.perf_counter()
        yield transfer
        transfer.seconds = time.perf_counter() - start
    transfer.client_cpu = time.process_time() - client_cpu
    transfer.memory = sampler.report()
    if node is not None:
        transfer.server_cpu = node.cpu_seconds() - cpu


class ImageBench:
    def __init__(self, node: Running, conn: Any, work: Path, probe_log: Path) -> None:
        self.node = node
        self.conn = conn
        self.work = work
        self.probe_log = probe_log

    def _probe(self, method: str) -> dict:
        """The probe's record of the last request on …/file with ``method``."""
        lines = self.probe_log.read_text().splitlines() if self.probe_log.exists() else []
        for line in reversed(lines):
            record = json.loads(line)
            if record["method"] == method:
                return record
        raise RuntimeError(f"the probe saw no {method} …/file (is the node serving "
                           f"bench.image:probed_app()?)")

    def copy(self, src: Path, size: int) -> list[Transfer]:
        dst = self.work / "copy.bin"
        try:
            with measured(COPY, size, None) as chunked:
                copy_chunked(src, dst)
            dst.unlink()
            with measured(COPYFILE, size, None) as plain:
                shutil.copyfile(src, dst)
            with open(dst, "rb") as fh:  # untimed, so the writeback hits no later transfer
                os.fsync(fh.fileno())
        finally:
            dst.unlink(missing_ok=True)
        return [chunked, plain]

    def upload(self, src: Path, size: int, name: str) -> tuple[Transfer, Any]:
        with measured(UPLOAD, size, self.node) as transfer:
            image = self.conn.image.create_image(
                name, filename=str(src), disk_format="raw", container_format="bare",
                allow_duplicates=True, validate_checksum=False, wait=True)
        image = self.conn.image.get_image(image.id)
        if image.status != "active" or image.size != size:
            raise RuntimeError(f"upload: image {image.id} is {image.status}, {image.size} "
                               f"bytes, expected active and {size}")
        record = self._probe("PUT")
        marks = record["marks"]
        transfer.chunks = chunk_summary(record["in"])
        transfer.phases = {"request": record["seconds"],
                           "body": marks["last_in"] - marks["first_in"],
                           "after_body": marks["response_start"] - marks["last_in"]}
        return transfer, image

    def download(self, image: Any, size: int, expected_md5: str) -> Transfer:
        """Streams the image to a file; its MD5 is checked afterwards, untimed, so
        the client's hashing does not take a core from the server."""
        dst = self.work / "download.bin"
        try:
            with measured(DOWNLOAD, size, self.node) as transfer:
                response = self.conn.image.download_image(image, stream=True)
                with open(dst, "xb") as out:
                    for chunk in response.iter_content(chunk_size=CHUNK):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            got, md5 = dst.stat().st_size, md5_of(dst)
        finally:
            dst.unlink(missing_ok=True)
        if not got == size or not md5 == image.checksum == expected_md5:
            raise RuntimeError(f"download: {got} bytes, MD5 {md5}; image checksum "
                               f"{image.checksum}, source MD5 {expected_md5}")
        record = self._probe("GET")
        marks = record["marks"]
        transfer.chunks = chunk_summary(record["out"])
        transfer.phases = {"request": record["seconds"], "first_byte": marks["first_out"],
                           "body": marks["last_out"] - marks["first_out"]}
        return transfer

    def round(self, src: Path, size: int, md5: str, number: int) -> list[Transfer]:
        transfers = self.copy(src, size)
        upload, image = self.upload(src, size, f"bench-{size // MIB}MiB-{number}")
        try:
            transfers += [upload, self.download(image, size, md5)]
        finally:
            self.conn.image.delete_image(image, ignore_missing=True)
        return transfers


def summarise(size: int, transfers: list[Transfer]) -> dict:
    """Per operation over the rounds: the best and the median rate (ratios to the
    copy use the best: on a shared machine the least disturbed run), the median
    CPU and phases, the largest memory growth."""
    ops: dict[str, dict] = {}
    for name in (COPY, COPYFILE, UPLOAD, DOWNLOAD):
        runs = [t for t in transfers if t.name == name]
        best = min(runs, key=lambda t: t.seconds)
        op: dict[str, Any] = {
            "rate_mib_s": round(best.rate, 1),
            "median_rate_mib_s": round(size / MIB / statistics.median(t.seconds for t in runs), 1),
            "seconds": round(best.seconds, 3),
            "client_cpu_s": round(statistics.median(t.client_cpu for t in runs), 3)}
        if best.server_cpu is not None:
            cpu = statistics.median(t.server_cpu or 0.0 for t in runs)
            op["server_cpu_s"] = round(cpu, 3)
            op["server_cpu_s_per_gib"] = round(cpu * (1 << 30) / size, 2)
            op["phases_s"] = {k: round(statistics.median(t.phases[k] for t in runs), 3)
                              for k in best.phases}
            op["chunks"] = best.chunks
        op["memory"] = {proc: max((t.memory[proc] for t in runs),
                                  key=lambda m: m["growth_mib"])
                        for proc in best.memory}
        op["rounds"] = [{"seconds": round(t.seconds, 3), "rate_mib_s": round(t.rate, 1),
                         "server_cpu_s": t.server_cpu and round(t.server_cpu, 3),
                         "client_cpu_s": round(t.client_cpu, 3),
                         "phases_s": {k: round(v, 3) for k, v in t.phases.items()},
                         "memory": t.memory} for t in runs]
        ops[name] = op
    for key in ("rate_mib_s", "median_rate_mib_s"):
        copy_rate = ops[COPY][key]
        for op in ops.values():
            op[key.replace("rate_mib_s", "ratio_to_copy")] = round(op[key] / copy_rate, 3)
    return {"size_mib": size // MIB, "operations": ops}


def run(size_mib: int, small_mib: int, rounds: int, base: Path) -> dict:
    sizes = [small_mib * MIB, size_mib * MIB]
    need = 4 * max(sizes)  # the source, a copy, the stored image, a download
    free = shutil.disk_usage(base).free
    if free < need:
        raise SystemExit(f"{base}: {free // MIB} MiB free, need {need // MIB} MiB "
                         f"(4 x the size): use --dir or a smaller --size-mib")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="nimbus-image-bench-", dir=base) as tmp:
        work = Path(tmp)
        data, probe_log = work / "data", work / "probe.jsonl"
        port = free_port()
        started = time.perf_counter()
        with serving(node_stack(data, port, probe_log), 1, work, port) as node:
            try:
                node.wait("/identity/v3")
                conn = connect(data / "clouds.yaml")
                bench = ImageBench(node, conn, work, probe_log)
                results = []
                for size in sizes:
                    src = work / f"source-{size // MIB}MiB.bin"
                    write_source(src, size)
                    md5 = md5_of(src)
                    transfers = []
                    for number in range(rounds):
                        transfers += bench.round(src, size, md5, number)
                    if os.stat(src).st_dev != os.stat(data / "images").st_dev:
                        raise RuntimeError("the source and the file store are on different "
                                           "file systems")
                    src.unlink()
                    results.append(summarise(size, transfers))
                conn.close()
            except BaseException:
                log = work / "nimbus-image-node.log"
                if log.exists():
                    tail = log.read_text(errors="replace").splitlines()[-30:]
                    print("server log (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
                raise
        seconds = time.perf_counter() - started
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "client_shares_cpus": True,
                    "load_average_before_after": [round(load_before[0], 2),
                                                  round(os.getloadavg()[0], 2)]},
        "directory": str(base), "workers": 1, "rounds": rounds, "store": "file",
        "hash_md5_sha512_mib_s": round(hash_rate(), 1),
        "sizes": results, "total_seconds": round(seconds, 1),
    }


# ---- output ---------------------------------------------------------------------
def render(report: dict) -> str:
    machine = report["machine"]
    lines = [f"Nimbus image data (1 uvicorn worker, file store) against a copy on the same "
             f"file system ({report['directory']}); best and median of {report['rounds']} "
             f"rounds;",
             f"client and server share {machine['cpus']} cores (1-min load average before / "
             f"after: {' / '.join(map(str, machine['load_average_before_after']))}).", ""]
    head = (f"  {'':30} {'MiB/s':>7} {'median':>7} {'x copy':>6} {'median':>6} {'srv CPU':>7} "
            f"{'worker RSS MiB':>19} {'master':>6} {'client':>6}  body chunks")
    unit = (f"  {'':30} {'best':>7} {'':>7} {'best':>6} {'':>6} {'s/GiB':>7} "
            f"{'idle / peak / +':>19} {'+ MiB':>6} {'+ MiB':>6}  n, mean / max KiB")
    for size in report["sizes"]:
        lines += [f"{size['size_mib']} MiB", head, unit]
        for name, op in size["operations"].items():
            mem = op["memory"]
            cpu = f"{op['server_cpu_s_per_gib']:7.2f}" if "server_cpu_s" in op else f"{'-':>7}"
            worker = (f"{mem['worker']['idle_mib']:.0f} / {mem['worker']['peak_mib']:.0f} / "
                      f"{mem['worker']['growth_mib']:+.1f}" if "worker" in mem else "-")
            master = f"{mem['master']['growth_mib']:+.1f}" if "master" in mem else "-"
            chunks = op.get("chunks")
            chunk_text = (f"{chunks['chunks']}, {chunks['mean'] / 1024:.0f} / "
                          f"{chunks['max'] / 1024:.0f}" if chunks else "")
            lines.append(f"  {name:30} {op['rate_mib_s']:7.1f} {op['median_rate_mib_s']:7.1f} "
                         f"{op['ratio_to_copy']:6.2f} {op['median_ratio_to_copy']:6.2f} {cpu} "
                         f"{worker:>19} {master:>6} {mem['client']['growth_mib']:+6.1f}  "
                         f"{chunk_text}")
        up, down = (size["operations"][n]["phases_s"] for n in (UPLOAD, DOWNLOAD))
        lines += [f"  server side (median s): upload body received in {up['body']:.2f}, then "
                  f"{up['after_body']:.2f} to the response (fsync, rename, database); download "
                  f"first byte at {down['first_byte']:.3f}, body sent in {down['body']:.2f}", ""]
    small, large = report["sizes"][0], report["sizes"][-1]
    for name in (UPLOAD, DOWNLOAD):
        growth = [s["operations"][name]["memory"]["worker"]["growth_mib"] for s in (small, large)]
        lines.append(f"worker RSS growth, {name.split()[0]}: {growth[0]:+.1f} MiB at "
                     f"{small['size_mib']} MiB, {growth[1]:+.1f} MiB at {large['size_mib']} MiB "
                     f"({large['size_mib'] / small['size_mib']:.0f}x the data)")
    lines.append(f"MD5 + SHA-512 in one thread (what every upload costs the server): "
                 f"{report['hash_md5_sha512_mib_s']:.0f} MiB/s. Total {report['total_seconds']} s.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.image", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="the large image")
    parser.add_argument("--small-mib", type=int, default=64,
                        help="the small image the memory figures are compared with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the temporary source, copies and data directory go")
    args = parser.parse_args(argv)
    if not 1 <= args.small_mib <= args.size_mib or args.rounds < 1:
        parser.error("need 1 <= --small-mib <= --size-mib and --rounds >= 1")
    report = run(args.size_mib, args.small_mib, args.rounds, args.dir)
    print(render(report))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"image-{report['when'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
