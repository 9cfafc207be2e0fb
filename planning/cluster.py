"""Tasks on a Dask distributed cluster: `fupin plan kindergartens --scheduler ADDRESS`.

`plan_province` imports this module only when it is given a scheduler's address, so that the
other commands (and `fupin plan --help`) never wait for dask and distributed to load.

The functions sent are fupin's own, by reference: every worker needs fupin installed, the same
version (checked when connecting). A task whose worker dies is re-run on another worker by Dask
(`distributed.scheduler.allowed-failures` times, 3 by default, set on the scheduler); after that
it is handed back as failed, with the reason in words, never dropped.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import CancelledError, ThreadPoolExecutor
from contextlib import suppress
from typing import Callable, Sequence, TypeVar

from common.errors import FupinError

# Seconds to reach the scheduler, and again to see its first worker: an address that does not
# answer costs this long, not the 30 s of distributed's default.
CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 10.0

T = TypeVar("T")
R = TypeVar("R")


def map_on_cluster(address: str, function: Callable[[T], R], tasks: Sequence[T],
                   done: Callable[[int, R], None], failed: Callable[[int, str], None]) -> int:
    """Run `function(task)` for every task on the cluster whose scheduler is at `address`.

    Once per task, in the order they finish: `done(index, result)`, or `failed(index, reason)`
    when the cluster could not run it (its workers died, or could not load it). When `done` or
    `failed` raises (e.g. a job's cancellation), the tasks not finished are cancelled, the client
    lets go of them and the exception propagates. Returns the cluster's threads (counties at once).
    """
    import distributed

    address = _checked_address(address)
    _reach(address)
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # reached a moment ago: the scheduler went away, or refused us
        raise _unreachable(address, exc) from None
    futures: dict = {}
    try:
        threads = _check_workers(client, address)
        futures = {client.submit(function, task, pure=False): i for i, task in enumerate(tasks)}
        for future in distributed.as_completed(futures, loop=client.loop):
            index = futures.pop(future)
            try:
                result = future.result()
            except (CancelledError, asyncio.CancelledError) as exc:  # not by us: the scheduler is gone
                reason = getattr(exc, "reason", None) or type(exc).__name__
                raise FupinError(f"the Dask scheduler at {address} dropped the run before every county was "
                                 f"solved ({reason}); nothing was written: check the scheduler (is it still "
                                 "running? its log) and run again") from None
            except Exception as exc:
                failed(index, _failure_words(exc))
            else:
                done(index, result)
    except BaseException:
        if futures:  # stop promptly: nothing left queued on the workers for us
            with suppress(Exception):
                client.cancel(list(futures), force=True)
        raise
    finally:
        with suppress(Exception):  # best effort: a scheduler gone must not hide what happened before
            client.close(timeout=CLOSE_TIMEOUT)
    return threads


def _checked_address(address: str) -> str:
    address = (address or "").strip()
    if not address:
        raise FupinError("the Dask scheduler's address is empty; give it as tcp://HOST:8786")
    return address


def _reach(address: str) -> None:
    """Raise a FupinError unless a Dask scheduler answers at `address` within CONNECT_TIMEOUT.

    Tried with distributed's own connection (its handshake included) before a Client is made: a
    Client that fails to connect leaves a half-made object whose clean-up times out noisily later.
    """
    from distributed.comm import connect

    async def probe() -> None:
        comm = await connect(address, timeout=CONNECT_TIMEOUT)
        await comm.close()

    try:
        with ThreadPoolExecutor(1) as thread:  # its own event loop, whatever the caller runs
            thread.submit(asyncio.run, probe()).result()
    except Exception as exc:
        raise _unreachable(address, exc) from None


def _unreachable(address: str, exc: Exception) -> FupinError:
    if isinstance(exc, ValueError):
        return FupinError(f"{address!r} is not a Dask scheduler's address ({exc}); give it as tcp://HOST:8786")
    if isinstance(exc, OSError):
        return FupinError(
            f"cannot reach a Dask scheduler at {address} within {CONNECT_TIMEOUT:g} s ({exc}); start one "
            "there with `dask scheduler` (and its workers with `dask worker ADDRESS`), check the host, the "
            "port (8786 by default) and the firewall, or plan on this machine's processes instead")
    return FupinError(f"{address} did not answer as a Dask scheduler does ({type(exc).__name__}); "
                      "check the address and port of the scheduler (8786 by default)")


def _check_workers(client, address: str) -> int:
    """The cluster's threads; a FupinError when it has no worker, or one without this fupin."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (TimeoutError, OSError):
        raise FupinError(f"the Dask scheduler at {address} has no workers (waited {CONNECT_TIMEOUT:g} s); "
                         f"start some with `dask worker {address} --nworkers 2 --nthreads 1` on machines "
                         "where fupin is installed") from None
    ours = fupin_version()
    problems = []
    for worker, theirs in sorted(client.run(_version_probe(), on_error="return").items()):
        if isinstance(theirs, BaseException):
            problems.append(f"{worker} cannot load fupin ({type(theirs).__name__}: {theirs})")
        elif "unknown" not in (ours, theirs) and theirs != ours:
            problems.append(f"{worker} has fupin {theirs}, this machine {ours}")
    if problems:
        raise FupinError("the Dask workers need fupin installed, the same version as here: "
                         + "; ".join(problems))
    return sum(client.nthreads().values())


def fupin_version() -> str:
    """fupin's installed version ("unknown" when run from a source folder); loads the planning models."""
    return _version_probe()()


def _version_probe() -> Callable[[], str]:
    """`fupin_version` as a function sent by value: a worker without fupin can run it, and say so."""
    def probe() -> str:
        import importlib.metadata

        import planning.kindergartens  # noqa: F401  (a worker without fupin fails here, before any county)

        try:
            return importlib.metadata.version("fupin")
        except importlib.metadata.PackageNotFoundError:
            return "unknown"
    return probe


def _failure_words(exc: BaseException) -> str:
    """Why the cluster gave a task back without a result, in words."""
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        last = getattr(getattr(exc, "last_worker", None), "address", "?")
        return (f"the Dask workers solving it died {exc.allowed_failures + 1} times (the last one {last}), so "
                "the scheduler gave up on it; see that worker's log (memory?), or plan it on one machine")
    return f"the Dask cluster could not run it ({type(exc).__name__}: {exc})"
