"""`aod serve`: the domain's HTTP server (API, reviewer pages, Jupyter proxy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from domain.cli.common import HomeOption, TokenOption, open_domain


def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8700, "--port"),
    get: Optional[str] = typer.Option(None, "--get", help="Answer one GET request in-process and exit (like datasette --get)."),
    token: Optional[str] = TokenOption,
    home: Optional[Path] = HomeOption,
) -> None:
    """Serve the domain over HTTP (OpenAPI at /docs)."""
    from domain.server import create_app

    domain = open_domain(home)
    app = create_app(domain)
    if get is not None:
        from fastapi.testclient import TestClient

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with TestClient(app) as client:
            response = client.get(get, headers=headers)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else response.text
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2) if not isinstance(body, str) else body)
        raise typer.Exit(0 if response.status_code < 400 else 1)
    import uvicorn

    typer.echo(f"aod serving {domain.home} on http://{host}:{port} (API docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning", ws="websockets")
