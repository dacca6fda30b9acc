"""The quickstart notebook runs top to bottom in a real kernel, against the fake; and the
progress bar is a live widget for a watched notebook, one text line for an unattended one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest

ROOT = Path(__file__).parents[1]
NOTEBOOK = ROOT / "docs" / "notebooks" / "quickstart.ipynb"
WIDGET = "application/vnd.jupyter.widget-view+json"
FINAL_LINE = re.compile(r"^sending: 100%\|.*\| 80/80 \[.*accepted=60, failed=20\]$")
OFFLINE = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ProxyError",
)
"""What pip says when it cannot reach a package index (a skip, unlike any other failure)."""


def parse(html: str) -> Element:
    html5lib = pytest.importorskip("html5lib")
    document: Element = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    return document


def text(element: Element) -> str:
    return "".join(element.itertext())


def cell(notebook: Any, source: str) -> Any:
    """The code cell whose source contains ``source``."""
    return next(c for c in notebook.cells if c.cell_type == "code" and source in c.source)


def html_of(code_cell: Any) -> Element:
    return parse("".join(out.get("data", {}).get("text/html", "") for out in code_cell.outputs))


def check_executed(notebook: Any) -> None:
    """What a reader of the executed quickstart must see."""
    outputs = [out for c in notebook.cells if c.cell_type == "code" for out in c.outputs]
    assert [out for out in outputs if out.output_type == "error"] == []
    assert [out for out in outputs if WIDGET in out.get("data", {})] == []

    sent = html_of(cell(notebook, "create_data_event"))
    lines = [text(div) for div in sent.iter("div")]
    assert "order_id: 1" in lines
    assert "price: €19.99" in lines
    [receipt] = sent.iter("a")
    assert (receipt.get("href"), receipt.get("rel")) == (
        "https://example.com/r/1",
        "noopener noreferrer",
    )

    bulk = cell(notebook, "send_data_events")
    err = "".join(o.text for o in bulk.outputs if o.output_type == "stream" and o.name == "stderr")
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err  # one final text line: not a widget, not a redrawn bar
    assert FINAL_LINE.match(lines[0]), lines[0]
    totals = html_of(bulk).find(".//table/tbody/tr")
    assert totals is not None
    assert [text(td) for td in totals.iter("td")] == ["80", "60", "20"]

    listed = html_of(cell(notebook, "per_page=10)\npage"))
    caption = listed.find(".//caption")
    assert caption is not None
    assert text(caption).startswith("10 events; more pages follow")

    shown = cell(notebook, "frame.dtypes").outputs[0]["data"]["text/plain"].splitlines()
    dtypes = dict(line.split(None, 1) for line in shown if not line.startswith("dtype:"))
    assert dtypes["created_at"] == "datetime64[ns, UTC]"
    assert dtypes["metadata.order_id"] == "Int64"
    assert dtypes["metadata.price.amount"] == "Int64"
    assert dtypes["metadata.price.currency"] == "string"
    assert dtypes["metadata.report_id"] == "Int64"

    summary = html_of(cell(notebook, "summary=True"))
    caption = summary.find(".//caption")
    assert caption is not None
    assert text(caption) == "events of ada: 3 event names"
    assert cell(notebook, "iter_data_events").outputs[0]["data"]["text/plain"] == "20"


def test_quickstart_notebook_executes() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    check_executed(notebook)


RUNNER = """
import sys, nbformat, nbclient
notebook = nbformat.read(sys.argv[1], as_version=4)
probe = "import sys, intercom_events; print(sys.prefix); print(intercom_events.__file__)"
notebook.cells.append(nbformat.v4.new_code_cell(probe))
nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
nbformat.write(notebook, sys.argv[2])
"""


@pytest.mark.processes
@pytest.mark.timeout(300)
def test_quickstart_runs_in_a_fresh_venv_with_the_notebook_extra(tmp_path: Path) -> None:
    """``python -m venv`` + ``pip install -e .[notebook]`` is all the quickstart needs."""
    nbformat = pytest.importorskip("nbformat")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "JUPYTER_DATA_DIR": str(tmp_path / "jupyter")}
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"python -m venv failed (no ensurepip?): {made.stderr[-300:]}")
    python = str(venv / "bin" / "python")
    pip = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[notebook]"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=240,
    )
    if pip.returncode != 0 and any(sign in pip.stdout + pip.stderr for sign in OFFLINE):
        pytest.skip(f"pip cannot reach a package index: {pip.stderr[-300:]}")
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    executed = tmp_path / "executed.ipynb"
    run = subprocess.run(
        [python, "-c", RUNNER, str(NOTEBOOK), str(executed)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
        timeout=150,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    notebook = nbformat.read(executed, as_version=4)
    probe = notebook.cells.pop()
    prefix, module = probe.outputs[0]["text"].split()
    assert Path(prefix) == venv  # the kernel is the fresh venv's python
    assert Path(module).is_relative_to(ROOT)  # with this checkout installed, editable
    check_executed(notebook)


def test_progress_text_prints_only_the_final_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``INTERCOM_EVENTS_PROGRESS=text`` outside a kernel too: one line, for logs."""
    pytest.importorskip("tqdm")
    from intercom_events import DataEvent, DataEventsClient
    from intercom_events.testing import FakeIntercom

    monkeypatch.setenv("INTERCOM_EVENTS_PROGRESS", "text")
    with FakeIntercom() as fake:
        fake.add_user(user_id="1")
        with DataEventsClient(token=fake.token, base_url=fake.url) as client:
            events = [DataEvent("e", user_id=user) for user in ("1", "1", "nobody")]
            result = client.send_data_events(events, concurrency=1, progress=True)
    assert (result.accepted, len(result.failed)) == (2, 1)
    err = capsys.readouterr().err
    assert re.fullmatch(r"sending: 100%\|.*\| 3/3 \[.*accepted=2, failed=1\]\n", err), err


