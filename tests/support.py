"""Helpers shared by the tests: a configured copy of the script, and running it
(in a subprocess as a user does, or main() in this process for tables of cases)."""

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request
from unittest import mock

try:
    import pty
except ImportError:  # Windows
    pty = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRIPT = os.path.join(ROOT, "ollama_chat.py")
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from fake_ollama import FakeOllama  # noqa: E402
import ollama_chat  # noqa: E402

SAVED = "ollama_chat conversation"  # the "format" of a saved conversation


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def spoken(messages):
    """Messages as the user typed them: the time line taken off each user message."""
    return [dict(m, content=ollama_chat.without_time(m["content"]))
            if m.get("role") == "user" else m for m in messages]


class TerminalIO(io.StringIO):
    """A stdout or stderr that says it is a terminal."""

    def isatty(self):
        return True


class Gate(threading.Event):
    """A Reply's hold that also tells when the request has reached it."""

    def __init__(self):
        super().__init__()
        self.reached = threading.Event()

    def wait(self, timeout=None):
        self.reached.set()
        return super().wait(timeout)


def configure(path, **constants):
    """Copy the script to path with constants edited, the way a user edits them."""
    with open(SCRIPT, encoding="utf-8") as f:
        text = f.read()
    for name, value in constants.items():
        text, count = re.subn(r"^%s = .*$" % name,
                              lambda m: "%s = %r  # edited by the test" % (name, value),
                              text, count=1, flags=re.M)
        if count != 1:
            raise AssertionError("no constant %s in ollama_chat.py" % name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    shutil.copymode(SCRIPT, path)
    return path


def closed_port():
    """A loopback port where nothing listens: connecting there is refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def clean_env(**extra):
    """A minimal environment: no proxies, no OLLAMA_* variables, no colour settings."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


class ScriptTest(unittest.TestCase):
    """Runs the real script in a subprocess against a fake Ollama.

    One fake serves the whole class (stopping one waits for its poll), made
    like new before each test.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shared_server = FakeOllama().start()
        cls.addClassCleanup(cls.shared_server.stop)

    def setUp(self):
        self.server = self.shared_server
        self.server.reset()
        self.tmp = tempfile.mkdtemp(prefix="ollama_chat_test_")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def script(self, **constants):
        constants.setdefault("API_URL", self.server.url + "/api/chat")
        return configure(os.path.join(self.tmp, "ollama_chat.py"), **constants)

    def run_script(self, *args, env=None, constants=None, input=None, timeout=30):
        """Run it like a user would; return (exit code, stdout, stderr)."""
        path = self.script(**(constants or {}))
        stdin = subprocess.DEVNULL if input is None else None  # never the test runner's
        proc = subprocess.run([sys.executable, path] + list(args), input=input, stdin=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=clean_env(**(env or {})), timeout=timeout, cwd=self.tmp)
        return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")

    def sent(self, number):
        """The messages of the number-th chat request, each as the user typed it."""
        return spoken(self.server.chat_requests[number].json["messages"])

    def run_main(self, *args, stdin="", constants=None, env=None, terminal=False, here=False):
        """main(args) in this process, with the constants edited and the output captured.

        Like run_script (a clean environment plus env, API_URL at the fake unless
        constants say otherwise), without a new Python each time. terminal: stdout
        and stderr say they are terminals; here: run in the test's folder.
        Returns (exit code, stdout, stderr).
        """
        constants = dict({"API_URL": self.server.url + "/api/chat"}, **(constants or {}))
        out, err = (TerminalIO(), TerminalIO()) if terminal else (io.StringIO(), io.StringIO())
        with contextlib.ExitStack() as stack:
            for name, value in constants.items():
                stack.enter_context(mock.patch.object(ollama_chat, name, value))
            stack.enter_context(mock.patch.dict(os.environ, clean_env(**(env or {})),
                                                clear=True))
            stack.enter_context(mock.patch("sys.stdin", io.StringIO(stdin)))
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
            if here:
                stack.callback(os.chdir, os.getcwd())
                os.chdir(self.tmp)
            self.addCleanup(urllib.request.install_opener, None)  # main() installs its own
            try:
                code = ollama_chat.main(list(args))
            except SystemExit as exit:  # argparse
                code = exit.code
        return code, out.getvalue(), err.getvalue()

    def run_on_terminal(self, *args, stdout_too=True, env=None, when_seen=None, constants=None):
        """Run with stderr (and stdout) on a pty; when `when_seen` shows, call it.

        Returns (exit code, what the terminal got, what the stdout pipe got).
        """
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        proc = subprocess.Popen(
            [sys.executable, self.script(**(constants or {}))] + list(args),
            stdin=subprocess.DEVNULL,
            stdout=slave if stdout_too else subprocess.PIPE, stderr=slave,
            env=clean_env(TERM="xterm", **(env or {})), cwd=self.tmp)
        os.close(slave)
        piped = []
        if not stdout_too:
            reader = threading.Thread(target=lambda: piped.append(proc.stdout.read()))
            reader.start()
        screen = b""
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            screen += data
            if when_seen and when_seen[0] in screen:
                when_seen[1]()
                when_seen = None
        code = proc.wait(timeout=30)
        if not stdout_too:
            reader.join()
            proc.stdout.close()
        return code, screen, piped[0] if piped else b""

    def start_script(self, *args, env=None, constants=None, **popen):
        """Start it without waiting (for Ctrl+C and pipe tests)."""
        path = self.script(**(constants or {}))
        options = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        options.update(popen)
        proc = subprocess.Popen([sys.executable, path] + list(args),
                                env=clean_env(**(env or {})), cwd=self.tmp, **options)
        self.addCleanup(_reap, proc)
        return proc

    def assertCleanFailure(self, code, err, expected_code=1):
        self.assertEqual(code, expected_code, err)
        self.assertNotIn("Traceback", err)
        self.assertTrue(err.startswith("ollama_chat: error: "), err)


def _reap(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdout, proc.stderr, proc.stdin):
        if stream:
            stream.close()
