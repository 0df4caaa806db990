"""Node start-up time and idle memory, demo enrolment time, and protocol requests per second with token
verification, against the plain JSON version route of the same server as the ceiling.

    .venv/bin/python benchmarks/node.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import ensure_tool, free_port, tree_rss_mb  # noqa: E402


def start_node(directory: Path) -> tuple[subprocess.Popen[bytes], float]:
    from connector.config import load_config
    port = load_config(directory / "node.toml").node.port
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/.well-known/dspace-version", timeout=0.5).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("node exited during start-up")
        time.sleep(0.01)


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=15)


WRK_SCRIPT = """
local tokens = {}
local idx = 0
local body = '{"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"CatalogRequestMessage","filter":[]}'
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
end
request = function()
  idx = idx + 1
  local t = tokens[((idx - 1) % #tokens) + 1]
  return wrk.format("POST", "/dsp/2025-1/catalog/request",
    {["Authorization"] = "Bearer " .. t, ["Content-Type"] = "application/json"}, body)
end
"""


def wrk(url: str, seconds: int, conns: int, script: Path | None = None, args: list[str] | None = None) -> dict:
    cmd = [ensure_tool("wrk", "wrk"), "-t1", f"-c{conns}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if args:
        cmd += ["--"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)

    def ms(m: re.Match | None) -> float | None:
        if not m:
            return None
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    return {"rps": rps, "requests": total, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "p50_ms": ms(p50), "p99_ms": ms(p99)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    seconds = 3 if a.quick else 10
    starts = 2 if a.quick else 5
    from connector.clock import SystemClock
    from connector.demo import DemoSpace
    from connector.init_node import init_node

    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # 1. start-up and idle memory of one node
        times, rss = [], []
        for i in range(starts):
            d = root / f"solo{i}"
            init_node(d, name="solo", role="hub", port=free_port())
            proc, t = start_node(d)
            time.sleep(1.0)  # idle
            mem = tree_rss_mb(proc.pid)
            stop(proc)
            times.append(t)
            rss.append(max(v for k, v in mem.items() if k.startswith("worker")))
        results["startup_s_median"] = round(statistics.median(times), 3)
        results["idle_rss_mb_per_worker_max"] = round(max(rss), 1)
        print(f"start-up to serving: median {results['startup_s_median']} s over {starts} starts; "
              f"idle RSS per worker ≤ {results['idle_rss_mb_per_worker_max']} MB")

        # 2. the demo data space: five processes up and enrolled
        from connector.demo import TEMPLATES
        n_nodes = len(TEMPLATES)
        base = 20000
        while any(_busy(p) for p in range(base, base + n_nodes)):
            base += n_nodes + 7
        space = DemoSpace(root / "demo")
        t0 = time.perf_counter()
        space.create(base)
        space.start()
        space.enrol_all()
        results["demo_enrolled_s"] = round(time.perf_counter() - t0, 2)
        mesh = space.verify_mesh()
        results["demo_mesh_ok"] = sum(ok for _, _, ok, _ in mesh)
        results["demo_nodes"] = n_nodes
        print(f"demo: {n_nodes} nodes created, serving and enrolled in {results['demo_enrolled_s']} s; "
              f"{results['demo_mesh_ok']}/{n_nodes * (n_nodes - 1)} pairs verified")

        # 3. protocol requests per second with token verification, on the Bretagne node (2 workers)
        caller = space.nodes["occitanie"]
        target = space.nodes["bretagne"]
        from connector.config import load_config
        from connector.node import Node
        from connector.trust import Trust
        trust = Trust(Node(load_config(caller.directory / "node.toml"), SystemClock(), migrate=False))
        n_tokens = 8000 if a.quick else 40000
        t0 = time.perf_counter()
        tokens = [trust.self_issued_token(target.did) for _ in range(n_tokens)]
        sign_rate = n_tokens / (time.perf_counter() - t0)
        tok_file = root / "tokens.txt"
        tok_file.write_text("\n".join(tokens))
        script = root / "dsp.lua"
        script.write_text(WRK_SCRIPT)
        # warm the membership cache of both workers
        for t in tokens[-20:]:
            httpx.post(target.url + "/dsp/2025-1/catalog/request", headers={"Authorization": f"Bearer {t}"},
                       json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                             "@type": "CatalogRequestMessage", "filter": []})
        tok_file.write_text("\n".join(tokens[:-20]))
        ceiling = wrk(target.url + "/.well-known/dspace-version", seconds, 16)
        proto = wrk(target.url, seconds, 16, script, [str(tok_file)])
        space.stop()
        if proto["requests"] > n_tokens - 20:
            print(f"warning: {proto['requests']} requests for {n_tokens} tokens: some were replays")
        results.update({
            "protocol_rps": proto["rps"], "protocol_p50_ms": proto["p50_ms"], "protocol_p99_ms": proto["p99_ms"],
            "protocol_non2xx": proto["non2xx"], "plain_json_rps": ceiling["rps"],
            "plain_json_p99_ms": ceiling["p99_ms"], "protocol_vs_plain": round(proto["rps"] / ceiling["rps"], 3),
            "token_sign_per_s": round(sign_rate),
        })
        print(f"protocol POST catalog/request with token verification: {proto['rps']:.0f} req/s "
              f"(p50 {proto['p50_ms']} ms, p99 {proto['p99_ms']} ms, non-2xx {proto['non2xx']}); "
              f"plain JSON route on the same server: {ceiling['rps']:.0f} req/s")
    print(json.dumps(results))


def _busy(port: int) -> bool:
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return False
        except OSError:
            return True


if __name__ == "__main__":
    main()
