"""A scripted stand-in for Ollama on 127.0.0.1, for the tests and the benchmark.

It answers the way the real server does (see shared/OLLAMA_API.md): HTTP/1.1,
one chunk per NDJSON line as Go's net/http flushes them, nothing at all while a
model "loads", errors as {"error": ...} with a status. On demand it misbehaves
the way proxies and crashes do: lines cut anywhere (even inside a UTF-8
character) or merged, HTML error pages, an error line mid-stream, a cut
connection, garbage, redirects.

    with FakeOllama() as server:
        server.script("/api/chat", Reply(chat_chunks("Hello", " there")))
        ... point the client at server.url ...
        server.requests[0].json["messages"]

With nothing scripted, /api/chat answers "You said: <last user message>".

What the model really sees (server/routes.go ChatHandler, server/prompt.go
chatPrompt, server/sched.go, the runner's prompt cache) is modelled too:

- Each installed model has details (`add_model`, `FakeModel`): a Modelfile
  SYSTEM, PARAMETERs (num_ctx, stop...), MESSAGEs, its trained context
  length, capabilities. `/api/show` and `/api/ps` answer from them.
- The window of a request: options.num_ctx, else the Modelfile's num_ctx,
  else `default_num_ctx` (4096), at least 4, at most the trained length.
  A different window (or `shift`) reloads the model: its cache is emptied.
- The Modelfile SYSTEM is put first only when the request's first message is
  not a system message; Modelfile MESSAGEs go before the request's messages.
- Too long for the window: the oldest messages are dropped as chatPrompt
  does (the last message and system messages are kept); `"truncate": false`
  is refused with 400 instead. If the kept messages still do not fit, the
  runner's context shift keeps the first num_keep tokens and the end.
- A prompt cache per loaded model, like the runner's: it holds the last
  prompt's tokens and the reply's; a new prompt evaluates only what follows
  the longest common token prefix (at least one token).
- The final chunk of a default reply counts: prompt_eval_count = the prompt's
  tokens after dropping (cached ones included), eval_count = the reply's.
- A chat with "messages": [] just loads the model (done_reason "load"; with
  "keep_alive": 0 it unloads it: "unload"). A model stays loaded (in /api/ps)
  for keep_alive, 5 minutes by default, until reset().
- Where Ollama changed, the fake plays `version` (0.12.6 by default): from
  0.30 /api/show's 404 names "x:latest", a refused truncate=false prompt
  passes on llama-server's error, context shift is llama_server.go's.

The tokens are an approximation, deterministic and prefix-stable. The prompt
is rendered as a template would: "<|begin|>", then each message as
"<|role|>" + content + "<|end|>", then "<|assistant|>" (a final assistant
message is continued instead: no "<|end|>" after it). "<|...|>" markers are
one token each; between them the text is cut into pieces, one token each: an
ASCII word with its leading space (longer words every 8 letters), up to 3
digits, a run of whitespace, one punctuation mark, one non-ASCII character
(so Japanese is a token per character, English about 4-5 bytes per token).
Since the markers delimit the messages, the tokens of a prompt that begins
with another prompt's messages begin with that prompt's tokens. Images count
768 tokens each on a model with the "vision" capability, as chatPrompt counts
them; tool_calls are rendered as their JSON after the content; "thinking" is
not rendered (templates usually drop it), so after a reply that thought, the
cache (which holds the thinking generated) differs from the next prompt from
that reply on, as it does on the real server.

Every request is recorded as a Request (.json, .headers...). A /api/chat
request (scripted or not) also records what the model saw: .num_ctx (the
window), .seen (the messages after the SYSTEM was added and the oldest
dropped), .dropped (how many were dropped), .prompt (the rendered text),
.prompt_tokens (after dropping and any shift), .cached (tokens reused from
the cache), .evaluated (tokens evaluated anew), .loaded (this request
(re)loaded the model), .shifted (context shift cut the prompt), .eval_count
(the reply's tokens), .error (the too-long error text, if refused); all
None where no model ran (a 404, a bad body). A scripted reply is sent as
scripted, its model taken as installed; it changes the loaded models and the
cache only if its status is 200 (its reply's thinking and content are what
go into the cache).
"""

import datetime
import decimal
import hashlib
import json
import re
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "llama3:latest"
DEFAULT_NUM_CTX = 4096  # the server's default window below 23 GiB of VRAM (v0.6.7 and later)
KEEP_ALIVE = 300.0  # seconds a model stays loaded (OLLAMA_KEEP_ALIVE's default, 5m)
IMAGE_TOKENS = 768  # chatPrompt's count for one image on a vision model
KV_BYTES_PER_TOKEN = 131_072  # what a loaded model's size grows by per token of window
MODIFIED_AT = "2026-10-01T09:00:00Z"

# The messages Ollama's runner answers for a prompt longer than the window.
INPUT_TOO_LONG = "the input length exceeds the context length"  # truncate=false, before v0.30
PROMPT_TOO_LONG = ("the prompt is longer than the context length currently available to the "
                   "model; shorten the prompt, adjust the context length in settings, or use a "
                   "model with a longer context length")  # shift=false, v0.30 and later


