#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""ollama_chat.py - Ollama とストリーミングで会話する、標準ライブラリだけの1ファイル.

Ollama の /api/chat に接続し、返答をトークンごとに表示しながら会話します。
外部ライブラリは不要です (Python 3.8 以上)。
Chats with an Ollama server over its streaming /api/chat API, using only the
standard library (Python 3.8+).

使い方 / Usage:
    ollama pull llama3          # モデルを入れる / install the model
    ./ollama_chat.py            # 2ターンのデモ / the two-turn demo
    ./ollama_chat.py --help     # すべてのオプション / every option

設定はすぐ下の定数を編集します (1行に1つ)。
Edit the constants right below, one per line.

終了コード / Exit codes:
    0 成功 success, 1 実行時の失敗 failure at run time,
    2 設定・引数の誤り configuration or usage error, 130 中断 interrupted (Ctrl+C)
"""

# --- 設定 / Configuration: edit these -------------------------------------
API_URL = "http://localhost:11434/api/chat"  # Ollama の URL (http://host:11434 だけでも可)
API_KEY = ""  # Bearer キー。空なら環境変数 OLLAMA_API_KEY、それも空なら送らない
MODEL_NAME = "llama3"  # モデル名 (先に `ollama pull llama3`)
USER_NAME = "太郎"  # デモで名乗る名前 / your name in the demo
SYSTEM_PROMPT = ""  # 追加の指示 (現在日時は毎回自動で送る) / extra system prompt
TIMEOUT = 600  # 無通信の上限 (秒)。大きなモデルの読み込みは数分かかる / max silence, s
CONNECT_TIMEOUT = 10  # 接続の上限 (秒) / max seconds to connect
USE_PROXY = False  # True: http_proxy などの環境変数のプロキシを使う / use env proxies
THINK = None  # 思考モデル: None=サーバー既定, True, False, "low", "medium", "high"
SHOW_THINKING = True  # 思考過程を stderr に薄く表示する / show thinking on stderr
# ---------------------------------------------------------------------------

import argparse
import datetime
import difflib
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

__version__ = "1.0.0"

PROG = "ollama_chat"
DEMO_PROMPTS = (
    "私の名前は{name}です。私の名前を覚えてください。",
    "今何時ですか？ また、私の名前は何でしたか？",
)
THINK_LEVELS = ("low", "medium", "high")
ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error page worth reading
MAX_LINE_WARNINGS = 5  # bad stream lines reported per reply, then a summary


# --- Errors ----------------------------------------------------------------

class ChatError(Exception):
    """A failure the user can act on: the message says what happened and what to do."""

    exit_code = 1

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered with one


class ConfigError(ChatError):
    """A bad constant or flag, found before any request."""

    exit_code = 2


# --- Settings ----------------------------------------------------------------

class Settings:
    """What one run uses: the constants at the top (or flags), checked once."""

    def __init__(self, url, key, model, user_name, system, timeout, connect_timeout,
                 use_proxy, think, show_thinking, environ):
        self.base_url = server_base_url(url)
        self.key, self.key_source = resolve_key(key, environ)
        self.model = check_text("MODEL_NAME", model, spaces=False)
        self.user_name = check_text("USER_NAME", user_name)
        self.system = check_text("SYSTEM_PROMPT", system, empty=True)
        self.timeout = check_seconds("TIMEOUT", timeout)
        self.connect_timeout = check_seconds("CONNECT_TIMEOUT", connect_timeout)
        self.use_proxy = check_flag("USE_PROXY", use_proxy)
        self.think = check_think(think)
        self.show_thinking = check_flag("SHOW_THINKING", show_thinking)
        self.environ = environ

    @classmethod
    def from_constants(cls, environ=None, **overrides):
        """The constants as they are now in this module, with some replaced."""
        values = dict(url=API_URL, key=API_KEY, model=MODEL_NAME, user_name=USER_NAME,
                      system=SYSTEM_PROMPT, timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT,
                      use_proxy=USE_PROXY, think=THINK, show_thinking=SHOW_THINKING,
                      environ=os.environ if environ is None else environ)
        values.update(overrides)
        return cls(**values)

    def __repr__(self):  # never the key
        return "Settings(base_url=%r, model=%r)" % (self.base_url, self.model)

    @property
    def chat_url(self):
        return self.base_url + "/api/chat"

    @property
    def host_port(self):
        parts = urllib.parse.urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname
        return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def server_base_url(text, name="API_URL"):
    """Return the server's base URL for an API_URL, or a host as OLLAMA_HOST writes it.

    >>> server_base_url("http://localhost:11434/api/chat")
    'http://localhost:11434'
    >>> server_base_url("http://localhost:11434/")
    'http://localhost:11434'
    >>> server_base_url("HTTPS://ollama.com")
    'https://ollama.com'
    >>> server_base_url("https://example.com/ollama/api/chat/")
    'https://example.com/ollama'
    >>> server_base_url("example.com")
    'http://example.com:11434'
    >>> server_base_url("192.168.1.20:8080")
    'http://192.168.1.20:8080'
    >>> server_base_url("[::1]")
    'http://[::1]:11434'
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("%s is empty: set it to Ollama's address, e.g. "
                          "http://localhost:11434/api/chat" % name)
    text = text.strip()
    bare = "://" not in text
    parts = urllib.parse.urlsplit("http://" + text if bare else text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError("%s must be an http:// or https:// URL, not %r" % (name, text))
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("%s has a bad port: %r" % (name, text)) from None
    if not parts.hostname:
        raise ConfigError("%s has no host name: %r" % (name, text))
    if "@" in parts.netloc:
        raise ConfigError("%s must not contain a user name or password: "
                          "put the key in API_KEY instead" % name)
    if parts.query or parts.fragment:
        raise ConfigError("%s must not have a ?query or #fragment: %r" % (name, text))
    path = parts.path.rstrip("/")
    if path.endswith("/api/chat"):
        path = path[:-len("/api/chat")]
    elif "/api/" in path + "/":
        raise ConfigError("%s must end in /api/chat or be the server's address "
                          "(http://host:11434), not %r" % (name, text))
    netloc = parts.netloc
    if bare and port is None:
        netloc += ":11434"  # Ollama's port, as OLLAMA_HOST assumes
    return "%s://%s%s" % (scheme, netloc, path)


def resolve_key(key, environ):
    """Return (key, where it came from); API_KEY wins, then OLLAMA_API_KEY."""
    if not isinstance(key, str):
        raise ConfigError("API_KEY must be a string in quotes")
    source = "API_KEY"
    if not key.strip():
        key, source = environ.get("OLLAMA_API_KEY", ""), "OLLAMA_API_KEY"
    key = key.strip()
    if not key:
        return "", None
    if not key.isascii():
        raise ConfigError("%s contains non-ASCII characters; an API key never does" % source)
    if any(c.isspace() or not c.isprintable() for c in key):
        raise ConfigError("%s contains spaces or control characters; "
                          "copy the key again" % source)
    return key, source


def check_text(name, value, empty=False, spaces=True):
    if not isinstance(value, str):
        raise ConfigError("%s must be text in quotes, not %r" % (name, value))
    if not empty and not value.strip():
        raise ConfigError("%s is empty" % name)
    if not spaces and any(c.isspace() for c in value):
        raise ConfigError("%s must not contain spaces: %r" % (name, value))
    return value.strip()


def check_seconds(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError("%s must be a number of seconds, not %r" % (name, value))
    if value <= 0:
        raise ConfigError("%s must be more than 0 seconds, not %r" % (name, value))
    return float(value)


def check_flag(name, value):
    if not isinstance(value, bool):
        raise ConfigError("%s must be True or False, not %r" % (name, value))
    return value


def check_think(value):
    if value is None or isinstance(value, bool) or value in THINK_LEVELS:
        return value
    raise ConfigError("THINK must be None, True, False, \"low\", \"medium\" or "
                      "\"high\", not %r" % (value,))


# --- HTTP ------------------------------------------------------------------

class _Timeouts:
    """Connect within the connection's timeout, then allow read_timeout of silence."""

    def __init__(self, *args, read_timeout=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self):
        super().connect()  # TCP (and TLS) under the connect timeout
        self.sock.settimeout(self.read_timeout)


class _HTTPConnection(_Timeouts, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_Timeouts, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout):
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req):
        return self.do_open(_HTTPConnection, req, read_timeout=self.read_timeout)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout):
        super().__init__()
        self.read_timeout = read_timeout

    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context,
                            read_timeout=self.read_timeout)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect becomes an HTTPError, so the key never follows it elsewhere."""

    def redirect_request(self, *args, **kwargs):
        return None


def build_opener(settings):
    """An opener for http and https only that bypasses proxies unless USE_PROXY."""
    opener = urllib.request.OpenerDirector()
    proxies = None if settings.use_proxy else {}
    for handler in (urllib.request.ProxyHandler(proxies),
                    _HTTPHandler(settings.timeout), _HTTPSHandler(settings.timeout),
                    _NoRedirects(), urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor(), urllib.request.UnknownHandler()):
        opener.add_handler(handler)
    return opener


def open_api(settings, path, body=None):
    """Send one request to the server's API; return the open response or raise ChatError."""
    headers = {"Accept": "application/json, application/x-ndjson",
               "User-Agent": "ollama_chat/" + __version__}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if settings.key:
        headers["Authorization"] = "Bearer " + settings.key
    request = urllib.request.Request(settings.base_url + path, body, headers)
    try:
        return urllib.request.urlopen(request, timeout=settings.connect_timeout)
    except urllib.error.HTTPError as err:
        with err:
            raise http_error(settings, path, err) from err
    except urllib.error.URLError as err:
        raise connection_error(settings, err.reason) from err
    except socket.timeout as err:
        raise silence_error(settings, "before answering") from err
    except (http.client.HTTPException, OSError) as err:
        raise ChatError("the connection to %s failed before an answer: %s"
                        % (settings.host_port, describe(err))) from err


