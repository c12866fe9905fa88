"""`unet-course autograde --workers N` starts no dashboard and no web pages (issue 17).

Dask's scheduler always starts an HTTP server; by default on port 8787,
where it said "Port 8787 is already in use ... Hosting the HTTP server on port
NNNNN instead" whenever another program held the port. The grading cluster's
HTTP server takes a free loopback port and serves nothing.
"""
from __future__ import annotations

import logging
import socket
import urllib.error
import urllib.request

import pytest


@pytest.mark.slow
def test_the_grading_cluster_serves_no_dashboard_even_with_8787_taken(caplog):
    from unet_course.grading.autograde.scheduler import dask_client

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))          # someone else's dashboard (if the port is free)
        holder.listen()
    except OSError:
        pass                                       # already taken: the same situation
    try:
        with caplog.at_level(logging.INFO), dask_client(workers=1) as client:
            scheduler = client.cluster.scheduler
            ports = [sock.getsockname() for sock in scheduler.http_server._sockets.values()]
            assert ports and all(host == "127.0.0.1" and port != 8787 for host, port in ports), ports
            for path in ("/status", "/info/main/workers.html", "/json/counts.json", "/health", "/metrics"):
                with pytest.raises(urllib.error.HTTPError) as answer:
                    urllib.request.urlopen(f"http://127.0.0.1:{ports[0][1]}{path}", timeout=5)
                assert answer.value.code == 404, path
    finally:
        holder.close()
    assert "already in use" not in caplog.text and "8787" not in caplog.text, caplog.text
