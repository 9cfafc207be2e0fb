"""`fupin web`: the web application, served by waitress."""

from __future__ import annotations

import click

from .app import App, pass_app


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--instance", type=click.Path(file_okay=False), default=None,
              help="Folder for uploads, issued report files and the session key (default: ./fupin-web).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@pass_app
def web(app: App, host, port, instance, threads):
    """Serve the web application (and its JSON API) on this database.

    \b
    Example:
        fupin --db sqlite:///fupin.db web --port 8000
        fupin --db postgresql://postgres@127.0.0.1/fupin web --host 0.0.0.0 --port 8080
    """
    from waitress import serve

    from web import create_app

    flask_app = create_app(app.url, instance_path=instance)
    click.echo(f"fupin web: http://{host}:{port}/ (database {app.url}); Ctrl-C stops it")
    serve(flask_app, host=host, port=port, threads=threads, ident="fupin")
