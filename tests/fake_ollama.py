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
"""

import datetime
import json
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "llama3:latest"


def ndjson(obj):
    """One NDJSON line, as Ollama writes it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def chat_chunks(*tokens, model=MODEL, thinking=(), done_reason="stop", final_text="",
                done=True):
    """The chunks of one streamed reply: thinking tokens, answer tokens, the final line.

    Each chunk is one NDJSON line, as Go's net/http flushes them.
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
        lines.append(ndjson(final_chunk(model, final_text, done_reason, len(tokens))))
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
    """What the client sent."""

    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.route = urllib.parse.urlsplit(path).path  # a proxy is sent absolute URLs
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None
        self.disconnected = threading.Event()  # set when the client hung up early


class FakeOllama:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0) in a daemon thread."""

    def __init__(self, models=(MODEL,), version="0.12.6", tls=None):
        self.models = list(models)
        self._first_models = list(models)
        self.version = version
        self.requests = []
        self._scripts = {}
        self._events = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self
        if tls:  # (certfile, keyfile)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self._thread = None

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
        """Forget the requests and the scripted replies (to share one fake across tests)."""
        with self._lock:
            del self.requests[:]
            self._scripts.clear()
            self.models = list(self._first_models)

    def script(self, path, *replies):
        """Answer the next requests to path with these replies, in order."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)
            for reply in replies:
                self._events.extend(reply.events())

    def next_reply(self, request):
        with self._lock:
            queue = self._scripts.get(request.route)
            if queue:
                return queue.popleft()
        return self.default_reply(request)

    @property
    def chat_requests(self):
        return [r for r in self.requests if r.route == "/api/chat"]

    # --- what the real server answers when nothing is scripted ---

    def installed(self, name):
        name = name if ":" in name else name + ":latest"
        return name in self.models

    def default_reply(self, request):
        path, body = request.route, request.json
        if path == "/" or path == "/api/version":
            if path == "/":
                return Reply(body=b"Ollama is running", content_type="text/plain; charset=utf-8")
            return Reply(body=ndjson({"version": self.version}), content_type="application/json")
        if path == "/api/tags":
            return Reply(body=ndjson({"models": [model_entry(n) for n in self.models]}),
                         content_type="application/json; charset=utf-8")
        if path == "/api/chat" and request.method == "POST":
            return self.default_chat(body)
        if path == "/api/pull" and request.method == "POST":
            return self.default_pull(body)
        return Reply(status=404, body=b"404 page not found",
                     content_type="text/plain; charset=utf-8")

    def default_pull(self, body):
        """Pull a model: stream the progress, then the model is installed."""
        name = (body or {}).get("model") or (body or {}).get("name") or ""
        if not name:
            return json_error(400, "model is required")
        self.models.append(name if ":" in name else name + ":latest")
        return Reply(pull_chunks())

    def default_chat(self, body):
        if not isinstance(body, dict):
            return json_error(400, "invalid character 'x' looking for beginning of value")
        model = body.get("model") or ""
        if not model:
            return json_error(400, "model is required")
        if not self.installed(model):
            return json_error(404, "model '%s' not found" % model)
        user = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
        said = user[-1] if user else ""
        return Reply(chat_chunks("You", " said", ": ", said, model=model))


def pull_chunks(total=4_000_000_000, steps=4, digest="sha256:365c0bd3c000"):
    """What /api/pull streams: the manifest, a layer's progress, verifying, success."""
    lines = [ndjson({"status": "pulling manifest"})]
    for step in range(steps + 1):
        lines.append(ndjson({"status": "pulling %s" % digest[7:19], "digest": digest,
                             "total": total, "completed": total * step // steps}))
    lines += [ndjson({"status": "verifying sha256 digest"}), ndjson({"status": "writing manifest"}),
              ndjson({"status": "success"})]
    return lines


def model_entry(name):
    return {"name": name, "model": name, "modified_at": "2026-10-01T09:00:00Z",
            "size": 4_661_224_676, "digest": "365c0bd3c000",
            "details": {"format": "gguf", "family": "llama", "parameter_size": "8.0B",
                        "quantization_level": "Q4_0"}}


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
        self.wfile.flush()
        for index, chunk in enumerate(reply.chunks):
            if reply.hold_at and reply.hold_at[0] == index and not self._wait(reply.hold_at[1], request):
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
                        help="seconds of silence before each reply (a model loading)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between tokens")
    parser.add_argument("--think", action="store_true", help="stream some thinking first")
    args = parser.parse_args(argv)
    fake = FakeOllama()
    fake.httpd.server_close()
    fake.httpd = ThreadingHTTPServer(("127.0.0.1", args.port), _Handler)
    fake.httpd.daemon_threads = True
    fake.httpd.fake = fake

    def slow_chat(body):
        reply = FakeOllama.default_chat(fake, body)
        if reply.status == 200:
            said = [m["content"] for m in body["messages"] if m.get("role") == "user"][-1]
            thinking = ["The user ", "said something. ", "I will echo it."] if args.think else ()
            words = ["You", " said", ": "] + [c for c in said]
            reply = Reply(chat_chunks(*words, model=body["model"], thinking=thinking),
                          load_delay=args.load_delay, gap=args.gap)
        return reply
    fake.default_chat = slow_chat
    print("fake Ollama on %s (Ctrl+C stops it)" % fake.url)
    try:
        fake.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
