"""`fupin worker`: runs the planners' queued jobs (started from the web application)."""

from __future__ import annotations

import signal

import click

from .app import App, pass_app


def writers():
    """The report writers of reports/ (imported here: WeasyPrint is seconds of start-up)."""
    from planners.worker import Writers
    from reports.kindergartens import write_kindergarten_report
    from reports.planning import write_plan_report

    return Writers(plan_report=write_plan_report, kindergarten_report=write_kindergarten_report)


@click.command("worker")
@click.option("--instance", type=click.Path(file_okay=False), default=None,
              help="The web application's folder, where data sets and runs are kept (default: "
                   "FUPIN_WEB_INSTANCE, else ./fupin-web). Workers on several machines share it.")
@click.option("--once", is_flag=True, help="Run the jobs queued now, then stop (instead of waiting for more).")
@pass_app
def worker(app: App, instance, once):
    """Run queued planning jobs: teachers, graduates, kindergartens, one at a time.

    Several workers may run at once on PostgreSQL (each job is claimed by one); SQLite runs one.
    A job of a worker that is killed is marked failed within a minute and its files removed.
    Ctrl-C (or SIGTERM) stops the worker after the job it is running.

    \b
    Example:
        fupin --db sqlite:///fupin.db worker --instance fupin-web
        fupin --db postgresql://postgres@127.0.0.1/fupin worker --once
    """
    from planners.settings import instance_folder
    from planners.worker import serve

    stopping = []

    def stop(*_):
        if stopping:
            raise KeyboardInterrupt
        stopping.append(True)
        click.echo("fupin worker: stopping after the current job (Ctrl-C again to stop now)", err=True)

    before = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    root = instance_folder(instance)
    click.echo(f"fupin worker: database {app.url}, folder {root}" + ("" if once else "; Ctrl-C stops it"), err=True)
    try:
        ran = serve(app.engine(), root, writers(), once=once, should_stop=lambda: bool(stopping),
                    say=lambda line: click.echo(line, err=True))
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    click.echo(f"fupin worker: {ran} job(s) run", err=True)