def ndjson(obj):
    """One NDJSON line, as Ollama writes it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _now():
    return _iso(datetime.datetime.now(datetime.timezone.utc))


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def chat_chunks(*tokens, model=MODEL, thinking=(), done_reason="stop", final_text="",
                done=True, stats=None):
    """The chunks of one streamed reply: thinking tokens, answer tokens, the final line.

    Each chunk is one NDJSON line, as Go's net/http flushes them. stats: fields
    of the final chunk to set (prompt_eval_count...), see final_chunk.
    """
    lines = []
    for text in thinking:
        lines.append(ndjson({"model": model, "created_at": _now(),
                             "message": {"role": "assistant", "content": "", "thinking": text},
                             "done": False}))
    for text in tokens:
        lines.append(ndjson({"model": model, "created_at": _now(),
                             "message": {"role": "assistant", "content": text}, "done": False}))
    if done:
        final = final_chunk(model, final_text, done_reason, len(tokens))
        final.update(stats or {})
        lines.append(ndjson(final))
    return lines


def final_chunk(model=MODEL, text="", done_reason="stop", eval_count=1):
    return {"model": model, "created_at": _now(),
            "message": {"role": "assistant", "content": text}, "done": True,
            "done_reason": done_reason, "total_duration": 2_500_000_000,
            "load_duration": 1_000_000_000, "prompt_eval_count": 26,
            "prompt_eval_duration": 130_000_000, "eval_count": eval_count,
            "eval_duration": 1_200_000_000}


def merged(chunks):
    """All lines in one chunk, as a buffering proxy sends them."""
    return [b"".join(chunks)]


def split_every(chunks, size):
    """The same bytes cut every `size` bytes, wherever that falls (mid-line, mid-character)."""
    data = b"".join(chunks)
    return [data[i:i + size] for i in range(0, len(data), size)]


class Reply:
    """How the fake answers one request.

    chunks      byte strings, each sent as one HTTP chunk (status 200 streams)
    status      the HTTP status; headers: extra headers
    body        a whole body sent with Content-Length instead of chunks
    load_delay  seconds of silence before the status line (a model loading)
    gap         seconds between chunks
    hold        an Event waited on before the status line (tests release it)
    hold_at     (index, Event): stop before chunk `index` until the Event is set
    cut         close the connection without the final zero-length chunk
    """

    def __init__(self, chunks=(), status=200, headers=None, body=None,
                 content_type="application/x-ndjson", load_delay=0.0, gap=0.0,
                 hold=None, hold_at=None, cut=False):
        self.chunks = list(chunks)
        self.status = status
        self.headers = dict(headers or {})
        self.body = body
        self.content_type = content_type
        self.load_delay = load_delay
        self.gap = gap
        self.hold = hold
        self.hold_at = hold_at
        self.cut = cut

    def events(self):
        return [e for e in (self.hold, self.hold_at and self.hold_at[1]) if e]


def json_error(status, text, **extra):
    """An error as Ollama answers before streaming: a status and {"error": text}."""
    body = dict(error=text, **extra)
    return Reply(status=status, body=json.dumps(body).encode(),
                 content_type="application/json; charset=utf-8")


def json_reply(obj, status=200):
    """A whole JSON body, as Gin's c.JSON writes it (no newline after it)."""
    return Reply(status=status, body=json.dumps(obj, ensure_ascii=False,
                                                separators=(",", ":")).encode("utf-8"),
                 content_type="application/json; charset=utf-8")


def html_error(status, reason, server="nginx/1.22.1"):
    """An error page as a reverse proxy answers."""
    page = ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1>"
            "</center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n"
            % (status, reason, status, reason, server.split("/")[0]))
    return Reply(status=status, body=page.encode(), content_type="text/html",
                 headers={"Server": server})


def redirect(location, status=302):
    return Reply(status=status, body=b"", content_type="text/html",
                 headers={"Location": location})


class Request:
    """What the client sent (and, for /api/chat, what the model saw: see the module's doc)."""

    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.route = urllib.parse.urlsplit(path).path  # a proxy is sent absolute URLs
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None
        self.disconnected = threading.Event()  # set when the client hung up early
        # What the model saw, for /api/chat requests that reached a model.
        self.num_ctx = None  # the window it ran with
        self.seen = None  # the messages, after the Modelfile's and the dropping
        self.dropped = None  # how many messages were dropped (oldest first)
        self.prompt = None  # the rendered prompt text
        self.prompt_tokens = None  # its tokens after dropping (and any shift)
        self.cached = None  # tokens reused from the prompt cache
        self.evaluated = None  # tokens evaluated anew (prompt_tokens - cached)
        self.loaded = None  # True if this request loaded (or reloaded) the model
        self.shifted = None  # True if context shift cut the prompt
        self.eval_count = None  # tokens of the reply
        self.error = None  # the text of a too-long refusal


# --- tokens: a deterministic, prefix-stable approximation (see the module's doc) ---