def get_json(settings, path, body=None):
    """A small JSON request (/api/tags, /api/version); returns the decoded object."""
    with open_api(settings, path, body) as response:
        data = read_body(settings, response, limit=None)
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError:
        raise ChatError("%s%s did not answer with JSON: is API_URL pointing at Ollama?"
                        % (settings.base_url, path)) from None


def read_body(settings, response, limit):
    try:
        return response.read() if limit is None else response.read(limit)
    except socket.timeout as err:
        raise silence_error(settings, "in the middle of an answer") from err
    except (http.client.HTTPException, OSError) as err:
        raise ChatError("the connection to %s broke: %s"
                        % (settings.host_port, describe(err))) from err


def describe(err):
    """A short text for a low-level exception."""
    text = str(err) or type(err).__name__
    return text[:200]


# --- What went wrong, in the user's words -----------------------------------

def connection_error(settings, reason):
    where = settings.host_port
    if isinstance(reason, socket.timeout):
        text = ("could not connect to %s within %g s (CONNECT_TIMEOUT): a firewall may "
                "be dropping the packets, or the address is wrong."
                % (where, settings.connect_timeout))
    elif isinstance(reason, ssl.SSLCertVerificationError):
        text = ("the TLS certificate of %s is not trusted (%s).\n  For a private CA, run "
                "with SSL_CERT_FILE=/path/to/ca.pem ./ollama_chat.py"
                % (where, reason.verify_message or reason.reason))
        return ChatError(text)
    elif isinstance(reason, ssl.SSLError):
        return ChatError("TLS with %s failed: %s. Is it really an https:// server?"
                         % (where, reason.reason or describe(reason)))
    elif isinstance(reason, socket.gaierror):
        text = ("cannot find the host %s (%s): check the host name in API_URL."
                % (urllib.parse.urlsplit(settings.base_url).hostname, reason.strerror))
    elif isinstance(reason, ConnectionRefusedError):
        text = ("cannot connect to %s: connection refused. Ollama does not seem to run "
                "there.\n  Start it with `ollama serve` (or the Ollama app), or fix API_URL."
                % where)
    elif isinstance(reason, str):  # urllib's own words, e.g. an unknown scheme
        return ChatError("cannot open %s: %s" % (settings.base_url, reason))
    else:
        text = "cannot connect to %s: %s." % (where, describe(reason))
    return ChatError("\n  ".join([text] + connection_hints(settings)))


