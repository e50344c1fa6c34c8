"""Rough edges a user meets once: Ctrl+D in a \"\"\" block, "-" on a terminal, hints that
name the wrong address, http:// against https, a proxy's error page, --check's key line,
file names in /save and /load, and constants written the way people write them.

Most tests run main() in this process (fast); the ones that need a terminal run the
real script on a pseudo-terminal.
"""

import json
import os
import platform
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings
from unittest import mock

from support import SAVED, ScriptTest, assistant, clean_env, closed_port, user
from fake_ollama import FakeOllama, Reply, html_error, json_error, json_reply
from test_repl import Terminal, pty
import ollama_chat
from ollama_chat import Settings

SECRET = "sk-x-SECRET-7f3a9c"
LOCAL = "http://localhost:11434/api/chat"  # API_URL as shipped


def said(text):
    return assistant("You said: " + text)


class InProcessTest(ScriptTest):
    """main() in this process, like run_main, but with environment variables (HOME,
    http_proxy...) and the current folder set to the test's temporary folder."""

    def main(self, *args, stdin="", constants=None, env=None):
        return self.run_main(*args, stdin=stdin, constants=constants, env=env, here=True)

    def chat(self, *lines, args=(), **options):
        """`-i` with these lines on stdin (a pipe, not a terminal)."""
        return self.main("-i", *args, stdin="".join(line + "\n" for line in lines), **options)

    def path(self, *names):
        return os.path.join(self.tmp, *names)

    def check_lines(self, out):
        """{what: (state, text)} of --check's lines (a line's text goes on when indented)."""
        found, last = {}, None
        for line in out.splitlines():
            match = re.match(r"\[( ok |FAIL|info|warn|skip)\] (\w+) +(.*)$", line)
            if match:
                last = match.group(2)
                found[last] = (match.group(1).strip(), match.group(3))
            elif last and line.startswith(" "):
                found[last] = (found[last][0], found[last][1] + "\n" + line.strip())
        return found


# --- -i: Ctrl+D inside a """ block, and at the prompt ------------------------

class UnfinishedBlockThroughAPipeTest(InProcessTest):

    def test_end_of_input_inside_a_block_sends_nothing_of_it_and_says_so(self):
        code, out, err = self.main("-i", stdin='one\n"""\nhalf of\na message\n')
        self.assertEqual((code, out), (0, "You said: one\n"), err)
        self.assertRegex(err, r"(?i)unfinished message was not sent")
        self.assertNotIn("Traceback", err)
        self.assertEqual(len(self.server.chat_requests), 1)  # only "one"
        self.assertEqual(self.sent(0), [user("one")])

    def test_a_block_opened_on_the_last_line_with_text(self):
        code, out, err = self.main("-i", stdin='"""first line of it\nsecond')  # no newline
        self.assertEqual((code, out), (0, ""), err)
        self.assertRegex(err, r"(?i)not sent")
        self.assertEqual(self.server.requests, [])


@unittest.skipIf(pty is None or sys.platform == "win32", "needs a pseudo-terminal (POSIX)")
class TerminalTest(ScriptTest):
    """The real script with a pty as its controlling terminal and stdin; stdout or
    stderr on pipes when asked, so that what goes where can be told apart."""

    def spawn(self, *args, stdout=False, stderr=False):
        path = self.script()
        argv = [sys.executable, path] + list(args)
        env = clean_env(TERM="xterm")
        pipes = {number: os.pipe() for number, wanted in ((1, stdout), (2, stderr)) if wanted}
        with warnings.catch_warnings():  # 3.12+: fork() with the fake's threads running
            warnings.simplefilter("ignore", DeprecationWarning)
            pid, fd = pty.fork()
        if pid == 0:  # the child: only system calls, nothing that might need a lock
            try:
                for number, (_, write) in pipes.items():
                    os.dup2(write, number)
                os.chdir(self.tmp)
                os.execve(sys.executable, argv, env)
            finally:
                os._exit(127)
        terminal = Terminal(pid, fd)
        self.addCleanup(terminal.close)
        readers = {}
        for number, (read, write) in pipes.items():
            os.close(write)
            readers[number] = Pipe(read)
            self.addCleanup(readers[number].close)
        return terminal, readers


READ_SYSCALL = {"x86_64": "0", "aarch64": "63"}.get(platform.machine()) \
    if os.path.exists("/proc/self/syscall") else None