SEND = """
from intercom_events import DataEvent, DataEventsClient
from intercom_events.testing import FakeIntercom
fake = FakeIntercom()
fake.start()
fake.add_user(user_id="1")
client = DataEventsClient(token=fake.token, base_url=fake.url)
"""


def execute(client: Any, code: str, *, allow_stdin: bool) -> list[dict[str, Any]]:
    """Run ``code`` as a frontend would (``allow_stdin`` as given); its iopub messages."""
    msg_id = client.execute(code, allow_stdin=allow_stdin)
    seen = []
    while True:
        message = client.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return seen
        seen.append({"type": message["msg_type"], **message["content"]})


@pytest.mark.processes
def test_progress_is_a_widget_when_watched_and_one_line_when_unattended() -> None:
    manager = pytest.importorskip("jupyter_client.manager")
    env = {k: v for k, v in os.environ.items() if k != "INTERCOM_EVENTS_PROGRESS"}
    kernel, client = manager.start_new_kernel(kernel_name="python3", env=env)
    try:
        assert [m for m in execute(client, SEND, allow_stdin=False) if m["type"] == "error"] == []
        send = "client.send_data_events([DataEvent('e', user_id='1') for _ in range(3)], "
        send += "progress=True).accepted"
        cases = {  # (allow_stdin, INTERCOM_EVENTS_PROGRESS): a widget?
            (True, ""): True,  # JupyterLab and friends
            (False, ""): False,  # nbclient, nbconvert --execute, papermill
            (True, "text"): False,
            (False, "auto"): True,
        }
        for (allow_stdin, chosen), widget in cases.items():
            code = f"import os; os.environ['INTERCOM_EVENTS_PROGRESS'] = {chosen!r}\n{send}"
            seen = execute(client, code, allow_stdin=allow_stdin)
            assert [m for m in seen if m["type"] == "error"] == [], seen
            result = [m["data"]["text/plain"] for m in seen if m["type"] == "execute_result"]
            assert result == ["3"]
            widgets = [m for m in seen if m["type"] == "display_data" and WIDGET in m["data"]]
            err = [m["text"] for m in seen if m["type"] == "stream" and m["name"] == "stderr"]
            if widget:
                assert len(widgets) == 1, json.dumps(seen, default=str)[:2000]
                assert err == []
            else:
                assert widgets == []
                line = "".join(err)  # written once the bar closes
                assert re.fullmatch(r"sending: 100%\|.*\| 3/3 \[.*accepted=3, failed=0\]\n", line)
    finally:
        execute(client, "client.close(); fake.stop()", allow_stdin=False)
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