BOS, END, IMAGE = "<|begin|>", "<|end|>", "<|image|>"
_SPECIAL = re.compile(r"(<\|[a-z_]{1,20}\|>)")
_PIECE = re.compile(r" ?[A-Za-z]{1,8}| ?[0-9]{1,3}|\s+|[^\x00-\x7f]| ?[\x21-\x7e]|.", re.S)


def tokenize(text):
    """The tokens of a text: "<|...|>" markers whole, the rest cut into pieces."""
    tokens = []
    for index, part in enumerate(_SPECIAL.split(text)):
        if index % 2:
            tokens.append(part)
        elif part:
            tokens.extend(_PIECE.findall(part))
    return tokens


def count_tokens(text):
    return len(tokenize(text))


def role_marker(role):
    role = role if re.match(r"^[a-z_]{1,20}$", role or "") else "unknown"
    return "<|%s|>" % role


def render_message(message):
    """A message as the fake's template renders it (images are not text)."""
    text = message.get("content") or ""
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    if message.get("tool_calls"):
        text += json.dumps(message["tool_calls"], ensure_ascii=False, sort_keys=True)
    return role_marker(message.get("role")) + text + END


def message_tokens(message, vision=False):
    tokens = tokenize(render_message(message))
    images = message.get("images") or []
    if vision and images:
        tokens[1:1] = [IMAGE] * (IMAGE_TOKENS * len(images))
    return tokens


def render_prompt(messages):
    """The whole prompt text: <|begin|>, the messages, the assistant's turn."""
    text = BOS + "".join(render_message(m) for m in messages)
    if messages and messages[-1].get("role") == "assistant":
        return text[:-len(END)]  # a final assistant message is continued
    return text + role_marker("assistant")


def prompt_tokens(messages, vision=False):
    """The tokens of render_prompt(messages) (plus images on a vision model)."""
    tokens = [BOS]
    for message in messages:
        tokens += message_tokens(message, vision)
    if messages and messages[-1].get("role") == "assistant":
        tokens.pop()
    else:
        tokens.append(role_marker("assistant"))
    return tokens


# --- how Go prints values (ollama show's parameters and Modelfile) ---

