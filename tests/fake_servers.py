"""Stand-ins for the servers that are not Ollama but answer at "the Ollama URL".

Users point API_URL at LM Studio, llama.cpp's llama-server, vLLM, a LiteLLM
proxy, LocalAI, Open WebUI, Jan or an "Ollama API" lookalike proxy. Each class
here answers as that server does: the statuses, headers and bodies of
/api/chat, /api/tags, /api/version, /v1/models and a streamed
/v1/chat/completions. They are FakeOllama subclasses, so scripting
(`script(path, Reply...)`), recorded `requests` and `reset()` work as in
fake_ollama; a scripted reply also gets the server's own headers (Server,
X-Powered-By...) unless it sets them.

    with FakeVLLM(api_key="sk-1") as server:
        ... point the client at server.url ...
        server.requests[-1].headers["Authorization"]

With nothing scripted a chat completion echoes as fake_ollama does: "You said:
<last user message>" in a few deltas (a leading "[...]\\n" line stripped),
finish_reason "stop", a usage chunk when `stream_options.include_usage`.

Misbehaving on demand, as proxies and crashes do: constructor flags change
every unscripted stream, `server.sse_reply(*tokens, **flags)` builds one
stream in the server's own format to script. The flags:

    cut=True            the connection closes before any finish_reason
    no_done=True        the stream ends after the finish_reason, no [DONE]
    crlf=True           lines end in CRLF
    merge=True          all events in one HTTP chunk
    split=N             the bytes cut every N bytes (mid-line, mid-character)
    finish_reason="length"
    error_after=N       after N deltas, the server's error event (error="text")
    comments=True       a ": keep-alive" comment line before each event
    reasoning=(...)     thinking deltas first, in the server's field
    gap=SECONDS         between HTTP chunks

`sse_event(obj)` and `sse_chunks(*tokens, ...)` build plain OpenAI-shaped SSE
bytes for fake_ollama.Reply(content_type="text/event-stream").

What each imitates, and where the facts come from (OTHER_SERVERS.md in the
shared folder, and the servers' sources as stored in 2026):

FakeLlamaCpp (llama-server, 8080) - tools/server/server.cpp (routes; builds
  with `/api/chat` -> the OpenAI chat handler, `/api/tags` -> the models
  handler, `/api/show`: `ollama_routes=True`, the default; later builds
  dropped them: `ollama_routes=False`), server-http.cpp (`Server: llama.cpp`
  on every answer, `X-Accel-Buffering: no` on streams, the 404 body
  {"error":{"message":"File Not Found","type":"not_found_error","code":404}},
  the API key checked before routing except for /health, /models, /v1/models
  (and /api/tags, which those builds marked public): 401 "Invalid API Key",
  "authentication_error"), server-common.cpp (format_error_response's
  {"code","message","type"}, format_oai_sse's "data: <json>\\n\\n"),
  server-task.cpp (first delta {"role":"assistant","content":null}, deltas in
  content / reasoning_content, a final chunk with delta {} and finish_reason,
  with include_usage a chunk with "choices": [] and usage, `timings` on the
  last chunk), server-context.cpp (an error inside the stream is
  `data: {"error": {...}}` and the stream ends without [DONE]; [DONE] after a
  normal end). Single-model: any model name is accepted and echoed back.
  /models also answers Ollama's shape ("models": [...] beside "data"), and
  /api/tags gives that same body (its "size" is "", not a number).
FakeLMStudio (1234) - closed source: OTHER_SERVERS.md plus the bug tracker
  (lmstudio-bug-tracker #618: an unknown endpoint is 200
  {"error":"Unexpected endpoint or method. (POST /chat/completions)"} with
  X-Powered-By: Express, an ETag, Connection: keep-alive, Keep-Alive:
  timeout=5; #619: with one model loaded the requested name is ignored;
  gitbutler #8706 / letta #1876: with several, 404 "model_not_found" in
  pretty-printed JSON; opencode-lmstudio #41: the 0.4 API token refusal).
  owned_by "organization_owner", thinking in reasoning_content. The stream's
  exact chunk fields (system_fingerprint = the model, role in every delta)
  are as commonly seen, not from source.
FakeVLLM (8000) - vllm/entrypoints/openai: server_utils.py
  (AuthenticationMiddleware: only paths under /v1, 401 {"error":
  "Unauthorized"}), models/serving.py (404 "The model `x` does not exist.",
  type NotFoundError, param "model"; ModelCard owned_by "vllm", root,
  parent, max_model_len, permission), chat_completion/serving.py (first
  delta {"role":"assistant","content":""}, logprobs null, the finish chunk
  carries stop_reason, a usage chunk with "choices": [], an error inside the
  stream as `data: {"error": ...}` followed by [DONE]); thinking in
  "reasoning" (`reasoning_field="reasoning_content"` for older builds).
  FastAPI/uvicorn: unknown routes {"detail":"Not Found"}, a known route with
  the wrong method 405 {"detail":"Method Not Allowed"}, lowercase headers with
  `server: uvicorn`, streams as "text/event-stream; charset=utf-8".
FakeLiteLLM (4000) - litellm/proxy: ProxyException.to_dict ({"message",
  "type","param","code"} with code a string), the 400 "Invalid model name
  passed in model=..." and 401 "Authentication Error, ..." bodies as the
  issue threads quote them, /v1/models owned_by "openai" created 1677610602,
  chunks dumped with exclude_none (no null finish_reason), the error event
  written with json.dumps (spaces) and no [DONE] after it; FastAPI/uvicorn.
FakeLocalAI (8080) - mudler/LocalAI core/http: routes/ollama.go,
  endpoints/ollama/{chat,models,helpers}.go (NDJSON /api/chat whose final
  line has only done_reason, total_duration, prompt_eval_count, eval_count;
  a failed generation ends with {"model":..,"created_at":..,"message":
  {"role":"","content":""},"done":true,"done_reason":"error"} and no text;
  /api/version "0.9.0"; /api/tags "x:latest" names, size 0, sha256 of the
  name; `ollama_api=False` for builds before Apr 2026), middleware/
  request.go (unknown model: 404 'model "x" not found. To see available
  models, call GET /v1/models'), render.go / app.go (404 {"error":{"code":
  404,"message":"Resource not found","type":""}}), auth/middleware.go (401
  "An authentication key is required", WWW-Authenticate: Bearer),
  middleware/security_headers.go, endpoints/openai/{chat,
  chat_stream_workers,chat_emit}.go (first delta {"role":"assistant",
  "content":null}, thinking in "reasoning" beside "content": null, final
  delta {"content":null}, the usage trailer, an error event then [DONE]),
  list.go (/v1/models: id and object only). Echo writes JSON plus "\\n".
FakeOpenWebUI (3000) - backend/open_webui: routers/ollama.py (/ollama/api/
  chat passes Ollama's NDJSON and headers through, a name without a tag
  gets ":latest", an unknown one 400 {"detail":"Model 'x:latest' was not
  found"}, Ollama's errors become {"detail": ...}; /ollama/api/tags adds
  "urls"), utils/auth.py (no token: 403 {"detail":"Not authenticated"}; an
  unknown "sk-" key: 401 "Your session has expired or the token is
  invalid. Please sign in again."; another token: 401 "401 Unauthorized"),
  constants.py, main.py (GET /api/version is Open WebUI's own version; every
  other GET falls through to the SPA's index.html with 200, any other method
  there is 405 {"detail":"Method Not Allowed"}). Its OpenAI endpoint
  /api/chat/completions is not modelled (script it).
FakeJan (1337, prefix /v1) - src-tauri/src/core/server/proxy.rs: with a key,
  401 "Missing authorization header" or "Invalid or missing authorization
  token" (text, no content type) before routing; unknown paths 404 "Not
  Found"; /v1/models {"id","object","created":1,"owned_by":"user"}; a chat
  for a model with no running session 404 "No running session found for
  model 'x'", none running 503 "No models are available"; a chat is proxied
  to llama-server: llama.cpp's stream and headers, plus CORS headers.
  Host-header checks are not modelled.
FakeLookalike - OTHER_SERVERS.md only (ollama-openai-proxy 0.7.0): /api/chat
  answers /api/generate-style chunks ("response", no "message"), sends
  done: true twice, an unknown model gets 200 with an empty body;
  /api/version "0.1.42". Its framework is unknown: it sends no Server header
  and answers other paths 404 {"detail":"Not Found"} (an assumption).
FakeOllamaOpenAI - Ollama itself with its /v1 endpoints: openai/openai.go
  and middleware/openai.go (every delta has role "assistant", thinking in
  "reasoning", the last chunk has delta {"role":"assistant","content":""}
  and finish_reason, system_fingerprint "fp_ollama", include_usage adds a
  chunk with "choices": [], errors {"error":{"message","type","param":null,
  "code":null}}, /v1/models owned_by the namespace "library"; an error in
  the middle of the stream comes out as an empty chunk and no [DONE]).

Run one by hand, to try the client against it:

    python3 tests/fake_servers.py --server lmstudio --port 1234
    python3 tests/fake_servers.py --server llamacpp --port 8080 --think
"""