def connection_hints(settings):
    """Extra lines for a failed connection: WSL2, and an OLLAMA_HOST we do not use."""
    hints = []
    host = urllib.parse.urlsplit(settings.base_url).hostname
    if host in ("localhost", "127.0.0.1", "::1") and running_on_wsl():
        gateway = windows_host_address()
        hints.append(
            "WSL2: Ollama on Windows listens on 127.0.0.1 only by default. Set "
            "OLLAMA_HOST=0.0.0.0 on Windows and use http://%s:11434 in API_URL, or turn on "
            "mirrored networking (networkingMode=mirrored in .wslconfig)."
            % (gateway or "<Windows host IP from `ip route show default`>"))
    env_host = settings.environ.get("OLLAMA_HOST", "").strip()
    if env_host:
        try:
            differs = server_base_url(env_host, "OLLAMA_HOST") != settings.base_url
        except ConfigError:
            differs = True
        if differs:
            hints.append("OLLAMA_HOST is set to %r, but this script uses API_URL (%s); "
                         "edit API_URL to use that address." % (env_host, settings.base_url))
    return hints


def running_on_wsl(path="/proc/version"):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "microsoft" in f.read().lower()
    except OSError:
        return False


def windows_host_address(path="/proc/net/route"):
    """The default gateway, which is the Windows host under WSL2 (NAT mode)."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if len(fields) > 2 and fields[1] == "00000000":
                    return socket.inet_ntoa(bytes.fromhex(fields[2])[::-1])
    except (OSError, ValueError):
        pass
    return None


def silence_error(settings, when):
    return ChatError(
        "no data from %s for %g s (TIMEOUT) %s; gave up.\n  A large model can take "
        "minutes to load: raise TIMEOUT at the top of ollama_chat.py if it needs more."
        % (settings.host_port, settings.timeout, when))


STATUS_HINTS = {
    405: "API_URL does not seem to point at Ollama's API.",
    413: "the conversation is larger than a proxy in between accepts "
         "(nginx: client_max_body_size).",
    429: "too many requests: wait a moment and try again.",
    502: "a proxy in between cannot reach Ollama behind it: is Ollama running there?",
    503: "the server is busy or unavailable: try again in a moment.",
    504: "a proxy in between gave up waiting for Ollama (a model loading?): "
         "raise the proxy's read timeout (nginx: proxy_read_timeout).",
}


def http_error(settings, path, err):
    """Turn an HTTP error status into a ChatError that says what to do."""
    status = err.code
    server_text, is_json = error_text(settings, err)
    origin = "HTTP %d %s" % (status, err.reason or http_reason(status))
    if not is_json and err.headers.get("Server"):
        origin += " from %s" % err.headers.get("Server")[:40]
    if 300 <= status < 400:
        return ChatError("%s: the server redirects to %s. Redirects are not followed (the key "
                         "must not travel elsewhere): if that address is right, put it in "
                         "API_URL." % (origin, err.headers.get("Location", "?")[:200]), status)
    lines = ["%s%s" % (origin, ": " + server_text if server_text else "")]
    if status in (401, 403):
        lines.append(key_hint(settings, status))
    elif status == 404 and path == "/api/chat" and "not found" in server_text and is_json:
        return model_missing_error(settings, server_text)
    elif status == 404:
        lines.append("no Ollama API at %s%s: check API_URL." % (settings.base_url, path))
    elif status == 400 and "does not support thinking" in server_text:
        lines.append("set THINK = None (or False) for this model.")
    elif status in STATUS_HINTS:
        lines.append(STATUS_HINTS[status])
    return ChatError("\n  ".join(lines), status)


def http_reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def error_text(settings, err):
    """The server's own words from an error body: (text, came from Ollama's JSON)."""
    try:
        body = read_body(settings, err, ERROR_BODY_LIMIT)
    except ChatError:
        return "", False
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"][:300], True
    text = body.decode("utf-8", "replace").strip()
    content_type = err.headers.get("Content-Type", "")
    if not text or "html" in content_type or text.startswith("<") or "\n" in text:
        return "", False  # a proxy's page: its status line says enough
    return text[:200], False


def key_hint(settings, status):
    if not settings.key:
        return ("the server wants an API key: set API_KEY at the top of ollama_chat.py "
                "(or the environment variable OLLAMA_API_KEY).")
    if settings.key_source == "API_KEY":
        where = "API_KEY at the top of ollama_chat.py"
    else:
        where = "OLLAMA_API_KEY (from the environment)"
    verb = "rejected" if status == 401 else "refused access with"
    return "the server %s the API key in %s: check it." % (verb, where)


def model_missing_error(settings, server_text):
    lines = ["model %r is not installed on %s (server: %s)."
             % (settings.model, settings.host_port, server_text),
             "Install it with: ollama pull %s" % settings.model]
    try:
        names = installed_models(settings)
    except ChatError:
        names = None
    if names:
        lines.append("Installed models, closest first: " + ", ".join(closest_first(settings.model, names)[:8]))
    elif names is not None:
        lines.append("No models are installed there yet.")
    return ChatError("\n  ".join(lines), 404)


def installed_models(settings):
    data = get_json(settings, "/api/tags")
    models = data.get("models") if isinstance(data, dict) else None
    return [m["name"] for m in models or () if isinstance(m, dict) and isinstance(m.get("name"), str)]


def closest_first(wanted, names):
    """Sort model names by likeness to the wanted one.

    >>> closest_first("llama3", ["qwen2.5:7b", "llama3.1:latest", "mistral:latest"])
    ['llama3.1:latest', 'mistral:latest', 'qwen2.5:7b']
    """
    def likeness(name):
        return difflib.SequenceMatcher(None, wanted.lower(), name.lower()).ratio()
    return sorted(names, key=likeness, reverse=True)


# --- Reading the NDJSON stream -----------------------------------------------

def read_ndjson(settings, response, warn):
    """Yield each JSON object of an NDJSON stream as soon as its line is complete.

    Lines may arrive cut anywhere (even inside a UTF-8 character) or several in
    one piece; a line that is not a JSON object is reported through warn() and
    skipped.
    """
    pending = bytearray()
    while True:
        data = read_some(settings, response)
        if not data:
            break
        pending += data
        if b"\n" not in data:
            continue
        *lines, rest = pending.split(b"\n")
        pending = bytearray(rest)
        for line in lines:
            item = parse_line(line, warn)
            if item is not None:
                yield item
    item = parse_line(pending, warn)
    if item is not None:
        yield item


def read_some(settings, response):
    try:
        return response.read1(65536)
    except socket.timeout as err:
        raise silence_error(settings, "in the middle of the reply") from err
    except (http.client.HTTPException, OSError) as err:
        raise ChatError("the connection to %s was cut in the middle of the reply (%s); "
                        "the reply is incomplete." % (settings.host_port, describe(err))) from err


def parse_line(line, warn):
    line = line.strip()
    if not line:
        return None
    try:
        item = json.loads(line.decode("utf-8"))
    except ValueError as err:  # bad JSON or bad UTF-8
        warn("skipped a line that is not valid JSON (%s): %r" % (str(err)[:80], bytes(line[:60])))
        return None
    if not isinstance(item, dict):
        warn("skipped a line that is not a JSON object: %r" % bytes(line[:60]))
        return None
    return item


# --- The terminal ----------------------------------------------------------

def is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def wants_color(stream, environ):
    return (is_terminal(stream) and not environ.get("NO_COLOR")
            and environ.get("TERM") != "dumb")


class Style:
    """ANSI colours, or plain text when switched off."""

    CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

    def __init__(self, enabled):
        self.enabled = enabled

    def __call__(self, text, *names):
        if not self.enabled or not names or not text:
            return text
        return "\033[%sm%s\033[0m" % (";".join(self.CODES[n] for n in names), text)


class Spinner:
    """A waiting indicator on a terminal, drawn by a background thread."""

    def __init__(self, stream, lock):
        self.stream, self.lock = stream, lock
        unicode_ok = "utf" in (getattr(stream, "encoding", "") or "").lower()
        self.frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏" if unicode_ok else "|/-\\"
        self.label = ""
        self.drawn = False
        self._stop = threading.Event()
        self._thread = None

    def start(self, label):
        self.label, self.started = label, time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        frame = 0
        while not self._stop.wait(0.1):  # a quick answer shows nothing at all
            with self.lock:
                seconds = time.monotonic() - self.started
                self.stream.write("\r\033[K%s %s %ds" % (
                    self.frames[frame % len(self.frames)], self.label, seconds))
                self.stream.flush()
                self.drawn = True
            frame += 1

    def stop(self):
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.clear()

    def clear(self):
        """Erase the indicator's line (the caller holds the lock or stopped it)."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False


