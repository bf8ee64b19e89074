"""A legacy file above the upload limit is refused by its size, before anything reads it, with
a message that names the field and the limit; nothing is imported."""

from __future__ import annotations

from unittest.mock import patch

from ledgerline_ui.forms.upload_limits import MAX_UPLOAD_MB
from tests.ui.finance_data import scalar


class _TooLarge:
    """What `st.file_uploader` answers for the review's 110 MB legacy file; reading it fails
    the test (the size alone must refuse it)."""

    name = "huge.csv"
    size = 110 * 1024 * 1024

    def getvalue(self):
        raise AssertionError("an oversized upload was read")

    read = getvalue


def test_an_oversized_legacy_file_is_refused_by_its_size_and_writes_nothing(
        open_screen, demo_database_url):
    app = open_screen("pages/9_Reconciliation.py")
    imports = scalar(demo_database_url, "SELECT count(*) FROM legacy_imports")
    with patch("streamlit.file_uploader", return_value=_TooLarge()):
        app.run()
        next(b for b in app.button if b.label == "Import file").click()
        app.run()
    assert not app.exception
    assert [e.value for e in app.error] == [
        f"Legacy billing CSV: the file is 110.0 MB; files up to {MAX_UPLOAD_MB} MB are accepted"]
    assert scalar(demo_database_url, "SELECT count(*) FROM legacy_imports") == imports