import base64
import hashlib
import json
import random
import string
import sys
import time
import uuid
from http.server import ThreadingHTTPServer

from fake_ollama import (MODEL, FakeOllama, Reply, _Handler, _now, echoed, merged,
                         prompt_tokens, split_every, tokenize)

SSE_DONE = b"data: [DONE]\n\n"
SSE_COMMENT = b": keep-alive\n\n"
LITELLM_CREATED = 1677610602  # the "created" LiteLLM gives every model in /v1/models
LLAMACPP_BUILD = "b6666-1a2b3c4d"  # llama_build_info(), the system_fingerprint
SPA_PAGE = (b'<!doctype html>\n<html lang="en">\n\t<head>\n\t\t<meta charset="utf-8" />\n'
            b'\t\t<title>Open WebUI</title>\n\t</head>\n'
            b'\t<body data-sveltekit-preload-data="hover">\n'
            b'\t\t<div style="display: contents"></div>\n\t</body>\n</html>\n')


# --- JSON as each server writes it ---

def compact(obj):
    """nlohmann dump(-1), pydantic, Starlette: no spaces, UTF-8 as is."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def go_json(obj):
    """Go's encoding/json: compact, <, > and & escaped."""
    text = compact(obj)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def sse_event(obj):
    """One SSE event: "data: <compact json>" and a blank line ("[DONE]" as is)."""
    data = obj if isinstance(obj, str) else compact(obj)
    return b"data: " + data.encode("utf-8") + b"\n\n"


def sse_chunks(*tokens, reasoning=(), finish_reason="stop", usage=None, model=MODEL,
               reasoning_field="reasoning_content", role_first=True, done=True):
    """The events of one OpenAI-style stream, each one HTTP chunk.

    role_first: True for a first delta {"role": "assistant"}, a dict for that
    first delta, False for none. usage: a dict, or True for made-up counts.
    finish_reason None: no finish chunk. done: end with "data: [DONE]".
    """
    base = {"id": "chatcmpl-" + _random_id(24), "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def chunk(delta, finish=None):
        return sse_event(dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                               "finish_reason": finish}]))
    events = []
    if role_first:
        events.append(chunk({"role": "assistant"} if role_first is True else dict(role_first)))
    events += [chunk({reasoning_field: text}) for text in reasoning]
    events += [chunk({"content": text}) for text in tokens]
    if finish_reason:
        events.append(chunk({}, finish_reason))
    if usage:
        if usage is True:
            usage = _usage_counts(8, len(tokens))
        events.append(sse_event(dict(base, choices=[], usage=usage)))
    if done:
        events.append(SSE_DONE)
    return events


def shape(events, crlf=False, merge=False, split=None, comments=False):
    """Events as HTTP chunks, the way a proxy or a broken server sends them."""
    if comments:
        events = [part for event in events for part in (SSE_COMMENT, event)]
    if crlf:
        events = [event.replace(b"\n", b"\r\n") for event in events]
    if merge:
        events = merged(events)
    if split:
        events = split_every(events, split)
    return events


def parse_sse(data):
    """The data of each event in SSE bytes (CRLF or LF, comments skipped), as
    strings; "[DONE]" stays a string, JSON is decoded."""
    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    events = []
    for block in text.split("\n\n"):
        lines = [line[6:] if line.startswith("data: ") else line[5:]
                 for line in block.split("\n") if line.startswith("data:")]
        if lines:
            joined = "\n".join(lines)
            events.append(joined if joined == "[DONE]" else json.loads(joined))
    return events


def _random_id(length, alphabet=string.ascii_letters + string.digits):
    return "".join(random.choice(alphabet) for _ in range(length))


def _usage_counts(prompt, completion):
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _header(request, name):
    for key, value in request.headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _bearer(request):
    """The token of "Authorization: Bearer <token>", None without one."""
    value = _header(request, "Authorization")
    if value is None:
        return None
    return value[7:] if value.startswith("Bearer ") else ""