class Display:
    """Writes the conversation to stdout and everything else to stderr."""

    def __init__(self, out=None, err=None, color=True, environ=None):
        environ = os.environ if environ is None else environ
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.paint = Style(color and wants_color(self.out, environ))
        self.paint_err = Style(color and wants_color(self.err, environ))
        self.lock = threading.Lock()
        self.spinner = Spinner(self.err, self.lock) if is_terminal(self.err) else None
        self.mid_line = False  # stdout holds an unfinished line
        self.thinking_shown = False

    def line(self, text="", *style):
        self.end_line()
        self.out.write(self.paint(text, *style) + "\n")
        self.out.flush()

    def write(self, text):
        self.out.write(text)
        self.out.flush()
        self.mid_line = not text.endswith("\n")

    def end_line(self):
        if self.mid_line:
            self.write("\n")

    def wait(self, label):
        if self.spinner:
            self.spinner.start(label)

    def stop_waiting(self):
        if self.spinner:
            self.spinner.stop()

    def thinking(self, text):
        self.stop_waiting()
        if not self.thinking_shown:
            self.thinking_shown = True
            self.err.write(self.paint_err("Thinking...", "dim") + "\n")
        self.err.write(self.paint_err(text, "dim"))
        self.err.flush()

    def done_thinking(self):
        if self.thinking_shown:
            self.thinking_shown = False
            self.err.write("\n" + self.paint_err("...done thinking.", "dim") + "\n\n")
            self.err.flush()

    def message(self, prefix, text, *style):
        """A line on stderr, over the waiting indicator if one is drawn."""
        with self.lock:
            if self.spinner:
                self.spinner.clear()
            self.err.write(self.paint_err(prefix, *style) + text + "\n")
            self.err.flush()

    def warn(self, text):
        self.message("warning: ", text, "yellow")

    def error(self, text):
        self.message(PROG + ": error: ", text, "red", "bold")