def reading_stdin(pid):
    """True when the process sleeps in read(0, ...) (Linux shows it in /proc/PID/syscall)."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            call = f.read().split()
    except OSError:
        return False
    return len(call) > 1 and call[0] == READ_SYSCALL and call[1] == "0x0"


class Pipe:
    """The read end of a child's stdout or stderr."""

    def __init__(self, fd):
        self.fd, self.data, self.seen, self.ended = fd, b"", 0, False

    def expect(self, wanted, timeout=10):
        """Wait until `wanted` shows (after the previous match); return what came before."""
        deadline = time.monotonic() + timeout
        while wanted not in self.data[self.seen:]:
            remaining = deadline - time.monotonic()
            readable = select.select([self.fd], [], [], max(remaining, 0))[0]
            chunk = os.read(self.fd, 4096) if readable else b""
            if not chunk:
                raise AssertionError("%r did not show; the pipe got %r"
                                     % (wanted, self.data[self.seen:][-600:]))
            self.data += chunk
        start = self.data.index(wanted, self.seen)
        before, self.seen = self.data[self.seen:start], start + len(wanted)
        return before

    def poll(self, timeout):
        """Read what arrives within timeout seconds; False if nothing did."""
        if self.ended or not select.select([self.fd], [], [], timeout)[0]:
            return False
        chunk = os.read(self.fd, 4096)
        self.data += chunk
        self.ended = not chunk
        return bool(chunk)

    def rest(self):
        """Everything up to the end (call once the child has exited), decoded."""
        while not self.ended:
            chunk = os.read(self.fd, 4096)
            self.data += chunk
            self.ended = not chunk
        return self.data.decode("utf-8", "replace")

    def close(self):
        os.close(self.fd)


class UnfinishedBlockOnATerminalTest(TerminalTest):

    def test_ctrl_d_in_a_block_drops_it_the_chat_goes_on_ctrl_d_at_the_prompt_ends_the_line(self):
        terminal, _ = self.spawn("-i")
        terminal.expect(b">>> ")
        terminal.type(b'"""\r')
        terminal.expect(b"... ")
        terminal.type(b"half of a message\r")
        terminal.expect(b"... ")
        terminal.type(b"\x04")  # Ctrl+D on the empty continuation line
        terminal.expect(b"not sent")
        terminal.expect(b">>> ")
        self.assertEqual(self.server.chat_requests, [])
        terminal.type(b"after\r")  # the session goes on
        terminal.expect(b"You said: after")
        terminal.expect(b">>> ")
        terminal.type(b"\x04")  # now it quits
        self.assertEqual(terminal.exit_code(), 0, terminal.screen)
        after_prompt = terminal.screen[terminal.seen:]
        self.assertIn(b"\n", after_prompt,
                      "Ctrl+D at >>> left the shell's prompt on the same line: %r" % after_prompt)
        self.assertNotIn(b"Traceback", terminal.screen)
        self.assertEqual(len(self.server.chat_requests), 1)
        self.assertEqual(self.sent(0), [user("after")])

    # stdin a terminal, stdout a file (`./ollama_chat.py -i > log`): no line editing,
    # the prompts on stderr, Ctrl+D is the terminal's end of input.
    def test_without_line_editing_the_same_and_the_newline_goes_to_stderr(self):
        terminal, pipes = self.spawn("-i", stdout=True)
        terminal.expect(b">>> ")
        terminal.type(b'"""\r')
        terminal.expect(b"... ")
        terminal.type(b"half\r")
        terminal.expect(b"... ")
        terminal.type(b"\x04")
        terminal.expect(b"not sent")
        terminal.expect(b">>> ")
        terminal.type(b"after\r")
        self.assertEqual(pipes[1].expect(b"\n"), b"You said: after")
        terminal.expect(b">>> ")
        terminal.type(b"\x04")
        self.assertEqual(terminal.exit_code(), 0, terminal.screen)
        self.assertIn(b"\n", terminal.screen[terminal.seen:])
        self.assertEqual(pipes[1].rest(), "You said: after\n")  # nothing else on stdout
        self.assertEqual(self.sent(0), [user("after")])
        self.assertEqual(len(self.server.chat_requests), 1)


# --- "-" with stdin a terminal ------------------------------------------------

