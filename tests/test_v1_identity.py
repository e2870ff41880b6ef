"""``--rules reference-v1`` on a contract-v1 dataset answers byte for byte as version 1 did.

The dataset is the county demo (seed 1, "today" 2026-11-28) made v1 by ``v1data.strip_to_v1``: 60,000 hazards,
15,370 of them unresolved on the day. The digests were taken from version 1 itself (commit 04f7f26, before
contract and rules v2) on the same files. Should the demo generator change, the digests must be taken again
from that commit, never from the code under test:

    git worktree add /tmp/v1 04f7f26
    PYTHONPATH=/tmp/v1 python -c 'from accountability.cli import main; main()' import V1DATA --store v1.db
    PYTHONPATH=/tmp/v1 python -c 'from accountability.cli import main; main()' trace --all --store v1.db \
        --as-of 2026-11-28 --format jsonl -o out.jsonl      # and --format csv; incident ID --format json
"""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner

from accountability.cli import main
from accountability.demo import generate
from v1data import strip_to_v1

pytestmark = pytest.mark.slow

TODAY = "2026-11-28"
V1_DIGESTS = {
    "jsonl": "a09bb6c31eacc5b7b4def043892151b65ece64115e17b8809a1ebd0842007c6e",
    "csv": "16746c705def6526e2b6beff4a62fbf8542644d04fac8bae61c36bbb5710e337",
    "incidents": "a6f1fcfdbdd0d342d9cc76f25d459978b0f662d030831b115e5ed1f54d811a46",  # each incident's JSON, in order
}


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def v1_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("v1-identity")
    generate(folder / "demo", scale="county", seed=1, today=TODAY)
    strip_to_v1(folder / "demo", folder / "v1")
    store = str(folder / "store.db")
    run("import", str(folder / "v1"), "--store", store)
    return folder, store


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_trace_all_under_reference_v1_is_version_1_byte_for_byte(v1_store, fmt):
    folder, store = v1_store
    out = folder / f"all.{fmt}"
    run("trace", "--all", "--store", store, "--as-of", TODAY, "--format", fmt, "--rules", "reference-v1",
        "-o", str(out))
    assert hashlib.sha256(out.read_bytes()).hexdigest() == V1_DIGESTS[fmt]


def test_every_incident_under_reference_v1_is_version_1_byte_for_byte(v1_store):
    folder, store = v1_store
    ids = [line.split(",", 1)[0] for line in (folder / "v1" / "incidents.csv").read_text("utf-8").splitlines()[1:]]
    assert len(ids) == 10
    text = "".join(run("incident", i, "--store", store, "--format", "json", "--rules", "reference-v1") for i in ids)
    assert hashlib.sha256(text.encode()).hexdigest() == V1_DIGESTS["incidents"]