# --- The conversation ------------------------------------------------------

def time_message(now=None):
    """The system text that lets the model answer "what time is it?"."""
    now = now or datetime.datetime.now().astimezone()
    offset = now.strftime("%z")
    return "現在の日時 (current local date and time): %s %s (UTC%s:%s)" % (
        now.strftime("%Y-%m-%d (%a) %H:%M:%S"), now.tzname() or "", offset[:3], offset[3:])


class Reply:
    """One streamed answer: its text, and the final chunk's statistics."""

    def __init__(self):
        self.parts = []
        self.final = None
        self.chat_seen = False  # any line that looked like Ollama's chat stream

    @property
    def text(self):
        return "".join(self.parts)


class Conversation:
    """The history sent with every turn; a turn is added only when its reply is complete."""

    def __init__(self, settings, display, label=None):
        self.settings = settings
        self.display = display
        self.label = label  # printed before each reply, e.g. "Assistant (llama3): "
        self.messages = []

    def request_body(self, messages):
        system = time_message()
        if self.settings.system:
            system += "\n\n" + self.settings.system
        body = {"model": self.settings.model,
                "messages": [{"role": "system", "content": system}] + messages,
                "stream": True}
        if self.settings.think is not None:
            body["think"] = self.settings.think
        return body

    def ask(self, text):
        turn = self.messages + [{"role": "user", "content": text}]
        reply = stream_reply(self.settings, self.display, self.request_body(turn), self.label)
        self.messages = turn + [{"role": "assistant", "content": reply.text}]
        return reply