class DashOnATerminalTest(TerminalTest):

    def test_says_how_to_end_the_prompt_then_sends_what_was_typed(self):
        terminal, pipes = self.spawn("-", stdout=True)  # stderr: the terminal
        told = terminal.expect(b"Ctrl+D")
        self.assertIn(b"stdin", told)
        terminal.type(b"hello there\r")
        terminal.type(b"\x04")
        self.assertEqual(terminal.exit_code(), 0, terminal.screen)
        self.assertEqual(pipes[1].rest(), "You said: hello there\n")  # not on stdout
        self.assertEqual(self.sent(0), [user("hello there")])

    def test_ctrl_c_while_reading_the_prompt_is_interrupted_130(self):
        terminal, pipes = self.spawn("-", stdout=True)
        terminal.expect(b"Ctrl+D")
        terminal.type(b"half a prom")
        terminal.type(b"\x03")
        self.assertEqual(terminal.exit_code(), 130, terminal.screen)
        self.assertNotIn(b"Traceback", terminal.screen)
        self.assertTrue(terminal.screen.endswith(b"\nollama_chat: interrupted\r\n"),
                        terminal.screen)
        self.assertEqual(pipes[1].rest(), "")
        self.assertEqual(self.server.requests, [])

    # BUG (Python 3.8 only): parse_args writes "Reading the prompt from stdin..." to
    # sys.stderr without a flush; before 3.9 a stderr that is not a terminal is block
    # buffered, so with stdin a terminal and stderr a pipe (`./ollama_chat.py - 2>&1 |
    # tee log`) the hint shows only after the prompt has been typed.
    @unittest.skipUnless(READ_SYSCALL is not None, "needs Linux's /proc/PID/syscall")
    def test_the_message_shows_before_it_waits_even_when_stderr_is_a_pipe(self):
        terminal, pipes = self.spawn("-", stdout=True, stderr=True)
        deadline = time.monotonic() + 10
        while b"Ctrl+D" not in pipes[2].data:
            if pipes[2].poll(0.005):  # waits on the pipe: what came is read
                continue
            if reading_stdin(terminal.pid):  # it waits for the keyboard now:
                pipes[2].poll(0)  # whatever it said before is in the pipe
                break
            self.assertLess(time.monotonic(), deadline, "neither the message nor a read")
        self.assertIn(b"Ctrl+D", pipes[2].data, "it waits for the prompt without saying so")
        terminal.type(b"hi\r\x04")
        self.assertEqual(terminal.exit_code(), 0, terminal.screen)
        self.assertEqual(pipes[1].rest(), "You said: hi\n")


# --- Connection hints: OLLAMA_HOST and WSL2 -------------------------------------

