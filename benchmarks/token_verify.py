"""Self-issued token throughput on one core: sign, and the full verification pipeline (steps 1–10).

Also the verifier's side of step 11: a VP-JWT carrying one membership VC-JWT (two signatures, the claims, the
revocation bit from a cached status list).

Baseline, measured in the same run: the raw Ed25519 verify of the very same signing input and signature, which is
the floor no JWT verification can go below. The pipeline figure includes strict parsing, the participant-list
check, key lookup in a cached DID document, the claim checks and the replay-store insert (in memory).

    .venv/bin/python benchmarks/token_verify.py [--quick]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from datetime import date

from connector.identity import (InMemoryReplayStore, MembershipSubject, Participant, ParticipantList,
                                ParticipantResolver, SigningKey, StatusList, StatusListCache, TrustAnchor,
                                build_did_document, generate_key, issue_access_token, issue_membership_credential,
                                issue_presentation, issue_self_token, issue_status_list_credential, parse_compact,
                                verify_presentation, verify_request)

CALLER = "did:web:donnees.tourisme-occitanie.example.fr"
VERIFIER = "did:web:hub.atout-france.example.fr"
NOW = 1_795_000_000


def pin_one_core() -> str:
    try:
        cpu = sorted(os.sched_getaffinity(0))[-1]
        os.sched_setaffinity(0, {cpu})
        return f"cpu{cpu}"
    except (AttributeError, OSError):
        return "unpinned"


def interleaved(cases: dict[str, tuple], batches: int) -> dict[str, tuple[float, float]]:
    """Median and best ops/s of each case; batches of the cases alternate so that noise from other processes on
    this shared machine hits the baseline and the measured code alike."""
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for b in range(batches):
        for name, (fn, items) in cases.items():
            per = len(items) // batches
            chunk = items[b * per:(b + 1) * per]
            t0 = time.perf_counter()
            for item in chunk:
                fn(item)
            rates[name].append(per / (time.perf_counter() - t0))
    return {name: (statistics.median(r), max(r)) for name, r in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (a few seconds)")
    parser.add_argument("--pin", action="store_true", help="pin the process to one CPU (off by default: on a shared "
                                                          "machine a busy pinned core skews the figures)")
    args = parser.parse_args()
    n, batches = (3_000, 10) if args.quick else (30_000, 15)
    core = pin_one_core() if args.pin else "one thread, unpinned"

    key = SigningKey(CALLER + "#key-2026-11", generate_key())
    doc = build_did_document(CALLER, auth_keys=[(key.kid, key.public_key)])
    registry = ParticipantList(VERIFIER, NOW, 1, {CALLER: Participant(CALLER, "CRT Occitanie", ("regional_node",))})
    resolver = ParticipantResolver(registry, lambda url: json.dumps(doc).encode(), lambda: NOW)
    resolver.resolve(CALLER)  # DID documents are cached in production too (5 min)
    access = issue_access_token(key, VERIFIER, ["org.eclipse.dspace.dcp.vc.type:TourismDataSpaceMembershipCredential"],
                                NOW)

    tokens = ["Bearer " + issue_self_token(key, VERIFIER, NOW, token=access) for _ in range(n)]
    raw = [(p.signature, p.signing_input) for p in (parse_compact(t[7:]) for t in tokens)]
    public = key.public_key
    replay = InMemoryReplayStore()

    # step 11's verification side: a VP holding one membership VC, status list cached (no network)
    issuer = SigningKey(VERIFIER + "#issuer-2026-11", generate_key())
    anchor = TrustAnchor(VERIFIER, {issuer.kid: issuer.public_key})
    status_url = "https://hub.atout-france.example.fr/trust/status/1"
    status = StatusListCache(lambda url: issue_status_list_credential(issuer, url, StatusList(), NOW), anchor)
    vc = issue_membership_credential(issuer, MembershipSubject(CALLER, "CRT Occitanie", "130000000",
                                                               ("regional_node",), ("REG-76",), date(2026, 1, 1),
                                                               "1.0", "0" * 64),
                                     status_list_url=status_url, status_index=7, now=NOW)
    vps = [issue_presentation(key, VERIFIER, [vc], NOW) for _ in range(n // 3)]

    def membership(vp: str) -> None:
        verify_presentation(vp, holder_did=CALLER, our_did=VERIFIER, now=NOW, resolver=resolver, anchor=anchor,
                            status=status)

    def full(header: str) -> None:
        verify_request(header, our_did=VERIFIER, now=NOW, registry=registry, resolver=resolver, replay=replay)

    results = interleaved({
        "raw": (lambda item: public.verify(*item), raw),              # baseline: the same bytes, the same key
        "full": (full, tokens),                                       # steps 1–10, one fresh token each
        "parse": (lambda t: parse_compact(t[7:]), tokens),            # strict JWS parsing alone
        "sign": (lambda _: issue_self_token(key, VERIFIER, NOW, token=access), list(range(n))),
        "vp": (membership, vps),                                      # VP + VC signatures, claims, status bit
    }, batches)
    vp_median, _ = results["vp"]
    (base_median, base_best), (full_median, full_best) = results["raw"], results["full"]
    (parse_median, _), (sign_median, sign_best) = results["parse"], results["sign"]
    assert len(replay) == n  # every token verified once, every jti recorded

    size = len(tokens[0]) - 7
    print(f"core: {core}; token {size} bytes (with a {len(access)}-byte access-token claim); "
          f"{n} operations in {batches} batches, median (best)")
    print(f"  raw Ed25519 verify (baseline)   {base_median:9,.0f} /s ({base_best:,.0f})  {1e6 / base_median:6.1f} µs")
    print(f"  strict parse only               {parse_median:9,.0f} /s              {1e6 / parse_median:6.1f} µs")
    print(f"  full verify, steps 1–10         {full_median:9,.0f} /s ({full_best:,.0f})  {1e6 / full_median:6.1f} µs")
    print(f"  sign (issue_self_token)         {sign_median:9,.0f} /s ({sign_best:,.0f})  {1e6 / sign_median:6.1f} µs")
    print(f"  presentation verify (VP + 1 VC) {vp_median:9,.0f} /s              {1e6 / vp_median:6.1f} µs"
          f"  ({len(vps[0])} bytes)")
    print(f"  pipeline overhead over raw verify: {1e6 / full_median - 1e6 / base_median:.1f} µs "
          f"({base_median / full_median:.2f}x)")
    print(json.dumps({
        "benchmark": "token_verify", "quick": args.quick, "core": core, "token_bytes": size, "operations": n,
        "raw_ed25519_verify_per_s": round(base_median), "parse_per_s": round(parse_median),
        "full_verify_per_s": round(full_median), "sign_per_s": round(sign_median),
        "full_verify_us": round(1e6 / full_median, 1), "raw_verify_us": round(1e6 / base_median, 1),
        "sign_us": round(1e6 / sign_median, 1), "vp_verify_per_s": round(vp_median),
        "vp_verify_us": round(1e6 / vp_median, 1), "ratio_raw_to_full": round(base_median / full_median, 3),
    }))


if __name__ == "__main__":
    main()
