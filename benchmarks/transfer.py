"""Bulk pull over loopback: a Parquet distribution pulled from a provider under ``passerelle serve`` (granian,
its file wrapper → sendfile) by a consumer node, against nginx serving the same file in the same run.

Both downloads use the same client path (httpx streaming, every byte written to a file and hashed, then fsync), so
the ratio compares the servers: the provider authorises the pull (token, transfer, agreement, policy, count, audit
entries) and streams the stored file; nginx (Debian's nginx-light, started here on a free port with a temporary
config) serves it as a static file. The consumer's figure is the whole ``fetch()`` of ``connector.transfer.ingest``
(authorisation, stream, sha256 and size verification). Peak RSS: the provider's serving process tree (granian
master + workers, sampled every 50 ms) and the consumer's process.

    .venv/bin/python benchmarks/transfer.py [--quick]        # 1 GB; --quick: ~100 MB
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _util import ensure_tool, free_port  # noqa: E402

OFFER = {"@id": "urn:offer:bench:transfer", "@type": "Offer", "permission": [{"action": "use"}]}
MAPPING = {"title": {"fr": "Réservations", "en": "Bookings"}, "description": {"fr": "d", "en": "d"},
           "themes": ["ECON"], "contact": {"name": "Observatoire", "url": "https://example.org/contact"},
           "spatial": ["FR"], "frequency": "WEEKLY",
           "licence": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "access_rights": "RESTRICTED",
           "offers": [OFFER]}


def make_parquet(path: Path, size_mb: int) -> None:
    """Incompressible-ish numeric columns, written by row groups (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(1)
    rows = 1_000_000
    batch_bytes = rows * 8 * 4
    schema = pa.schema([(f"c{i}", pa.float64()) for i in range(4)])
    with pq.ParquetWriter(path, schema, compression="none") as w:
        for _ in range(max(1, size_mb * 1_000_000 // batch_bytes)):
            w.write_table(pa.table({f"c{i}": rng.random(rows) for i in range(4)}, schema=schema))


class PeakRss:
    """Peak memory (MB) of a process tree, sampled in a thread: the sum of PSS (shared pages counted once, split
    between the processes sharing them: forked workers share the master's imports) and the largest RSS."""

    def __init__(self, pid: int):
        import psutil
        self.proc = psutil.Process(pid)
        self.peak = 0.0
        self.peak_rss = 0.0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil
        while not self.stop_flag.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                infos = [p.memory_full_info() for p in procs]
                self.peak = max(self.peak, sum(i.pss for i in infos) / 1e6)
                self.peak_rss = max(self.peak_rss, max(i.rss for i in infos) / 1e6)
            except psutil.Error:
                pass
            time.sleep(0.05)

    def stop(self) -> float:
        self.stop_flag.set()
        self.thread.join()
        return self.peak


def download(url: str, dest: Path, headers: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Same client path as the consumer: stream, write, hash, fsync. Returns (seconds, bytes, sha256)."""
    h = hashlib.sha256()
    n = 0
    t0 = time.perf_counter()
    with httpx.Client(timeout=120) as c, c.stream("GET", url, headers=headers or {}) as r, \
            open(dest, "wb", buffering=1 << 20) as f:
        r.raise_for_status()
        for chunk in r.iter_raw():
            f.write(chunk)
            h.update(chunk)
            n += len(chunk)
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - t0, n, h.hexdigest()


def start_nginx(root: Path, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = ensure_tool("nginx", "nginx-light")
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""   # workers must read the node's private data directory
    conf.write_text(f"""{user} daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/nginx.err;
events {{ worker_connections 64; }}
http {{ access_log off; sendfile on; tcp_nopush on; client_body_temp_path {tmp}; proxy_temp_path {tmp};
  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; root {root}; location / {{ }} }} }}
""")
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, port


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="~100 MB instead of 1 GB")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    size_mb = 100 if args.quick else 1000
    runs = 2 if args.quick else args.runs
    from connector.clock import SystemClock
    from connector.publishing import publish_dataset
    from connector.testing import LiveSpace
    from connector.transfer.ingest import LocalControl, fetch
    tmp = Path(tempfile.mkdtemp(prefix="passerelle-bench-transfer-"))
    serve: subprocess.Popen[bytes] | None = None
    nginx: subprocess.Popen[bytes] | None = None
    space = LiveSpace(tmp / "space", SystemClock())
    try:
        source = tmp / "data.parquet"
        t0 = time.perf_counter()
        make_parquet(source, size_mb)
        print(f"file: {source.stat().st_size / 1e6:.0f} MB written in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
        space.add("hub", role="hub", enrol=False)
        space.enrol("hub")
        provider = space.add("campings", roles=["private_provider"])
        consumer = space.add("occitanie", territory=["REG-76"])
        for live in space.nodes.values():
            live.app.config["SCHEDULER_STARTED"] = True
        result = publish_dataset(provider.node, "bulk", file=source, metadata=MAPPING,
                                 service=provider.app.config["CATALOG"])
        dataset = result.dataset.iri
        published = next(iter(result.files))
        # the provider under `passerelle serve`, on its own port, instead of the in-process test server
        provider.stop()
        serve = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--dir",
                                  str(provider.node.config.path.parent)], start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "wb"), cwd=ROOT)
        for _ in range(200):
            try:
                if httpx.get(provider.url + "/.well-known/dspace-version", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        neg = consumer.app.config["NEGOTIATIONS"]
        n = neg.start(provider.did, dataset, OFFER["@id"])
        neg.wait_until(lambda: neg.get(n["pid"])["state"] in ("FINALIZED", "TERMINATED"), 30)
        view = neg.get(n["pid"])
        if view["state"] != "FINALIZED":
            raise SystemExit(f"negotiation ended {view['state']}: {view['reason']}")
        agreement = view["agreement"]["@id"]
        # the provider committed its agreement before sending FINALIZED: check it on its management API
        r = httpx.get(f"{provider.url}/api/agreements/{agreement}", timeout=10,
                      headers={"Authorization": f"Bearer {provider.node.admin_token}"})
        if r.status_code != 200:
            raise SystemExit(f"the provider has no agreement {agreement}: {r.status_code} {r.text[:200]}")
        nginx, nport = start_nginx(published.parent, tmp / "nginx")
        ctl = LocalControl(consumer.app.config["TRANSFERS"])
        provider_peak = PeakRss(serve.pid)
        ours, theirs = [], []
        for i in range(runs):
            secs, nbytes, digest = download(f"http://127.0.0.1:{nport}/{published.name}", tmp / "nginx.out")
            assert nbytes == source.stat().st_size
            theirs.append(nbytes / secs / 1e6)
            (tmp / "nginx.out").unlink()
            pid = ctl.request(agreement)
            address = ctl.wait_started(pid, 30)
            part = tmp / f"pull-{i}.part"
            t = time.perf_counter()
            declared = fetch(consumer.node, consumer.trust, address, "parquet", part, provider_did=provider.did)
            secs = time.perf_counter() - t
            assert declared["size"] == nbytes and declared["sha256"] == digest
            ours.append(nbytes / secs / 1e6)
            part.unlink()
            ctl.finish(pid, None, None)
        # the consumer's memory: one pull by `passerelle pull` in its own process (same code path, lands the file)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cli = subprocess.Popen([sys.executable, "-c", "import sys; from connector.commands.transfer import pull; "
                                "pull(sys.argv[1:])", "--agreement", agreement, "--dir",
                                str(consumer.node.config.path.parent)], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        cli_peak = PeakRss(cli.pid)
        out, err = cli.communicate(timeout=600)
        if cli.returncode != 0:
            raise SystemExit(f"passerelle pull failed: {err.decode()[-500:]}")
        consumer_rss = cli_peak.stop()
        consumer_rss_max = cli_peak.peak_rss
        provider_rss = provider_peak.stop()
        provider_rss_max = provider_peak.peak_rss
        best_ours, best_nginx = max(ours), max(theirs)
        figures = {"bytes": source.stat().st_size, "runs": runs,
                   "passerelle_MBps": round(best_ours, 1), "nginx_MBps": round(best_nginx, 1),
                   "ratio": round(best_ours / best_nginx, 3), "goal_ratio": 0.8,
                   "passerelle_MBps_all": [round(x, 1) for x in ours], "nginx_MBps_all": [round(x, 1) for x in theirs],
                   "provider_peak_pss_tree_MB": round(provider_rss, 1),
                   "provider_peak_rss_process_MB": round(provider_rss_max, 1),
                   "consumer_peak_rss_MB": round(consumer_rss_max, 1), "consumer_peak_pss_MB": round(consumer_rss, 1),
                   "goal_rss_MB": 300}
        print(f"passerelle {best_ours:.0f} MB/s, nginx {best_nginx:.0f} MB/s (ratio {best_ours / best_nginx:.2f}); "
              f"peak memory provider {provider_rss:.0f} MB (PSS, master + workers; largest process RSS "
              f"{provider_rss_max:.0f} MB), consumer {consumer_rss_max:.0f} MB RSS (passerelle pull)", file=sys.stderr)
        print(json.dumps(figures))
    finally:
        for proc in (serve, nginx):
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM) if proc is serve else proc.terminate()
                    proc.wait(timeout=10)
                except Exception:  # noqa: BLE001
                    proc.kill()
        for name, live in list(space.nodes.items()):
            if name != "campings":
                live.stop()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