class OllamaHostHintTest(unittest.TestCase):

    def hints(self, url, host):
        settings = Settings.from_constants(url=url, environ={"OLLAMA_HOST": host})
        with mock.patch.object(ollama_chat, "running_on_wsl", return_value=False):
            return settings, ollama_chat.connection_hints(settings)

    def suggested(self, settings, host, hint):
        """The addresses a hint tells the user to use (not the one in use, nor the
        variable's own value quoted back)."""
        text = hint
        for quoted in (repr(host.strip()), repr(host), '"%s"' % host.strip()):
            text = text.replace(quoted, "")
        found = {url.rstrip(".") for url in re.findall(r"https?://[^\s,;()'\"]+", text)}
        return found - {settings.base_url}

    def test_the_same_server_in_another_spelling_is_not_mentioned(self):
        cases = [(LOCAL, host) for host in (
            ":11434", "127.0.0.1:11434", "0.0.0.0", "0.0.0.0:11434", "http://localhost:11434",
            "http://0.0.0.0:11434", "localhost", "[::]:11434", "[::1]", " :11434 ",
            "http://127.0.0.1:11434/")]
        cases += [("http://127.0.0.1:11434", "localhost:11434"), ("http://[::1]:11434", "0.0.0.0"),
                  ("http://localhost:8080/api/chat", ":8080"),
                  ("http://localhost:8080/api/chat", "0.0.0.0:8080")]
        for url, host in cases:
            with self.subTest(url=url, OLLAMA_HOST=host):
                settings, hints = self.hints(url, host)
                self.assertEqual(hints, [])
                with mock.patch.object(ollama_chat, "running_on_wsl", return_value=False):
                    text = str(ollama_chat.connection_error(settings,
                                                            ConnectionRefusedError(111, "x")))
                self.assertNotIn("OLLAMA_HOST", text)

    def test_another_server_is_mentioned_with_an_address_that_works(self):
        cases = [
            (LOCAL, ":8080", "http://localhost:8080"),
            (LOCAL, "0.0.0.0:8080", "http://localhost:8080"),
            (LOCAL, "[::]:8080", "http://localhost:8080"),
            (LOCAL, "http://0.0.0.0:9000", "http://localhost:9000"),
            (LOCAL, "192.168.1.20", "http://192.168.1.20:11434"),
            (LOCAL, "ollama.lan:8080", "http://ollama.lan:8080"),
            ("http://localhost:8080/api/chat", "0.0.0.0", "http://localhost:11434"),
            ("http://localhost:8080/api/chat", ":11434", "http://localhost:11434"),
        ]
        for url, host, address in cases:
            with self.subTest(url=url, OLLAMA_HOST=host):
                settings, hints = self.hints(url, host)
                self.assertEqual(len(hints), 1, hints)
                self.assertIn("OLLAMA_HOST", hints[0])
                self.assertIn("API_URL", hints[0])  # where to put it
                self.assertEqual(self.suggested(settings, host, hints[0]), {address}, hints[0])
                self.assertEqual(ollama_chat.server_base_url(address), address)  # usable as is

    def test_the_hint_is_part_of_a_refused_connection_s_message(self):
        settings, _ = self.hints(LOCAL, "0.0.0.0:8080")
        with mock.patch.object(ollama_chat, "running_on_wsl", return_value=False):
            text = str(ollama_chat.connection_error(settings, ConnectionRefusedError(111, "x")))
        self.assertIn("connection refused", text)
        self.assertIn("http://localhost:8080", text)

    # Was a bug: Ollama takes OLLAMA_HOST with quotes around it (envconfig.Var trims " and ';
    # its tests "extra quotes", "extra single quotes"), as a Docker --env-file or a
    # quoted Windows variable leaves them. Here the quotes stay: OLLAMA_HOST='"0.0.0.0"'
    # against API_URL http://localhost:11434 is taken for another server, and the hint
    # tells the user to connect to http://"0.0.0.0":11434.
    def test_quotes_around_ollama_host_are_ignored_as_ollama_ignores_them(self):
        _, hints = self.hints(LOCAL, '"0.0.0.0"')
        self.assertEqual(hints, [])
        settings, hints = self.hints(LOCAL, "'127.0.0.1:8080'")
        self.assertEqual(len(hints), 1, hints)
        self.assertEqual(self.suggested(settings, "'127.0.0.1:8080'", hints[0]),
                         {"http://localhost:8080"})

    # Was a bug: OLLAMA_HOST=:: (or ::1), an IPv6 address without brackets, is how Ollama
    # may be told to listen ("ipv6 no brackets" in its tests: port 11434). Here it is
    # not understood (ConfigError, swallowed), so no hint is given even when API_URL
    # uses another port.
    def test_an_ipv6_listen_address_without_brackets_is_understood(self):
        settings, hints = self.hints("http://localhost:8080/api/chat", "::")
        self.assertEqual(len(hints), 1, hints)
        self.assertEqual(self.suggested(settings, "::", hints[0]), {"http://localhost:11434"})


class WslHintTest(unittest.TestCase):

    def wsl_message(self, url):
        settings = Settings.from_constants(url=url, environ={})
        with mock.patch.object(ollama_chat, "running_on_wsl", return_value=True), \
                mock.patch.object(ollama_chat, "windows_host_address",
                                  return_value="172.29.96.1"):
            return str(ollama_chat.connection_error(settings, ConnectionRefusedError(111, "x")))

    def test_the_hint_keeps_the_user_s_port(self):
        text = self.wsl_message("http://localhost:8080/api/chat")
        self.assertIn("WSL2", text)
        self.assertIn("http://172.29.96.1:8080", text)
        self.assertNotIn(":11434", text)

    def test_the_default_port_stays_the_default(self):
        text = self.wsl_message("http://127.0.0.1:11434/api/chat")
        self.assertIn("http://172.29.96.1:11434", text)

    def test_without_a_gateway_it_still_says_where_to_find_it(self):
        settings = Settings.from_constants(url="http://localhost:8080", environ={})
        with mock.patch.object(ollama_chat, "running_on_wsl", return_value=True), \
                mock.patch.object(ollama_chat, "windows_host_address", return_value=None):
            text = str(ollama_chat.connection_error(settings, ConnectionRefusedError(111, "x")))
        self.assertIn("ip route show default", text)
        self.assertIn(":8080", text)