def _go_number(value):
    """fmt's %v of a float64 (JSON numbers are float64 to Go): 8192, 0.7, 1e+06."""
    value = float(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    sign, digits, exponent = decimal.Decimal(repr(value)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    if digits == [0]:
        return "-0" if sign else "0"
    text = "".join(map(str, digits))
    point = len(digits) + exponent  # digits before the decimal point
    exp = point - 1
    if exp < -4 or exp >= 6:  # strconv's shortest %g: precision 6 for this decision
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        out = "%se%s%02d" % (mantissa, "-" if exp < 0 else "+", abs(exp))
    elif point <= 0:
        out = "0." + "0" * -point + text
    elif point >= len(text):
        out = text + "0" * (point - len(text))
    else:
        out = text[:point] + "." + text[point:]
    return ("-" if sign else "") + out


def _go_quote(text):
    """strconv.Quote, as %#v prints a string."""
    escapes = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
               "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7f:
            out.append("\\x%02x" % ord(char))
        else:
            out.append(char)
    return '"%s"' % "".join(out)


def _go_value(value, sharp):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_number(value)
    if isinstance(value, str):
        return _go_quote(value) if sharp else value
    return json.dumps(value)


def _modelfile_quote(text):
    """parser.quote: quoted only with a newline or a space at either end."""
    if "\n" in text or text.startswith(" ") or text.endswith(" "):
        return '"""%s"""' % text if '"' in text else '"%s"' % text
    return text


def full_name(name):
    """A name with its tag: "llama3" means "llama3:latest"."""
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def _parameter_count(size):
    match = re.match(r"^([0-9.]+)\s*([KMBT]?)$", size or "")
    if not match:
        return 0
    scale = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "B": 10 ** 9, "T": 10 ** 12}[match.group(2)]
    return int(float(match.group(1)) * scale)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class FakeModel:
    """What the fake knows of one installed model: its Modelfile and GGUF metadata.

    system          the Modelfile's SYSTEM ("" for none)
    parameters      its PARAMETERs, e.g. {"num_ctx": 8192, "stop": ["<|eot_id|>"]}
    context_length  the trained maximum (model_info["<arch>.context_length"])
    capabilities    e.g. ("completion", "tools", "thinking", "vision")
    messages        its MESSAGE lines, [{"role": ..., "content": ...}]
    """

    def __init__(self, name, system="", parameters=None, context_length=8192,
                 capabilities=("completion",), template="{{ .Prompt }}", license="",
                 family="llama", parameter_size="8.0B", quantization_level="Q4_0",
                 messages=(), size=4_661_224_676):
        self.name = full_name(name)
        self.system = system
        self.parameters = dict(parameters or {})
        self.context_length = context_length
        self.capabilities = list(capabilities)
        self.template = template
        self.license = license
        self.family = family
        self.parameter_size = parameter_size
        self.quantization_level = quantization_level
        self.messages = [dict(m) for m in messages]
        self.size = size
        self.digest = hashlib.sha256(self.name.encode("utf-8")).hexdigest()

    @property
    def vision(self):
        return "vision" in self.capabilities

    def details(self, context_length=False):
        details = {"parent_model": "", "format": "gguf", "family": self.family,
                   "families": [self.family], "parameter_size": self.parameter_size,
                   "quantization_level": self.quantization_level}
        if context_length:  # /api/tags since v0.30
            details["context_length"] = self.context_length
        return details

    def tags_entry(self, name=None, context_length=False):
        """One model of /api/tags."""
        name = name or self.name
        return {"name": name, "model": name, "modified_at": MODIFIED_AT, "size": self.size,
                "digest": self.digest, "details": self.details(context_length)}

    def parameters_text(self):
        """show's "parameters": `%-30s %#v` lines, one per value of a list."""
        lines = []
        for key, value in self.parameters.items():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                lines.append("%-30s %s" % (key, _go_value(item, sharp=True)))
        return "\n".join(lines)

    def modelfile(self):
        """show's "modelfile", as Model.String() writes it."""
        lines = ['# Modelfile generated by "ollama show"',
                 "# To build a new Modelfile based on this, replace FROM with:",
                 "# FROM %s" % self.name, "",
                 "FROM /usr/share/ollama/.ollama/models/blobs/sha256-%s" % self.digest]
        if self.template:
            lines.append("TEMPLATE %s" % _modelfile_quote(self.template))
        if self.system:
            lines.append("SYSTEM %s" % _modelfile_quote(self.system))
        for key, value in self.parameters.items():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                lines.append("PARAMETER %s %s" % (key, _modelfile_quote(_go_value(item, False))))
        if self.license:
            lines.append("LICENSE %s" % _modelfile_quote(self.license))
        for message in self.messages:
            lines.append("MESSAGE %s %s" % (message.get("role"),
                                            _modelfile_quote(message.get("content") or "")))
        return "\n".join(lines) + "\n"

    def model_info(self):
        arch = self.family
        info = {"general.architecture": arch, "general.file_type": 2,
                "general.parameter_count": _parameter_count(self.parameter_size),
                "general.quantization_version": 2,
                "%s.context_length" % arch: self.context_length,
                "%s.embedding_length" % arch: 4096}
        return dict(sorted(info.items()))  # Go's encoding/json sorts map keys

    def show(self):
        """The /api/show answer (api.ShowResponse, empty fields left out)."""
        resp = {}
        if self.license:
            resp["license"] = self.license
        resp["modelfile"] = self.modelfile()
        if self.parameters:
            resp["parameters"] = self.parameters_text()
        if self.template:
            resp["template"] = self.template
        if self.system:
            resp["system"] = self.system
        resp["details"] = self.details()
        if self.messages:
            resp["messages"] = [{"role": m.get("role"), "content": m.get("content") or ""}
                                for m in self.messages]
        resp["model_info"] = self.model_info()
        if self.capabilities:
            resp["capabilities"] = list(self.capabilities)
        resp["modified_at"] = MODIFIED_AT
        return resp


def model_entry(name):
    """/api/tags's entry for a model with the default details."""
    return FakeModel(name).tags_entry(name)


class LoadedModel:
    """A model the scheduler has loaded: its window and its runner's prompt cache."""

    def __init__(self, model, num_ctx, shift, expires_at):
        self.model = model  # the FakeModel
        self.num_ctx = num_ctx
        self.shift = shift
        self.expires_at = expires_at
        self.tokens = []  # the cache: the last prompt's tokens and its reply's

    def ps_entry(self):
        size = self.model.size + self.num_ctx * KV_BYTES_PER_TOKEN
        return {"name": self.model.name, "model": self.model.name, "size": size,
                "digest": self.model.digest, "details": self.model.details(),
                "expires_at": _iso(self.expires_at), "size_vram": size,
                "context_length": self.num_ctx}


class _Plan:
    """What the server does with one chat request, before any state changes."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _keep_alive_seconds(value, default):
    """api.Duration: a number of seconds or a Go duration ("5m"); negative: forever (None)."""
    if value is None:
        return default
    if _is_number(value):
        seconds = float(value)
    elif isinstance(value, str):
        units = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60,
                 "h": 3600}
        match = re.match(r"^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|ms|s|m|h))+|0)$",
                         value)
        if not match:
            return default
        seconds = sum(float(number) * units[unit] for number, unit in
                      re.findall(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|ms|s|m|h)", match.group(2)))
        if match.group(1) == "-":
            seconds = -seconds
    else:
        return default
    return None if seconds < 0 else seconds


def _version_tuple(version):
    return tuple(int(n) for n in re.findall(r"\d+", version.split("-")[0])[:3])


class FakeOllama:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0) in a daemon thread.

    models: names ("llama3" means "llama3:latest") or FakeModel objects.
    `models` stays a plain list of installed names that tests may edit; a name
    without details (add_model) has FakeModel's defaults.
    """

    def __init__(self, models=(MODEL,), version="0.12.6", tls=None,
                 default_num_ctx=DEFAULT_NUM_CTX):
        self._first_models = list(models)
        self._first_default_num_ctx = default_num_ctx
        self._first_version = version
        self.requests = []
        self._scripts = {}
        self._events = []
        self._lock = threading.RLock()
        self._restore()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self
        if tls:  # (certfile, keyfile)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self._thread = None

    def _restore(self):
        """The constructor's models, details and settings; nothing loaded."""
        self.models = []
        self.model_details = {}  # full name -> FakeModel
        for model in self._first_models:
            if isinstance(model, FakeModel):
                model = self._copy_model(model)
                self.model_details[model.name] = model
                model = model.name
            self.models.append(model)
        self.version = self._first_version
        self.default_num_ctx = self._first_default_num_ctx  # the server's default window
        self.keep_alive = KEEP_ALIVE  # seconds, when a request gives no keep_alive
        self.loaded = {}  # full name -> LoadedModel
        # The default reply, for the by-hand main(): thinking tokens first, silence
        # before a reply that loads the model, seconds between tokens.
        self.thinking = ()
        self.load_delay = 0.0
        self.gap = 0.0

    @staticmethod
    def _copy_model(model):
        copy = FakeModel.__new__(FakeModel)
        copy.__dict__.update({k: (list(v) if isinstance(v, list) else
                                  dict(v) if isinstance(v, dict) else v)
                              for k, v in model.__dict__.items()})
        return copy

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def url(self):
        """The base address, e.g. http://127.0.0.1:45678."""
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        for event in self._events:
            event.set()  # let held handlers finish
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def reset(self):
        """Back to the constructor's state (to share one fake across tests): no
        requests, no scripted replies, the first models and their details, the
        version, the default window, nothing loaded (so no prompt cache)."""
        with self._lock:
            del self.requests[:]
            self._scripts.clear()
            self._restore()

    def add_model(self, name, **details):
        """Install a model (or change one) with details; see FakeModel for them.

            fake.add_model("qwen3:8b", system="Be brief.", parameters={"num_ctx": 8192},
                           context_length=40960, capabilities=("completion", "thinking"))
        """
        model = FakeModel(name, **details)
        with self._lock:
            self.model_details[model.name] = model
            if model.name not in self.models and name not in self.models:
                self.models.append(model.name)
        return model

    def model(self, name):
        """The details of a model (FakeModel's defaults for one given only by name)."""
        name = full_name(name)
        with self._lock:
            return self.model_details.get(name) or FakeModel(name)

    def script(self, path, *replies):
        """Answer the next requests to path with these replies, in order."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)
            for reply in replies:
                self._events.extend(reply.events())

    def next_reply(self, request):
        with self._lock:
            queue = self._scripts.get(request.route)
            if is_load(request):  # `ollama run` and -i load the model first: not a turn
                queue = self._scripts.get("load")
            reply = queue.popleft() if queue else None
        if reply is None:
            return self.default_reply(request)
        if request.route == "/api/chat" and request.method == "POST":
            self._observe_scripted_chat(request, reply)
        return reply

    @property
    def chat_requests(self):
        """The chat turns: /api/chat requests but those that only load a model."""
        return [r for r in self.requests
                if r.route == "/api/chat" and not is_load(r) and getattr(r, "whole", True)]

    @property
    def load_requests(self):
        return [r for r in self.requests if is_load(r)]

    def since(self, *version):
        """True if the fake plays Ollama `version` or later: since(0, 30)."""
        return _version_tuple(self.version) >= version

    # --- what the real server answers when nothing is scripted ---

    def installed(self, name):
        return full_name(name) in [full_name(n) for n in self.models]

    def default_reply(self, request):
        path, body = request.route, request.json
        if path == "/" or path == "/api/version":
            if path == "/":
                return Reply(body=b"Ollama is running", content_type="text/plain; charset=utf-8")
            return Reply(body=ndjson({"version": self.version}), content_type="application/json")
        if path == "/api/tags":
            with self._lock:
                entries = [self.model(n).tags_entry(n, self.since(0, 30)) for n in self.models]
            return Reply(body=ndjson({"models": entries}),
                         content_type="application/json; charset=utf-8")
        if path == "/api/chat" and request.method == "POST":
            return self.default_chat(body, request)
        if path == "/api/pull" and request.method == "POST":
            return self.default_pull(body)
        if path == "/api/show" and request.method == "POST":
            return self.default_show(body)
        if path == "/api/ps" and request.method == "GET":
            return self.default_ps()
        return Reply(status=404, body=b"404 page not found",
                     content_type="text/plain; charset=utf-8")

    def default_pull(self, body):
        """Pull a model: stream the progress, then the model is installed."""
        name = (body or {}).get("model") or (body or {}).get("name") or ""
        if not name:
            return json_error(400, "model is required")
        with self._lock:
            if not self.installed(name):
                self.models.append(full_name(name))
        return Reply(pull_chunks())

    def default_show(self, body):
        """ShowHandler: the model's details, or 404 as the server words it."""
        if not isinstance(body, dict):
            return json_error(400, "invalid character 'x' looking for beginning of value")
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str):
            return json_error(400, "json: cannot unmarshal into Go struct field ShowRequest")
        if not name:
            return json_error(400, "model is required")
        if not self.installed(name):
            # v0.30 and later name it as DisplayShortest() does ("x:latest").
            shown = full_name(name) if self.since(0, 30) else name
            return json_error(404, "model '%s' not found" % shown)
        return json_reply(self.model(name).show())

    def default_ps(self):
        """PsHandler: the loaded models, the longest time left first."""
        with self._lock:
            self._expire()
            loaded = sorted(self.loaded.values(), key=lambda m: m.expires_at, reverse=True)
            entries = [m.ps_entry() for m in loaded]
        return json_reply({"models": entries})

    def _expire(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        for name in [n for n, m in self.loaded.items() if m.expires_at <= now]:
            del self.loaded[name]

    def default_chat(self, body, request=None):
        request = request or Request("POST", "/api/chat", {}, b"")
        if not isinstance(body, dict):
            return json_error(400, "invalid character 'x' looking for beginning of value")
        model = body.get("model") or ""
        if not isinstance(model, str) or not isinstance(body.get("messages") or [], list):
            return json_error(400, "json: cannot unmarshal into Go struct field ChatRequest")
        if not model:
            return json_error(400, "model is required")
        if not self.installed(model):
            return json_error(404, "model '%s' not found" % model)
        info = self.model(model)
        if "completion" not in info.capabilities:
            return json_error(400, '"%s" does not support chat' % model)
        messages = body.get("messages") or []
        if not messages:
            return self._load_or_unload(info, body, request)
        with self._lock:
            plan = self._plan(info, body)
            self._record(request, plan)
            if plan.error:
                self._commit(plan, None)
                return json_reply({"error": plan.error}, status=400)
            user = [m.get("content") for m in messages
                    if isinstance(m, dict) and m.get("role") == "user"]
            said = echoed(user[-1]) if user and isinstance(user[-1], str) else ""
            words = self.reply_tokens(said)
            thinking = list(self.thinking)
            generated = tokenize("".join(thinking)) + tokenize("".join(words))
            self._commit(plan, generated)
            request.eval_count = len(generated)
        evaluated = request.evaluated
        prompt_eval_count = plan.prompt_tokens
        if self.since(0, 30) and not self.since(0, 30, 1):
            prompt_eval_count = evaluated  # v0.30.0 alone counted new tokens only
        load = 1_000_000_000 if plan.reload else 20_000_000
        stats = {"load_duration": load, "prompt_eval_count": prompt_eval_count,
                 "prompt_eval_duration": evaluated * 5_000_000,
                 "eval_count": len(generated), "eval_duration": len(generated) * 50_000_000}
        stats["total_duration"] = (load + stats["prompt_eval_duration"]
                                   + stats["eval_duration"] + 1_000_000)
        chunks = chat_chunks(*words, model=model, thinking=thinking, stats=stats)
        load_delay = self.load_delay if plan.reload else 0.0
        if body.get("stream") is False:  # one JSON object, the reply's text in it
            final = json.loads(chunks[-1].decode("utf-8"))
            final["message"]["content"] = "".join(words)
            if thinking:
                final["message"]["thinking"] = "".join(thinking)
            reply = json_reply(final)
            reply.load_delay = load_delay
            return reply
        return Reply(chunks, load_delay=load_delay, gap=self.gap)

    def reply_tokens(self, said):
        """The default reply's content chunks."""
        return ["You", " said", ": ", said]

    def _load_or_unload(self, info, body, request):
        """A chat without messages loads the model (or, with keep_alive 0, unloads it)."""
        model = body.get("model")
        with self._lock:
            if _keep_alive_seconds(body.get("keep_alive"), self.keep_alive) == 0:
                self.loaded.pop(info.name, None)
                reason = "unload"
            else:
                plan = self._plan(info, body)
                self._record(request, plan)
                self._commit(plan, None)
                reason = "load"
        return json_reply({"model": model, "created_at": _now(),
                           "message": {"role": "assistant", "content": ""},
                           "done": True, "done_reason": reason})

    def _observe_scripted_chat(self, request, reply):
        """Model a chat request answered by a scripted reply: record what the model
        would see; a 200 reply also loads the model and fills its cache."""
        body = request.json
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) \
                or not body.get("model") or not isinstance(body.get("messages") or [], list):
            return
        with self._lock:
            info = self.model(body["model"])
            if not body.get("messages"):
                if reply.status == 200:
                    plan = self._plan(info, body)
                    self._record(request, plan)
                    self._commit(plan, None)
                return
            plan = self._plan(info, body)
            self._record(request, plan)
            if reply.status == 200:
                generated = _reply_tokens(reply)
                self._commit(plan, None if plan.error else generated)
                request.eval_count = len(generated)

    # --- the model: the window, the Modelfile's messages, dropping, the cache ---

    def window(self, info, options=None):
        """The num_ctx a request runs with (see the module's doc)."""
        options = options if isinstance(options, dict) else {}
        if _is_number(options.get("num_ctx")):
            num_ctx = int(options["num_ctx"])
        elif _is_number(info.parameters.get("num_ctx")):
            num_ctx = int(info.parameters["num_ctx"])
        else:
            num_ctx = self.default_num_ctx
        num_ctx = max(num_ctx, 4)  # sched.go getRunner
        if info.vision:
            num_ctx = max(num_ctx, 2048)  # multimodal models need 2048
        if info.context_length and num_ctx > info.context_length:
            num_ctx = info.context_length  # never above the trained length
        return num_ctx

    def _plan(self, info, body):
        """ChatHandler + chatPrompt + the runner, without changing anything."""
        options = body.get("options") if isinstance(body.get("options"), dict) else {}
        num_ctx = self.window(info, options)
        shift = body.get("shift") is not False
        truncate = body.get("truncate") is not False
        keep_alive = _keep_alive_seconds(body.get("keep_alive"), self.keep_alive)
        sent = [_message(m) for m in body.get("messages") or [] if isinstance(m, dict)]
        messages = [dict(m) for m in info.messages] + sent if sent else []  # [] just loads
        if sent and sent[0]["role"] != "system" and info.system:
            messages.insert(0, {"role": "system", "content": info.system})

        runner = self.loaded.get(info.name)
        reload = runner is None or runner.num_ctx != num_ctx or runner.shift != shift
        cache = [] if reload else runner.tokens
        plan = _Plan(model=info, num_ctx=num_ctx, shift=shift, keep_alive=keep_alive,
                     reload=reload, messages=messages, seen=[], dropped=0, prompt="",
                     tokens=[], prompt_tokens=0, cached=0, evaluated=0, shifted=False,
                     error=None)
        if not messages:
            return plan

        # chatPrompt: from the oldest message on, the first start whose prompt (the
        # system messages before it + the messages from it) fits; at least the last.
        sizes = [len(message_tokens(m, info.vision)) for m in messages]
        tail = -1 if messages[-1]["role"] == "assistant" else 1
        suffix = sum(sizes)
        systems = 0
        cut = 0
        if truncate:
            for i, size in enumerate(sizes):
                if 1 + systems + suffix + tail <= num_ctx or i == len(messages) - 1:
                    cut = i
                    break
                if messages[i]["role"] == "system":
                    systems += size
                suffix -= size
        seen = [m for m in messages[:cut] if m["role"] == "system"] + messages[cut:]
        tokens = prompt_tokens(seen, info.vision)
        plan.seen, plan.dropped = seen, len(messages) - len(seen)
        plan.prompt = render_prompt(seen)

        # The runner: refuse, or shift, a prompt that is still too long.
        options = dict(info.parameters, **options)
        num_keep = int(options["num_keep"]) if _is_number(options.get("num_keep")) else 4
        if not truncate:
            if len(tokens) > num_ctx:
                plan.error = INPUT_TOO_LONG
                if self.since(0, 30):  # llama-server's own error, passed on as it is
                    plan.error = json.dumps({"error": {
                        "code": 400, "message": "request (%d tokens) exceeds the available "
                        "context size (%d tokens), try increasing it" % (len(tokens), num_ctx),
                        "type": "exceed_context_size_error", "n_prompt_tokens": len(tokens),
                        "n_ctx": num_ctx}}, separators=(",", ":"))
        elif self.since(0, 30):  # llm/llama_server.go completionPromptForRequest
            if len(tokens) > num_ctx - 1:
                if not shift:
                    plan.error = PROMPT_TOO_LONG
                else:
                    keep = len(tokens) if num_keep < 0 else num_keep
                    keep = min(keep + 1, num_ctx - 1)  # + the BOS token
                    limit = num_ctx - max((num_ctx - keep) // 2, 1)
                    tokens = tokens[:keep] + tokens[len(tokens) - (limit - keep):]
                    plan.shifted = True
        elif len(tokens) > num_ctx:  # the runner's NewSequence before v0.30
            keep = min(len(tokens) if num_keep < 0 else num_keep, num_ctx - 1)
            discard = len(tokens) - num_ctx
            tokens = tokens[:keep] + tokens[keep + discard:]
            plan.shifted = True
        plan.tokens, plan.prompt_tokens = tokens, len(tokens)
        if plan.error:
            return plan

        # The prompt cache: the longest common prefix, but one token is always evaluated.
        common = 0
        for old, new in zip(cache, tokens):
            if old != new:
                break
            common += 1
        plan.cached = min(common, len(tokens) - 1)
        plan.evaluated = len(tokens) - plan.cached
        return plan

    @staticmethod
    def _record(request, plan):
        request.num_ctx = plan.num_ctx
        request.seen = [dict(m) for m in plan.seen]
        request.dropped = plan.dropped
        request.prompt = plan.prompt
        request.prompt_tokens = plan.prompt_tokens
        request.cached = plan.cached
        request.evaluated = plan.evaluated
        request.loaded = plan.reload
        request.shifted = plan.shifted
        request.error = plan.error

    def _commit(self, plan, generated):
        """The scheduler loads the model (emptying the cache on a reload); a reply
        leaves its prompt and generated tokens in the cache."""
        now = datetime.datetime.now(datetime.timezone.utc)
        if plan.keep_alive is None:
            expires = now + datetime.timedelta(days=106_751)  # Go's time.Duration maximum
        else:
            expires = now + datetime.timedelta(seconds=plan.keep_alive)
        runner = self.loaded.get(plan.model.name)
        if plan.reload or runner is None:
            runner = self.loaded[plan.model.name] = LoadedModel(plan.model, plan.num_ctx,
                                                                plan.shift, expires)
        runner.model, runner.expires_at = plan.model, expires
        if generated is not None:
            runner.tokens = list(plan.tokens) + list(generated)
        if plan.keep_alive == 0:
            del self.loaded[plan.model.name]


def is_load(request):
    """A chat request with no messages for a named model: it only loads the model
    (scripted replies for it go to script("load", ...), not to the turns')."""
    body = request.json
    return (request.route == "/api/chat" and isinstance(body, dict) and body.get("model")
            and body.get("messages") == [])


def echoed(text):
    """What the default reply repeats of a message: without ollama_chat's time line."""
    if text.startswith("[") and "]\n" in text:
        return text.partition("]\n")[2]
    return text


def _message(message):
    """A request's message as the server decodes it (roles are lowercased)."""
    message = dict(message)
    message["role"] = str(message.get("role") or "").lower()
    return message


def _reply_tokens(reply):
    """The tokens a scripted 200 reply generated: its thinking and content."""
    data = reply.body if reply.body is not None else b"".join(reply.chunks)
    thinking, content = [], []
    for line in data.split(b"\n"):
        try:
            chunk = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):  # a test's garbage, nested too deep
            continue
        message = chunk.get("message") if isinstance(chunk, dict) else None
        if isinstance(message, dict):
            if isinstance(message.get("thinking"), str):
                thinking.append(message["thinking"])
            if isinstance(message.get("content"), str):
                content.append(message["content"])
    return tokenize("".join(thinking)) + tokenize("".join(content))