def _etag(body):
    """Express's weak ETag: length in hex and 27 characters of the SHA-1."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return 'W/"%x-%s"' % (len(body), digest)


def _text(status, text, content_type=None):
    return Reply(status=status, body=text.encode("utf-8"), content_type=content_type)


# --- the common machinery ---

class FakeServer(FakeOllama):
    """A FakeOllama that answers as another server: subclasses fill in routes(),
    chunk shapes and errors. Constructor flags: see the module's doc."""

    name = "server"
    header_style = "plain"  # how the server orders and spells its headers
    server_headers = ()  # (name, value) on every answer
    reasoning_field = "reasoning_content"
    first_delta = {"role": "assistant"}  # None: no role-only first chunk
    sse_type = "text/event-stream"
    json_type = "application/json"
    default_models = (MODEL,)
    done_after_error = False  # does [DONE] follow an error event?
    routes_before_key = False  # True: the key is checked only on a matched route (FastAPI)

    def __init__(self, models=None, api_key=None, reasoning=(), gap=0.0, cut=False,
                 no_done=False, crlf=False, merge=False, split=None, finish_reason="stop",
                 error_after=None, error=None, comments=False, tls=None, **settings):
        faults = dict(cut=cut, no_done=no_done, crlf=crlf, merge=merge, split=split,
                      finish_reason=finish_reason, error_after=error_after, error=error,
                      comments=comments)
        self._first_settings = dict(settings, api_key=api_key, thinking=tuple(reasoning),
                                    gap=gap, faults=faults)
        super().__init__(models=self.default_models if models is None else models, tls=tls)
        self.httpd.RequestHandlerClass = _ServerHandler

    def _restore(self):
        super()._restore()
        for key, value in self._first_settings.items():
            setattr(self, key, dict(value) if isinstance(value, dict) else value)

    # --- routing ---

    def routes(self):
        """{(method, path): handler(request) -> Reply} of the unscripted answers."""
        return {}

    def default_reply(self, request):
        routes = self.routes()
        handler = routes.get((request.method, request.route))
        if handler is None and self.routes_before_key:
            return self.unrouted(request, any(path == request.route for _, path in routes))
        refusal = self.refuse_key(request)
        if refusal is not None:
            return refusal
        if handler is not None:
            return handler(request)
        return self.unrouted(request, any(path == request.route for _, path in routes))

    def unrouted(self, request, known):
        return _text(404, "Not Found")

    def refuse_key(self, request):
        """The answer to a request without the right key, or None to go on."""
        return None

    def json(self, obj, status=200, dumps=compact, newline=False):
        body = (dumps(obj) + ("\n" if newline else "")).encode("utf-8")
        return Reply(status=status, body=body, content_type=self.json_type)

    # --- the chat completion ---

    def chat_completion(self, request):
        body = request.json
        if not isinstance(body, dict):
            return self.bad_body(request)
        refusal = self.refuse_model(body.get("model"))
        if refusal is not None:
            return refusal
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        tokens = self.reply_tokens(last_said(messages))
        usage = self.count(messages, tokens)
        model = self.served_model(body.get("model"))
        if body.get("stream") is not True:
            return self.completion_reply(model, tokens, usage)
        options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
        return self.sse_reply(*tokens, model=model, reasoning=self.thinking, gap=self.gap,
                              counts=usage, usage=bool(options.get("include_usage")),
                              **self.faults)

    def bad_body(self, request):
        return self.json({"error": {"message": "invalid JSON body", "type": "invalid_request_error",
                                    "param": None, "code": None}}, status=400)

    def refuse_model(self, model):
        return None

    def served_model(self, model):
        return model if isinstance(model, str) and model else self.models[0]

    def count(self, messages, tokens):
        """(prompt tokens, completion tokens), fake_ollama's approximation."""
        clean = [{"role": str(m.get("role") or ""), "content": m.get("content")
                  if isinstance(m.get("content"), str) else ""} for m in messages]
        generated = tokenize("".join(self.thinking)) + tokenize("".join(tokens))
        return len(prompt_tokens(clean)), len(generated)

    def completion_reply(self, model, tokens, usage):
        ctx = self.stream_context(model)
        message = {"role": "assistant", "content": "".join(tokens)}
        if self.thinking:
            message[self.reasoning_field] = "".join(self.thinking)
        return self.json(dict(ctx, object="chat.completion", choices=[
            {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            usage=self.usage_body(*usage)))

    def sse_reply(self, *tokens, model=None, reasoning=(), finish_reason="stop", usage=False,
                  counts=None, cut=False, no_done=False, error_after=None, error=None,
                  crlf=False, merge=False, split=None, comments=False, gap=0.0):
        """One stream in this server's format (see the module's doc for the flags).
        usage: send the usage chunk; counts: its (prompt, completion) tokens."""
        ctx = self.stream_context(model or self.models[0])
        events = []
        if self.first_delta is not None:
            events.append(self.event(self.chunk(ctx, dict(self.first_delta))))
        pieces = ([(self.reasoning_field, text) for text in reasoning]
                  + [("content", text) for text in tokens])
        for index, (field, text) in enumerate(pieces):
            if error_after is not None and index >= error_after:
                break
            events.append(self.event(self.chunk(ctx, self.delta(field, text))))
        if error_after is not None and error_after <= len(pieces):
            events += self.error_events(ctx, error or "the model crashed (fake)")
        elif not cut:
            counts = counts or (8, len(reasoning) + len(tokens))
            events += self.finish_events(ctx, finish_reason, counts if usage else None, counts)
            if not no_done:
                events.append(SSE_DONE)
        return Reply(shape(events, crlf, merge, split, comments), content_type=self.sse_type,
                     headers=self.stream_headers(), cut=cut, gap=gap)

    def stream_context(self, model):
        return {"id": "chatcmpl-" + _random_id(24), "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}

    def stream_headers(self):
        return {}

    def event(self, obj):
        return sse_event(obj)

    def chunk(self, ctx, delta, finish_reason=None):
        return dict(ctx, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                   "finish_reason": finish_reason}])

    def delta(self, field, text):
        return {field: text}

    def finish_events(self, ctx, finish_reason, usage, counts):
        """The finish chunk, and the usage chunk when usage (the counts) is given."""
        events = [self.event(self.chunk(ctx, {}, finish_reason))]
        if usage is not None:
            events.append(self.event(dict(ctx, choices=[], usage=self.usage_body(*usage))))
        return events

    def usage_body(self, prompt, completion):
        return _usage_counts(prompt, completion)

    def error_events(self, ctx, message):
        events = [self.event({"error": {"message": message, "type": "server_error",
                                        "param": None, "code": None}})]
        return events + ([SSE_DONE] if self.done_after_error else [])

    # --- headers ---

    def wire_headers(self, reply, body, date):
        """The header lines of an answer (body None: streamed), as the server
        orders and spells them."""
        headers = list(self.server_headers)
        if reply.content_type:
            headers.append(("Content-Type", reply.content_type))
        headers += list(reply.headers.items())
        if body is None:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(len(body))))
        return _arrange(self.header_style, headers, date, body)