# --- http:// against an https server --------------------------------------------

def resetting_server(test):
    """A loopback server that reads the request, then resets the connection (SO_LINGER 0),
    as a TLS server does with a request that is not a TLS handshake."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    test.addCleanup(listener.close)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed: the test is over
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                except OSError:
                    pass
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    threading.Thread(target=serve, daemon=True).start()
    return "http://127.0.0.1:%d" % listener.getsockname()[1]


def go_tls_server(test):
    """A loopback server that answers as Go's net/http (Caddy, Traefik...) answers a plain
    HTTP request on its TLS port: 400 and a line of text, then it closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    test.addCleanup(listener.close)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as request:
                conn.settimeout(5)
                length = 0
                for line in iter(request.readline, b""):  # the whole request first: no reset
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                    if line in (b"\r\n", b"\n"):
                        break
                request.read(length)
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n"
                             b"Client sent an HTTP request to an HTTPS server.\n")
    threading.Thread(target=serve, daemon=True).start()
    return "http://127.0.0.1:%d" % listener.getsockname()[1]


class PlainHttpToHttpsTest(InProcessTest):

    def assertSaysHttps(self, code, err):
        self.assertEqual(code, 1, err)
        self.assertNotIn("Traceback", err)
        self.assertIn("https://", err)
        self.assertIn("API_URL", err)  # where to write it

    def test_a_server_that_resets_the_connection(self):
        url = resetting_server(self)
        for args in (("hi",), ("--list",)):
            with self.subTest(args=args):
                code, out, err = self.main(*args, constants={"API_URL": url + "/api/chat"})
                self.assertSaysHttps(code, err)
                self.assertEqual(out, "")

    def test_nginx_s_page_for_plain_http_on_its_https_port(self):
        page = ("<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port"
                "</title></head>\r\n<body>\r\n</body>\r\n</html>\r\n")
        self.server.script("/api/chat", Reply(status=400, body=page.encode(),
                                              content_type="text/html",
                                              headers={"Server": "nginx"}))
        code, out, err = self.main("hi")
        self.assertSaysHttps(code, err)
        self.assertIn("use https:// in API_URL", err)

    # Was a bug: only nginx's wording ("...sent to HTTPS port") gets the https:// hint. Go's
    # TLS servers (Caddy, Traefik, a Go reverse proxy in front of Ollama) answer a
    # plain request with 400 "Client sent an HTTP request to an HTTPS server.", and the
    # message says neither https:// nor where to change it.
    def test_go_s_answer_to_plain_http_on_its_https_port(self):
        url = go_tls_server(self)
        code, out, err = self.main("hi", constants={"API_URL": url + "/api/chat"})
        self.assertSaysHttps(code, err)


class PlainHttpToTlsServerTest(InProcessTest):
    """A real TLS server (the fake with a throwaway self-signed certificate)."""

    @classmethod
    def setUpClass(cls):
        openssl = shutil.which("openssl")
        if not openssl:
            raise unittest.SkipTest("needs the openssl command for a throwaway certificate")
        cls.cert_dir = tempfile.mkdtemp(prefix="ollama_chat_cert_")
        cert, key = (os.path.join(cls.cert_dir, name) for name in ("cert.pem", "key.pem"))
        try:
            subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                            "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                           timeout=30)
        except (OSError, subprocess.SubprocessError) as err:
            shutil.rmtree(cls.cert_dir, True)
            raise unittest.SkipTest("openssl could not make a certificate: %s" % err)
        super(ScriptTest, cls).setUpClass()
        cls.addClassCleanup(shutil.rmtree, cls.cert_dir, True)
        cls.shared_server = FakeOllama(tls=(cert, key)).start()
        cls.addClassCleanup(cls.shared_server.stop)

    def test_the_message_says_the_server_may_want_https(self):
        plain = self.server.url.replace("https://", "http://") + "/api/chat"
        for args in (("hi",), ("-i",)):
            with self.subTest(args=args):
                code, out, err = self.main(*args, stdin="one\n", constants={"API_URL": plain})
                if args == ("-i",):  # the session goes on: the error is a line, exit 0
                    self.assertEqual(code, 0, err)
                    self.assertIn("https://", err)
                else:
                    self.assertEqual(code, 1, err)
                    self.assertIn("https://", err)
                    self.assertIn("API_URL", err)
                self.assertNotIn("Traceback", err)
        self.assertEqual(self.server.requests, [])  # no request got through the TLS

    def test_check_says_it_too(self):
        plain = self.server.url.replace("https://", "http://") + "/api/chat"
        code, out, err = self.main("--check", constants={"API_URL": plain})
        self.assertEqual(code, 1, out + err)
        state, text = self.check_lines(out)["server"]
        self.assertEqual(state, "FAIL")
        self.assertIn("https://", text)


