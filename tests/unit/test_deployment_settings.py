"""Deployment settings that protect the app: the upload limit Streamlit enforces, no parent
frame allowed to steer the app, and secrets kept out of git (security review, item 9)."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from billing_core.errors import InvalidInput
from ledgerline_ui.forms.upload_limits import MAX_UPLOAD_MB, refuse_oversized_upload

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())


def test_streamlit_refuses_uploads_above_the_limit_the_screens_check():
    assert CONFIG["server"]["maxUploadSize"] == MAX_UPLOAD_MB <= 50


def test_the_benchmarks_100000_invoice_legacy_file_fits_the_limit_twice(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT / "bench"))
    from bench_reconciliation import legacy_csv

    size_mb = len(legacy_csv(100_000, 1_000).encode()) / 2**20
    assert 2 * size_mb < MAX_UPLOAD_MB  # 11.7 MB (12.3 million bytes)


def test_no_parent_frame_may_send_the_app_commands():
    assert CONFIG["client"]["allowedOrigins"] == []


@pytest.mark.skipif(shutil.which("git") is None or not (REPO_ROOT / ".git").exists(),
                    reason="needs git and a checkout")
@pytest.mark.parametrize("path", [".streamlit/secrets.toml", ".pgdata/PG_VERSION"])
def test_secrets_and_the_embedded_database_are_never_committed(path):
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPO_ROOT,
                             timeout=30)
    assert ignored.returncode == 0, f"{path} is not git-ignored"


@pytest.mark.parametrize("size, refused", [
    (0, False), (MAX_UPLOAD_MB * 1024 * 1024, False), (MAX_UPLOAD_MB * 1024 * 1024 + 1, True),
], ids=["empty", "at the limit", "one byte over"])
def test_an_upload_is_refused_by_its_size_alone(size, refused):
    class Upload:
        pass

    upload = Upload()
    upload.size = size
    if not refused:
        refuse_oversized_upload(upload, "Legacy billing CSV")
        return
    with pytest.raises(InvalidInput) as error:
        refuse_oversized_upload(upload, "Legacy billing CSV")
    assert error.value.field == "Legacy billing CSV"