def pull_chunks(total=4_000_000_000, steps=4, digest="sha256:365c0bd3c000"):
    """What /api/pull streams: the manifest, a layer's progress, verifying, success."""
    lines = [ndjson({"status": "pulling manifest"})]
    for step in range(steps + 1):
        lines.append(ndjson({"status": "pulling %s" % digest[7:19], "digest": digest,
                             "total": total, "completed": total * step // steps}))
    lines += [ndjson({"status": "verifying sha256 digest"}), ndjson({"status": "writing manifest"}),
              ndjson({"status": "success"})]
    return lines


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._answer()

    do_POST = do_HEAD = do_DELETE = do_GET

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, dict(self.headers.items()), body)
        request.whole = len(body) == length  # not a client that hung up while sending
        fake = self.server.fake
        with fake._lock:
            fake.requests.append(request)
        reply = fake.next_reply(request)
        try:
            self._send(reply, request)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            request.disconnected.set()
        self.close_connection = True

    def _send(self, reply, request):
        if reply.hold and not self._wait(reply.hold, request):
            return
        if reply.load_delay:
            time.sleep(reply.load_delay)
        self.send_response_only(reply.status)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.body is not None or reply.status != 200:
            body = reply.body or b""
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.send_chunks(reply, request)

    def send_chunks(self, reply, request):
        """The reply's chunks, one HTTP chunk each, as Go's net/http flushes them."""
        self.wfile.flush()
        for index, chunk in enumerate(reply.chunks):
            if reply.hold_at and reply.hold_at[0] == index and not self._wait(reply.hold_at[1],
                                                                             request):
                return
            if index and reply.gap:
                time.sleep(reply.gap)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        if not reply.cut:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _wait(self, event, request):
        """Wait for the test's event; False if the client hung up meanwhile."""
        while not event.wait(0.02):
            if self._client_gone():
                request.disconnected.set()
                return False
        return True

    def _client_gone(self):
        sock = self.connection
        if isinstance(sock, ssl.SSLSocket):
            return False  # TLS cannot peek; held TLS replies wait for the event
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ssl.SSLError, ValueError):
            return True


def main(argv=None):
    """Serve the fake on a fixed port, to try the client by hand without Ollama."""
    import argparse
    parser = argparse.ArgumentParser(description="A fake Ollama for trying ollama_chat.py.")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--load-delay", type=float, default=2.0,
                        help="seconds of silence before a reply that loads the model "
                             "(the first one, or after num_ctx changed)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between tokens")
    parser.add_argument("--think", action="store_true", help="stream some thinking first")
    parser.add_argument("--num-ctx", type=int, default=DEFAULT_NUM_CTX,
                        help="the server's default window (tokens)")
    parser.add_argument("--system", default="", help="the model's own SYSTEM prompt")
    args = parser.parse_args(argv)
    fake = FakeOllama(default_num_ctx=args.num_ctx)
    fake._first_models = [FakeModel(MODEL, system=args.system)]
    fake.reset()
    fake.httpd.server_close()
    fake.httpd = ThreadingHTTPServer(("127.0.0.1", args.port), _Handler)
    fake.httpd.daemon_threads = True
    fake.httpd.fake = fake
    fake.load_delay, fake.gap = args.load_delay, args.gap
    if args.think:
        fake.thinking = ["The user ", "said something. ", "I will echo it."]
    fake.reply_tokens = lambda said: ["You", " said", ": "] + list(said)
    print("fake Ollama on %s (Ctrl+C stops it)" % fake.url)
    try:
        fake.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