# --- USE_PROXY: a proxy's error page, and no_proxy in --check -------------------

class ProxyTest(InProcessTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shared_proxy = FakeOllama().start()  # answers proxied requests
        cls.addClassCleanup(cls.shared_proxy.stop)

    def setUp(self):
        super().setUp()
        self.proxy = self.shared_proxy
        self.proxy.reset()

    def test_a_proxy_s_error_page_names_the_proxy_no_proxy_and_use_proxy(self):
        for status, reason in ((502, "Bad Gateway"), (503, "Service Temporarily Unavailable"),
                               (504, "Gateway Time-out")):
            with self.subTest(status=status):
                self.proxy.reset()
                self.proxy.script("/api/chat", html_error(status, reason))
                code, out, err = self.main("hi", constants={"USE_PROXY": True},
                                           env={"http_proxy": self.proxy.url})
                self.assertEqual((code, out), (1, ""), err)
                self.assertIn("HTTP %d" % status, err)
                self.assertIn("127.0.0.1:%d" % self.proxy.port, err)  # the proxy, by name
                self.assertIn("no_proxy", err)
                self.assertIn("USE_PROXY", err)
                self.assertNotIn("<", err)
                self.assertEqual(self.proxy.requests[0].path, self.server.url + "/api/chat")
                self.assertEqual(self.server.requests, [])

    def test_check_honours_no_proxy(self):
        dead = "http://127.0.0.1:%d" % closed_port()
        code, out, err = self.main("--check", constants={"USE_PROXY": True},
                                   env={"http_proxy": dead, "no_proxy": "127.0.0.1"})
        self.assertEqual((code, err), (0, ""), out)
        state, text = self.check_lines(out)["proxy"]
        self.assertEqual(state, "ok")
        self.assertIn("no_proxy", text)
        self.assertIn("127.0.0.1", text)
        self.assertIn("no proxy is used", text)
        self.assertNotIn(dead[7:], text)
        self.assertTrue(self.server.requests)  # straight to the server

    def test_check_names_the_proxy_it_goes_through(self):
        code, out, err = self.main("--check", constants={"USE_PROXY": True},
                                   env={"http_proxy": self.proxy.url})
        self.assertEqual((code, err), (0, ""), out)
        state, text = self.check_lines(out)["proxy"]
        self.assertEqual(state, "warn")
        self.assertIn("127.0.0.1:%d" % self.proxy.port, text)
        self.assertEqual(self.server.requests, [])

    # Was a bug: with USE_PROXY = True and only https_proxy set, an http:// API_URL goes
    # direct (no proxy for http), but --check says "https_proxy set; no_proxy covers
    # 127.0.0.1, so no proxy is used": no_proxy is not even set.
    def test_check_does_not_credit_no_proxy_when_there_is_no_proxy_for_the_scheme(self):
        dead = "http://127.0.0.1:%d" % closed_port()
        code, out, err = self.main("--check", constants={"USE_PROXY": True},
                                   env={"https_proxy": dead})
        self.assertEqual((code, err), (0, ""), out)
        state, text = self.check_lines(out)["proxy"]
        self.assertEqual(state, "ok")
        self.assertNotIn("no_proxy", text)


# --- --check: the key where chats go, a server that is not Ollama -----------------

class CheckTest(InProcessTest):

    def test_a_key_refused_at_api_chat_only_fails_the_key_line(self):
        cases = [({}, json_error(401, "unauthorized"), "the server wants an API key"),
                 ({"API_KEY": SECRET}, json_error(401, "unauthorized"),
                  "the server rejected the API key in API_KEY"),
                 ({"API_KEY": SECRET}, html_error(403, "Forbidden"), "API_KEY")]
        for constants, reply, words in cases:
            with self.subTest(constants=constants, status=reply.status):
                self.server.reset()
                self.server.script("/api/chat", reply)
                code, out, err = self.main("--check", constants=constants)
                self.assertEqual((code, err), (1, ""), out)
                lines = self.check_lines(out)
                self.assertEqual(lines["server"][0], "ok")
                self.assertEqual(lines["key"][0], "FAIL")
                self.assertIn("HTTP %d" % reply.status, lines["key"][1])
                self.assertIn(words, lines["key"][1])
                self.assertNotIn("accepted", out)
                self.assertNotEqual(lines["model"][0], "ok")
                self.assertNotIn(SECRET, out)
                (chat,) = self.server.chat_requests
                self.assertEqual(chat.json.get("model"), "")  # no model: nothing loads
                self.assertFalse(chat.json.get("messages"))
                self.assertEqual(self.server.loaded, {})
                self.assertEqual([r.route for r in self.server.requests
                                  if r.route not in ("/api/version", "/api/tags")],
                                 ["/api/chat"])

    def test_a_version_answer_without_a_version_is_not_ollama(self):
        for body in ({"status": "ok"}, {"version": 12}, ["0.12.6"]):
            with self.subTest(body=body):
                self.server.reset()
                self.server.script("/api/version", json_reply(body))
                # nor an OpenAI-compatible server, should --check look there too
                self.server.script("/v1/models", Reply(status=404, body=b"404 page not found",
                                                       content_type="text/plain"))
                code, out, err = self.main("--check")
                self.assertEqual((code, err), (1, ""), out)
                lines = self.check_lines(out)
                self.assertEqual(lines["server"][0], "FAIL")
                self.assertNotIn("Ollama ?", out)
                self.assertIn("/api/version", lines["server"][1])
                self.assertIn("API_URL", lines["server"][1])
                self.assertNotEqual(lines["key"][0], "ok")
                self.assertNotEqual(lines["model"][0], "ok")
                self.assertEqual(self.server.chat_requests, [])


# --- Files: /save, /load, --save --------------------------------------------------

class FileTest(InProcessTest):

    def read(self, *names):
        with open(self.path(*names), encoding="utf-8") as f:
            return json.load(f)

    def test_save_and_load_expand_the_tilde(self):
        home = self.path("home")
        os.mkdir(home)
        code, out, err = self.chat("one", "/save ~/x.json", env={"HOME": home})
        self.assertEqual((code, out), (0, "You said: one\n"), err)
        self.assertNotIn("error", err)
        self.assertEqual(self.read("home", "x.json")["format"], SAVED)
        self.assertFalse(os.path.exists(self.path("~")))
        self.assertIn(os.path.join(home, "x.json"), err)  # says where it went
        self.server.requests.clear()
        code, out, err = self.chat("/load ~/x.json", "two", env={"HOME": home})
        self.assertEqual((code, out), (0, "You said: two\n"), err)
        self.assertEqual(self.sent(0), [user("one"), said("one"), user("two")])

    def test_quotes_around_a_file_name_are_not_part_of_it(self):
        code, out, err = self.chat("one", '/save "my chat.json"', "/clear",
                                   "/load 'my chat.json'", "two")
        self.assertEqual((code, out), (0, "You said: one\nYou said: two\n"), err)
        self.assertNotIn("error", err)
        self.assertIn("my chat.json", os.listdir(self.tmp))
        self.assertEqual([name for name in os.listdir(self.tmp) if '"' in name or "'" in name],
                         [])
        self.assertEqual(self.read("my chat.json")["messages"][1], said("one"))
        self.assertEqual(self.sent(1), [user("one"), said("one"), user("two")])

    def test_save_to_a_folder_says_it_is_a_folder(self):
        for target in (".", self.tmp, "~"):
            with self.subTest(target=target):
                before = sorted(os.listdir(self.tmp))
                code, out, err = self.chat("one", "/save " + target, "two",
                                           env={"HOME": self.tmp})
                self.assertEqual((code, out), (0, "You said: one\nYou said: two\n"), err)
                self.assertIn("ollama_chat: error: ", err)
                self.assertIn("folder", err)
                self.assertNotIn("busy", err.lower())
                self.assertNotIn("Saved", err)
                self.assertEqual(sorted(os.listdir(self.tmp)), before)  # no leftover

    def test_save_flag_into_a_missing_folder_fails_at_once(self):
        target = os.path.join(self.tmp, "no", "such", "dir", "x.json")
        for args, stdin in ((("--save", target, "hi"), ""), (("--save", target, "-i"), "one\n"),
                            (("--save", "/no/such/dir/x.json", "hi"), "")):
            with self.subTest(args=args):
                if os.path.exists("/no/such/dir") and args[1].startswith("/no/"):
                    continue
                code, out, err = self.main(*args, stdin=stdin)
                self.assertCleanFailure(code, err, expected_code=2)
                self.assertEqual(out, "")
                self.assertIn(os.path.dirname(args[1]), err)
                self.assertEqual(self.server.requests, [])

    def test_load_says_when_the_file_s_system_prompt_replaces_the_one_set(self):
        with open(self.path("chat.json"), "w", encoding="utf-8") as f:
            json.dump({"format": SAVED, "version": 1, "model": "llama3",
                       "system": "From the file.", "messages": [user("a"), said("a")]}, f)
        code, out, err = self.chat("/system Mine.", "/load chat.json", "b")
        self.assertEqual((code, out), (0, "You said: b\n"), err)
        self.assertRegex(err, r"system prompt replaces")
        self.assertEqual(self.sent(0), [{"role": "system", "content": "From the file."},
                                        user("a"), said("a"), user("b")])
        for lines in (("/load chat.json", "b"), ("/system From the file.", "/load chat.json")):
            with self.subTest(lines=lines):  # nothing replaced: nothing said
                self.server.reset()
                code, out, err = self.chat(*lines)
                self.assertEqual(code, 0, err)
                self.assertNotIn("replaces", err)


# --- Constants written the way people write them ----------------------------------

class ConstantTest(InProcessTest):

    def test_a_number_in_quotes_says_to_remove_the_quotes(self):
        for name in ("TIMEOUT", "CONNECT_TIMEOUT"):
            with self.subTest(name=name):
                code, out, err = self.main("hi", constants={name: "600"})
                self.assertCleanFailure(code, err, expected_code=2)
                self.assertIn("%s = 600" % name, err)
                self.assertIn("without the quotes", err)
                self.assertEqual(self.server.requests, [])

    def test_spaces_around_the_model_name_are_dropped(self):
        for value in ("llama3 ", " llama3", "llama3\n"):
            with self.subTest(value=value):
                self.server.reset()
                code, out, err = self.main("hi", constants={"MODEL_NAME": value})
                self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
                self.assertEqual(self.server.chat_requests[0].json["model"], "llama3")

    def test_an_empty_user_name_stops_only_the_demo(self):
        for args, stdin in ((("--list",), ""), (("--check",), ""), (("-i",), "one\n"),
                            (("hi",), "")):
            with self.subTest(args=args):
                code, out, err = self.main(*args, stdin=stdin, constants={"USER_NAME": ""})
                self.assertEqual((code, err), (0, ""), out)
        self.server.reset()
        code, out, err = self.main(constants={"USER_NAME": ""})
        self.assertCleanFailure(code, err, expected_code=2)
        self.assertIn("USER_NAME is empty", err)
        self.assertEqual(self.server.requests, [])

    def test_a_key_with_the_word_bearer_says_to_drop_it_and_never_shows_the_key(self):
        cases = [({"API_KEY": "Bearer " + SECRET}, {}, "API_KEY"),
                 ({"API_KEY": "bearer  " + SECRET}, {}, "API_KEY"),
                 ({}, {"OLLAMA_API_KEY": "Bearer " + SECRET}, "OLLAMA_API_KEY")]
        for constants, env, source in cases:
            for args in (("hi",), ("--check",)):
                with self.subTest(constants=constants, env=env, args=args):
                    code, out, err = self.main(*args, constants=constants, env=env)
                    self.assertCleanFailure(code, err, expected_code=2)
                    self.assertIn(source, err)
                    self.assertIn("Bearer", err)
                    self.assertIn("leave it out", err)
                    self.assertNotIn(SECRET, out + err)
                    self.assertNotIn(SECRET[-6:], out + err)
                    self.assertEqual(self.server.requests, [])


if __name__ == "__main__":
    unittest.main()
