"""An aiohttp application served on 127.0.0.1 from a thread of its own, for tests whose
daemon fetches something over HTTP (a v1 search index, a tar to import): the test's
synchronous code (the docker CLI, docker-py) runs while the server answers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web


class WebApp:
    """`with WebApp(app) as server:` serves `app` on `server.url` until the block ends."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def __enter__(self) -> WebApp:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self._app)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                self.port = runner.addresses[0][1]
            except BaseException as exc:  # handed to the thread that waits in __enter__
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="webapp", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("test web server did not start")
        if failure:
            raise failure[0]
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
