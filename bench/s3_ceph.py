"""A one-node Ceph cluster with its S3 gateway (RGW) on 127.0.0.1, for the S3 benchmark.

Why Ceph: the benchmark compares two client-side ways of collecting a
night's arrival times (one ``HEAD`` per image, or ``ListObjectsV2`` pages),
so the server must list the way real object stores do. AWS S3 and Ceph RGW
keep each bucket's index sorted by key (RGW in omap, sharded) and answer a
page by seeking to the marker and reading 1,000 entries: the cost of a page
does not grow with the bucket or the prefix. moto, the S3 peer of the
tests, filters and sorts the whole bucket for every page, and s3rver walks
the prefix's directory tree for every page (see ``bench/README.md``). Rubin's
own object stores are Ceph RGW, so this is also the peer the importer meets.

The cluster is Debian's Ceph 16.2 (Pacific: ``ceph-mon``, ``ceph-osd``,
``radosgw``; ``scripts/bench-s3`` installs them when missing), one monitor,
one OSD on ``memstore`` (objects and omap in memory: nothing here is about
disk speed) and one RGW with its ``beast`` frontend, each a child process in
the foreground, with ``auth none`` inside the cluster (S3 clients still sign
with SigV4 against an RGW user), logs at level 0, everything in a temporary
directory that :meth:`CephS3.stop` removes.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["ACCESS_KEY", "SECRET_KEY", "CephS3", "ceph_version", "free_port"]

ACCESS_KEY = "openefd-bench"
SECRET_KEY = "openefd-bench-secret"
DAEMONS = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph")

CONF = """\
[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{mon_port}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms mon client mode = crc
auth cluster required = none
auth service required = none
auth client required = none
run dir = {d}/run
admin socket = {d}/run/$name.asok
log file = {d}/log/$name.log
pid file = {d}/run/$name.pid
mon data = {d}/mon.$id
osd data = {d}/osd.$id
keyring = {d}/keyring
osd objectstore = memstore
memstore device bytes = {memstore_bytes}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 1
debug ms = 0/0
debug mon = 0/0
debug osd = 0/0
debug memstore = 0/0
debug objclass = 0/0
debug rgw = 0/0
debug auth = 0/0
debug monc = 0/0

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {d}/rgw
"""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ceph_version() -> str:
    """``ceph version 16.2.15 (…) pacific (stable)``, shortened to ``Ceph 16.2.15 pacific``."""
    out = subprocess.run(["ceph", "--version"], capture_output=True, text=True, check=True)
    words = out.stdout.split()
    return f"Ceph {words[2]} {words[4]}" if len(words) > 4 else out.stdout.strip()


class CephS3:
    """One monitor, one memstore OSD and one RGW, started by :meth:`start`, ended by :meth:`stop`.

    ``endpoint`` is the RGW's ``http://127.0.0.1:PORT``; S3 clients sign
    with :data:`ACCESS_KEY` and :data:`SECRET_KEY` (an RGW user made at start).
    """

    def __init__(self, memstore_bytes: int = 4 << 30, timeout_s: float = 180.0) -> None:
        missing = [d for d in DAEMONS if shutil.which(d) is None]
        if missing:
            raise SystemExit(
                f"Ceph is not installed ({', '.join(missing)} missing): "
                "apt-get install ceph-mon ceph-osd radosgw (scripts/bench-s3 does it)"
            )
        self.memstore_bytes = memstore_bytes
        self.timeout_s = timeout_s
        self.dir = Path(tempfile.mkdtemp(prefix="openefd-ceph-"))
        self.conf = self.dir / "ceph.conf"
        self.rgw_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.rgw_port}"
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def _run(self, *args: str) -> str:
        out = subprocess.run(
            [*args, "-c", str(self.conf)],
            capture_output=True,
            text=True,
            timeout=self.timeout_s,
        )
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}): {out.stderr[-2000:]}")
        return out.stdout

    def _daemon(self, *args: str) -> None:
        name = args[0]
        log = (self.dir / "log" / f"{name}.out").open("wb")
        self._procs.append(
            (
                name,
                subprocess.Popen(
                    [*args, "-c", str(self.conf), "-f"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                ),
            )
        )

    def _wait(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not ready():
            for name, proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited ({proc.returncode}) waiting for {what}; "
                        f"logs in {self.dir / 'log'}"
                    )
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}; logs in {self.dir / 'log'}")
            time.sleep(0.25)

    def _osd_up(self) -> bool:
        try:
            return '"num_up_osds":1' in self._run("ceph", "osd", "stat", "-f", "json").replace(
                " ", ""
            )
        except (RuntimeError, subprocess.TimeoutExpired):
            return False

    def _rgw_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint + "/", timeout=2) as response:
                return int(response.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def start(self) -> str:
        """Make the cluster, start its daemons, make the S3 user; returns the endpoint."""
        d = self.dir
        for sub in ("run", "log", "mon.a", "osd.0", "rgw"):
            (d / sub).mkdir()
        fsid = str(uuid.uuid4())
        mon_port = free_port()
        self.conf.write_text(
            CONF.format(
                fsid=fsid,
                mon_port=mon_port,
                rgw_port=self.rgw_port,
                d=d,
                memstore_bytes=self.memstore_bytes,
            )
        )
        subprocess.run(
            [
                *("monmaptool", "--create", "--fsid", fsid, "--addv", "a"),
                *(f"v2:127.0.0.1:{mon_port}", str(d / "monmap")),
            ],
            check=True,
            capture_output=True,
        )
        (d / "keyring").write_text("")
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(d / "monmap"))
        self._daemon("ceph-mon", "-i", "a")
        osd_uuid = str(uuid.uuid4())
        osd_id = self._run("ceph", "osd", "new", osd_uuid).strip()
        self._run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid)
        self._daemon("ceph-osd", "-i", osd_id)
        self._wait("the OSD to be up", self._osd_up)
        self._daemon("radosgw", "-n", "client.rgw")
        self._wait("RGW to answer HTTP", self._rgw_answers)
        self._run(
            "radosgw-admin",
            "user",
            "create",
            "--uid",
            "openefd-bench",
            "--display-name",
            "openefd bench",
            "--access-key",
            ACCESS_KEY,
            "--secret-key",
            SECRET_KEY,
        )
        return self.endpoint

    def stop(self) -> None:
        """End the daemons (RGW first) and remove the cluster's directory."""
        for _, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in reversed(self._procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> CephS3:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
