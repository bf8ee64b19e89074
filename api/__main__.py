"""`python -m api [--host 127.0.0.1] [--port 8000]`: serve the API on the app's database
(`DATABASE_URL`, else the embedded server in `.pgdata/`), migrated to head first."""

from __future__ import annotations

import argparse

import uvicorn

from api.app import create_app
from db.database import ensure_ready


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(ensure_ready()), host=args.host, port=args.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
