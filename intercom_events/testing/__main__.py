"""``python -m intercom_events.testing``: run the fake Intercom until Ctrl-C."""

from ._cli import serve_forever

__all__ = ["serve_forever"]

if __name__ == "__main__":
    raise SystemExit(serve_forever(prog="python -m intercom_events.testing"))
