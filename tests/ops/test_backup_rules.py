"""The pure rules of backup files: what a restore leaves to the extension, which manifests pass."""

from __future__ import annotations

import json

import pytest

from service.ops.backup_rules import BackupError, read_manifest, restore_list

TOC = """;
; Archive created at 2026-12-01 22:36:14 UTC
;
2; 3079 20885 EXTENSION - postgis
4598; 0 0 COMMENT - EXTENSION postgis
262; 1259 113549 TABLE public address_coverage broadband
4600; 0 0 COMMENT public TABLE address_coverage broadband
253; 1259 113444 SEQUENCE public addresses_id_seq broadband
4581; 0 113549 TABLE DATA public address_coverage broadband
4204; 0 21198 TABLE DATA public spatial_ref_sys postgres
4600; 0 0 SEQUENCE SET public addresses_id_seq broadband
"""


def test_restore_leaves_extension_comments_and_configuration_data_to_the_extension() -> None:
    kept = restore_list(TOC).splitlines()
    assert "4598; 0 0 COMMENT - EXTENSION postgis" not in kept
    assert "4204; 0 21198 TABLE DATA public spatial_ref_sys postgres" not in kept
    assert kept == [
        line
        for line in TOC.splitlines()
        if line
        not in {
            "4598; 0 0 COMMENT - EXTENSION postgis",
            "4204; 0 21198 TABLE DATA public spatial_ref_sys postgres",
        }
    ]
    assert "2; 3079 20885 EXTENSION - postgis" in kept  # IF NOT EXISTS: created where missing


MANIFEST = {
    "format": "broadband-backup",
    "format_version": 1,
    "created_at": "2026-12-01T22:39:47Z",
    "service_version": "0.1.0",
    "server_version": "15.18",
    "alembic_revision": "0007",
    "data_version": 137,
    "municipalities": [{"ags": "05558012", "name": "Coesfeld"}],
    "row_counts": {"addresses": 12000},
    "dump_sha256": "c" * 64,
    "dump_bytes": 778452,
}


def test_a_valid_manifest_is_read() -> None:
    manifest = read_manifest(json.dumps(MANIFEST).encode())
    assert manifest.row_counts == {"addresses": 12000}
    assert manifest.rows == 12000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "does not describe a broadband-backup file"),
        ({"format_version": 2}, "backup format 2; this release reads format 1 only"),
        ({"row_counts": {"addresses": -1}}, "row_counts.addresses: Input should be greater"),
        ({"dump_sha256": "xyz"}, "dump_sha256: String should match pattern"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
    ],
)
def test_a_wrong_manifest_is_refused_with_the_field_named(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(BackupError) as refused:
        read_manifest(json.dumps(MANIFEST | change).encode())
    assert message in str(refused.value)


def test_a_manifest_that_is_not_json_is_refused() -> None:
    with pytest.raises(BackupError, match=r"manifest\.json is not JSON"):
        read_manifest(b"\x89PNG")
