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
submissions, the instructor's home. It runs as ``nobody`` in its own user,
PID, IPC, UTS, cgroup and network namespaces, with every capability dropped,
and dies with the grader (``--die-with-parent``).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode

__all__ = ["sandbox_problem", "sandbox_argv", "kernel_env", "SandboxedKernelManager"]

#: System folders bound read-only (those that exist).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")


def sandbox_problem():
    """``None`` when bubblewrap can make the sandbox here; otherwise why not, in one line."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return ("bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` "
                "(Debian/Ubuntu) or `make grading-deps` as root")
    try:
        done = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent",
                               "--uid", "65534", "--gid", "65534", "true"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start: {error}"
    if done.returncode != 0:
        return (f"bubblewrap cannot create namespaces here ({done.stderr.strip() or done.returncode}): "
                "unprivileged user namespaces are probably disabled "
                "(sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces)")
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
    argv = ["bwrap", "--die-with-parent", "--new-session", "--unshare-all",
            "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL", "--hostname", "grading"]
    # The private /tmp, /proc and /dev first: a later bind of a folder under /tmp (an
    # environment or a checkout that lives there) is then mounted on top of the tmpfs, not hidden by it.
    argv += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
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
    return argv + ["--"]


class SandboxedKernelManager(AsyncKernelManager):
    """An IPython kernel started behind ``prefix`` (the sandbox and the limits), on IPC sockets.

    The kernel is interrupted by a message on the control channel (a signal
    to ``bwrap`` would not reach it inside its PID namespace).
    """

    prefix = List(Unicode(), help="command line put before the kernel's own").tag(config=False)

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
