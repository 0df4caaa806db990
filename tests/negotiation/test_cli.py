"""``passerelle negotiate`` and ``passerelle agreements`` on a node of the loopback data space (CliRunner)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from connector.commands.negotiate import agreements, negotiate
from negotiation_kit import OPEN_OFFER, Space


def test_negotiate_then_list_agreements(shared: Space) -> None:
    node_dir = str(shared.consumer.node.config.base)
    runner = CliRunner()
    r = runner.invoke(negotiate, ["--provider", shared.provider.did, "--dataset", "frequentation",
                                  "--offer", OPEN_OFFER["@id"], "--dir", node_dir])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("FINALIZED: agreement urn:uuid:")
    agreement_id = r.output.split()[2]
    listed = runner.invoke(agreements, ["--dir", node_dir])
    assert listed.exit_code == 0 and agreement_id in listed.output and "from " + shared.provider.did in listed.output
    data = json.loads(runner.invoke(agreements, ["--dir", node_dir, "--json"]).output)
    assert any(a["id"] == agreement_id and a["policy"]["permission"] == OPEN_OFFER["permission"]
               for a in data["agreements"])
    provider_side = runner.invoke(agreements, ["--dir", str(shared.provider.node.config.base)])
    assert agreement_id in provider_side.output and "granted to " + shared.consumer.did in provider_side.output


def test_negotiate_bad_input_is_one_line(shared: Space, tmp_path) -> None:  # type: ignore[no-untyped-def]
    node_dir = str(shared.consumer.node.config.base)
    runner = CliRunner()
    r = runner.invoke(negotiate, ["--provider", "bretagne", "--dataset", "x", "--offer", "y", "--dir", node_dir])
    assert r.exit_code != 0 and "did:web" in r.output
    r = runner.invoke(negotiate, ["--provider", shared.provider.did, "--dataset", "frequentation",
                                  "--offer", "urn:offer:absent", "--dir", node_dir])
    assert r.exit_code != 0 and "has no offer 'urn:offer:absent'" in r.output
    r = runner.invoke(agreements, ["--dir", str(tmp_path)])
    assert r.exit_code != 0 and "node.toml" in r.output and "Traceback" not in r.output