def last_said(messages):
    """The last user message's text, without the client's time line."""
    said = [echoed(m["content"]) for m in messages
            if m.get("role") == "user" and isinstance(m.get("content"), str)]
    return said[-1] if said else ""


def _arrange(style, headers, date, body):
    if style == "uvicorn":  # uvicorn's date and server first, Starlette's names lowercased
        return [("date", date), ("server", "uvicorn")] + [(n.lower(), v) for n, v in headers]
    if style == "httplib":  # cpp-httplib: a case-insensitively sorted multimap, no Date
        return sorted(headers, key=lambda header: header[0].lower())
    if style == "go":  # net/http writes the header map sorted, with Date
        return sorted(headers + [("Date", date)], key=lambda header: header[0])
    if style == "hyper":  # hyper: lowercase names, date last
        return [(n.lower(), v) for n, v in headers] + [("date", date)]
    if style == "express":  # Express adds its ETag after the length, Node the rest
        etag = [("ETag", _etag(body))] if body is not None else []
        return headers + etag + [("Date", date), ("Connection", "keep-alive"),
                                 ("Keep-Alive", "timeout=5")]
    return [("Date", date)] + headers


class _ServerHandler(_Handler):
    """fake_ollama's handler, with the headers as the imitated server sends them."""

    def _send(self, reply, request):
        if reply.hold and not self._wait(reply.hold, request):
            return
        if reply.load_delay:
            time.sleep(reply.load_delay)
        streamed = reply.body is None and reply.status == 200
        body = None if streamed else (reply.body or b"")
        self.send_response_only(reply.status)
        for name, value in self.server.fake.wire_headers(reply, body, self.date_time_string()):
            self.send_header(name, value)
        self.end_headers()
        if not streamed:
            self.wfile.write(body)
            return
        self.send_chunks(reply, request)


# --- llama.cpp's llama-server ---

class FakeLlamaCpp(FakeServer):
    """llama-server with one model. Settings: ollama_routes=True (the builds
    with /api/chat, /api/tags, /api/show), n_ctx=4096 (its slots' window)."""

    name = "llamacpp"
    header_style = "httplib"
    server_headers = (("Server", "llama.cpp"),)
    first_delta = {"role": "assistant", "content": None}
    json_type = "application/json; charset=utf-8"
    default_models = ("Qwen3-8B-Q4_K_M.gguf",)
    public_paths = ("/health", "/v1/health", "/models", "/v1/models", "/")

    def __init__(self, models=None, ollama_routes=True, n_ctx=4096, **flags):
        super().__init__(models=models, ollama_routes=ollama_routes, n_ctx=n_ctx, **flags)

    def routes(self):
        routes = {("GET", "/health"): lambda r: self.json({"status": "ok"}),
                  ("GET", "/v1/health"): lambda r: self.json({"status": "ok"}),
                  ("GET", "/models"): self.models_list, ("GET", "/v1/models"): self.models_list,
                  ("POST", "/chat/completions"): self.chat_completion,
                  ("POST", "/v1/chat/completions"): self.chat_completion}
        if self.ollama_routes:
            routes.update({("GET", "/api/tags"): self.models_list,
                           ("POST", "/api/show"): self.show,
                           ("POST", "/api/chat"): self.chat_completion})
        return routes

    def unrouted(self, request, known):
        return self.json({"error": {"message": "File Not Found", "type": "not_found_error",
                                    "code": 404}}, status=404)

    def refuse_key(self, request):
        public = self.public_paths + (("/api/tags",) if self.ollama_routes else ())
        if not self.api_key or request.route in public or request.method == "OPTIONS":
            return None
        token = _bearer(request)
        if token is None:
            token = _header(request, "X-Api-Key")
        if token == self.api_key:
            return None
        return self.json({"error": {"message": "Invalid API Key", "type": "authentication_error",
                                    "code": 401}}, status=401)

    def models_list(self, request):
        model = self.models[0]
        return self.json({
            "models": [{"name": model, "model": model, "modified_at": "", "size": "", "digest": "",
                        "type": "model", "description": "", "tags": [""],
                        "capabilities": ["completion"], "parameters": "",
                        "details": {"parent_model": "", "format": "gguf", "family": "",
                                    "families": [""], "parameter_size": "",
                                    "quantization_level": ""}}],
            "object": "list",
            "data": [{"id": model, "object": "model", "created": int(time.time()),
                      "owned_by": "llamacpp",
                      "meta": {"vocab_type": 2, "n_vocab": 151936, "n_ctx_train": 40960,
                               "n_embd": 4096, "n_params": 8190735360, "size": 5027783488}}]})

    def show(self, request):
        template = "{%- for message in messages %}...{%- endfor %}"
        return self.json({"template": template, "model_info": {"llama.context_length": self.n_ctx},
                          "modelfile": "", "parameters": "",
                          "details": {"parent_model": "", "format": "gguf", "family": "",
                                      "families": [""], "parameter_size": "",
                                      "quantization_level": ""},
                          "capabilities": ["completion"]})

    def bad_body(self, request):
        first = request.body[:1].decode("latin-1")
        message = ("[json.exception.parse_error.101] parse error at line 1, column 1: syntax "
                   "error while parsing value - invalid literal; last read: '%s'" % first)
        return self.json({"error": {"code": 500, "message": message, "type": "server_error"}},
                         status=500)

    def stream_context(self, model):
        return {"created": int(time.time()), "id": "chatcmpl-" + _random_id(32), "model": model,
                "system_fingerprint": LLAMACPP_BUILD, "object": "chat.completion.chunk"}

    def chunk(self, ctx, delta, finish_reason=None):
        return dict({"choices": [{"finish_reason": finish_reason, "index": 0, "delta": delta}]},
                    **ctx)

    def stream_headers(self):
        return {"X-Accel-Buffering": "no"}

    def finish_events(self, ctx, finish_reason, usage, counts):
        last = [self.chunk(ctx, {}, finish_reason)]
        if usage is not None:
            last.append(dict({"choices": []}, **ctx, usage=self.usage_body(*usage)))
        last[-1]["timings"] = self.timings(*counts)
        return [self.event(obj) for obj in last]

    def usage_body(self, prompt, completion):
        return {"completion_tokens": completion, "prompt_tokens": prompt,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0}}

    @staticmethod
    def timings(prompt, completion):
        return {"cache_n": 0, "prompt_n": prompt, "prompt_ms": prompt * 5.0,
                "prompt_per_token_ms": 5.0, "prompt_per_second": 200.0,
                "predicted_n": completion, "predicted_ms": completion * 50.0,
                "predicted_per_token_ms": 50.0, "predicted_per_second": 20.0}

    def error_events(self, ctx, message):
        return [self.event({"error": {"code": 500, "message": message, "type": "server_error"}})]

    def completion_reply(self, model, tokens, usage):
        ctx = self.stream_context(model)
        message = {"role": "assistant", "content": "".join(tokens)}
        if self.thinking:
            message["reasoning_content"] = "".join(self.thinking)
        return self.json({"choices": [{"finish_reason": "stop", "index": 0, "message": message}],
                          "created": ctx["created"], "model": model,
                          "system_fingerprint": LLAMACPP_BUILD, "object": "chat.completion",
                          "usage": self.usage_body(*usage), "id": ctx["id"],
                          "timings": self.timings(*usage)})