def stream_reply(settings, display, body, label=None):
    """Send one chat request and show the reply as it streams; return the Reply."""
    display.wait("waiting for %s" % settings.model)
    try:
        with open_api(settings, "/api/chat", body) as response:
            check_stream_type(settings, response)
            reply = Reply()
            for chunk in read_ndjson(settings, response, few_warnings(display.warn)):
                if show_chunk(settings, display, chunk, reply, label):
                    label = None
                if chunk.get("done") is True:
                    reply.final = chunk
                    break
    finally:
        display.stop_waiting()
        display.done_thinking()
    display.end_line()
    if reply.final is None and not reply.chat_seen:
        raise ChatError("%s answered, but not with an Ollama chat stream: is API_URL "
                        "pointing at Ollama (port 11434)?" % settings.chat_url)
    if reply.final is None:
        raise ChatError("the stream from %s ended before the reply was finished; "
                        "the reply is incomplete." % settings.host_port)
    if reply.final.get("done_reason") == "length":
        display.warn("the reply was cut by the length limit (num_predict or the "
                      "model's context size).")
    return reply


def few_warnings(warn, limit=MAX_LINE_WARNINGS):
    """warn() for the first few bad lines of a reply, then once that more are skipped."""
    count = 0

    def warn_few(text):
        nonlocal count
        count += 1
        if count <= limit:
            warn(text)
        elif count == limit + 1:
            warn("more bad lines in this reply; skipping them without a word.")
    return warn_few


def check_stream_type(settings, response):
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type:
        raise ChatError("%s answered with a web page, not an Ollama chat stream: is API_URL "
                        "pointing at Ollama itself (port 11434), not a web UI?"
                        % settings.chat_url)


def show_chunk(settings, display, chunk, reply, label):
    """Render one chunk; return True once answer text has been written."""
    if "error" in chunk:
        raise ChatError("the server stopped the reply with an error: %s"
                        % str(chunk["error"])[:300])
    message = chunk.get("message")
    if not isinstance(message, dict):
        if "done" not in chunk:
            display.warn("skipped a line that is not a chat message: %.60s" % json.dumps(chunk))
        return False
    reply.chat_seen = True
    thinking, content = message.get("thinking"), message.get("content")
    if thinking and isinstance(thinking, str) and settings.show_thinking:
        display.thinking(thinking)
    if not content or not isinstance(content, str):
        return False
    display.stop_waiting()
    display.done_thinking()
    if label:
        display.write(display.paint(label, "bold", "green"))
    display.write(content)
    reply.parts.append(content)
    return True


# --- The demo --------------------------------------------------------------

def run_demo(settings, display):
    """The original sample's two turns: give a name, then ask the time and the name."""
    display.line("--- Starting Session with %s ---" % settings.model, "bold")
    display.line("Current Time: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
    display.line()
    conversation = Conversation(settings, display, "Assistant (%s): " % settings.model)
    for prompt in DEMO_PROMPTS:
        prompt = prompt.format(name=settings.user_name)
        display.line(display.paint("User: ", "bold", "cyan") + prompt)
        conversation.ask(prompt)
        display.line("-" * 40)
        display.line()
    display.line("--- Session Ended ---", "bold")


# --- Command line ----------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        prog="ollama_chat.py",
        description="Chat with an Ollama server over its streaming /api/chat API. "
                    "Without arguments: the two-turn demo (tell the model your name, "
                    "then ask the time and your name). Settings: the constants at the "
                    "top of the file.",
        epilog="exit codes: 0 success, 1 failure at run time, 2 configuration or usage "
               "error, 130 interrupted (Ctrl+C). Output: the conversation on stdout, "
               "messages on stderr.")
    parser.add_argument("--no-color", action="store_true", help="never use colours")
    parser.add_argument("--debug", action="store_true",
                        help="show a traceback on errors (for bug reports)")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser


def main(argv=None):
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    display = Display(color=not args.no_color)
    try:
        settings = Settings.from_constants()
        urllib.request.install_opener(build_opener(settings))
        run_demo(settings, display)
        return 0
    except ChatError as err:
        display.end_line()
        display.error(str(err))
        if args.debug:
            raise
        return err.exit_code
    except KeyboardInterrupt:
        display.stop_waiting()
        display.end_line()
        display.message(PROG + ": ", "interrupted", "yellow")
        if args.debug:
            raise
        return 130
    except BrokenPipeError:
        silence_stdout()
        return 141


def silence_stdout():
    """stdout's reader has gone (| head): drop what is left, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
