"""The sandbox's child: run by path in a fresh `python -I` (stdlib only, never imported by datatrainer).

Usage: python -I _child.py PROGRAM WORKDIR LIMITS_JSON. Before the program's first line runs it lowers its own
resource limits (CPU seconds, address space, file size, processes, open files, no core dumps), moves into the
temporary working directory, and installs an audit hook (PEP 578) that refuses, for the rest of the process:
new processes (fork, exec, spawn, subprocess, and the modules that reach fork without an audit event), sockets,
signals to other processes, raising limits again, native code loading (ctypes), and any write, rename, delete
or permission change outside WORKDIR. Audit hooks cannot be removed from Python, so the program cannot undo
them; the limits catch what a hook cannot see (a C extension's allocation, a busy loop in C).

Exit status: 0 when the program ran to the end, 1 with the exception's type and message as the last line of
stderr otherwise; a limit the kernel enforces ends the process with a signal (SIGXCPU, SIGXFSZ, SIGKILL).
"""

from __future__ import annotations

import json
import os
import resource
import sys

REFUSED_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile",
    "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill", "os.setns", "os.unshare",
    "resource.setrlimit", "resource.prlimit", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata",
    "ctypes.call_function", "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
    "socket.sendto", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.socketpair", "webbrowser.open",
    "sys._current_frames",
})
# Modules that fork or load native code without raising one of the events above.
REFUSED_IMPORTS = frozenset({"_posixsubprocess", "_ctypes", "multiprocessing", "_multiprocessing", "_socket",
                             "socket", "ssl", "_ssl"})
# Events whose arguments name paths the program changes (first `count` arguments are paths).
PATH_EVENTS = {"os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.rename": 2, "os.link": 2, "os.symlink": 2,
               "os.chmod": 1, "os.chown": 1, "os.truncate": 1, "os.utime": 1, "os.chflags": 1, "os.lchmod": 1,
               "os.mkfifo": 1, "os.mknod": 1, "os.setxattr": 1, "os.removexattr": 1, "shutil.rmtree": 1,
               "shutil.copyfile": 2, "shutil.copymode": 2, "shutil.copystat": 2, "shutil.chown": 1,
               "shutil.move": 2, "shutil.copytree": 2}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def set_limits(limits: dict[str, int]) -> None:
    """Soft and hard limits both, so the program cannot raise them back."""
    for name, value in (("RLIMIT_CPU", limits["cpu_seconds"]), ("RLIMIT_AS", limits["memory_bytes"]),
                        ("RLIMIT_FSIZE", limits["file_bytes"]), ("RLIMIT_NPROC", limits["processes"]),
                        ("RLIMIT_NOFILE", limits["open_files"]), ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))


def install_hook(root: str) -> None:
    """Refuse everything listed above from now on."""

    def inside(path: object) -> bool:
        if isinstance(path, int) or path is None:  # operations on an already open descriptor
            return True
        if not isinstance(path, str | bytes | os.PathLike):
            return False
        resolved = os.path.realpath(os.fsdecode(path))
        return resolved == root or resolved.startswith(root + os.sep)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "open":
            path, flags = args[0], args[2]
            if isinstance(flags, int) and flags & WRITE_FLAGS and not inside(path):
                raise PermissionError(f"sandbox: writing {path!r} outside the working directory is refused")
        elif event == "import":
            if str(args[0]).split(".")[0] in REFUSED_IMPORTS:
                raise ImportError(f"sandbox: module {args[0]!r} is refused")
        elif event in REFUSED_EVENTS:
            raise PermissionError(f"sandbox: {event} is refused")
        elif event in PATH_EVENTS:
            paths = args[:PATH_EVENTS[event]]
            if not all(inside(path) for path in paths):
                raise PermissionError(f"sandbox: {event} outside the working directory is refused")

    sys.addaudithook(hook)


def main() -> None:
    program_path, workdir, limits_json = sys.argv[1:4]
    with open(program_path, encoding="utf-8") as handle:
        program = compile(handle.read(), "<program>", "exec")
    root = os.path.realpath(workdir)
    sys.dont_write_bytecode = True  # imports must not try to write .pyc files next to the stdlib
    os.chdir(root)
    set_limits(json.loads(limits_json))
    install_hook(root)
    sys.argv = ["<program>"]
    try:
        exec(program, {"__name__": "__main__", "__builtins__": __builtins__})  # nosec B102  # runs the benchmark's generated program inside the sandboxed child process
    except BaseException as exc:  # the program's failure, whatever it is, is its result
        print(f"{type(exc).__name__}: {exc}"[:500], file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
