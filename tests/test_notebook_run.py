"""The quickstart notebook runs top to bottom in a real kernel, against the fake."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parents[1] / "docs" / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_executes() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    html = "".join(out.get("data", {}).get("text/html", "") for out in outputs)
    assert "<caption>bulk send</caption>" in html
    assert "<td>80</td><td>60</td><td>20</td>" in html  # 'nobody' events failed, the rest landed
    assert "events of ada" in html
    assert "placed-order" in html
    listed = next(c for c in notebook.cells if "iter_data_events" in c.source)
    assert listed.outputs[0]["data"]["text/plain"] == "20"  # grace's, page by page
