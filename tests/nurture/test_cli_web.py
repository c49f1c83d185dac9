"""`nurture run` and `nurture web` serve the web app that is installed beside the CLI (the
`nurture.apps` entry point), on the command's own runtime: the one whose workers and
scheduler `nurture run` starts."""

from __future__ import annotations

from nurture.app.cli.ops import web_app


def test_the_cli_serves_the_installed_web_app_on_its_own_runtime(rt):
    app = web_app(rt)
    assert app.extensions["nurture"] is rt
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"ok": True}
    assert client.get("/l/trial").status_code == 200
