"""The ``intercom-events`` command line (also ``python -m intercom_events``).

One module a command family: ``_events`` (``send``, ``list``, ``summaries``), ``_import``
(``import``; the file formats in ``_importer``), ``_outbox`` (``outbox``: an SQLite tracking
outbox's status, dead letters and drain), ``_demo`` and ``_fake``. ``_parser`` builds
the parser from them, ``_main`` runs a command and maps errors to exit codes, ``_output``
writes lines and tables.

May import: the public surface, ``_core`` (for the shared input rules) and ``testing``.
"""

from ._main import main

__all__ = ["main"]
