"""The sandbox a student's kernel runs in: bubblewrap, no network, one writable folder.

:func:`sandbox_argv` builds the ``bwrap`` command line; :class:`SandboxedKernelManager`
starts an IPython kernel behind it. The trusted grader stays outside and talks
to the kernel over ZeroMQ **IPC sockets** (files in a folder bound into the
sandbox), so the kernel needs no network at all (``--unshare-net``).

What the kernel sees (everything else does not exist for it):

- the system (``/usr``, ``/etc``, ...), Python and its environment, and the
  ``unet_course`` package: read-only;
- its own scratch copy of the submission (the working directory), its own
  home and the socket folder: read-write, and deleted after grading;
- a private ``/tmp`` in memory, a private ``/proc`` and a minimal ``/dev``;
- GPUs only when a device is handed to it (``gpu="0"``): ``/dev/nvidia0``
  and the driver's control devices, with ``CUDA_VISIBLE_DEVICES`` set
  (``gpu="all"``: the GPUs a container gave the worker, as they are).

Not there: ``solutions/``, the gradebook, the course directory, other
submissions, the instructor's home. It runs in its own PID, IPC, UTS, cgroup
and network namespaces, with every capability dropped, and dies with the
grader (``--die-with-parent``).

**Never root, whatever runs the grader** (:func:`kernel_user`). An
unprivileged grader's kernel is that same unprivileged user on the host
(``nobody`` inside a user namespace). A grader running as root (a container,
a root CI runner) would make the user namespace's ``nobody`` host root, so
there the kernel is handed to the host's own ``nobody`` instead: bubblewrap
builds the sandbox as root without a user namespace, then ``setpriv`` drops
to uid/gid 65534 with no groups, no capabilities and no way to regain them
(root without ``CAP_SYS_ADMIN``, as in a container: ``setpriv`` first, then
bubblewrap as ``nobody``; see :func:`_mode`). Its writable folders are given
to that user first (:func:`hand_over`); the grader, root, still reads what
the kernel writes and deletes it afterwards.

**Nothing of the grader's environment gets in**: ``prlimit``, bubblewrap and
its monitor (the sandbox's PID 1, whose ``/proc/1/environ`` a student could
read) start with an empty environment; the kernel's own variables
(:func:`kernel_env`) are passed on bubblewrap's command line alone.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, List, Unicode

__all__ = ["sandbox_problem", "sandbox_argv", "kernel_env", "kernel_user", "hand_over",
           "SandboxedKernelManager"]

#: System folders bound read-only (those that exist).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")

#: The host user and group a kernel runs as when the grader is root: ``nobody``/``nogroup``.
NOBODY = (65534, 65534)


def kernel_user():
    """``(uid, gid)`` the kernel runs as on the host when that is not the grader's own; else ``None``.

    ``None`` for an unprivileged grader (its kernels keep its uid, which is
    no more than the grader itself may do); :data:`NOBODY` for root.
    """
    return NOBODY if os.geteuid() == 0 else None


def _can_mount():
    """``True`` when this process may make mount namespaces without a user namespace (``CAP_SYS_ADMIN``)."""
    try:
        with open("/proc/self/status") as status:
            caps = next(line for line in status if line.startswith("CapEff:"))
    except (OSError, StopIteration):
        return False
    return bool(int(caps.split()[1], 16) >> 21 & 1)


def _mode():
    """How the sandbox is built, so that the kernel is never root on the host.

    - ``"user"``: an unprivileged grader; bubblewrap makes a user namespace
      in which the grader's uid is ``nobody``;
    - ``"root"``: root able to mount (most CI runners and servers);
      bubblewrap builds the sandbox as root, with no user namespace, then
      ``setpriv`` drops to the host's ``nobody``;
    - ``"nobody"``: root without ``CAP_SYS_ADMIN`` (a container): ``setpriv``
      drops to ``nobody`` first, then bubblewrap makes a user namespace as
      in ``"user"``; everything bound must then be readable by ``nobody``.
    """
    if kernel_user() is None:
        return "user"
    return "root" if _can_mount() else "nobody"


def hand_over(paths):
    """Give ``paths`` (folders with all they hold, or files) to :func:`kernel_user`, if there is one.

    Their parent folders get ``o+x`` too, so that ``nobody`` may pass through
    them (the grader's temporary folder is ``700``).
    """
    user = kernel_user()
    if user is None:
        return
    for path in paths:
        parent = os.path.dirname(os.path.abspath(path))
        os.chmod(parent, os.stat(parent).st_mode | 0o001)
        os.lchown(path, *user)
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                os.lchown(os.path.join(folder, name), *user)


def _tool(name):
    """The absolute path of a program (the sandbox starts with no ``PATH`` to look it up)."""
    return shutil.which(name) or name


def _setpriv():
    """``setpriv`` to :data:`NOBODY` with no groups and no capabilities, for good."""
    uid, gid = NOBODY
    return [_tool("setpriv"), f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]


def _wrap(mode, options, command):
    """``bwrap`` with ``options`` in ``mode``, running ``command``: namespaces and ``setpriv`` put in."""
    bwrap = [_tool("bwrap"), "--die-with-parent", "--new-session"]
    if mode == "root":
        bwrap += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        return [*bwrap, *options, "--", *_setpriv(), *command]
    bwrap += ["--unshare-all", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
    return [*(_setpriv() if mode == "nobody" else []), *bwrap, *options, "--", *command]


def _unreachable(paths):
    """The ``paths`` that ``nobody`` cannot read and enter (checked as ``nobody``)."""
    check = 'for p; do [ -r "$p" ] && [ -x "$p" ] || echo "$p"; done'
    done = subprocess.run([*_setpriv(), "/bin/sh", "-c", check, "sh", *paths], capture_output=True,
                          text=True, timeout=30, env={})
    return done.stdout.split()


def sandbox_problem():
    """``None`` when bubblewrap can make the sandbox here; otherwise why not, in one line."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return ("bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` "
                "(Debian/Ubuntu) or `make grading-deps` as root")
    mode = _mode()
    try:
        done = subprocess.run(_wrap(mode, ["--ro-bind", "/", "/"], ["true"]),
                              capture_output=True, text=True, timeout=30, env={})
        unreachable = _unreachable(read_only_paths()) if mode == "nobody" and done.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start: {error}"
    if done.returncode != 0:
        return (f"bubblewrap cannot create namespaces here ({done.stderr.strip() or done.returncode}): "
                "unprivileged user namespaces are probably disabled "
                "(sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces)")
    if unreachable:
        return (f"grading as root without CAP_SYS_ADMIN, the kernel runs as nobody, who cannot read "
                f"{unreachable[0]}: make it (and the folders above it) readable by all, or grade as "
                f"an ordinary user")
    return None


def _package_dir():
    import unet_course
    return Path(unet_course.__file__).resolve().parent


def read_only_paths():
    """Folders the kernel needs read-only: the system, Python, its environment, the package."""
    paths = [p for p in SYSTEM if os.path.exists(p)]
    for prefix in {sys.base_prefix, sys.prefix, sys.exec_prefix}:
        real = os.path.realpath(prefix)
        if not any(real == p or real.startswith(p + "/") for p in paths):
            paths.append(real)
    package = str(_package_dir())
    if not any(package.startswith(p + "/") for p in paths):
        paths.append(package)
    return paths


def _gpu_devices(gpu, dev="/dev"):
    """Device files of GPU ``gpu`` and the NVIDIA driver's shared control devices.

    ``gpu`` is an index (``"1"``: ``/dev/nvidia1``), or ``"all"``: every GPU
    device this process sees, where the container runtime has already given
    the worker its own GPU and nothing else (a Kubernetes pod).
    """
    shared = [os.path.join(dev, name) for name in ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools",
                                                   "nvidia-modeset")
              if os.path.exists(os.path.join(dev, name))]
    if gpu == "all":
        own = sorted(p for p in glob.glob(os.path.join(dev, "nvidia*"))
                     if os.path.basename(p)[len("nvidia"):].isdigit())
    else:
        own = [p for p in [os.path.join(dev, f"nvidia{gpu}")] if os.path.exists(p)]
    return own + shared + sorted(glob.glob(os.path.join(dev, "dri", "renderD*")))


def kernel_env(home, gpu=None, extra=None):
    """The kernel's whole environment: nothing of the grader's leaks in.

    ``NBGRADER_EXECUTION=autograde`` as nbgrader sets it (the smoke profile),
    TensorFlow's notices off as ``nbgrader_config.py`` has them, and the
    package's folder first on ``PYTHONPATH``.
    """
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home), "USER": "student", "LANG": "C.UTF-8",
        "PYTHONPATH": str(_package_dir().parent), "PYTHONNOUSERSITE": "1",
        "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONWARNINGS": "ignore",
    }
    if gpu != "all":   # "all": the GPUs the container already limits the worker to, as CUDA numbers them
        env["CUDA_VISIBLE_DEVICES"] = "" if gpu is None else str(gpu)
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra or {})
    return env


def _parents(paths):
    """``--dir`` options making the folders above ``paths`` traversable (mode 755) inside the sandbox.

    bubblewrap copies a missing parent's mode from the host: ``/root`` (700)
    above a Python there, or the grader's 700 temporary folder above the
    scratch copy, would shut a kernel that is not root out of what is bound below it.
    """
    inside = lambda a, b: a == b or a.startswith(b.rstrip("/") + "/")  # noqa: E731
    options, seen = [], set()
    for path in paths:
        parts = Path(path).parts
        for depth in range(2, len(parts)):
            parent = str(Path(*parts[:depth]))
            if parent in seen or any(inside(parent, str(p)) for p in paths):
                continue
            seen.add(parent)
            options += ["--perms", "0755", "--dir", parent]
    return options


def sandbox_argv(writable, workdir, env, gpu=None, package=None):
    """The ``bwrap`` command line up to (not including) the program to run.

    Parameters
    ----------
    writable : list of path
        Folders bound read-write at their own path (scratch copy, home, sockets).
    workdir : path
        The kernel's working directory (the scratch copy of the submission).
    env : dict
        The kernel's whole environment (``--clearenv`` first).
    gpu : str or int, optional
        The one GPU this kernel may use.
    package : path, optional
        A folder bound read-only over the ``unet_course`` package (the
        sanitized copy, :mod:`.sanitize`).
    """
    argv = ["--hostname", "grading"]
    # The private /tmp, /proc and /dev first: a later bind of a folder under /tmp (an
    # environment or a checkout that lives there) is then mounted on top of the tmpfs, not hidden by it.
    argv += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    argv += _parents([*read_only_paths(), *map(str, writable)])
    for path in read_only_paths():
        argv += ["--ro-bind", path, path]
    if package is not None:
        argv += ["--ro-bind", str(package), str(_package_dir())]
    if gpu is not None:
        for device in _gpu_devices(gpu):
            argv += ["--dev-bind", device, device]
    for path in writable:
        argv += ["--bind", str(path), str(path)]
    argv += ["--chdir", str(workdir), "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return _wrap(_mode(), argv, [])


class SandboxedKernelManager(AsyncKernelManager):
    """An IPython kernel started behind ``prefix`` (the sandbox and the limits), on IPC sockets.

    The kernel is interrupted by a message on the control channel (a signal
    to ``bwrap`` would not reach it inside its PID namespace).
    """

    prefix = List(Unicode(), help="command line put before the kernel's own").tag(config=False)
    owner = Any(None, allow_none=True, help="(uid, gid) the kernel runs as, when not the grader's").tag(
        config=False)

    def write_connection_file(self, **kwargs):
        """Write the connection file (mode 600) and give it to the kernel's user, who must read it."""
        super().write_connection_file(**kwargs)
        if self.owner is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, *self.owner)

    def format_kernel_cmd(self, extra_arguments=None):
        """``prefix + python -m ipykernel_launcher -f CONNECTION_FILE``."""
        return [*self.prefix, sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file,
                "--HistoryManager.hist_file=:memory:"]

    async def _async_interrupt_kernel(self):
        """Send ``interrupt_request`` (ipykernel then raises KeyboardInterrupt in the cell)."""
        if not self.has_kernel:
            raise RuntimeError("cannot interrupt the kernel: none is running")
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel
