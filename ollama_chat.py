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
    ./ollama_chat.py "質問"      # 1回だけ質問 / one prompt, the reply on stdout
    ./ollama_chat.py -i         # 対話モード / interactive chat (/? for commands)
    ./ollama_chat.py --check    # 設定の診断 / check the setup
    ./ollama_chat.py --help     # すべてのオプション / every option

設定はすぐ下の定数を編集します (1行に1つ)。
Edit the constants right below, one per line.

1ターンの流れ (この順にファイルに並んでいます) / One turn, in the order of this file:
    run_demo → Conversation.ask → stream_reply → open_api (one HTTP request)
      → read_ndjson (one JSON object per line) → show_chunk → Display (the screen)
Everything after the demo serves the rest: the context window's gauge, other
servers (LM Studio, llama.cpp... through the OpenAI-compatible API), error
wording, the terminal, -i, --list / --pull / --check, saving, the command line.

終了コード / Exit codes:
    0 成功 success, 1 実行時の失敗 failure at run time,
    2 設定・引数の誤り configuration or usage error, 130 中断 interrupted (Ctrl+C),
    141 出力先が閉じた stdout closed early (| head)
"""

# --- 設定 / Configuration: edit these -------------------------------------
API_URL = "http://localhost:11434/api/chat"  # Ollama の URL (http://host:11434 だけでも可)
API_KEY = ""  # Bearer キー。空なら環境変数 OLLAMA_API_KEY、それも空なら送らない
MODEL_NAME = "llama3"  # モデル名 (先に `ollama pull llama3`)
USER_NAME = "太郎"  # デモで名乗る名前 / your name in the demo
SYSTEM_PROMPT = ""  # 空ならモデル自身の指示 / empty: the model's own system prompt
TIMEOUT = 600  # 無通信の上限 (秒)。大きなモデルの読み込みは数分かかる / max silence, s
CONNECT_TIMEOUT = 10  # 接続の上限 (秒) / max seconds to connect
USE_PROXY = False  # True: http_proxy などの環境変数のプロキシを使う / use env proxies
THINK = None  # 思考モデル: None=サーバー既定, True, False, "low", "medium", "high", "max"
SHOW_THINKING = True  # 思考過程を stderr に薄く表示する / show thinking on stderr
OPTIONS = {}  # モデルの設定 / model options, e.g. {"num_ctx": 8192, "temperature": 0.7}
API_STYLE = "auto"  # "auto", "ollama", "openai" (LM Studio, llama.cpp, vLLM, Jan... の /v1)
KEEP_ALIVE = None  # モデルを載せておく時間: None=サーバー既定 (5分), "30m", "1h", -1=ずっと / keep_alive
# ---------------------------------------------------------------------------

import argparse
import datetime
import http.client
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

__version__ = "1.0.0"

PROG = "ollama_chat"
SHIPPED_URL = "http://localhost:11434/api/chat"  # API_URL as shipped: OLLAMA_HOST may replace it
SHIPPED_MODEL = "llama3"  # MODEL_NAME as shipped: OLLAMA_CHAT_MODEL may replace it
DEMO_PROMPTS = (
    "私の名前は{name}です。私の名前を覚えてください。",
    "今何時ですか？ また、私の名前は何でしたか？",
)
THINK_LEVELS = ("low", "medium", "high", "max")
MAX_IMAGE = 100 * 1000 * 1000  # bytes of one image, as `ollama run` allows
API_STYLES = ("auto", "ollama", "openai")
ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error page worth reading
MAX_ANSWER = 16 << 20  # bytes of /api/tags, /api/show, /api/ps... (a real one: kilobytes)
MAX_SAVED = 64 << 20  # bytes of a file --resume and /load read
HISTORY_LENGTH = 100  # lines of input history kept, as `ollama run` keeps
MAX_LINE = 64 << 20  # bytes of one stream line; a real one is a few hundred, a huge token fits
MAX_LINE_WARNINGS = 5  # bad stream lines reported per reply, then a summary
MAX_SECONDS = 10 ** 6  # the largest timeout a socket takes everywhere (11 days)
IMAGE_PATH = re.compile(  # '/a b.png', "~/a.jpg", ./a\ b.webp: not https://x/a.png
    r"(?:(?<=\s)|^)(?:(['\"])((?:~|\.{1,2})?/[^'\"]+?\.(?:png|jpe?g|webp))\1"
    r"|((?:~|\.{1,2})?/(?:\\.|[^\s\\])+?\.(?:png|jpe?g|webp)))(?![\w.\-/])", re.I)
SPACED_PATH = re.compile(  # /tmp/my cat.png as the shell passed it: taken only if it exists
    r"(?:(?<=\s)|^)((?:~|\.{1,2})?/[^\n'\"]*? [^\n'\"]*?\.(?:png|jpe?g|webp))(?![\w.\-/])", re.I)
LONE = re.compile("[\ud800-\udfff]")  # half a surrogate pair: no character at all
BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\"<>]+")  # a key a server echoes back
TIME_LABEL = "現在の日時 local time:"  # before the time on each message the model gets
FULL = 0.8  # warn when a reply leaves the context window this full
SMALLEST_WINDOW = 2048  # Ollama's default num_ctx before v0.6.7; 4096 (or more) since


# --- Errors ----------------------------------------------------------------

class ChatError(Exception):
    """A failure the user can act on: the message says what happened and what to do."""

    exit_code = 1

    def __init__(self, message, status=None, not_ollama=False):
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered with one
        self.not_ollama = not_ollama  # what answered is not Ollama: another API may work


class ConfigError(ChatError):
    """A bad constant or flag, found before any request."""

    exit_code = 2


# --- Settings ----------------------------------------------------------------

class Settings:
    """What one run uses: the constants at the top, or the flags that replace them.

    Checked once when built, and never changed afterwards: what a chat changes as
    it goes (the model, the system prompt, /set's options) belongs to the
    Conversation.
    """

    def __init__(self, url, key, model, user_name, system, timeout, connect_timeout,
                 use_proxy, think, show_thinking, options, environ, api="auto", verbose=False,
                 url_name="API_URL", timeout_name="TIMEOUT", installed=False,
                 keep_alive=None, format=None, model_name="MODEL_NAME"):
        self.installed = installed  # pip/pipx's ollama-chat: no constants to edit
        self.keep_alive = check_keep_alive("KEEP_ALIVE", keep_alive)
        self.format = format  # --format: "json" or a JSON schema
        self.url_name = url_name  # "API_URL" or "--url": what messages tell the user to fix
        self.timeout_name = timeout_name  # "TIMEOUT" or "--timeout"
        self.base_url = server_base_url(url, url_name)
        self.api = check_api(api, url)  # the API to speak: "auto" tries Ollama's first
        self.key, self.key_source = resolve_key(key, environ)
        self.model = check_text(model_name, model, spaces=False)
        self.user_name = check_text("USER_NAME", user_name, empty=True)  # the demo checks it
        self.system = check_text("SYSTEM_PROMPT", system, empty=True)
        self.timeout = check_seconds(timeout_name, timeout)
        self.connect_timeout = check_seconds("CONNECT_TIMEOUT", connect_timeout)
        self.use_proxy = check_flag("USE_PROXY", use_proxy)
        self.think = check_think(think)
        self.options = check_options(options)
        self.show_thinking = check_flag("SHOW_THINKING", show_thinking)
        self.verbose = verbose  # -v: statistics after each reply
        self.environ = environ
        self._built = True

    def __setattr__(self, name, value):
        if getattr(self, "_built", False):
            raise AttributeError("Settings do not change once built (%s)" % name)
        super().__setattr__(name, value)

    @classmethod
    def from_constants(cls, environ=None, **overrides):
        """The constants as they are now in this module, with some replaced.

        Left as shipped, API_URL gives way to OLLAMA_HOST and MODEL_NAME to
        OLLAMA_CHAT_MODEL, as the installed command has no constants to edit.
        """
        environ = os.environ if environ is None else environ
        installed = overrides.get("installed", False)
        url, model = API_URL, MODEL_NAME
        url_name = "OLLAMA_HOST (or --url)" if installed else "API_URL"
        host, chosen = environ.get("OLLAMA_HOST", ""), environ.get("OLLAMA_CHAT_MODEL", "")
        if url == SHIPPED_URL and host.strip() and "url" not in overrides:
            url, url_name = ollama_host(host), "OLLAMA_HOST"
        model_name = "MODEL_NAME"
        if model == SHIPPED_MODEL and chosen.strip() and "model" not in overrides:
            model, model_name = chosen, "OLLAMA_CHAT_MODEL"
        values = dict(url=url, url_name=url_name, key=API_KEY, model=model, model_name=model_name,
                      user_name=USER_NAME,
                      timeout_name="--timeout" if installed else "TIMEOUT", keep_alive=KEEP_ALIVE,
                      system=SYSTEM_PROMPT, timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT,
                      use_proxy=USE_PROXY, think=THINK, show_thinking=SHOW_THINKING,
                      options=OPTIONS, api=API_STYLE, environ=environ)
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
    >>> server_base_url("http://localhost:1234/v1"), server_base_url("localhost:8080/v1/")
    ('http://localhost:1234', 'http://localhost:8080')
    >>> server_base_url("http:/localhost:11434")
    Traceback (most recent call last):
    ollama_chat.ConfigError: API_URL must begin with http:// or https:// (two slashes): 'http:/localhost:11434'
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("%s is empty: set it to Ollama's address, e.g. "
                          "http://localhost:11434/api/chat" % name)
    text = text.strip()
    shown = without_password(text)
    check_ascii(name, text)
    if re.match(r"https?:(?!//)", text, re.I):
        raise ConfigError("%s must begin with http:// or https:// (two slashes): %r"
                          % (name, shown))
    bare = "://" not in text
    try:
        parts = urllib.parse.urlsplit("http://" + text if bare else text)
        port = parts.port
    except ValueError as err:  # "Invalid IPv6 URL", "Port out of range 0-65535"...
        if "IPv6" in str(err):
            raise ConfigError("%s has an IPv6 address without its closing ]: write it "
                              "as http://[::1]:11434, not %r" % (name, shown)) from None
        raise ConfigError("%s has a bad port: %r" % (name, shown)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError("%s must be an http:// or https:// URL, not %r" % (name, shown))
    if not parts.hostname:
        raise ConfigError("%s has no host name: %r" % (name, shown))
    if "@" in parts.netloc:
        raise ConfigError("%s must not contain a user name or password: put the key in "
                          "%s instead" % (name, "API_KEY" if name == "API_URL"
                                          else "OLLAMA_API_KEY"))
    if parts.query or parts.fragment:
        raise ConfigError("%s must not have a ?query or #fragment: %r" % (name, shown))
    path = parts.path.rstrip("/")
    for suffix in ("/api/chat", "/v1/chat/completions", "/v1"):
        if path.endswith(suffix):
            return "%s://%s%s" % (scheme, parts.netloc, path[:-len(suffix)])
    if "/api/" in path + "/" or "/v1/" in path + "/":
        raise ConfigError("%s must end in /api/chat (Ollama), /v1 (an OpenAI-compatible "
                          "server) or be the server's address (http://host:11434), not %r"
                          % (name, shown))
    netloc = parts.netloc
    if bare and port is None:
        netloc += ":11434"  # Ollama's port, as OLLAMA_HOST assumes
    return "%s://%s%s" % (scheme, netloc, path)


def ollama_host(text):
    """OLLAMA_HOST as Ollama's own client reads it: quotes dropped, a listen address
    (0.0.0.0, ::, :11434) meaning this machine, an IPv6 address without brackets.

    >>> ollama_host('"0.0.0.0"'), ollama_host(":8080"), ollama_host("::1")
    ('localhost', 'localhost:8080', '[::1]')
    """
    text = text.strip().strip("\"'")
    if re.fullmatch(r"[0-9a-fA-F]*:[0-9a-fA-F:.]*:[0-9a-fA-F:.]*", text):  # IPv6, no port
        text = "[%s]" % text
    scheme, sep, rest = text.rpartition("://")
    host = re.match(r"\[[^\]]*\]|[^:/]*", rest).group()
    if host in ("", "0.0.0.0", "[::]"):
        rest = "localhost" + rest[len(host):]
    return scheme + sep + rest


def check_ascii(name, url):
    """A URL is ASCII; a Japanese IME easily types a full-width ： or ／ into it.

    >>> check_ascii("API_URL", "http://localhost：11434")
    Traceback (most recent call last):
    ollama_chat.ConfigError: API_URL has a full-width '：' (FULLWIDTH COLON): type it as ':' \
(half-width): 'http://localhost：11434'
    """
    for char in url:
        if char.isascii():
            continue
        plain = unicodedata.normalize("NFKC", char)
        what = unicodedata.name(char, "U+%04X" % ord(char))
        if plain.isascii() and plain.isprintable():
            raise ConfigError("%s has a full-width %r (%s): type it as %r (half-width): %r"
                              % (name, char, what, plain, without_password(url)))
        raise ConfigError("%s has the character %r (%s): a URL here takes ASCII only "
                          "(an international domain name: its xn-- form): %r"
                          % (name, char, what, without_password(url)))


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
    if re.match(r"(?i)bearer\s", key):
        raise ConfigError("%s starts with the word Bearer: leave it out, it is added for you "
                          "(Authorization: Bearer <key>)" % source)
    if not key.isascii():
        raise ConfigError("%s contains non-ASCII characters; an API key never does" % source)
    if any(c.isspace() or not c.isprintable() for c in key):
        raise ConfigError("%s contains spaces or control characters; "
                          "copy the key again" % source)
    return key, source


def check_text(name, value, empty=False, spaces=True):
    if not isinstance(value, str):
        raise ConfigError("%s must be text in quotes, not %r" % (name, value))
    check_utf8(value, name)
    value = value.strip()
    if not empty and not value:
        raise ConfigError("%s is empty" % name)
    if not spaces and any(c.isspace() for c in value):
        raise ConfigError("%s must not contain spaces: %r" % (name, value))
    if not spaces and not value.isprintable():
        raise ConfigError("%s must not contain control characters: %r" % (name, value))
    return value.strip()


def check_utf8(text, what="the message"):
    """Text read with surrogateescape (stdin, arguments) may hold bytes that are not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError("%s is not UTF-8 text (Shift_JIS or another encoding?): use UTF-8, "
                          "e.g. convert a file with iconv -f SHIFT_JIS -t UTF-8" % what
                          ) from None


def check_seconds(name, value):
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9.]+\s*", value):
        raise ConfigError("%s must be a number, not text: write %s = %s, without the quotes"
                          % (name, name, value.strip()))
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or value != value or value == float("inf")):
        raise ConfigError("%s must be a number of seconds, not %r" % (name, value))
    if value <= 0:
        raise ConfigError("%s must be more than 0 seconds, not %r" % (name, value))
    if value > MAX_SECONDS:
        raise ConfigError("%s must be at most %d seconds, not %r" % (name, MAX_SECONDS, value))
    return float(value)


def check_flag(name, value):
    if not isinstance(value, bool):
        raise ConfigError("%s must be True or False, not %r" % (name, value))
    return value


def check_options(value):
    """OPTIONS: Ollama's model options, sent as they are ({"num_ctx": 8192, ...})."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise ConfigError('OPTIONS must be a dict of option names and values, e.g. '
                          '{"num_ctx": 8192}, not %r' % (value,))
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise ConfigError("OPTIONS holds a value JSON cannot carry: %r" % (value,)) from None
    return dict(value)


def check_keep_alive(name, value):
    """KEEP_ALIVE or --keepalive: seconds, or a duration as Ollama writes it ("30m").

    >>> check_keep_alive("--keepalive", "1h30m"), check_keep_alive("--keepalive", "-1")
    ('1h30m', -1)
    """
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", value):
        return value
    raise ConfigError("%s must be a number of seconds or a duration such as \"30m\", "
                      "\"1h\" or -1 (keep the model loaded), not %r" % (name, value))


def check_api(value, url):
    """API_STYLE; an URL ending in /v1 or /v1/chat/completions means "openai"."""
    if value not in API_STYLES:
        raise ConfigError('API_STYLE must be "auto", "ollama" or "openai", not %r' % (value,))
    path = urllib.parse.urlsplit(url.strip() if "://" in url else "http://" + url.strip()).path
    if value == "auto" and re.search(r"/v1(/chat/completions)?/?$", path):
        return "openai"
    return value


def check_think(value):
    if value is None or isinstance(value, bool) or value in THINK_LEVELS:
        return value
    raise ConfigError("THINK must be None, True, False, \"low\", \"medium\", \"high\" "
                      "or \"max\", not %r" % (value,))


# --- HTTP: one request to the server --------------------------------------

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
    handlers = [urllib.request.ProxyHandler(proxies), _HTTPHandler(settings.timeout),
                _NoRedirects(), urllib.request.HTTPDefaultErrorHandler(),
                urllib.request.HTTPErrorProcessor(), urllib.request.UnknownHandler()]
    if settings.base_url.startswith("https:"):  # its TLS context costs 20 ms on 3.12+
        handlers.append(_HTTPSHandler(settings.timeout))
    for handler in handlers:
        opener.add_handler(handler)
    return opener


def open_api(settings, path, body=None):
    """Send one request to the server's API; return the open response or raise ChatError."""
    headers = {"Accept": "application/json, application/x-ndjson",
               "User-Agent": "ollama_chat/" + __version__}
    model = body.get("model") if body else None  # for the message if it is missing
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if settings.key:
        headers["Authorization"] = "Bearer " + settings.key
    request = urllib.request.Request(settings.base_url + path, body, headers)
    try:
        return urllib.request.urlopen(request, timeout=settings.connect_timeout)
    except urllib.error.HTTPError as err:  # the server answered with an error status
        with err:
            raise http_error(settings, path, err, model) from err
    except urllib.error.URLError as err:  # no connection at all
        raise connection_error(settings, err.reason) from err
    except (http.client.HTTPException, OSError) as err:
        raise connection_broke(settings, err, "before answering") from err


def connection_broke(settings, err, when, outcome=""):
    """The ChatError for a connection that failed or fell silent once it was open.

    Callers catch (http.client.HTTPException, OSError) around the socket call
    alone: a BrokenPipeError from writing to stdout (| head) is an OSError too,
    and must not be reported as a cut connection.
    """
    if isinstance(err, socket.timeout):
        return silence_error(settings, when)
    hint = ""
    if isinstance(err, (ConnectionResetError, http.client.RemoteDisconnected)) and not outcome:
        hint = https_hint(settings)
    return ChatError("the connection to %s was cut %s (%s)%s%s"
                     % (settings.host_port, when, describe(err), outcome, hint))


def get_json(settings, path, body=None):
    """A small JSON request (/api/tags, /api/version); returns the decoded object."""
    return get_json_and_headers(settings, path, body)[0]


def get_json_and_headers(settings, path, body=None):
    """get_json, and the answer's headers (which name some servers)."""
    with open_api(settings, path, body) as response:
        data = read_body(settings, response, MAX_ANSWER)
    if len(data) >= MAX_ANSWER:
        raise ChatError("%s%s answered with more than %d MB: is %s pointing at Ollama?"
                        % (settings.base_url, path, MAX_ANSWER >> 20, settings.url_name))
    try:
        return json.loads(data.decode("utf-8")), response.headers
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        raise ChatError("%s%s did not answer with JSON: is %s pointing at Ollama?"
                        % (settings.base_url, path, settings.url_name)) from None


def read_body(settings, response, limit):
    """At most limit bytes of a whole answer, unpacked if a proxy compressed it."""
    try:
        data = response.read(limit)
    except (http.client.HTTPException, OSError) as err:
        raise connection_broke(settings, err, "in the middle of an answer") from err
    if response.headers.get("Content-Encoding", "").lower() in ("gzip", "deflate"):
        import zlib  # here, not at the top: only a misbehaving proxy needs it
        try:  # wbits 47: a gzip or zlib header, found by zlib itself
            data = zlib.decompressobj(47).decompress(data, limit)
        except zlib.error:
            data = b""
    return data


def describe(err):
    """A short text for a low-level exception."""
    text = str(err) or type(err).__name__
    return text[:200]


# --- Reading the NDJSON stream -----------------------------------------------
# Ollama streams a reply as NDJSON, one JSON object per line. Each line goes out
# as one HTTP chunk the moment the model has a token; while the model loads,
# nothing comes at all (not even the status line). The lines of a reply:
#
#   {"model":"llama3","created_at":"2026-11-26T06:00:00Z","message":{"role":"assistant",
#    "content":"こんにちは"},"done":false}
#   {"model":"qwen3","created_at":"2026-11-26T06:00:00Z","message":{"role":"assistant",
#    "content":"","thinking":"The user asks"},"done":false}
#   {"model":"llama3","created_at":"2026-11-26T06:00:01Z","message":{"role":"assistant",
#    "content":""},"done":true,"done_reason":"stop","total_duration":2500000000,
#    "load_duration":1000000000,"prompt_eval_count":26,"prompt_eval_duration":130000000,
#    "eval_count":12,"eval_duration":1200000000}
#   {"error":"model runner has unexpectedly stopped"}
#
# (wrapped here; on the wire each object is one line). A proxy may merge lines
# into one chunk or cut one anywhere, even inside a UTF-8 character: readline()
# puts them back together, whatever the chunks.

def read_ndjson(settings, response, warn):
    """Yield each JSON object of an NDJSON stream as soon as its line is complete."""
    while True:
        line = read_line(settings, response)
        if not line:
            return  # the end of the body
        item = parse_line(line, warn)
        del line  # not held while the item is shown: a token can be 30 MB
        if item is not None:
            yield item


def read_line(settings, response):
    """The next line of a streamed body, b"" at its end."""
    try:
        line = response.readline(MAX_LINE + 1)
    except (http.client.HTTPException, OSError) as err:
        raise connection_broke(settings, err, "in the middle of the reply",
                               "; the reply is incomplete.") from err
    if len(line) > MAX_LINE:  # memory stays bounded whatever the server sends
        raise ChatError("%s sent a line of more than %d MB without an end: not a chat "
                        "stream (a real line is a few hundred bytes); the reply is "
                        "incomplete." % (settings.host_port, MAX_LINE >> 20))
    return line


def parse_line(line, warn):
    """The JSON object on one line; None for a blank line, or a bad one after a warning."""
    if line.isspace():
        return None
    try:
        item = json.loads(line.decode("utf-8"))  # json allows the spaces around it
    except (ValueError, RecursionError) as err:  # bad UTF-8, bad JSON, nested too deep
        warn("skipped a line that is not valid JSON (%s): %r"
             % (str(err)[:80] or type(err).__name__, line.strip()[:60]))
        return None
    if not isinstance(item, dict):
        warn("skipped a line that is not a JSON object: %r" % line.strip()[:60])
        return None
    if b"\\ud" in line or b"\\uD" in line:
        item = without_surrogates(item)
    return item


def without_surrogates(data):
    """JSON data whose text can be written as UTF-8: a lone "\\ud800" becomes U+FFFD."""
    text = json.dumps(data, ensure_ascii=False)
    return json.loads(re.sub("[\ud800-\udfff]", "\ufffd", text)) if LONE.search(text) else data


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


# --- One reply --------------------------------------------------------------

class Reply:
    """One streamed answer as it arrives: its text, and the final chunk's statistics."""

    def __init__(self, model, label=""):
        self.model = model
        self.label = label  # shown before the first text, e.g. "Assistant (llama3): "
        self.parts = []  # the text so far
        self.final = None  # the last chunk, "done": true, with the statistics
        self.chat_seen = False  # any line that looked like a chat stream
        self.thought = False  # it had thinking, which eval_count counts but no prompt holds
        self.usage = None  # an OpenAI stream's token counts, in Ollama's names
        self.warn = None  # few_warnings(): a reply's bad lines are told a few times only
        self.empty = True  # nothing at all came

    @property
    def text(self):
        return "".join(self.parts)


def stream_reply(settings, display, body, label=""):
    """Send one chat request and show the reply as it streams; return the Reply."""
    reply = Reply(body["model"], label)
    display.wait("waiting for %s" % reply.model)
    try:
        with open_api(settings, "/api/chat", body) as response:
            check_stream(settings, response, settings.chat_url, "application/x-ndjson")
            reply.warn = few_warnings(display.warn)
            for chunk in read_ndjson(settings, response, reply.warn):
                show_chunk(settings, display, reply, chunk)
                if chunk.get("done") is True:
                    reply.final = chunk
                    break
    finally:
        display.stop_waiting()
        display.done_thinking()
    display.end_line()
    check_reply(settings, display, reply, settings.chat_url)
    return reply


def check_stream(settings, response, url, expected):
    """Refuse at once what cannot be the chat stream: never a pile of warnings."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if "html" in kind:
        raise ChatError("%s answered with a web page, not a chat stream: is %s pointing "
                        "at Ollama itself (port 11434), not a web UI?"
                        % (url, settings.url_name), not_ollama=True)
    if kind == "text/event-stream" and expected != kind:  # llama.cpp's /api/chat did that
        raise ChatError("%s answered /api/chat with an OpenAI-style event stream: it is not "
                        "Ollama." % settings.host_port, not_ollama=True)
    if kind == "application/json" and expected == "text/event-stream":  # no stream at all
        words = server_words(parse_line(read_body(settings, response, ERROR_BODY_LIMIT),
                                        lambda text: None))
        raise ChatError("%s answered with %s instead of a stream." % (url, (
            "an error: %s" % words[:300]) if words else "one JSON object"))
    packed = response.headers.get("Content-Encoding", "identity").lower()
    if packed != "identity":  # never asked for: a proxy in between did it
        raise ChatError("%s sent the reply compressed (Content-Encoding: %s) though it "
                        "was not asked to: turn compression off in the proxy in "
                        "between for this path (nginx: gzip off)."
                        % (settings.host_port, packed[:20]))


def check_reply(settings, display, reply, url):
    """After the stream: a reply is kept only if it is whole and says something."""
    if reply.final is None and not reply.chat_seen:
        raise ChatError("%s answered, but not with a chat stream%s: is %s pointing at %s?"
                        % (url, (
                            " (an empty body: a lookalike of Ollama does that for an unknown "
                            "model)" if reply.empty else ""), settings.url_name,
                           "the server's OpenAI-compatible API" if "/v1/" in url
                           else "Ollama (port 11434)"),
                        not_ollama=True)
    if reply.final is None:
        raise ChatError("the stream from %s ended before the reply was finished (the "
                        "connection was closed or cut); the reply is incomplete."
                        % settings.host_port)
    if reply.final.get("done_reason") == "error":  # LocalAI: a failed generation, no text
        raise ChatError("the server ended the reply with an error and did not say which "
                        "(done_reason \"error\"); nothing of it is kept. Its log may tell.")
    if not reply.parts and not reply.thought:
        raise ChatError("the server finished the reply without any text; nothing is kept. "
                        "Is %s a model that can chat?" % reply.model)
    if reply.final.get("done_reason") == "length":
        display.warn("the reply was cut by the length limit: raise num_predict or num_ctx "
                     "(%s)." % options_hint(settings, "num_ctx=16384"))


def show_chunk(settings, display, reply, chunk):
    """Show one chunk of the stream: thinking dim on stderr, the answer on stdout."""
    if "error" in chunk:  # as the first line: maybe not Ollama at all (LM Studio does it)
        raise ChatError("the server stopped the reply with an error: %s"
                        % (server_words(chunk) or str(chunk["error"]))[:300],
                        not_ollama=reply.empty)
    reply.empty = False
    message = chunk.get("message")
    if not isinstance(message, dict):
        if not isinstance(chunk.get("response"), str):
            if "done" not in chunk:
                reply.warn("skipped a line that is not a chat message: %.60s"
                           % json.dumps(chunk))
            return
        display.once("this server answers /api/chat as /api/generate does (\"response\" "
                     "chunks): an Ollama lookalike, not Ollama. Showing them as the reply.")
        message = {"content": chunk["response"]}
    reply.chat_seen = True
    show_message(settings, display, reply, message.get("thinking"), message.get("content"))


def show_message(settings, display, reply, thinking, content):
    """Thinking dim on stderr (or only said, when hidden), the answer on stdout."""
    if thinking and isinstance(thinking, str):
        reply.thought = True
        if settings.show_thinking:
            display.thinking(thinking)
        else:  # hidden thinking can take minutes: say why we wait
            display.still_waiting("%s is thinking" % reply.model)
    if content and isinstance(content, str):
        display.answer(reply.label if not reply.parts else "", content)
        reply.parts.append(content)


# --- The conversation ------------------------------------------------------

def with_time(text, now=None):
    """The user's message as the model gets it: the local time to the minute first.

    The time rides on each new message rather than in a system message at the
    start: the start of the chat then stays the same from turn to turn, so the
    server's prompt cache skips it, the model's own system prompt (its Modelfile
    SYSTEM) is kept, and templates that take a system message only first work.

    >>> jst = datetime.timezone(datetime.timedelta(hours=9), "JST")
    >>> with_time("hi", datetime.datetime(2026, 11, 26, 15, 4, 59, tzinfo=jst))
    '[現在の日時 local time: 2026-11-26 (Thu) 15:04 JST, UTC+09:00]\\nhi'
    """
    now = now or datetime.datetime.now().astimezone()
    offset = now.strftime("%z")
    return "[%s %s %s, UTC%s:%s]\n%s" % (
        TIME_LABEL, now.strftime("%Y-%m-%d (%a) %H:%M"), now.tzname() or "",
        offset[:3], offset[3:], text)


def attach_images(text, display):
    """Image paths in a message, as `ollama run` takes them: (text without them, images
    as base64, their paths). A path starts with /, ./, ../ or ~/; spaces in it are
    escaped with a backslash or the path is quoted.

    >>> attach_images("no images here, just /etc/hosts and https://x.org/a.png", None)
    ('no images here, just /etc/hosts and https://x.org/a.png', [], [])
    """
    images, files = [], []
    spaced = [m for m in SPACED_PATH.finditer(text)
              if os.path.isfile(os.path.expanduser(m.group(1)))]
    for match in spaced + list(IMAGE_PATH.finditer(text)):
        if match.group(0) not in text:
            continue  # a part of a path with spaces, attached already
        path = os.path.expanduser(match.group(1) if match.re is SPACED_PATH
                                  else match.group(2) or re.sub(r"\\(.)", r"\1", match.group(3)))
        try:
            if os.path.getsize(path) > MAX_IMAGE:
                raise ConfigError("the image %s is larger than %d MB, the most Ollama takes; "
                                  "nothing was sent." % (path, MAX_IMAGE // 10 ** 6))
            with open(path, "rb") as f:
                data = f.read()
        except OSError as err:
            raise ConfigError("cannot attach the image %s: %s; nothing was sent."
                              % (path, err.strerror or describe(err))) from None
        import base64  # here, not at the top: only an image needs it
        images.append(base64.b64encode(data).decode("ascii"))
        files.append(path)
        text = text.replace(match.group(0), "", 1)
        display.message("", "Added image '%s'" % path, "dim")
    if files:  # the spaces the paths leave, not the lines of the text
        text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text, images, files


def without_time(text):
    """What the user typed, from a message as with_time() sent it."""
    if text.startswith("[" + TIME_LABEL):
        return text.partition("]\n")[2]
    return text


class Conversation:
    """The messages sent with every turn; a turn is added only when its reply is complete.

    It owns what the user can change as the chat goes on: the model and the system
    prompt (-m and -s, /model and /system, or a file given to --resume or /load).
    Each request repeats the last one exactly, then adds the reply and the new
    message, so the server re-reads only what is new.
    """

    def __init__(self, settings, display, model=None, system=None, messages=(),
                 save_path=None):
        self.settings = settings
        self.display = display
        self.model = settings.model if model is None else model
        self.system = settings.system if system is None else system
        self.messages = list(messages)
        self.label = ""  # printed before each reply, e.g. "Assistant (llama3): "
        self.save_path = save_path  # written after every complete turn
        self.whole_prompt = False  # one prompt: refuse it if too long, rather than cut it
        self.options = dict(settings.options)  # these four /set can change as the chat goes
        self.think, self.format, self.verbose = settings.think, settings.format, settings.verbose
        self.gauge = ContextGauge(self)
        self.grown_from = None  # (model, system, messages) after the last turn
        self.api = settings.api  # "auto" becomes "ollama" or "openai" at the first reply
        self.unused_said = False  # said which settings the OpenAI-compatible API lacks

    @classmethod
    def from_file(cls, path, settings, display, model=None, system=None, save_path=None):
        """A saved conversation; a model or system prompt given here wins over the file's."""
        data = read_conversation(path)
        return cls(settings, display, model or data["model"],
                   data.get("system", "") if system is None else system,
                   data["messages"], save_path)

    def request_body(self, messages):
        messages = [{k: v for k, v in m.items() if k != "files"} for m in messages]
        if self.system:  # it replaces the model's own, as `ollama run`'s /set system does
            messages = [{"role": "system", "content": self.system}] + messages
        body = {"model": self.model, "messages": messages, "stream": True}
        for name, value in (("think", self.think), ("format", self.format),
                            ("keep_alive", self.settings.keep_alive)):
            if value is not None:
                body[name] = value
        if self.options:
            body["options"] = self.options
        if self.whole_prompt:
            body["truncate"] = False
        return body

    def ask(self, text, again=False, attached=""):
        """One turn; with again=True, a new reply to the last message replaces the old one.
        attached: a file's text (/read) sent before the message, not searched for images."""
        check_utf8(text)
        text, images, files = attach_images(text, self.display)
        text = attached + text
        history = self.messages[:-2] if again else self.messages
        grew = self.grown_from == (self.model, self.system, len(history))
        message = {"role": "user", "content": with_time(text)}
        if images:  # the bytes for the server; a saved file keeps only the names
            message.update(images=images, files=files)
        turn = history + [message]
        reply = self.reply_to(turn)
        if self.verbose:
            show_stats(self.display, reply.final)
        self.messages = turn + [{"role": "assistant", "content": reply.text}]
        self.grown_from = (self.model, self.system, len(self.messages))
        if self.api == "ollama":
            self.gauge.measure(self.model, turn, reply, grew)
        elif self.verbose and count(reply.final, "prompt_eval_count") is not None:
            self.display.message("", "context: {:,} tokens; the window is not known (an "
                                 "OpenAI-compatible server does not tell it)".format(
                                     reply.final["prompt_eval_count"]
                                     + (count(reply.final, "eval_count") or 0)), "dim")
        if self.save_path:
            self.save(self.save_path)
        return reply

    def reply_to(self, turn):
        """Stream the reply in the API the server speaks: Ollama's, else OpenAI's."""
        if self.api == "openai":
            return stream_openai_reply(self.settings, self.display,
                                       openai_body(self, turn), self.label)
        try:
            reply = stream_reply(self.settings, self.display, self.request_body(turn),
                                 self.label)
        except ChatError as err:
            if not err.not_ollama:
                raise
            self.api = other_api(self.settings, self.display, err, self.api)
            return self.reply_to(turn)
        self.api = "ollama"
        return reply

    def clear(self):
        self.messages, self.grown_from = [], None
        self.gauge.forget()

    def save(self, path):
        messages = [{k: v for k, v in m.items() if k != "images"} for m in self.messages]
        data = {"format": SAVE_FORMAT, "version": 1, "model": self.model,
                "system": self.system, "messages": messages}
        write_atomically(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")

    def load(self, path):
        data = read_conversation(path)
        self.clear()
        self.model, self.system = data["model"], data.get("system", "")
        self.messages = data["messages"]


# --- The demo --------------------------------------------------------------

def run_demo(conversation):
    """The original sample's two turns: give a name, then ask the time and the name."""
    settings, display = conversation.settings, conversation.display
    if not settings.user_name:
        raise ConfigError("USER_NAME is empty: the demo tells the model your name; set it at "
                          "the top of ollama_chat.py (or give a prompt: ./ollama_chat.py \"hi\")")
    display.line("--- Starting Session with %s ---" % conversation.model, "bold")
    display.line("Current Time: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
    display.line()
    conversation.label = "Assistant (%s): " % conversation.model
    for prompt in DEMO_PROMPTS:
        prompt = prompt.format(name=settings.user_name)
        display.line(display.paint("User: ", "bold", "cyan") + prompt)
        conversation.ask(prompt)
        display.line("-" * 40)
        display.line()
    display.line("--- Session Ended ---", "bold")
    return 0


# --- The context window: how full it is, what the server dropped ---------

class ContextGauge:
    """How full the model's context window (num_ctx) is after each reply.

    When a chat outgrows the window, Ollama drops its oldest messages and answers
    200 as usual: no field says so. prompt_eval_count, the prompt's tokens after
    that drop, is how we notice: a new prompt holds the last one, its reply
    (eval_count tokens, less any thinking) and a new message. When it grew by
    less, though the chat could have outgrown the window, something was dropped.
    """

    def __init__(self, conversation):
        self.conversation = conversation  # its settings, display, options and verbose
        self.windows = {}  # model: (tokens, exact) or None, asked at most once a model
        self.last = None  # the last turn's (prompt_eval_count, + eval_count, it thought)
        self.full = False  # said that the chat is FULL; again only after it was less
        self.dropped = False  # said that the server dropped the start of the chat

    def forget(self):
        """A new start (/clear, /load): nothing to compare with."""
        self.last, self.full, self.dropped = None, False, False

    def measure(self, model, messages, reply, grew):
        """After a reply: -v's line, and a warning when the chat is full or was cut."""
        final = reply.final
        prompt, generated = count(final, "prompt_eval_count"), count(final, "eval_count")
        if prompt is None:
            return  # no statistics from this server
        used = prompt + (generated or 0)
        before, self.last = self.last, (prompt, used, reply.thought)
        window = self.window(model, used)
        if self.conversation.verbose:
            self.conversation.display.message("", "context: %s" % usage(used, window), "dim")
        if grew and before and dropped(before, prompt, window, messages[-1]["content"]):
            if not self.dropped:  # once: from now on the start stays out of sight
                self.warn_dropped(messages, prompt, before[1], window)
            self.full = self.dropped = True
        elif window and window[1] and used >= FULL * window[0]:
            if not self.full:
                self.conversation.display.warn(
                    "this chat fills {}% of the model's context window ({:,} of {:,} tokens); "
                    "past it, the server silently drops the oldest messages.\n  {}".format(
                        100 * used // window[0], used, window[0],
                        more_room(self.conversation.settings, window)))
            self.full = True
        else:
            self.full = False

    def warn_dropped(self, messages, prompt, tokens_before, window):
        gone = dropped_count(messages, prompt, tokens_before)
        first = next((m["content"] for m in messages[:gone] if m["role"] == "user"), "")
        first = " ".join(without_time(first).split())
        self.conversation.display.warn(
            "the chat no longer fits the model's context window%s: the server dropped "
            "the oldest messages without a word. The model no longer sees about the first "
            "%d message%s%s.\n  %s" % (
                " (%s tokens)" % "{:,}".format(window[0]) if window and window[1] else "",
                gone, "" if gone == 1 else "s",
                " (from \u300c%s\u300d)" % (first[:30] + ("…" if len(first) > 30 else ""))
                if first else "", more_room(self.conversation.settings, window)))

    def window(self, model, used):
        """The window's (tokens, exact) for the model, or None; asked only when needed."""
        num_ctx = self.conversation.options.get("num_ctx")
        if isinstance(num_ctx, int) and not isinstance(num_ctx, bool) and num_ctx > 0:
            return num_ctx, True
        if model not in self.windows and (self.conversation.verbose or
                                          used >= FULL * SMALLEST_WINDOW):
            self.windows[model] = ask_window(self.conversation.settings, model)
        return self.windows.get(model)


def dropped(before, prompt, window, newest):
    """Whether the server dropped messages to fit this turn's prompt in the window.

    before: the last turn's prompt_eval_count, that plus eval_count, and whether
    it thought; newest: the new message, at least a token per 16 bytes.
    """
    last_prompt, last_used, thought = before
    least_new = len(newest.encode("utf-8", "replace")) // 16
    smallest = window[0] if window and window[1] else SMALLEST_WINDOW
    if last_used + least_new < smallest:
        return False  # it all fitted: no false alarm from odd counts
    if thought:  # eval_count counted thinking, which the prompt does not hold
        return prompt <= last_prompt
    return prompt < last_used + least_new


def ask_window(settings, model):
    """The window of a loaded model from /api/ps (exact), else its trained length from
    /api/show (an upper bound); None when the server tells neither."""
    try:
        loaded = get_json(settings, "/api/ps")
        entries = loaded.get("models") if isinstance(loaded, dict) else None
        for entry in entries if isinstance(entries, list) else ():
            if (isinstance(entry, dict) and same_model(entry.get("name"), model)
                    and count(entry, "context_length")):
                return entry["context_length"], True
        shown = get_json(settings, "/api/show", {"model": model})
        info = shown.get("model_info") if isinstance(shown, dict) else None
        for name, value in (info.items() if isinstance(info, dict) else ()):
            if name.endswith(".context_length") and count(info, name):
                return value, False
    except ChatError:
        pass  # an older server, a proxy that allows only /api/chat: no gauge
    return None


def same_model(name, model):
    """Names as /api/ps lists them ("llama3:latest") against ours ("llama3")."""
    def full(text):
        return text if ":" in text else text + ":latest"
    return isinstance(name, str) and full(name) == full(model)


def count(data, name):
    """A count from the server: a whole number >= 0, or None."""
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def usage(used, window):
    """-v's line.

    >>> usage(3412, (4096, True))
    '3,412 / 4,096 tokens (83%)'
    >>> usage(3412, (131072, False))
    "3,412 tokens; the window is Ollama's default (4,096 or more) unless num_ctx is set, \
at most 131,072, the model's trained length"
    """
    if window and window[1]:
        return "{:,} / {:,} tokens ({}%)".format(used, window[0], 100 * used // window[0])
    if window:
        return ("{:,} tokens; the window is Ollama's default (4,096 or more) unless num_ctx "
                "is set, at most {:,}, the model's trained length".format(used, window[0]))
    return "{:,} tokens; the window is not known".format(used)


def more_room(settings, window):
    """What to do about a full window."""
    bigger = max(8192, 2 * window[0]) if window and window[1] else 16384
    return ("For more room: %s (more memory; the model reloads), /clear in -i, or a new "
            "chat." % options_hint(settings, "num_ctx=%d" % bigger))


def options_hint(settings, pair):
    """How to set a model option, as the program was started."""
    if settings.installed:
        return "-o " + pair
    return "-o %s or OPTIONS at the top of ollama_chat.py" % pair


def dropped_count(messages, prompt, tokens_before):
    """About how many of the oldest messages the server dropped, judged by their sizes.

    messages: the request's; tokens_before: what all but the newest of them took
    on the turn before (prompt and reply); prompt: this turn's prompt_eval_count.

    >>> dropped_count([{"content": "x" * 400}] * 5, 250, 400)  # 100 tokens a message
    3
    """
    sizes = [len(m["content"].encode("utf-8", "replace")) for m in messages]
    per_byte = tokens_before / max(1, sum(sizes[:-1]))
    missing, gone = per_byte * sum(sizes) - prompt, 0
    while gone < len(sizes) - 1 and (gone == 0 or missing > 0):
        missing -= per_byte * sizes[gone]
        gone += 1
    return gone


# --- Other servers: what answers, and the OpenAI-compatible API -----------
# LM Studio, llama.cpp's llama-server, vLLM, LiteLLM, LocalAI and Jan do not
# speak Ollama's API, but all of them (and Ollama too) stream OpenAI's chat
# completions as server-sent events, one "data:" line per chunk:
#
#   data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"こんにちは"},
#          "finish_reason":null}],"model":"qwen3-8b","object":"chat.completion.chunk"}
#   data: {"choices":[{"index":0,"delta":{"reasoning_content":"The user"}}],...}
#   data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],...}
#   data: {"choices":[],"usage":{"prompt_tokens":26,"completion_tokens":12}}
#   data: [DONE]

OPENAI_OPTIONS = {"temperature": "temperature", "top_p": "top_p", "seed": "seed",
                  "stop": "stop", "num_predict": "max_tokens",
                  "presence_penalty": "presence_penalty",
                  "frequency_penalty": "frequency_penalty"}


def other_api(settings, display, err, api):
    """/api/chat failed as only a server that is not Ollama fails: say what it is, and
    return "openai" if it speaks that API and API_STYLE allows; else raise err."""
    if "Method Not Allowed" in str(err) and err.status == 405:  # Ollama never says so
        models, headers = probe(settings, "/v1/models")
    else:
        version, _ = probe(settings, "/api/version")
        if isinstance(version, dict) and isinstance(version.get("version"), str):
            raise err  # Ollama (or a faithful lookalike): its own words stand
        models, headers = probe(settings, "/v1/models")
    name = server_name(str(err), headers, models)
    if api == "auto" and model_list(models) is not None:
        display.message("note: ", "%s at %s does not speak Ollama's API; using its "
                        "OpenAI-compatible one (/v1/chat/completions). %s skips this check."
                        % (name, settings.host_port, "--api openai" if settings.installed
                           else "API_STYLE = \"openai\""), "cyan")
        return "openai"
    if name == "Open WebUI":
        where = ("--url " if settings.installed or settings.url_name == "--url"
                 else settings.url_name + " = ")
        raise ChatError("%s\n  This looks like Open WebUI: use its Ollama passthrough, "
                        "%s%s/ollama/api/chat, with an Open WebUI API key (Settings > "
                        "Account) in %s." % (err, where, settings.base_url, key_name(settings)),
                        err.status)
    if name and model_list(models) is not None:  # API_STYLE = "ollama" said not to switch
        raise ChatError("%s\n  %s at %s is not Ollama; it speaks the OpenAI-compatible API: "
                        "set API_STYLE = \"openai\" (or --api openai)."
                        % (err, name, settings.host_port), err.status)
    if name:
        raise ChatError("%s\n  It looks like %s, not Ollama." % (err, name), err.status)
    raise err


def probe(settings, path):
    """GET path as a quick question: (its JSON or None, its headers or {})."""
    try:
        return get_json_and_headers(settings, path)
    except ChatError:
        return None, {}


def model_list(data):
    """The model ids of a /v1/models answer, or None if it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return None
    return [m["id"] for m in data["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]


def server_name(text, headers, models):
    """What a server that is not Ollama looks like, from its headers, words and models."""
    entries = models.get("data") if isinstance(models, dict) else None
    owners = {m.get("owned_by") for m in entries or () if isinstance(m, dict)}
    server = (headers.get("Server", "") + " " + headers.get("X-Powered-By", "")).lower()
    if "llamacpp" in owners or "llama.cpp" in server or "File Not Found" in text:
        return "llama.cpp (llama-server)"
    if ("organization_owner" in owners or "express" in server
            or "Unexpected endpoint or method" in text):
        return "LM Studio"
    if "vllm" in owners:
        return "vLLM"
    created = {m.get("created") for m in entries or () if isinstance(m, dict)}
    if ("litellm" in server or "litellm" in owners or headers.get("x-litellm-version")
            or 1677610602 in created):  # the "created" LiteLLM gives every model
        return "LiteLLM"
    if "localai" in server or "localai" in owners or "Resource not found" in text:
        return "LocalAI"
    if "user" in owners:
        return "Jan"
    if "Method Not Allowed" in text and entries is None:
        return "Open WebUI"
    if entries is not None:
        return "an OpenAI-compatible server"
    return None


def openai_body(conversation, messages):
    """The chat request as OpenAI's API takes it; what does not apply is said once."""
    settings = conversation.settings
    if conversation.system:
        messages = [{"role": "system", "content": conversation.system}] + messages
    if any("images" in m for m in messages):
        raise ChatError("images are sent only with Ollama's API here (this server speaks the "
                        "OpenAI-compatible one).")
    body = {"model": conversation.model, "messages": messages, "stream": True,
            "stream_options": {"include_usage": True}}
    body.update((OPENAI_OPTIONS[name], value) for name, value in conversation.options.items()
                if name in OPENAI_OPTIONS)
    unused = sorted(set(conversation.options) - set(OPENAI_OPTIONS))
    unused += [name for name, value in (("THINK", conversation.think),
                                        ("--format", conversation.format),
                                        ("KEEP_ALIVE", settings.keep_alive)) if value is not None]
    if unused and not conversation.unused_said:
        conversation.unused_said = True
        conversation.display.warn("%s: no such setting in the OpenAI-compatible API; not "
                                  "sent." % ", ".join(unused))
    return body


def stream_openai_reply(settings, display, body, label=""):
    """stream_reply for the OpenAI-compatible API; the same checks, the same Reply."""
    reply = Reply(body["model"], label)
    url = settings.base_url + "/v1/chat/completions"
    display.wait("waiting for %s" % reply.model)
    try:
        with open_api(settings, "/v1/chat/completions", body) as response:
            check_stream(settings, response, url, "text/event-stream")
            reply.warn = few_warnings(display.warn)
            for event in read_events(settings, response, reply.warn):
                if event == "[DONE]":
                    break
                show_event(settings, display, reply, event)
    finally:
        display.stop_waiting()
        display.done_thinking()
    display.end_line()
    if reply.final is not None and reply.usage:
        reply.final.update(reply.usage)
    check_reply(settings, display, reply, url)
    return reply


def read_events(settings, response, warn):
    """Yield the data of each server-sent event: a JSON object, or "[DONE]"."""
    while True:
        line = read_line(settings, response)
        if not line:
            return
        if not line.startswith(b"data:"):
            continue  # the blank line after each event, ": comments", "event:" lines
        if len(line) < 20 and line[5:].strip() == b"[DONE]":
            yield "[DONE]"
            continue
        item = parse_line(line[5:], warn)
        del line
        if item is not None:
            yield item


def show_event(settings, display, reply, event):
    """Show one chunk of an OpenAI-compatible stream."""
    reply.empty = False
    if "error" in event:
        raise ChatError("the server stopped the reply with an error: %s"
                        % (server_words(event) or str(event["error"]))[:300])
    usage = event.get("usage")
    if isinstance(usage, dict):  # -v's counts, as Ollama names them
        reply.usage = {"prompt_eval_count": usage.get("prompt_tokens"),
                       "eval_count": usage.get("completion_tokens")}
    choices = event.get("choices")
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
        if usage is None:
            reply.warn("skipped an event that is not a chat chunk: %.60s" % json.dumps(event))
        return
    reply.chat_seen = True
    delta = choices[0].get("delta")
    delta = delta if isinstance(delta, dict) else {}
    show_message(settings, display, reply,
                 delta.get("reasoning_content") or delta.get("reasoning"), delta.get("content"))
    finish = choices[0].get("finish_reason")
    if isinstance(finish, str) and finish:
        reply.final = {"done_reason": finish}


def openai_models(settings):
    """The model ids /v1/models lists."""
    names = model_list(get_json(settings, "/v1/models"))
    if names is None:
        raise ChatError("%s/v1/models did not answer with a list of models: is %s pointing "
                        "at an OpenAI-compatible server?" % (settings.base_url,
                                                             settings.url_name))
    return names


# --- What went wrong, in the user's words -----------------------------------

def connection_error(settings, reason):
    where = settings.host_port
    proxy = proxy_in_use(settings)
    if proxy and isinstance(reason, OSError) and not isinstance(reason, ssl.SSLError):
        return ChatError("cannot connect through the proxy %s (%s): check http_proxy and "
                         "https_proxy, or set USE_PROXY = False to connect directly."
                         % (proxy, describe(reason)))
    if isinstance(reason, socket.timeout):
        text = ("could not connect to %s within %g s (CONNECT_TIMEOUT): a firewall may "
                "be dropping the packets, or the address is wrong."
                % (where, settings.connect_timeout))
    elif isinstance(reason, ssl.SSLCertVerificationError):
        return ChatError(certificate_problem(settings, reason))
    elif isinstance(reason, ssl.SSLError):
        return ChatError("TLS with %s failed (%s): is it really an https:// server? If not, "
                         "use http:// in %s." % (where, reason.reason or describe(reason),
                                                 settings.url_name))
    elif isinstance(reason, socket.gaierror):
        text = ("cannot find the host %s (%s): check the host name in %s."
                % (urllib.parse.urlsplit(settings.base_url).hostname, reason.strerror,
                   settings.url_name))
    elif isinstance(reason, ConnectionRefusedError):
        text = ("cannot connect to %s: connection refused. Ollama does not seem to run "
                "there.\n  Start it with `ollama serve` (or the Ollama app), or fix %s."
                % (where, settings.url_name))
    elif isinstance(reason, str):  # urllib's own words, e.g. an unknown scheme
        return ChatError("cannot open %s: %s" % (settings.base_url, reason))
    else:
        text = "cannot connect to %s: %s." % (where, describe(reason))
        if isinstance(reason, ConnectionResetError):
            text += https_hint(settings)
    return ChatError("\n  ".join([text] + connection_hints(settings)))


def https_hint(settings):
    """A server that hangs up on a plain request may speak only https."""
    if settings.base_url.startswith("http:"):
        return ("\n  The server hung up at once: if it speaks https, use https:// in %s."
                % settings.url_name)
    return ""


def certificate_problem(settings, err):
    """What to do about a certificate that did not verify."""
    where = settings.host_port
    why = (err.verify_message or err.reason or "unknown reason").rstrip(".")
    if err.verify_code in (62, 64):  # the host name or IP is not the certificate's
        return ("the TLS certificate of %s is for another name (%s): use a name the "
                "certificate lists in %s." % (where, why, settings.url_name))
    cert_file = settings.environ.get("SSL_CERT_FILE")
    if cert_file and not os.path.isfile(cert_file):
        hint = "SSL_CERT_FILE=%s is set, but there is no such file." % cert_file
    elif cert_file:
        hint = ("SSL_CERT_FILE=%s is set, but holds neither the CA that signed this "
                "certificate nor the certificate itself." % cert_file)
    else:
        hint = ("For a private CA or a self-signed certificate, run with "
                "SSL_CERT_FILE=/path/to/ca.pem ./ollama_chat.py")
    return "the TLS certificate of %s is not trusted (%s).\n  %s" % (where, why, hint)


def proxy_in_use(settings):
    """host:port of the environment's proxy for API_URL when USE_PROXY sends through it."""
    if not settings.use_proxy:
        return None
    parts = urllib.parse.urlsplit(settings.base_url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxy = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
    return "%s:%s" % (proxy.hostname, proxy.port or 80)  # never its user name or password


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "::")  # 0.0.0.0: "listen on all"


def connection_hints(settings):
    """Extra lines for a failed connection: WSL2, and an OLLAMA_HOST we do not use."""
    hints = []
    parts = urllib.parse.urlsplit(settings.base_url)
    if parts.hostname in LOCAL_HOSTS and running_on_wsl():
        gateway = windows_host_address()
        hints.append(
            "WSL2: Ollama on Windows listens on 127.0.0.1 only by default. Set "
            "OLLAMA_HOST=0.0.0.0 on Windows and use %s://%s:%d in %s, or turn on "
            "mirrored networking (networkingMode=mirrored in .wslconfig)."
            % (parts.scheme, gateway or "<Windows host IP from `ip route show default`>",
               parts.port or (443 if parts.scheme == "https" else 80), settings.url_name))
    env_host = settings.environ.get("OLLAMA_HOST", "").strip()
    if not env_host or settings.url_name == "OLLAMA_HOST":
        return hints
    try:
        env_url = server_base_url(ollama_host(env_host), "OLLAMA_HOST")
    except ConfigError:
        return hints
    if same_server(env_url, settings.base_url):
        return hints
    env_parts = urllib.parse.urlsplit(env_url)
    if env_parts.hostname in LOCAL_HOSTS:
        env_url = "%s://localhost:%d" % (env_parts.scheme, env_parts.port or 11434)
    hints.append("OLLAMA_HOST is set to %r, but this script uses %s (%s); if Ollama is "
                 "at %s, put that in %s." % (without_password(env_host), settings.url_name,
                                             settings.base_url, env_url, settings.url_name))
    return hints


def same_server(url, other):
    """Two base URLs for one server, whatever the spelling of this machine.

    >>> same_server("http://127.0.0.1:11434", "http://localhost:11434")
    True
    >>> same_server("http://0.0.0.0:11434", "http://localhost:8080")
    False
    """
    def key(text):
        parts = urllib.parse.urlsplit(text)
        host = "local" if parts.hostname in LOCAL_HOSTS else parts.hostname
        return parts.scheme, host, parts.port or {"https": 443}.get(parts.scheme, 80), parts.path
    return key(url) == key(other)


def without_password(url):
    """A URL as it may be shown: never its user name or password.

    >>> without_password("http://me:secret@proxy:8080/x"), without_password("http://u:p@s@h/")
    ('http://***@proxy:8080/x', 'http://***@h/')
    """
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*:)?(//)?[^/\s]*@", r"\1\2***@", url)


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
    if settings.timeout_name == "TIMEOUT" and not settings.installed:
        fix = "raise TIMEOUT at the top of ollama_chat.py"
    else:
        fix = "give a larger %s" % settings.timeout_name
    return ChatError(
        "no data from %s for %g s (%s) %s; gave up.\n  A large model can take "
        "minutes to load: %s if it needs more."
        % (settings.host_port, settings.timeout, settings.timeout_name, when, fix))


STATUS_HINTS = {
    405: "the URL does not seem to point at Ollama's API.",
    501: "the URL does not seem to point at Ollama's API.",
    413: "the conversation is larger than a proxy in between accepts "
         "(nginx: client_max_body_size).",
    429: "too many requests: wait a moment and try again.",
    502: "a proxy in between cannot reach Ollama behind it: is Ollama running there?",
    503: "the server is busy or unavailable: try again in a moment.",
    504: "a proxy in between gave up waiting for Ollama (a model loading?): "
         "raise the proxy's read timeout (nginx: proxy_read_timeout).",
}


def http_error(settings, path, err, model=None):
    """Turn an HTTP error status into a ChatError that says what to do."""
    status = err.code
    server_text, is_json = error_text(settings, err)
    origin = "HTTP %d %s" % (status, err.reason or http_reason(status))
    if not is_json and err.headers.get("Server"):
        origin += " from %s" % err.headers.get("Server")[:40]
    if 300 <= status < 400:
        location = err.headers.get("Location", "?")[:200]
        return ChatError("%s: the server redirects to %s. Redirects are not followed (the key "
                         "must not travel elsewhere): if that address is right, put it in "
                         "%s." % (origin, location, settings.url_name), status)
    lines = ["%s%s" % (origin, ": " + server_text if server_text else "")]
    if status in (401, 403):
        lines.append(key_hint(settings, status))
    elif (status in (400, 404) and model and (is_json or not path.startswith("/api/"))
          and re.search(r"(?i)model.*(not found|does not exist)|invalid model name|no running "
                        r"session found for model", server_text)):
        return model_missing_error(settings, model, server_text, path)
    elif status == 404:
        lines.append("no %s API at %s%s: check %s."
                     % ("Ollama" if path.startswith("/api/") else "OpenAI-compatible",
                        settings.base_url, path, settings.url_name))
    elif (status == 400 and re.search(r"HTTPS port|HTTP request to an HTTPS server", server_text)
          and settings.base_url.startswith("http:")):
        lines.append("use https:// in %s." % settings.url_name)
    elif status == 400 and re.search(r"exceeds the (available )?context", server_text):
        lines.append("the prompt is longer than the model's context window: give a larger "
                     "one with %s (more memory; the model reloads), or send less."
                     % options_hint(settings, "num_ctx=16384"))
    elif status in (400, 500) and re.search(r"(?i)image|vision|multimodal", server_text):
        lines.append("this model cannot see images: use a vision model (gemma3, llava, "
                     "qwen2.5vl...) or send the message without them.")
    elif status == 400 and "does not support thinking" in server_text:
        lines.append("this model does not think: leave out --think%s."
                     % ("" if settings.installed else " and set THINK = None"))
    elif status in (502, 503, 504) and proxy_in_use(settings) and not is_json:
        lines.append("the answer came from the proxy %s (USE_PROXY = True): it may not "
                     "reach %s. Add that host to no_proxy, or set USE_PROXY = False."
                     % (proxy_in_use(settings), settings.host_port))
    elif status in STATUS_HINTS:
        lines.append(STATUS_HINTS[status])
    return ChatError("\n  ".join(lines), status,
                     not_ollama=path == "/api/chat" and status in (404, 405, 501))


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
    except (ValueError, RecursionError):
        data = None
    words = server_words(data)
    if words:
        return words[:300], True
    text = body.decode("utf-8", "replace").strip()
    content_type = err.headers.get("Content-Type", "")
    if "html" in content_type or text.startswith("<"):
        return page_title(text, err.code), False
    if not text or "\n" in text:
        return "", False
    return text[:200], False


def server_words(data):
    """The error in an answer: Ollama's {"error": "..."}, OpenAI's {"error": {"message":
    "..."}}, FastAPI's {"detail": "..."}; None if there is none.

    >>> server_words({"error": {"message": "The model `x` does not exist.", "code": 404}})
    'The model `x` does not exist.'
    >>> server_words({"detail": [{"msg": "field required"}]}), server_words([1])
    ('field required', None)
    """
    if not isinstance(data, dict):
        return None
    error = data.get("error", data.get("detail"))
    if isinstance(error, list) and error and isinstance(error[0], dict):
        error = error[0].get("msg")
    if isinstance(error, dict):
        error = error.get("message")
    return error if isinstance(error, str) and error else None


def page_title(page, status):
    """An HTML page's <title> when it says more than its status line (never the page).

    >>> page_title("<title>400 The plain HTTP request was sent to HTTPS port</title>", 400)
    'The plain HTTP request was sent to HTTPS port'
    >>> page_title("<html><head><title>502 Bad Gateway</title></head></html>", 502)
    ''
    """
    match = re.search(r"<title>\s*(.*?)\s*</title>", page, re.I | re.S)
    title = re.sub(r"^%d\s*" % status, "", match.group(1)) if match else ""
    if title.lower() in (http_reason(status).lower(), "error", "error response"):
        return ""  # says nothing the status line does not
    return " ".join(title.split())[:100]


def key_name(settings):
    """Where the key goes, as the program was started."""
    return "OLLAMA_API_KEY" if settings.installed else "API_KEY"


def key_hint(settings, status):
    if not settings.key and settings.installed:
        return "the server wants an API key: set the environment variable OLLAMA_API_KEY."
    if not settings.key:
        return ("the server wants an API key: set API_KEY at the top of ollama_chat.py "
                "(or the environment variable OLLAMA_API_KEY).")
    if settings.key_source == "API_KEY":
        where = "API_KEY at the top of ollama_chat.py"
    else:
        where = "OLLAMA_API_KEY (from the environment)"
    verb = "rejected" if status == 401 else "refused access with"
    return "the server %s the API key in %s: check it." % (verb, where)


def model_missing_error(settings, model, server_text, path="/api/chat"):
    ollama = path.startswith("/api/")
    lines = ["model %r is not %s %s (server: %s)." % (
        model, "installed on" if ollama else "served by", settings.host_port, server_text)]
    if ollama:
        lines.append("Install it with: ollama pull %s (or run with --pull)" % model)
    try:
        names = (installed_models if path.startswith("/api/") else openai_models)(settings)
    except ChatError:
        names = None
    if names:
        closest = closest_first(model, names)[:8]
        lines.append("%s, closest first: %s" % ("Installed models" if ollama else
                                                  "The models it serves", ", ".join(closest)))
    elif names is not None:
        lines.append("No models are installed there yet.")
    return ChatError("\n  ".join(lines), 404)


def installed_models(settings):
    data = get_json(settings, "/api/tags")
    models = data.get("models") if isinstance(data, dict) else None
    return [m["name"] for m in (models if isinstance(models, list) else ())
            if isinstance(m, dict) and isinstance(m.get("name"), str)]


def closest_first(wanted, names):
    """Sort model names by likeness to the wanted one.

    >>> closest_first("llama3", ["qwen2.5:7b", "llama3.1:latest", "mistral:latest"])
    ['llama3.1:latest', 'mistral:latest', 'qwen2.5:7b']
    """
    import difflib  # here, not at the top: only this rare message needs it

    def likeness(name):
        return difflib.SequenceMatcher(None, wanted.lower(), name.lower()).ratio()
    return sorted(names, key=likeness, reverse=True)


# --- The terminal ----------------------------------------------------------

# Control characters a terminal obeys: OSC 52 writes the clipboard, OSC 0 the
# window title, CSI 2J clears the screen, a bare CR rewrites a line. From the
# model or the server they are shown as ^[ and the like (a CR is dropped).
CONTROLS = {code: "^" + chr(code + 64) for code in range(32) if chr(code) not in "\t\n"}
CONTROLS.update({13: None, 127: "^?"})
CONTROLS.update({code: "\\x%02x" % code for code in range(0x80, 0xa0)})


def harmless(text):
    """Text from the model or the server, made safe for a terminal.

    >>> harmless("hi\\x1b]52;c;cHduZWQ=\\x07 \\x1b[2J\\r\\x9b!\\n\\tok")
    'hi^[]52;c;cHduZWQ=^G ^[[2J\\\\x9b!\\n\\tok'
    """
    return text.translate(CONTROLS)


def char_width(char):
    """Columns a character takes on a terminal: East Asian wide ones two, marks none."""
    if unicodedata.east_asian_width(char) in "WF":
        return 2
    return 0 if unicodedata.combining(char) else 1


def text_width(text):
    """
    >>> text_width("日本語 ok")
    9
    """
    return sum(char_width(char) for char in text)


def is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def ansi_terminal(stream, environ):
    """A terminal that understands escape codes (the old Windows console shows them)."""
    if not is_terminal(stream) or environ.get("TERM") == "dumb":
        return False
    return os.name != "nt" or "WT_SESSION" in environ or "TERM" in environ


def wants_color(stream, environ):
    return ansi_terminal(stream, environ) and not environ.get("NO_COLOR")


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

    def __init__(self, out=None, err=None, color=True, environ=None, wrap=True):
        environ = os.environ if environ is None else environ
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.paint = Style(color and wants_color(self.out, environ))
        self.paint_err = Style(color and wants_color(self.err, environ))
        self.lock = threading.Lock()
        self.spinner = Spinner(self.err, self.lock) if ansi_terminal(self.err, environ) else None
        self.mid_line = False  # stdout holds an unfinished line
        self.thinking_shown = False
        self.out_safe = harmless if is_terminal(self.out) else str  # pipes get it byte for byte
        self.err_safe = harmless if is_terminal(self.err) else str
        self.secrets = []  # the API key, never shown, even when a server echoes it
        self.said = set()  # the warnings said once
        self.wrap = wrap and is_terminal(self.out)  # word wrap: on a terminal only
        self.width, self.column, self.word = 80, 0, ""  # where the reply is on its line

    def hide(self, secret):
        """Mask this text wherever a message from the server could show it."""
        if secret:
            self.secrets.append(secret)

    def masked(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "***")
            for end in range(len(secret) - 1, 7, -1):  # the start of it, where text was cut
                if secret[:end] in text:
                    text = text.replace(secret[:end], "***")
        return BEARER.sub(r"\1***", text)

    def line(self, text="", *style):
        self.end_line()
        self.out.write(self.paint(text, *style) + "\n")
        self.out.flush()

    def answer(self, label, text):
        """A piece of the reply, on screen at once; the label (bold) before the first."""
        if self.spinner or self.thinking_shown:  # (a test first: this runs per token)
            self.stop_waiting()
            self.done_thinking()
        if self.out_safe is not str:
            text = self.out_safe(text)
        if label:
            self.write(self.paint(label, "bold", "green"))
            self.column = text_width(label)
        self.write(self.wrapped(text) if self.wrap and self.width >= 20 else text)

    def wrapped(self, text):
        """Reply text broken between words to fit the terminal, as it streams: a word
        that will not fit is moved to the next line whole; wide (Japanese) characters
        take two columns and may each begin a line."""
        out = []
        for char in text:
            if char == "\n":
                self.column, self.word = 0, ""
                out.append(char)
                continue
            width = 8 - self.column % 8 if char == "\t" else char_width(char)
            if self.column + width > self.width:
                if char == " ":  # the space where the line breaks is not shown
                    self.column, self.word = 0, ""
                    out.append("\n")
                    continue
                moved = text_width(self.word)
                if self.word and moved <= self.width // 2:  # back over it, then below
                    out.append("\033[%dD\033[K\n%s" % (moved, self.word))
                    self.column = moved
                else:
                    out.append("\n")
                    self.column, self.word = 0, ""
            out.append(char)
            self.column += width
            self.word = "" if char in " \t" or width > 1 else self.word + char
        return "".join(out)

    def write(self, text):
        self.mid_line = not text.endswith("\n")  # first: Ctrl+C may come during the flush
        self.out.write(text)
        self.out.flush()

    def end_line(self):
        """End the reply's last line, if the reply did not."""
        if self.mid_line:
            self.write("\n")

    def wait(self, label):
        """Before a reply: the waiting indicator, and the terminal's width of now."""
        if self.wrap:
            try:
                self.width = os.get_terminal_size(self.out.fileno()).columns - 1
            except (OSError, ValueError, AttributeError):
                self.width = 0
            self.column, self.word = 0, ""
        if self.spinner:
            self.spinner.start(label)

    def stop_waiting(self):
        if self.spinner:
            self.spinner.stop()

    def still_waiting(self, label):
        """A new label for the waiting indicator, e.g. that the model is thinking."""
        if self.spinner:
            self.spinner.label = label

    def thinking(self, text):
        self.stop_waiting()
        self.out.flush()  # what came before it in the stream, first
        if not self.thinking_shown:
            self.thinking_shown = True
            self.err.write(self.paint_err("Thinking...", "dim") + "\n")
        self.err.write(self.paint_err(self.err_safe(text), "dim"))
        self.err.flush()

    def done_thinking(self):
        if self.thinking_shown:
            self.thinking_shown = False
            self.err.write("\n" + self.paint_err("...done thinking.", "dim") + "\n\n")
            self.err.flush()

    def message(self, prefix, text, *style):
        """A line on stderr, over the waiting indicator if one is drawn."""
        self.out.flush()  # reply text written before it shows first
        with self.lock:
            if self.spinner:
                self.spinner.clear()
            self.err.write(self.paint_err(prefix, *style) + self.err_safe(self.masked(text))
                           + "\n")
            self.err.flush()

    def warn(self, text):
        self.message("warning: ", text, "yellow")

    def once(self, text):
        """A warning said once a run, however often its cause comes back."""
        if text not in self.said:
            self.said.add(text)
            self.warn(text)

    def status_line(self, text):
        """A line redrawn in place on a terminal's stderr; None erases it."""
        with self.lock:
            self.err.write("\r\033[K" + self.err_safe(text or ""))
            self.err.flush()

    CHECK_STYLES = {"ok": "green", "FAIL": "red", "warn": "yellow", "info": "cyan", "skip": "dim"}

    def check(self, state, what, text):
        """One line of --check: a mark, what was checked, what was found."""
        mark = self.paint("[%s]" % state.center(4), self.CHECK_STYLES[state])
        text = self.out_safe(self.masked(text)).replace("\n", "\n" + " " * 14)
        self.line("%s %-6s %s" % (mark, what, text))

    def error(self, text):
        self.message(PROG + ": error: ", text, "red", "bold")


# --- Interactive chat (-i) ----------------------------------------------------

REPL_HELP = """\
commands:
  /bye, /exit         quit (Ctrl+D too)
  /clear              forget the conversation (the system prompt stays)
  /model [NAME]       show or switch the model (checked on the server; the chat stays)
  /system [TEXT]      set (or, empty, clear) the system prompt; /set system too
  /set parameter NAME VALUE   a model option for the next turns (stop adds one more)
  /set system TEXT    the system prompt (a \"\"\" block works too)
  /set verbose|quiet  statistics and the context's fill after each reply, or not
  /set think [low|medium|high|max], /set nothink
  /set format json, /set noformat
  /set wordwrap|nowordwrap, /set history|nohistory
  /show info|parameters|system|template|license   what the server says of the model
  /list               the server's models
  /read FILE          send the file's text with the next message
  /edit               write the next message in $OLLAMA_EDITOR, $VISUAL or $EDITOR (Ctrl+G)
  /copy               put the last reply on the clipboard (OSC 52, through the terminal)
  /save FILE, /load FILE   save or continue a conversation as JSON
  /retry              send the last message again (a new reply replaces the last one)
  /help, /?           this help
  \"\"\"                 begin and end a message of several lines (a paste is one message)
Ctrl+C stops a reply and keeps the session."""

# Ollama's model options (api/types.go): the type each takes, for /set parameter.
OLLAMA_OPTIONS = dict(
    {name: int for name in ("num_keep", "seed", "num_predict", "top_k", "num_ctx", "num_batch",
                            "num_gpu", "main_gpu", "num_thread", "repeat_last_n", "mirostat")},
    **{name: float for name in ("top_p", "min_p", "typical_p", "temperature",
                                "repeat_penalty", "presence_penalty", "frequency_penalty",
                                "mirostat_tau", "mirostat_eta")},
    **{name: bool for name in ("penalize_newline", "numa", "use_mmap", "low_vram")},
    stop=str)
MAX_READ = 1 << 20  # bytes /read sends with a message


class Repl:
    """The interactive chat: a prompt, the reply streamed, repeat."""

    def __init__(self, conversation, display, stdin=None):
        self.conversation = conversation
        self.display = display
        self.stdin = stdin or sys.stdin
        self.editing = is_terminal(self.stdin) and is_terminal(display.out)
        self.last_prompt = None  # what /retry sends again
        self.replaceable = False  # the history ends with last_prompt's reply
        self.attached = ""  # a file's text from /read, sent with the next message
        self.history = None  # the input history's file, while it is kept
        self.loading = None  # the model loading in the background as the user types

    def run(self, first=None):
        settings = self.conversation.settings
        if self.editing:
            self.history = enable_line_editing(settings.environ)
            self.display.message("", "Chatting with %s. /? for help, /bye or Ctrl+D to quit."
                                 % self.conversation.model, "dim")
            if not first:
                self.loading = Loading(self.conversation)
                self.loading.start()
        try:
            if first:
                self.send(first)
            return self.loop()
        finally:
            save_history(self.history)

    def loop(self):
        while True:
            try:
                text = self.read_message()
            except KeyboardInterrupt:
                self.display.message("\n", "Use Ctrl+D or /bye to exit.", "dim")
                continue
            if text is None:  # Ctrl+D: the shell's prompt starts on a line of its own
                if is_terminal(self.stdin) and "readline" not in sys.modules:  # it does so
                    (self.display.out if self.editing else self.display.err).write("\n")
                self.display.end_line()
                return 0
            if text.startswith("/") and "\n" not in text:
                try:
                    if self.command(text) == "quit":
                        return 0
                except ChatError as err:  # a bad /model name, a file that won't load
                    self.display.error(str(err))
            elif text.strip():
                self.send(text)

    def send(self, text, again=False):
        if self.loading:  # said now, at the first turn: a load that failed
            failure, self.loading = self.loading.result(), None
            if failure and failure.status:  # no connection at all: the turn will say so
                self.display.warn("loading %s in advance failed: %s" % (
                    self.conversation.model, str(failure).split("\n")[0]))
        attached, self.attached = ("", self.attached) if again else (self.attached, "")
        self.last_prompt = text
        self.replaceable = again  # a failed /retry leaves the old reply to replace
        try:
            self.conversation.ask(text, again=again, attached=attached)
            self.replaceable = True
        except KeyboardInterrupt:
            self.display.stop_waiting()
            self.display.end_line()
            self.display.message("", "reply stopped; nothing of it kept (/retry sends the "
                                     "message again)", "yellow")
        except ChatError as err:
            self.display.end_line()
            self.display.error(str(err))
        if self.editing:
            self.display.line()

    def read_message(self):
        """One message; lines between \"\"\" marks make one message."""
        line = self.read_line(">>> ")
        if line is None or not line.startswith('"""'):
            return line
        lines, line = [], line[3:]
        while not line.endswith('"""'):
            lines.append(line)
            line = self.read_line("... ")
            if line is None:  # Ctrl+D: never send half a message
                self.say("\nThe unfinished message was not sent (it needs its closing "
                         '\"\"\"); Ctrl+D again quits.')
                return ""
        lines.append(line[:-3])
        return "\n".join(lines).strip("\n")

    def read_line(self, prompt):
        if self.editing:
            try:
                return input(prompt)
            except EOFError:
                return None
        if is_terminal(self.stdin):
            self.display.err.write(prompt)
            self.display.err.flush()
        line = self.stdin.readline()
        return line.rstrip("\r\n") if line else None

    def command(self, line):
        name, _, argument = line.partition(" ")
        argument = argument.strip()
        conversation, say = self.conversation, self.say
        if name in ("/bye", "/exit", "/quit"):
            return "quit"
        if name in ("/help", "/?"):
            say(REPL_HELP)
        elif name == "/clear":
            conversation.clear()
            self.last_prompt, self.replaceable = None, False
            say("Cleared the conversation (the system prompt stays).")
        elif name == "/model":
            if argument:
                conversation.model = server_has(conversation, check_text("/model", argument,
                                                                          spaces=False))
            say("Model: %s" % conversation.model)
        elif name == "/system":
            self.set_system(argument)
        elif name == "/set":
            self.set(argument)
        elif name == "/show":
            show_model(conversation, argument or "info")
        elif name == "/list":
            list_models(conversation.settings, self.display)
        elif name in ("/save", "/load", "/read") and not argument:
            self.display.error("%s needs a file name: %s FILE" % (name, name))
        elif name == "/save":
            path = file_path(argument)
            conversation.save(path)
            say("Saved %d messages to %s." % (len(conversation.messages), path))
        elif name == "/load":
            self.load(file_path(argument))
        elif name == "/read":
            path = file_path(argument)
            self.attached = "%s:\n%s\n\n" % (os.path.basename(path), read_text(path))
            say("The text of %s goes with your next message." % path)
        elif name == "/edit":
            self.edit(argument)
        elif name == "/copy":
            self.copy()
        elif name == "/retry":
            self.retry()
        else:
            self.display.error("unknown command %s: /? lists the commands" % name)
        return None

    def set_system(self, text):
        if text.startswith('"""') and len(text) >= 6 and text.endswith('"""'):
            text = text[3:-3]  # /set system """Be brief."""
        elif text.startswith('"""'):  # /set system """ and the lines up to """
            text = text[3:] + "\n" + self.read_message_rest()
        self.conversation.system = check_text("/system", text.strip("\n "), empty=True)
        self.say("System prompt set." if self.conversation.system else "System prompt cleared.")

    def read_message_rest(self):
        """The lines of a \"\"\" block begun on a command line, up to its end."""
        lines = []
        while True:
            line = self.read_line("... ")
            if line is None or line.endswith('"""'):
                lines.append((line or "")[:-3])
                return "\n".join(lines)
            lines.append(line)

    def set(self, argument):
        """/set: what `ollama run` users type."""
        conversation, say = self.conversation, self.say
        what, _, value = argument.partition(" ")
        value = value.strip()
        if what == "parameter":
            name, _, text = value.partition(" ")
            set_option(conversation, name, text.strip())
            say("Set parameter %r to %r." % (name, conversation.options[name]))
        elif what == "system":
            self.set_system(value)
        elif what in ("verbose", "quiet"):
            conversation.verbose = what == "verbose"
            say("Set %s mode." % what)
        elif what == "think" and value in ("",) + THINK_LEVELS:
            conversation.think = value or True
            say("Thinking %s." % ("on" if not value else "set to " + value))
        elif what == "nothink":
            conversation.think = False
            say("Thinking off.")
        elif what == "format" and value == "json":
            conversation.format = "json"
            say("Answers in JSON.")
        elif what == "noformat":
            conversation.format = None
            say("Answers in any format.")
        elif what in ("wordwrap", "nowordwrap"):
            self.display.wrap = what == "wordwrap"
            say("Word wrap %s." % ("on" if self.display.wrap else "off"))
        elif what in ("history", "nohistory"):
            self.history = history_file(conversation.settings.environ) if what == "history" \
                and self.editing else None
            if "readline" in sys.modules:  # what is typed meanwhile is not kept at all
                sys.modules["readline"].set_auto_history(bool(self.history))
            say("Input history %s." % ("kept" if self.history else "not kept"))
        else:
            self.display.error("unknown /set %s: /? lists what /set takes" % argument)

    def load(self, path):
        conversation = self.conversation
        system = conversation.system
        conversation.load(path)
        self.last_prompt, self.replaceable = None, False
        replaced = ""
        if system and system != conversation.system:
            replaced = (" Its system prompt replaces the one set before."
                        if conversation.system else
                        " It has no system prompt: the one set before is gone.")
        self.say("Loaded %d messages (model %s) from %s.%s" % (
            len(conversation.messages), conversation.model, path, replaced))

    def edit(self, text=""):
        """/edit (or Ctrl+G): the next message, written in the user's editor."""
        message = edit_text(text, self.conversation.settings.environ)
        if message.strip():
            self.send(message)
        else:
            self.say("The file was empty: nothing sent.")

    def copy(self):
        """/copy: the last reply to the clipboard, through the terminal (OSC 52)."""
        replies = [m for m in self.conversation.messages if m["role"] == "assistant"]
        if not replies:
            self.say("No reply to copy yet.")
        elif not is_terminal(self.display.out):
            self.display.error("/copy writes to the clipboard through the terminal, but "
                               "stdout is not a terminal.")
        else:
            import base64  # here, not at the top: only /copy needs it
            data = base64.b64encode(replies[-1]["content"].encode("utf-8")).decode("ascii")
            self.display.out.write("\033]52;c;%s\a" % data)
            self.display.out.flush()
            self.say("Copied the last reply (%d characters) to the clipboard."
                     % len(replies[-1]["content"]))

    def retry(self):
        if self.last_prompt is None:
            self.say("Nothing to retry yet.")
            return
        self.send(self.last_prompt, again=self.replaceable)

    def say(self, text):
        self.display.message("", text, "dim")


def set_option(conversation, name, text):
    """/set parameter NAME VALUE, typed as Ollama takes it; stop adds one more."""
    kind = OLLAMA_OPTIONS.get(name)
    if kind is None:
        raise ChatError("unknown parameter %r (closest: %s)" % (
            name, ", ".join(closest_first(name, list(OLLAMA_OPTIONS))[:3])))
    if not text:
        raise ChatError("/set parameter %s needs a value" % name)
    if kind is str:
        conversation.options["stop"] = list(conversation.options.get("stop", [])) + [text]
        return
    try:
        value = {"true": True, "false": False}[text.lower()] if kind is bool else kind(text)
        if value != value or abs(value) == float("inf"):  # JSON has no NaN or Infinity
            raise ValueError(text)
    except (KeyError, ValueError):
        raise ChatError("%s takes %s, not %r" % (name, {int: "a whole number", float: "a "
                                                        "number", bool: "true or false"}[kind],
                                                 text)) from None
    conversation.options[name] = value


def server_has(conversation, model):
    """/model NAME: the name, if the server has that model (Ollama's API only)."""
    if conversation.api == "openai":
        names = openai_models(conversation.settings)
        found = model in names
    else:
        names = installed_models(conversation.settings)
        found = has_model(model, names)
    if not found:
        closest = closest_first(model, names)[:5]
        raise ChatError("%s has no model %s%s; the model stays %s." % (
            conversation.settings.host_port, model,
            " (closest: %s)" % ", ".join(closest) if closest else "", conversation.model))
    return model


def show_model(conversation, what):
    """/show info|parameters|system|template|license, from /api/show."""
    display = conversation.display
    if what not in ("info", "parameters", "system", "template", "license"):
        raise ChatError("/show takes info, parameters, system, template or license")
    if conversation.api == "openai":
        raise ChatError("/show needs Ollama's API; this server speaks the OpenAI-compatible "
                        "one.")
    data = get_json(conversation.settings, "/api/show", {"model": conversation.model})
    data = data if isinstance(data, dict) else {}
    if what != "info":
        text = data.get(what)
        display.line(display.out_safe(text.rstrip()) if isinstance(text, str) and text.strip()
                     else "(the model has no %s)" % what)
        return
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    info = data.get("model_info") if isinstance(data.get("model_info"), dict) else {}
    trained = next((count(info, k) for k in info if k.endswith(".context_length")), None)
    window = conversation.gauge.window(conversation.model, 0)  # num_ctx, or asked already
    if window is None or not window[1]:
        window = ask_window(conversation.settings, conversation.model)
        if window and window[1]:  # /api/ps knows it once the model runs: keep it
            conversation.gauge.windows[conversation.model] = window
    rows = [("model", conversation.model), ("family", details.get("family")),
            ("parameters", details.get("parameter_size")),
            ("quantization", details.get("quantization_level")),
            ("capabilities", ", ".join(c for c in data.get("capabilities") or ()
                                       if isinstance(c, str))),
            ("context length", "{:,}".format(trained) if trained else None),
            ("window in use", "{:,}".format(window[0]) if window and window[1] else
             "not known yet (Ollama's default: 4,096 or more)")]
    show_table(display, [(name, value) for name, value in rows if value])


def read_text(path):
    """/read FILE: its text, if it is UTF-8 and not too large."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_READ + 1)
    except OSError as err:
        raise ChatError("cannot read %s: %s" % (path, err.strerror or describe(err))) from None
    if len(data) > MAX_READ:
        raise ChatError("%s is larger than %d KB: /read sends small text files"
                        % (path, MAX_READ >> 10))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChatError("%s is not UTF-8 text (a binary file, or Shift_JIS?): convert it "
                        "first, e.g. iconv -f SHIFT_JIS -t UTF-8" % path) from None


def edit_text(text, environ):
    """The text saved in the user's editor, started on a temporary file holding text."""
    import shlex  # here, not at the top: only /edit needs them
    import subprocess
    import tempfile
    editor = next((environ[name] for name in ("OLLAMA_EDITOR", "VISUAL", "EDITOR")
                   if environ.get(name, "").strip()), "vi")
    fd, path = tempfile.mkstemp(prefix="ollama_chat.", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            subprocess.call(shlex.split(editor) + [path])
        except OSError as err:
            raise ChatError("cannot start the editor %r: %s (set $EDITOR)"
                            % (editor, err.strerror or describe(err))) from None
        return read_text(path)
    finally:
        os.unlink(path)


class Loading(threading.Thread):
    """The model loading in the background while the user types, as `ollama run` does.

    A daemon thread: Ctrl+D while a big model loads exits at once.
    """

    def __init__(self, conversation):
        super().__init__(daemon=True)
        self.conversation = conversation
        self.failure = None  # a ChatError to tell at the first turn

    def run(self):
        conversation = self.conversation
        try:
            if conversation.api != "openai":  # with the options, or the first turn reloads
                body = dict(conversation.request_body([]), messages=[], stream=False)
                get_json(conversation.settings, "/api/chat", body)
        except ChatError as err:
            self.failure = None if err.not_ollama else err

    def result(self):
        """The failure, if the load failed; the first turn waits no longer than this."""
        return self.failure if not self.is_alive() else None


def file_path(text):
    """A file name as typed after /save or /load: quotes around it and ~ understood.

    >>> file_path('"my chat.json"'), file_path("~/x.json") == os.path.expanduser("~/x.json")
    ('my chat.json', True)
    """
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return os.path.expanduser(text)


def history_file(environ):
    """Where the input history lives: $XDG_STATE_HOME/ollama_chat/history, unless
    OLLAMA_NOHISTORY is set."""
    if environ.get("OLLAMA_NOHISTORY"):
        return None
    state = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                          "state")
    return os.path.join(state, "ollama_chat", "history")


def enable_line_editing(environ):
    """Line editing where readline exists (not on plain Windows): the history of
    earlier sessions, Ctrl+G for the editor, a multi-line paste as one message.
    Returns the history file to save at the end, or None."""
    try:
        import readline
    except ImportError:
        return None
    readline.parse_and_bind("set enable-bracketed-paste on")
    readline.parse_and_bind(r'"\C-g": "\C-a/edit \C-m"')  # the line typed so far, to edit
    readline.set_history_length(HISTORY_LENGTH)
    path = history_file(environ)
    if path:
        try:
            readline.read_history_file(path)
        except OSError:
            pass  # the first session, or an unreadable file: start afresh
    return path


def save_history(path):
    """The input history, written with mode 0600 (it may hold anything typed)."""
    if not path:
        return
    try:
        import readline
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        readline.write_history_file(path)
    except (ImportError, OSError):
        pass  # a history is a comfort: never a reason to fail


# --- Statistics (-v), models (--list, --pull) -------------------------------

def show_stats(display, final):
    """What `ollama run --verbose` prints after a reply, on stderr."""
    def seconds(name):
        value = number(final, name)
        return value / 1e9 if value is not None else None

    def rate(tokens, duration):
        return "%.2f tokens/s" % (tokens / duration) if tokens and duration else None

    prompt, generated = count(final, "prompt_eval_count"), count(final, "eval_count")
    rows = [("total duration", seconds("total_duration"), "%.3fs"),
            ("load duration", seconds("load_duration"), "%.3fs"),
            ("prompt eval count", prompt, "%d token(s)"),
            ("prompt eval duration", seconds("prompt_eval_duration"), "%.3fs"),
            ("prompt eval rate", rate(prompt, seconds("prompt_eval_duration")), "%s"),
            ("eval count", generated, "%d token(s)"),
            ("eval duration", seconds("eval_duration"), "%.3fs"),
            ("eval rate", rate(generated, seconds("eval_duration")), "%s")]
    shown = [(name, value, form) for name, value, form in rows if value is not None]
    for name, value, form in shown:
        display.message("", "%-21s %s" % (name + ":", form % value), "dim")
    if not shown:
        display.message("", "(the server sent no statistics with this reply)", "dim")


def number(data, name):
    """A number >= 0 from the server, or None (a string, a dict, 1e400, 10**400...)."""
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1e18:
        return value
    return None


def human_size(size):
    """Bytes as Ollama shows them (powers of 1000).

    >>> human_size(4661224676), human_size(999), human_size(1500000)
    ('4.7 GB', '999 B', '1.5 MB')
    """
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000:
            return ("%d %s" if unit == "B" else "%.1f %s") % (size, unit)
        size /= 1000
    return "%.1f TB" % size


def list_models(settings, display):
    data, missing = (None, None) if settings.api == "openai" else ollama_path(settings,
                                                                              "/api/tags")
    if not (isinstance(data, dict) and isinstance(data.get("models"), list)):
        return list_openai_models(settings, display, data, missing)
    models = [m for m in data["models"] if isinstance(m, dict)]
    if not models:
        display.message("", "No models are installed on %s. Install one with: ollama pull "
                            "%s" % (settings.host_port, settings.model))
        return 0
    rows = [("NAME", "SIZE", "PARAMETERS", "QUANTIZATION")]
    for model in models:
        details = model.get("details") if isinstance(model.get("details"), dict) else {}
        size = number(model, "size")
        rows.append((model.get("name", "?"), human_size(size) if size is not None else "",
                     details.get("parameter_size", ""), details.get("quantization_level", "")))
    show_table(display, rows)
    return 0


def ollama_path(settings, path):
    """GET one of Ollama's paths: (its JSON, None), or (None, the error) where the
    server has no such path and API_STYLE = "auto" may try the OpenAI-compatible API."""
    try:
        return get_json(settings, path), None
    except ChatError as err:
        if settings.api == "auto" and err.status in (404, 405):
            return None, err
        raise


def list_openai_models(settings, display, tags, missing=None):
    """--list where /api/tags is not Ollama's: the models /v1/models serves."""
    try:
        models, headers = get_json_and_headers(settings, "/v1/models")
    except ChatError as err:  # a key it wants is said; else, Ollama's missing path
        if missing is None or err.status in (401, 403):
            raise
        raise missing from None
    if model_list(models) is None:
        raise ChatError("%s/api/tags did not list models%s: is %s pointing at Ollama?" % (
            settings.base_url, " (it said: %s)" % server_words(tags) if server_words(tags)
            else "", settings.url_name))
    if settings.api != "openai":
        display.message("note: ", "%s at %s is not Ollama; these are the models of its "
                        "OpenAI-compatible API." % (server_name("", headers, models),
                                                    settings.host_port), "cyan")
    rows = [("NAME", "OWNED BY")] + [(m.get("id", "?"), m.get("owned_by", ""))
                                     for m in models["data"] if isinstance(m, dict)]
    show_table(display, rows)
    return 0


def show_table(display, rows):
    """Rows of text from the server, in columns, made harmless for a terminal."""
    rows = [[display.out_safe(str(cell))[:60] for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        display.line("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def has_model(model, names):
    return model in names or (":" not in model and model + ":latest" in names)


def ensure_model(settings, display, model):
    """--pull: pull the model first when the server does not have it."""
    if not has_model(model, installed_models(settings)):
        pull_model(settings, display, model)


def pull_model(settings, display, model):
    display.message("", "pulling %s on %s ..." % (model, settings.host_port))
    progress = PullProgress(display)
    body = {"model": model, "stream": True}
    try:
        with open_api(settings, "/api/pull", body) as response:
            for item in read_ndjson(settings, response, few_warnings(display.warn)):
                if "error" in item:
                    raise ChatError("pulling %s failed: %s"
                                    % (model, str(item["error"])[:300]))
                progress.update(item)
                if item.get("status") == "success":
                    return
    finally:
        progress.finish()
    raise ChatError("the pull of %s stopped before it finished: run it again (it resumes)."
                    % model)


class PullProgress:
    """--pull's progress: one line redrawn on a terminal, plain lines otherwise."""

    def __init__(self, display):
        self.display = display
        self.redraw = display.spinner is not None
        self.status = None
        self.quarter = -1  # the last quarter of a layer told on plain output
        self.speed_mark = (0.0, 0)  # (time, bytes) when the layer began

    def update(self, item):
        status = str(item.get("status", ""))[:100]
        total, done = number(item, "total"), number(item, "completed") or 0
        new_status, self.status = status != self.status, status
        if not total:
            if self.redraw:
                self.display.status_line(status)
            elif new_status:
                self.display.message("", status)
            return
        now = time.monotonic()
        if new_status:
            self.speed_mark, self.quarter = (now, done), -1
        text = "%s %3d%% %s/%s" % (status, min(done / total, 1) * 100,
                                   human_size(done), human_size(total))
        if self.redraw:
            speed = (done - self.speed_mark[1]) / max(now - self.speed_mark[0], 1e-3)
            self.display.status_line("%s %s/s" % (text, human_size(speed)))
        elif min(done * 4 // total, 4) > self.quarter:
            self.quarter = min(done * 4 // total, 4)
            self.display.message("", text)

    def finish(self):
        if self.redraw:
            self.display.status_line(None)


# --- The doctor (--check) ---------------------------------------------------

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                   "ALL_PROXY")


def run_check(settings, display):
    """Check, one line each, what a chat needs; exit 0 only if all of it is fine."""
    report = display.check
    report("info", "url", "%s (from %s)" % (settings.base_url + (
        "/v1" if settings.api == "openai" else "/api/chat"), settings.url_name))
    proxies = [name for name in PROXY_VARIABLES if settings.environ.get(name)]
    if not proxies:
        report("ok", "proxy", "no proxy variables in the environment")
    elif settings.use_proxy and proxy_in_use(settings):
        report("warn", "proxy", "%s set and used (USE_PROXY = True): %s"
               % (", ".join(proxies), proxy_in_use(settings)))
    elif settings.use_proxy:
        parts = urllib.parse.urlsplit(settings.base_url)
        why = ("no_proxy covers %s" % parts.hostname
               if urllib.request.getproxies().get(parts.scheme)
               else "none of them is for %s://" % parts.scheme)
        report("ok", "proxy", "%s set; %s, so no proxy is used" % (", ".join(proxies), why))
    else:
        report("ok", "proxy", "%s set, bypassed (USE_PROXY = False)" % ", ".join(proxies))
    if running_on_wsl():
        report("info", "wsl", "WSL2 detected: Ollama running on Windows must listen on "
                              "0.0.0.0 (or use mirrored networking) to be reached from here")
    try:
        version, missing = (None, None) if settings.api == "openai" else ollama_path(
            settings, "/api/version")
        if not (isinstance(version, dict) and isinstance(version.get("version"), str)
                and version["version"]):
            models, headers = (get_json_and_headers(settings, "/v1/models")
                               if settings.api == "openai" else probe(settings, "/v1/models"))
            if settings.api != "ollama" and model_list(models) is not None:
                return check_openai(settings, report, server_name("", headers, models))
            raise missing or ChatError("a server answers at %s, but not as Ollama does "
                                       "(/api/version has no version): is %s pointing at "
                                       "Ollama?" % (settings.host_port, settings.url_name))
        names = installed_models(settings)
        check_key_at(settings, "/api/chat", {"model": "", "messages": []})
    except ChatError as err:
        return check_failed(settings, report, err)
    report("ok", "server", "Ollama %s answers at %s" % (version["version"][:40],
                                                        settings.host_port))
    report("ok", "key", "accepted by /api/chat (%s)" % settings.key_source if settings.key
           else "none set, none asked for by /api/chat")
    if has_model(settings.model, names):
        report("ok", "model", "%s is installed" % settings.model)
        return 0
    closest = closest_first(settings.model, names)[:3]
    report("FAIL", "model", "%s is not installed: run `ollama pull %s` (or use --pull)%s" % (
        settings.model, settings.model, "; closest: " + ", ".join(closest) if closest else ""))
    return 1


def check_key_at(settings, path, body):
    """A proxy may guard the chat alone: ask there, with no model, so nothing loads."""
    try:
        get_json(settings, path, body)
    except ChatError as err:
        if err.status in (401, 403):
            raise
    # a 400 "model is required" (or the like): the request got through to the server


def check_openai(settings, report, name):
    """--check for an OpenAI-compatible server (LM Studio, llama.cpp, vLLM...)."""
    try:
        check_key_at(settings, "/v1/chat/completions",
                     {"model": "", "messages": [], "max_tokens": 1})
        names = openai_models(settings)
    except ChatError as err:
        return check_failed(settings, report, err)
    report("ok", "server", "%s answers at %s with the OpenAI-compatible API%s" % (
        name, settings.host_port, " (API_STYLE = \"auto\" switches to it)"
        if settings.api == "auto" else ""))
    report("ok", "key", "accepted by /v1/chat/completions (%s)" % settings.key_source
           if settings.key else "none set, none asked for by /v1/chat/completions")
    if settings.think is not None:
        report("info", "think", "THINK does not apply to this API: it is not sent")
    if settings.model in names:
        report("ok", "model", "%s is served" % settings.model)
        return 0
    closest = closest_first(settings.model, names)[:3]
    report("FAIL", "model", "%s is not served there (--pull works with Ollama only)%s" % (
        settings.model, "; closest: " + ", ".join(closest) if closest else ""))
    return 1


def check_failed(settings, report, err):
    if err.status in (401, 403):
        report("ok", "server", "a server answers at %s" % settings.host_port)
        report("FAIL", "key", str(err))
    else:
        report("FAIL", "server", str(err))
        report("skip", "key", "not checked")
    report("skip", "model", "not checked")
    return 1


# --- Saving and loading ----------------------------------------------------

SAVE_FORMAT = "ollama_chat conversation"


def write_atomically(path, text):
    """Write a file whole or not at all: a temporary file beside it, then a rename."""
    import tempfile  # here, not at the top: only --save needs it
    if os.path.isdir(path):
        raise ChatError("cannot save the conversation to %s: it is a folder; give a file "
                        "name, e.g. %s" % (path, os.path.join(path, "chat.json")))
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".ollama_chat.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as err:
        raise ChatError("cannot save the conversation to %s: %s"
                        % (path, err.strerror or describe(err))) from err


def check_save_path(path):
    """--save: a file we can write, known before anything is sent."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ConfigError("--save %s is a folder: give a file name, e.g. %s"
                          % (path, os.path.join(path, "chat.json")))
    if not os.path.isdir(folder):
        raise ConfigError("--save %s: there is no folder %s" % (path, folder))
    if not os.access(folder, os.W_OK):
        raise ConfigError("--save %s: the folder %s is not writable" % (path, folder))


def read_conversation(path):
    """A saved conversation, checked whole before any of it is used."""
    try:
        if os.path.getsize(path) > MAX_SAVED:
            raise ConfigError("%s is larger than %d MB: not a conversation saved by "
                              "ollama_chat; nothing was loaded." % (path, MAX_SAVED >> 20))
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as err:
        raise ConfigError("cannot read %s: %s" % (path, err.strerror or describe(err))) from err
    except RecursionError:
        raise ConfigError("%s is not a saved conversation (JSON nested too deep); nothing "
                          "was loaded." % path) from None
    except ValueError as err:
        raise ConfigError("%s is not a saved conversation (not valid JSON: %s); nothing "
                          "was loaded." % (path, str(err)[:80])) from err
    data = without_surrogates(data)  # a file edited by hand may hold "\ud800"
    problem = conversation_problem(data)
    if problem:
        raise ConfigError("%s is not a conversation saved by ollama_chat (%s); nothing was "
                          "loaded." % (path, problem))
    return data


def conversation_problem(data):
    if not isinstance(data, dict) or data.get("format") != SAVE_FORMAT:
        return 'no "format": "%s"' % SAVE_FORMAT
    if data.get("version") != 1:
        return "version %r, this ollama_chat reads version 1" % (data.get("version"),)
    model = data.get("model")
    if (not isinstance(model, str) or not model or any(c.isspace() for c in model)
            or not model.isprintable()):
        return "no valid model name"
    if not isinstance(data.get("system", ""), str):
        return "the system prompt is not text"
    messages = data.get("messages")
    if not isinstance(messages, list):
        return "no list of messages"
    for number, message in enumerate(messages, 1):
        if (not isinstance(message, dict) or message.get("role") not in ("user", "assistant")
                or not isinstance(message.get("content"), str)):
            return "message %d is not a user or assistant message with text" % number
        files = message.get("files", [])
        if not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
            return "message %d lists its files wrongly" % number
    return None


# --- Command line ----------------------------------------------------------

def argument_type(flag, check):
    """An argparse type for a flag from a checker that raises ConfigError."""
    def convert(text):
        try:
            return check(text, flag)
        except ConfigError as err:  # argparse names the flag itself
            raise argparse.ArgumentTypeError(re.sub(r"^%s " % flag, "", str(err))) from None
    convert.__name__ = flag  # what argparse would call it in "invalid ... value"
    return convert


def model_name(text, flag):
    return check_text(flag, text, spaces=False)


def prompt_text(text, flag):
    return check_text(flag, text, empty=True)


def option_pair(text, flag="--option"):
    """-o KEY=VALUE: a model option, its value a number, true or false, or text.

    >>> option_pair("num_ctx=16384"), option_pair("temperature=0.2")
    (('num_ctx', 16384), ('temperature', 0.2))
    >>> option_pair("stop=<|eot_id|>"), option_pair("penalize_newline=False")
    (('stop', '<|eot_id|>'), ('penalize_newline', False))
    """
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ConfigError("%s takes NAME=VALUE, e.g. num_ctx=16384, not %r" % (flag, text))
    check_utf8(value, flag)
    if name == "stop":  # a stop sequence is text, even "42"
        return name, value
    if value.strip().lower() in ("true", "false"):
        return name, value.strip().lower() == "true"
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        if number == number and abs(number) != float("inf"):  # JSON has no NaN or inf
            return name, number
    return name, value


def answer_format(text, flag):
    """--format: "json", or the JSON schema in a file."""
    if text == "json":
        return text
    try:
        with open(os.path.expanduser(text), encoding="utf-8") as f:
            schema = json.loads(f.read(MAX_ANSWER))
    except OSError as err:
        raise ConfigError("takes json or a file with a JSON schema; cannot read %s: %s"
                          % (text, err.strerror or describe(err))) from None
    except (ValueError, RecursionError):
        raise ConfigError("%s is not a JSON schema (not valid JSON)" % text) from None
    if not isinstance(schema, dict):
        raise ConfigError("%s is not a JSON schema (not a JSON object)" % text)
    return schema


def seconds(text, flag):
    try:
        value = float(text)
    except ValueError:
        raise ConfigError("not a number: %r" % text) from None
    return check_seconds(flag, value)


def build_parser(prog="ollama_chat.py"):
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Chat with an Ollama server over its streaming /api/chat API.\n"
                    "Without a prompt: the two-turn demo (tell the model your name, then ask\n"
                    "the time and your name). Defaults: the constants at the top of the file.",
        epilog="examples:\n"
               "  %(prog)s                            the demo\n"
               "  %(prog)s why is the sky blue\n"
               "  cat notes.txt | %(prog)s summarise   stdin, then the words\n"
               "  %(prog)s describe ./cat.png -m gemma3\n"
               "  %(prog)s -i -m qwen3 --save chat.json\n"
               "  %(prog)s --check                    is everything set up?\n\n"
               "environment: OLLAMA_HOST (the server, when API_URL is as shipped),\n"
               "OLLAMA_CHAT_MODEL (the model, when MODEL_NAME is as shipped), OLLAMA_API_KEY.\n"
               "exit codes: 0 success, 1 failure at run time, 2 configuration or usage error,\n"
               "130 interrupted (Ctrl+C), 141 stdout closed early (| head).\n"
               "stdout carries the conversation; messages, thinking and statistics go to stderr.")
    parser.add_argument("prompt", nargs="*", metavar="PROMPT",
                        help="send one message (the words joined) and print the reply; "
                             "piped stdin goes before it, \"-\" reads only stdin; paths to "
                             ".png .jpg .jpeg .webp files are attached as images")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("-i", "--interactive", action="store_true",
                      help="chat: type messages, /? lists the commands")
    mode.add_argument("--list", action="store_true", help="list the server's models")
    mode.add_argument("--check", action="store_true",
                      help="check the setup, one line per check; exit 0 if a chat can work")
    parser.add_argument("-m", "--model", type=argument_type("--model", model_name),
        help="the model (default: MODEL_NAME = %r)" % MODEL_NAME)
    parser.add_argument("-u", "--url", type=argument_type("--url", server_base_url),
                        help="the server: a URL, host or host:port, as OLLAMA_HOST is written "
                             "(default: API_URL = %r)" % without_password(API_URL))
    parser.add_argument("-s", "--system", metavar="TEXT", type=argument_type("--system", prompt_text),
                        help="a system prompt, in place of the model's own (default: "
                             "SYSTEM_PROMPT = %r; empty keeps the model's)" % SYSTEM_PROMPT)
    parser.add_argument("--timeout", metavar="SECONDS", type=argument_type("--timeout", seconds),
        help="give up after this much silence (default: TIMEOUT = %r)" % TIMEOUT)
    parser.add_argument("-o", "--option", metavar="NAME=VALUE", action="append", default=[],
                        type=argument_type("--option", option_pair),
                        help="a model option for this run, over OPTIONS (%r); repeat it for "
                             "more, e.g. -o num_ctx=16384 -o temperature=0.2 (stop may "
                             "repeat)" % (OPTIONS,))
    parser.add_argument("--api", choices=API_STYLES,
                        help="the server's API: auto tries Ollama's, then the OpenAI-"
                             "compatible one of LM Studio, llama.cpp, vLLM, Jan... "
                             "(default: API_STYLE = %r)" % API_STYLE)
    parser.add_argument("--think", choices=("on", "off") + THINK_LEVELS,
                        help="thinking for reasoning models (default: THINK = %r, "
                             "None is the server's default)" % (THINK,))
    parser.add_argument("--format", metavar="json|FILE", type=argument_type("--format",
                                                                           answer_format),
                        help="the answer's format: json, or a file with a JSON schema")
    parser.add_argument("--keepalive", metavar="DURATION", type=argument_type(
        "--keepalive", lambda text, flag: check_keep_alive(flag, text)), help="how long the model stays loaded after "
        "a reply: 30m, 1h, 0, -1 for ever (default: KEEP_ALIVE = %r, the server's)"
        % (KEEP_ALIVE,))
    parser.add_argument("--hide-thinking", action="store_true",
                        help="do not show the thinking (default: SHOW_THINKING = %r)"
                             % SHOW_THINKING)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="after each reply, the statistics `ollama run --verbose` shows "
                             "and how full the context window is")
    parser.add_argument("--pull", action="store_true",
                        help="pull the model first if the server does not have it")
    parser.add_argument("--save", metavar="FILE",
                        help="save the conversation as JSON after every reply")
    parser.add_argument("--resume", metavar="FILE",
                        help="continue a saved conversation (and save it back there, "
                             "unless --save names another file)")
    parser.add_argument("--no-color", action="store_true", help="never use colours")
    parser.add_argument("--nowordwrap", action="store_true",
                        help="do not wrap replies at the terminal's width (never done for "
                             "pipes and files)")
    parser.add_argument("--debug", action="store_true",
                        help="show a traceback on errors (for bug reports)")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser


def parse_args(parser, argv):
    """The flags, with args.prompt the one message to send (or None)."""
    args = parser.parse_args(argv)
    words = " ".join(args.prompt) if args.prompt else None
    if words is not None and (args.list or args.check):
        parser.error("--list and --check take no prompt")
    if words == "-":
        if args.interactive:
            parser.error('"-" reads the prompt from stdin, which -i needs for the chat')
        if is_terminal(sys.stdin):
            sys.stderr.write("Reading the prompt from stdin: type it, then Ctrl+D on a line "
                             "of its own.\n")
            sys.stderr.flush()
        words = sys.stdin.read().rstrip()
        if not words.strip():
            parser.error('"-" found no prompt on stdin')
    elif sys.stdin and not (args.interactive or args.list or args.check
                            or is_terminal(sys.stdin)):
        piped = sys.stdin.read().rstrip()  # as `ollama run` does: before the words
        if piped.strip():
            words = piped + ("\n\n" + words if words else "")
    args.prompt = words
    return args


def settings_from(args, installed=False):
    """The constants, replaced by the flags given."""
    options = OPTIONS
    if args.option and isinstance(OPTIONS, dict):  # else Settings says what is wrong
        options = dict(OPTIONS, **{name: value for name, value in args.option})
        stops = [value for name, value in args.option if name == "stop"]
        if stops:
            options["stop"] = stops
    flags = {"url": args.url, "model": args.model, "system": args.system,
             "timeout": args.timeout, "options": options, "api": args.api,
             "think": {"on": True, "off": False}.get(args.think, args.think),
             "show_thinking": False if args.hide_thinking else None,
             "keep_alive": args.keepalive, "format": args.format,
             "url_name": "--url" if args.url else None,
             "timeout_name": "--timeout" if args.timeout else None}
    return Settings.from_constants(
        verbose=args.verbose, installed=installed,
        **{name: value for name, value in flags.items() if value is not None})


def run(args, settings, display):
    if args.list:
        return list_models(settings, display)
    if args.check:
        return run_check(settings, display)
    save_path = args.save or args.resume
    if args.save:
        check_save_path(args.save)
    if args.resume:  # -m and -s win over the file
        conversation = Conversation.from_file(args.resume, settings, display, args.model,
                                              args.system, save_path)
    else:
        conversation = Conversation(settings, display, save_path=save_path)
    if args.pull and settings.api == "openai":
        raise ConfigError("--pull works with Ollama only; this server's models are its own "
                          "(see --list).")
    if args.pull:
        ensure_model(settings, display, conversation.model)
    if args.interactive:
        return Repl(conversation, display).run(first=args.prompt)
    if args.prompt is not None:
        conversation.whole_prompt = True  # nothing to drop: better refused than cut
        conversation.ask(args.prompt)
        return 0
    return run_demo(conversation)


def main(argv=None):
    """Run the command line; return the exit code."""
    parser = build_parser(command_name())
    if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 reach check_utf8
        sys.stdin.reconfigure(errors="surrogateescape")
    for stream in (sys.stdout, sys.stderr):  # an emoji on cp932 or latin-1 is a "?"
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        args = parse_args(parser, argv)
    except KeyboardInterrupt:  # while reading a prompt from stdin
        sys.stderr.write("\n%s: interrupted\n" % PROG)
        return 130
    display = Display(color=not args.no_color, wrap=not args.nowordwrap)
    try:
        return run_and_report(args, display)
    except BrokenPipeError:  # stdout's reader has gone (| head), even while reporting
        silence_stdout()
        return 141


def run_and_report(args, display):
    """run(), with a failure or Ctrl+C turned into its message and exit code."""
    try:
        settings = settings_from(args, installed_command())
        display.hide(settings.key)
        urllib.request.install_opener(build_opener(settings))
        return run(args, settings, display)
    except ChatError as err:
        display.end_line()
        if args.debug:
            print_traceback(display)
        display.error(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        display.stop_waiting()
        display.end_line()
        if args.debug:
            print_traceback(display)
        display.message(PROG + ": ", "interrupted", "yellow")
        return 130


def command_name():
    """The command as typed, for --version and the usage line."""
    name = os.path.basename(sys.argv[0] if sys.argv else "")
    if name.startswith("ollama") or (name.endswith(".py") and name != "__main__.py"):
        return name
    return "ollama_chat.py"


def installed_command():
    """pip's or pipx's ollama-chat: this file lives in site-packages, its constants
    are not for editing, so messages name flags and environment variables."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(__file__)))
    return folder in ("site-packages", "dist-packages")


def print_traceback(display):
    import traceback  # here, not at the top: only --debug needs it
    display.err.write(display.masked(traceback.format_exc()))  # never the key


def silence_stdout():
    """stdout's reader has gone (| head): drop what is left, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