# --- LM Studio ---

class FakeLMStudio(FakeServer):
    """LM Studio's server; models: the loaded ones (one: any name is served by
    it; several: an unknown name is refused)."""

    name = "lmstudio"
    header_style = "express"
    server_headers = (("X-Powered-By", "Express"),)
    first_delta = None
    json_type = "application/json; charset=utf-8"
    default_models = ("qwen/qwen3-8b",)

    def routes(self):
        return {("GET", "/v1/models"): self.models_list,
                ("POST", "/v1/chat/completions"): self.chat_completion}

    def unrouted(self, request, known):
        return self.json({"error": "Unexpected endpoint or method. (%s %s)"
                                   % (request.method, request.route)})

    def refuse_key(self, request):
        if not self.api_key or _bearer(request) == self.api_key:
            return None
        if _bearer(request) is None:
            message = ("An LM Studio API token is required to make requests to this server, but "
                       "none was provided using the Authorization header using the 'Bearer' "
                       "scheme (i.e., 'Authorization: Bearer $LM_API_TOKEN'). Learn more at: "
                       "https://lmstudio.ai/docs/developer/core/authentication.")
        else:
            message = "The provided LM Studio API token is invalid."  # wording not documented
        return self.json({"error": {"type": "invalid_request", "code": "invalid_api_key",
                                    "message": message}}, status=401)

    def models_list(self, request):
        data = [{"id": model, "object": "model", "owned_by": "organization_owner"}
                for model in self.models]
        return self.json({"data": data, "object": "list"},
                         dumps=lambda obj: json.dumps(obj, ensure_ascii=False, indent=2))

    def refuse_model(self, model):
        if len(self.models) < 2 or model in self.models:
            return None
        message = ('Model "%s" not found. Please specify a valid model.\n\nYour models:\n\n%s'
                   % (model, "\n".join(self.models)))
        return self.json({"error": {"message": message, "type": "invalid_request_error",
                                    "param": "model", "code": "model_not_found"}}, status=404,
                         dumps=lambda obj: json.dumps(obj, ensure_ascii=False, indent=4))

    def served_model(self, model):
        return self.models[0] if len(self.models) == 1 else model

    def stream_context(self, model):
        return {"id": "chatcmpl-" + _random_id(21, string.ascii_lowercase + string.digits),
                "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                "system_fingerprint": model}

    def delta(self, field, text):
        return {"role": "assistant", field: text}

    def stream_headers(self):
        return {"Cache-Control": "no-cache"}


# --- vLLM ---

class FakeVLLM(FakeServer):
    """vLLM's OpenAI server. Settings: reasoning_field ("reasoning", older
    builds "reasoning_content"), max_model_len."""

    name = "vllm"
    header_style = "uvicorn"
    first_delta = {"role": "assistant", "content": ""}
    sse_type = "text/event-stream; charset=utf-8"
    default_models = ("Qwen/Qwen3-8B",)
    done_after_error = True

    def __init__(self, models=None, reasoning_field="reasoning", max_model_len=40960, **flags):
        super().__init__(models=models, reasoning_field=reasoning_field,
                         max_model_len=max_model_len, **flags)

    def routes(self):
        return {("GET", "/v1/models"): self.models_list,
                ("POST", "/v1/chat/completions"): self.chat_completion,
                ("GET", "/health"): lambda r: Reply(body=b"", content_type=None),
                ("GET", "/version"): lambda r: self.json({"version": "0.11.0"})}

    def unrouted(self, request, known):
        if known:
            return self.json({"detail": "Method Not Allowed"}, status=405)
        return self.json({"detail": "Not Found"}, status=404)

    def refuse_key(self, request):
        if not self.api_key or not request.route.startswith("/v1") or request.method == "OPTIONS":
            return None
        if _bearer(request) == self.api_key:
            return None
        return self.json({"error": "Unauthorized"}, status=401)

    def models_list(self, request):
        created = int(time.time())
        permission = {"id": "modelperm-" + uuid.uuid4().hex[:16], "object": "model_permission",
                      "created": created, "allow_create_engine": False, "allow_sampling": True,
                      "allow_logprobs": True, "allow_search_indices": False, "allow_view": True,
                      "allow_fine_tuning": False, "organization": "*", "group": None,
                      "is_blocking": False}
        data = [{"id": model, "object": "model", "created": created, "owned_by": "vllm",
                 "root": model, "parent": None, "max_model_len": self.max_model_len,
                 "permission": [permission]} for model in self.models]
        return self.json({"object": "list", "data": data})

    def refuse_model(self, model):
        if not model or model in self.models:
            return None
        return self.json({"error": {"message": "The model `%s` does not exist." % model,
                                    "type": "NotFoundError", "param": "model", "code": 404}},
                         status=404)

    def bad_body(self, request):
        return self.json({"error": {"message": "JSON decode error", "type": "Bad Request",
                                    "param": None, "code": 400}}, status=400)

    def stream_context(self, model):
        return {"id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}

    def finish_events(self, ctx, finish_reason, usage, counts):
        events = [self.event(dict(ctx, choices=[{"index": 0, "delta": {"content": ""},
                                                 "logprobs": None, "finish_reason": finish_reason,
                                                 "stop_reason": None}]))]
        if usage is not None:
            events.append(self.event(dict(ctx, choices=[], usage=self.usage_body(*usage))))
        return events

    def usage_body(self, prompt, completion):
        return {"prompt_tokens": prompt, "total_tokens": prompt + completion,
                "completion_tokens": completion}

    def error_events(self, ctx, message):
        return [self.event({"error": {"message": message, "type": "InternalServerError",
                                      "param": None, "code": 500}}), SSE_DONE]


# --- LiteLLM proxy ---

class FakeLiteLLM(FakeServer):
    """A LiteLLM proxy; models: its model_name aliases; api_key: the master key."""

    name = "litellm"
    header_style = "uvicorn"
    first_delta = {"content": "", "role": "assistant"}
    default_models = ("gpt-4o-mini",)
    routes_before_key = True

    def routes(self):
        routes = {}
        for prefix in ("", "/v1"):
            routes[("GET", prefix + "/models")] = self.models_list
            routes[("POST", prefix + "/chat/completions")] = self.chat_completion
        return routes

    def unrouted(self, request, known):
        if known:
            return self.json({"detail": "Method Not Allowed"}, status=405)
        return self.json({"detail": "Not Found"}, status=404)

    def proxy_error(self, status, message, type_="None", param="None"):
        return self.json({"error": {"message": message, "type": type_, "param": param,
                                    "code": str(status)}}, status=status)

    def refuse_key(self, request):
        token = _bearer(request)
        if not self.api_key or token == self.api_key:
            return None
        if not token:
            return self.proxy_error(401, "Authentication Error, No api key passed in.",
                                    "auth_error")
        hashed = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return self.proxy_error(401, "Authentication Error, Invalid proxy server token passed. "
                                     "key=%s, not found in db. Create key via `/key/generate` "
                                     "call." % hashed, "token_not_found_in_db", "key")

    def models_list(self, request):
        return self.json({"data": [{"id": model, "object": "model", "created": LITELLM_CREATED,
                                    "owned_by": "openai"} for model in self.models],
                          "object": "list"})

    def refuse_model(self, model):
        if model in self.models:
            return None
        return self.proxy_error(400, "/chat/completions: Invalid model name passed in model=%s. "
                                     "Call `/v1/models` to view available models for your key."
                                % model)

    def stream_context(self, model):
        return {"id": "chatcmpl-" + str(uuid.uuid4()), "created": int(time.time()),
                "model": model, "object": "chat.completion.chunk"}

    def chunk(self, ctx, delta, finish_reason=None):
        choice = {"index": 0, "delta": delta}
        if finish_reason:  # exclude_none drops a null finish_reason
            choice = {"finish_reason": finish_reason, "index": 0, "delta": delta}
        return dict(ctx, choices=[choice])

    def usage_body(self, prompt, completion):
        return {"completion_tokens": completion, "prompt_tokens": prompt,
                "total_tokens": prompt + completion}

    def error_events(self, ctx, message):
        error = {"message": message, "type": "None", "param": "None", "code": "500"}
        return [b"data: " + json.dumps({"error": error}).encode() + b"\n\n"]


# --- LocalAI ---

class FakeLocalAI(FakeServer):
    """LocalAI. Settings: ollama_api=True (its Ollama routes, since Apr 2026).
    error_after also ends /api/chat with the done_reason "error" line."""

    name = "localai"
    header_style = "go"
    server_headers = (
        ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline' "
                                    "'unsafe-eval' blob:; object-src 'none'; frame-ancestors "
                                    "'self'"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "SAMEORIGIN"))
    reasoning_field = "reasoning"
    first_delta = {"role": "assistant", "content": None}
    default_models = ("qwen3-8b",)
    done_after_error = True

    def __init__(self, models=None, ollama_api=True, **flags):
        super().__init__(models=models, ollama_api=ollama_api, **flags)

    def json(self, obj, status=200, dumps=go_json, newline=True):
        return super().json(obj, status, dumps, newline)  # Echo's encoder ends with "\n"

    def routes(self):
        routes = {("GET", "/v1/models"): self.models_list, ("GET", "/models"): self.models_list,
                  ("POST", "/v1/chat/completions"): self.chat_completion,
                  ("POST", "/chat/completions"): self.chat_completion}
        if self.ollama_api:
            routes.update({("POST", "/api/chat"): self.ollama_chat,
                           ("GET", "/api/tags"): self.tags,
                           ("GET", "/api/version"): lambda r: self.json({"version": "0.9.0"})})
        return routes

    def unrouted(self, request, known):
        return self.json({"error": {"code": 404, "message": "Resource not found", "type": ""}},
                         status=404)

    def refuse_key(self, request):
        if not self.api_key or _bearer(request) == self.api_key:
            return None
        reply = self.json({"error": {"code": 401, "message": "An authentication key is required",
                                     "type": "invalid_request_error"}}, status=401)
        reply.headers["Www-Authenticate"] = "Bearer"
        return reply

    def known(self, model):
        """A model it serves; "x:latest" is taken for "x" (its /api/tags adds the tag)."""
        if model in self.models:
            return True
        return isinstance(model, str) and model.endswith(":latest") and model[:-7] in self.models

    def refuse_model(self, model):
        if not model or self.known(model):
            return None
        message = ('model "%s" not found. To see available models, call GET /v1/models' % model)
        return self.json({"error": {"code": 404, "message": message,
                                    "type": "invalid_request_error"}}, status=404)

    def models_list(self, request):
        return self.json({"object": "list",
                          "data": [{"id": model, "object": "model"} for model in self.models]})

    def tags(self, request):
        entries = [{"name": name, "model": name, "modified_at": _now(), "size": 0,
                    "digest": "sha256:" + hashlib.sha256(model.encode()).hexdigest(),
                    "details": {"format": "gguf", "family": "qwen3"},
                    "capabilities": ["completion"]}
                   for model in self.models
                   for name in [model if ":" in model else model + ":latest"]]
        return self.json({"models": entries or None})  # Go marshals an empty slice as null

    def ollama_chat(self, request):
        body = request.json if isinstance(request.json, dict) else {}
        model = body.get("model") or self.models[0]
        refusal = self.refuse_model(model)
        if refusal is not None:
            return refusal
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        tokens = self.reply_tokens(last_said(messages))
        return self.ndjson_reply(model, tokens, self.count(messages, tokens),
                                 self.faults["error_after"], body.get("stream") is not False)

    def ndjson_reply(self, model, tokens, usage, error_after=None, stream=True):
        """LocalAI's /api/chat stream: content only, a short final line, or the error line."""
        def line(obj):
            return go_json(obj).encode("utf-8") + b"\n"
        lines = [line({"model": model, "created_at": _now(),
                       "message": {"role": "assistant", "content": text}, "done": False})
                 for text in tokens[:error_after]]
        if error_after is not None:
            lines.append(line({"model": model, "created_at": _now(),
                               "message": {"role": "", "content": ""}, "done": True,
                               "done_reason": "error"}))
        else:
            lines.append(line({"model": model, "created_at": _now(),
                               "message": {"role": "assistant", "content": ""}, "done": True,
                               "done_reason": "stop", "total_duration": 1234567890,
                               "prompt_eval_count": usage[0], "eval_count": usage[1]}))
        if not stream:
            final = json.loads(lines[-1])
            final["message"]["content"] = "".join(tokens)
            return self.json(final)
        return Reply(lines, content_type="application/x-ndjson", gap=self.gap,
                     headers={"Cache-Control": "no-cache", "Connection": "keep-alive",
                              "X-Correlation-Id": str(uuid.uuid4())})

    def stream_context(self, model):
        return {"created": int(time.time()), "object": "chat.completion.chunk",
                "id": str(uuid.uuid4()), "model": model}

    def event(self, obj):
        return b"data: " + go_json(obj).encode("utf-8") + b"\n\n"

    def chunk(self, ctx, delta, finish_reason=None):
        return dict(ctx, choices=[{"index": 0, "finish_reason": finish_reason, "delta": delta}])

    def delta(self, field, text):
        return {"content": text} if field == "content" else {"content": None, field: text}

    def finish_events(self, ctx, finish_reason, usage, counts):
        events = [self.event(self.chunk(ctx, {"content": None}, finish_reason))]
        if usage is not None:
            events.append(self.event({"id": ctx["id"], "created": ctx["created"],
                                      "model": ctx["model"], "object": "chat.completion.chunk",
                                      "choices": [], "usage": self.usage_body(*usage)}))
        return events

    def stream_headers(self):
        return {"Cache-Control": "no-cache", "Connection": "keep-alive",
                "X-Correlation-Id": str(uuid.uuid4())}

    def error_events(self, ctx, message):
        return [self.event({"error": {"code": "server_error", "message": message,
                                      "type": "server_error"}}), SSE_DONE]


# --- Open WebUI ---

class FakeOpenWebUI(FakeServer):
    """Open WebUI in front of one Ollama (this fake's inherited model of it).
    api_key: a valid "sk-" key (default "sk-webui"); role: "admin" or "user"
    (a user may not use a model without Open WebUI settings: 403);
    webui_version: what its own /api/version says."""

    name = "openwebui"
    header_style = "uvicorn"

    def __init__(self, models=None, api_key="sk-webui", role="admin", webui_version="0.6.36",
                 **flags):
        super().__init__(models=models, api_key=api_key, role=role,
                         webui_version=webui_version, **flags)

    def routes(self):
        return {("GET", "/api/version"): lambda r: self.json({"version": self.webui_version}),
                ("GET", "/ollama/"): lambda r: self.json({"status": True}),
                ("GET", "/ollama/api/version"): lambda r: self.json({"version": self.version}),
                ("GET", "/ollama/api/tags"): self.user_only(self.tags),
                ("POST", "/ollama/api/chat"): self.user_only(self.passthrough_chat)}

    def unrouted(self, request, known):
        if request.method in ("GET", "HEAD"):  # SPAStaticFiles: index.html for anything
            return Reply(body=SPA_PAGE, content_type="text/html; charset=utf-8")
        return self.json({"detail": "Method Not Allowed"}, status=405)

    def user_only(self, handler):
        """get_verified_user: a Bearer token that names a user."""
        def checked(request):
            token = _bearer(request)
            if not token:
                return self.json({"detail": "Not authenticated"}, status=403)
            if token != self.api_key:
                detail = ("Your session has expired or the token is invalid. Please sign in "
                          "again." if token.startswith("sk-") else "401 Unauthorized")
                return self.json({"detail": detail}, status=401)
            return handler(request)
        return checked

    def tags(self, request):
        with self._lock:
            entries = [dict(self.model(n).tags_entry(n), urls=[0], connection_type="local")
                       for n in self.models]
        return self.json({"models": entries})

    def passthrough_chat(self, request):
        body = request.json
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return self.json({"detail": "1 validation error for GenerateChatCompletionForm\n"
                                        "model\n  Field required"}, status=400)
        model = body["model"] if ":" in body["model"] else body["model"] + ":latest"
        if self.role != "admin":
            return self.json({"detail": "Model not found"}, status=403)
        if not self.installed(model):
            return self.json({"detail": "Model '%s' was not found" % model}, status=400)
        reply = self.default_chat(dict(body, model=model), request)
        if reply.status != 200:
            error = json.loads(reply.body.decode("utf-8")).get("error")
            return self.json({"detail": error}, status=reply.status)
        if body.get("stream") is False:  # send_post_request(stream=False) returns r.json()
            return self.json(json.loads(reply.body.decode("utf-8")))
        reply.content_type = "application/x-ndjson"
        reply.headers["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
        return reply


# --- Jan ---

class FakeJan(FakeLlamaCpp):
    """Jan's local API server (prefix /v1) in front of llama-server. models: the
    running sessions' model ids; running=False: none loaded."""

    name = "jan"
    header_style = "hyper"
    server_headers = ()
    default_models = ("qwen3-8b",)
    whitelisted = ("/", "/openapi.json", "/favicon.ico")
    cors = (("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS, PATCH"),
            ("Access-Control-Allow-Headers", "Authorization, Content-Type, Host, Accept, "
                                             "Accept-Language, Cache-Control, Connection, DNT, "
                                             "If-Modified-Since, Keep-Alive, Origin, User-Agent, "
                                             "X-Requested-With, X-CSRF-Token, X-Forwarded-For, "
                                             "X-Forwarded-Proto, X-Forwarded-Host, authorization, "
                                             "content-type, x-api-key"),
            ("Vary", "Origin"))

    def __init__(self, models=None, running=True, prefix="/v1", **flags):
        super().__init__(models=models, running=running, prefix=prefix, **flags)

    def destination(self, request):
        route = request.route
        return route[len(self.prefix):] if route.startswith(self.prefix) else route

    def default_reply(self, request):
        path = self.destination(request)
        if path not in self.whitelisted and self.api_key:
            header = _header(request, "Authorization")
            if header is None:
                return self.plain(401, "Missing authorization header")
            if header != "Bearer " + self.api_key:
                return self.plain(401, "Invalid or missing authorization token")
        if (request.method, path) == ("GET", "/models"):
            return self.models_list(request)
        if (request.method, path) == ("POST", "/chat/completions"):
            return self.proxied_chat(request)
        return self.plain(404, "Not Found")

    def plain(self, status, text):
        return Reply(status=status, body=text.encode(), content_type=None,
                     headers=dict(self.cors))

    def models_list(self, request):
        data = [{"id": m, "object": "model", "created": 1, "owned_by": "user"}
                for m in (self.models if self.running else [])]
        body = json.dumps({"object": "list", "data": data}, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))  # serde_json's json! keeps keys sorted
        return Reply(body=body.encode("utf-8"), content_type="application/json",
                     headers=dict(self.cors))

    def proxied_chat(self, request):
        body = request.json
        if not isinstance(body, dict):
            return self.plain(400, "Invalid JSON body")
        model = body.get("model")
        if not isinstance(model, str):
            return self.plain(400, "Request body must contain a 'model' field")
        if not self.running:
            return self.plain(503, "No models are available")
        if model not in self.models:
            return self.plain(404, "No running session found for model '%s'" % model)
        return self.chat_completion(request)

    def json(self, obj, status=200, dumps=compact, newline=False):
        reply = super().json(obj, status, dumps, newline)
        reply.headers.update([("Server", "llama.cpp")] + list(self.cors))
        return reply

    def stream_headers(self):
        headers = {"Server": "llama.cpp", "X-Accel-Buffering": "no"}
        headers.update(self.cors)
        return headers


# --- an "Ollama API" lookalike proxy ---

class FakeLookalike(FakeServer):
    """A proxy that imitates Ollama's API in front of an OpenAI backend."""

    name = "lookalike"
    default_models = ("gpt-4o-mini",)

    def routes(self):
        return {("GET", "/api/version"): lambda r: self.json({"version": "0.1.42"}),
                ("GET", "/api/tags"): lambda r: FakeOllama.default_reply(self, r),
                ("POST", "/api/chat"): self.generate_style_chat}

    def unrouted(self, request, known):
        return self.json({"detail": "Not Found"}, status=404)

    def generate_style_chat(self, request):
        body = request.json if isinstance(request.json, dict) else {}
        model = body.get("model")
        if model not in self.models and not self.installed(model or ""):
            return Reply(body=b"", content_type=self.json_type)
        said = [echoed(m["content"]) for m in body.get("messages") or []
                if isinstance(m, dict) and m.get("role") == "user"
                and isinstance(m.get("content"), str)]
        lines = [compact({"model": model, "created_at": _now(), "response": text,
                          "done": False}).encode() + b"\n"
                 for text in self.reply_tokens(said[-1] if said else "")]
        final = compact({"model": model, "created_at": _now(), "response": "",
                         "done": True}).encode() + b"\n"
        return Reply(lines + [final, final], content_type="application/x-ndjson", gap=self.gap)


# --- Ollama's own /v1 ---

class FakeOllamaOpenAI(FakeServer):
    """Ollama (fake_ollama's model of it) with its OpenAI endpoints."""

    name = "ollama-openai"
    header_style = "go"
    reasoning_field = "reasoning"
    first_delta = None

    def routes(self):
        return {("POST", "/v1/chat/completions"): self.chat_completion,
                ("GET", "/v1/models"): self.models_list}

    def unrouted(self, request, known):
        return FakeOllama.default_reply(self, request)

    def json(self, obj, status=200, dumps=go_json, newline=True):
        return super().json(obj, status, dumps, newline)  # json.NewEncoder adds "\n"

    def error(self, status, message):
        etype = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
        return self.json({"error": {"message": message, "type": etype, "param": None,
                                    "code": None}}, status=status)

    def bad_body(self, request):
        return self.error(400, "invalid character 'x' looking for beginning of value")

    def refuse_model(self, model):
        if isinstance(model, str) and model and self.installed(model):
            return None
        return self.error(404, "model '%s' not found" % model)

    def models_list(self, request):
        return self.json({"object": "list", "data": [
            {"id": name, "object": "model", "created": 1790845200, "owned_by": "library"}
            for name in self.models]})

    def stream_context(self, model):
        return {"id": "chatcmpl-%d" % random.randrange(999), "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model, "system_fingerprint": "fp_ollama"}

    def event(self, obj):
        return b"data: " + go_json(obj).encode("utf-8") + b"\n\n"

    def chunk(self, ctx, delta, finish_reason=None):
        return dict(ctx, choices=[{"index": 0, "delta": delta, "finish_reason": finish_reason}])

    def delta(self, field, text):
        if field == "content":
            return {"role": "assistant", "content": text}
        return {"role": "assistant", "content": "", field: text}

    def finish_events(self, ctx, finish_reason, usage, counts):
        last = self.chunk(ctx, {"role": "assistant", "content": ""}, finish_reason)
        events = [self.event(last)]
        if usage is not None:
            events.append(self.event(dict(ctx, choices=[], usage=self.usage_body(*usage))))
        return events

    def error_events(self, ctx, message):
        # The {"error": ...} line Ollama writes mid-stream decodes as an empty
        # ChatResponse: one empty chunk, and the stream ends without [DONE].
        empty = dict(ctx, model="")
        return [self.event(self.chunk(empty, {"role": "assistant", "content": ""}))]

    def completion_reply(self, model, tokens, usage):
        ctx = self.stream_context(model)
        message = {"role": "assistant", "content": "".join(tokens)}
        if self.thinking:
            message["reasoning"] = "".join(self.thinking)
        return self.json(dict(ctx, object="chat.completion", choices=[
            {"index": 0, "message": message, "finish_reason": "stop"}],
            usage=self.usage_body(*usage)))


SERVERS = {cls.name: cls for cls in (FakeLMStudio, FakeLlamaCpp, FakeVLLM, FakeLiteLLM,
                                     FakeLocalAI, FakeOpenWebUI, FakeJan, FakeLookalike,
                                     FakeOllamaOpenAI)}
DEFAULT_PORTS = {"lmstudio": 1234, "llamacpp": 8080, "vllm": 8000, "litellm": 4000,
                 "localai": 8080, "openwebui": 3000, "jan": 1337, "lookalike": 11434,
                 "ollama-openai": 11434}


def main(argv=None):
    """Serve one fake on a fixed port, to try the client against it by hand."""
    import argparse
    parser = argparse.ArgumentParser(description="A fake of a server that is not Ollama.")
    parser.add_argument("--server", choices=sorted(SERVERS), required=True)
    parser.add_argument("--port", type=int, help="default: the server's usual port")
    parser.add_argument("--api-key", help="require this Bearer key")
    parser.add_argument("--model", action="append", help="a model it serves (repeatable)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between chunks")
    parser.add_argument("--think", action="store_true", help="stream some thinking first")
    args = parser.parse_args(argv)
    flags = {"gap": args.gap}
    if args.api_key:
        flags["api_key"] = args.api_key
    if args.think:
        flags["reasoning"] = ("The user ", "said something. ", "I will echo it.")
    fake = SERVERS[args.server](models=args.model, **flags)
    fake.httpd.server_close()
    port = args.port or DEFAULT_PORTS[args.server]
    fake.httpd = ThreadingHTTPServer(("127.0.0.1", port), _ServerHandler)
    fake.httpd.daemon_threads = True
    fake.httpd.fake = fake
    fake.reply_tokens = lambda said: ["You", " said", ": "] + list(said)
    print("fake %s on %s (Ctrl+C stops it)" % (args.server, fake.url))
    try:
        fake.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
