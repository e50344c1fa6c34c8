"""The fakes of other servers answer as the real ones do (see fake_servers' doc for
the sources): statuses, headers, bodies, and SSE framing that parses."""

import base64
import collections
import hashlib
import json
import os
import socket
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_ollama import FakeOllama, Reply, chat_chunks  # noqa: E402
from fake_servers import (SSE_DONE, FakeJan, FakeLiteLLM, FakeLlamaCpp, FakeLMStudio,  # noqa: E402
                          FakeLocalAI, FakeLookalike, FakeOllamaOpenAI, FakeOpenWebUI, FakeVLLM,
                          parse_sse, shape, sse_chunks, sse_event)

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
HELLO = [{"role": "user", "content": "[Mon 2026-11-23 10:00]\nhello"}]

Raw = collections.namedtuple("Raw", "status headers chunks complete body")


def call(fake, path, body=None, method=None, headers=None):
    """(status, headers, body bytes) of one request through urllib."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(fake.url + path, data=data, method=method,
                                     headers=dict({"Content-Type": "application/json"},
                                                  **(headers or {})))
    try:
        with OPENER.open(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        raw = error.read()
        error.close()
        return error.code, error.headers, raw


def exchange(fake, method, path, body=None, headers=None):
    """The raw answer: header lines as sent, the HTTP chunks, whether the
    chunked body ended properly."""
    data = b"" if body is None else json.dumps(body).encode("utf-8")
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % fake.port,
             "Connection: close", "Content-Type: application/json",
             "Content-Length: %d" % len(data)]
    lines += ["%s: %s" % item for item in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        received = b""
        while True:
            part = sock.recv(65536)
            if not part:
                break
            received += part
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    header_list = [tuple(line.split(": ", 1)) for line in header_lines]
    chunked = ("Transfer-Encoding", "chunked") in [(n.title(), v) for n, v in header_list]
    chunks, complete = [], not chunked
    while chunked:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line, 16)
        if size == 0:
            complete = True
            break
        if len(rest) < size + 2:
            break
        chunks.append(rest[:size])
        rest = rest[size + 2:]
    body = b"".join(chunks) if chunked else rest
    return Raw(int(status_line.split()[1]), header_list, chunks, complete, body)


def events(data):
    """The data of each SSE event, independently of fake_servers.parse_sse."""
    text = data.decode("utf-8").replace("\r\n", "\n")
    found = []
    for block in text.split("\n\n"):
        data_lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not data_lines:
            continue
        assert all(line.startswith("data: ") for line in data_lines), block
        payload = "\n".join(line[6:] for line in data_lines)
        found.append(payload if payload == "[DONE]" else json.loads(payload))
    return found


def content(chunks, field="content"):
    return "".join(c["choices"][0]["delta"].get(field) or "" for c in chunks
                   if isinstance(c, dict) and c.get("choices"))


def chat_body(model, **fields):
    return dict({"model": model, "messages": HELLO, "stream": True}, **fields)


class ServerTest(unittest.TestCase):
    """One fake for the class, made like new before each test."""

    server = None
    options = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = cls.server(**cls.options).start()
        cls.addClassCleanup(cls.fake.stop)

    def setUp(self):
        self.fake.reset()

    def get_json(self, path, **kwargs):
        status, headers, body = call(self.fake, path, **kwargs)
        return status, headers, json.loads(body.decode("utf-8"))

    def stream(self, path="/v1/chat/completions", model=None, **fields):
        """(headers, events) of a streamed chat."""
        status, headers, body = call(self.fake, path, chat_body(model or self.fake.models[0],
                                                                **fields))
        self.assertEqual(status, 200, body)
        return headers, events(body)


class HelpersTest(unittest.TestCase):
    def test_sse_event_is_one_data_line_and_a_blank_line(self):
        self.assertEqual(sse_event({"a": "é", "b": [1, None]}),
                         'data: {"a":"é","b":[1,null]}\n\n'.encode("utf-8"))
        self.assertEqual(sse_event("[DONE]"), b"data: [DONE]\n\n")
        self.assertEqual(SSE_DONE, b"data: [DONE]\n\n")

    def test_sse_chunks_in_order_role_reasoning_content_finish_usage_done(self):
        found = events(b"".join(sse_chunks("Hi", " there", reasoning=("hm",), model="m",
                                           usage={"prompt_tokens": 3})))
        self.assertEqual([c["choices"][0]["delta"] for c in found[:4]],
                         [{"role": "assistant"}, {"reasoning_content": "hm"}, {"content": "Hi"},
                          {"content": " there"}])
        self.assertEqual(found[4]["choices"][0], {"index": 0, "delta": {}, "logprobs": None,
                                                  "finish_reason": "stop"})
        self.assertEqual((found[5]["choices"], found[5]["usage"]), ([], {"prompt_tokens": 3}))
        self.assertEqual(found[6], "[DONE]")
        self.assertEqual({c["model"] for c in found[:6]}, {"m"})
        self.assertEqual(len({c["id"] for c in found[:6]}), 1)

    def test_sse_chunks_options(self):
        found = events(b"".join(sse_chunks("x", role_first={"role": "assistant", "content": None},
                                           reasoning=("r",), reasoning_field="reasoning",
                                           finish_reason=None, done=False)))
        self.assertEqual([c["choices"][0]["delta"] for c in found],
                         [{"role": "assistant", "content": None}, {"reasoning": "r"},
                          {"content": "x"}])
        found = events(b"".join(sse_chunks("x", role_first=False, finish_reason="length",
                                           usage=True)))
        self.assertEqual(found[1]["choices"][0]["finish_reason"], "length")
        self.assertEqual(sorted(found[2]["usage"]),
                         ["completion_tokens", "prompt_tokens", "total_tokens"])

    def test_sse_chunks_served_by_fake_ollama(self):
        with FakeOllama() as fake:
            fake.script("/v1/chat/completions",
                        Reply(sse_chunks("A", "B"), content_type="text/event-stream"))
            status, headers, body = call(fake, "/v1/chat/completions", chat_body("m"))
            raw_request = fake.requests[0]
        self.assertEqual((status, headers["Content-Type"]), (200, "text/event-stream"))
        self.assertEqual(content(events(body)), "AB")
        self.assertEqual(raw_request.json["messages"], HELLO)

    def test_shape_crlf_merge_split_comments(self):
        parts = [sse_event({"n": 1}), SSE_DONE]
        self.assertEqual(shape(parts, crlf=True),
                         [b'data: {"n":1}\r\n\r\n', b"data: [DONE]\r\n\r\n"])
        self.assertEqual(shape(parts, merge=True), [b"".join(parts)])
        split = shape(parts, split=5)
        self.assertEqual(b"".join(split), b"".join(parts))
        self.assertEqual({len(p) for p in split[:-1]}, {5})
        with_comments = shape(parts, comments=True)
        self.assertEqual(with_comments[0], b": keep-alive\n\n")
        self.assertEqual(events(b"".join(with_comments)), [{"n": 1}, "[DONE]"])

    def test_parse_sse_reads_crlf_comments_and_multiline_data(self):
        data = b': hi\r\n\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata:[DONE]\r\n\r\n'
        self.assertEqual(parse_sse(data), [{"a": 1}, "[DONE]"])


class LlamaCppTest(ServerTest):
    server = FakeLlamaCpp

    def test_models_list_has_openai_data_and_ollama_models(self):
        status, headers, body = self.get_json("/v1/models")
        self.assertEqual((status, headers["Server"]), (200, "llama.cpp"))
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(body["object"], "list")
        self.assertEqual((body["data"][0]["id"], body["data"][0]["owned_by"]),
                         (self.fake.models[0], "llamacpp"))
        self.assertEqual(body["models"][0]["name"], self.fake.models[0])
        self.assertEqual(body["models"][0]["size"], "")  # not Ollama's number
        self.assertEqual(self.get_json("/api/tags")[2].keys(), body.keys())

    def test_api_chat_answers_openai_sse(self):
        headers, found = self.stream("/api/chat", model="llama3")  # any name is accepted
        self.assertEqual(headers["Content-Type"], "text/event-stream")
        self.assertEqual((headers["Server"], headers["X-Accel-Buffering"]), ("llama.cpp", "no"))
        self.assertEqual(found[0]["choices"][0]["delta"], {"role": "assistant", "content": None})
        self.assertEqual(content(found), "You said: hello")
        finish = found[-2]
        self.assertEqual(finish["choices"][0], {"finish_reason": "stop", "index": 0, "delta": {}})
        self.assertIn("timings", finish)
        self.assertEqual(found[-1], "[DONE]")
        self.assertEqual({c["model"] for c in found[:-1]}, {"llama3"})
        self.assertEqual({c["object"] for c in found[:-1]}, {"chat.completion.chunk"})
        self.assertFalse(any("usage" in c for c in found[:-1]))

    def test_include_usage_adds_a_chunk_without_choices(self):
        headers, found = self.stream(stream_options={"include_usage": True})
        usage = found[-2]
        self.assertEqual(usage["choices"], [])
        self.assertEqual(usage["usage"]["total_tokens"],
                         usage["usage"]["prompt_tokens"] + usage["usage"]["completion_tokens"])
        self.assertIn("timings", usage)
        self.assertNotIn("timings", found[-3])
        self.assertEqual(self.fake.requests[-1].json["stream_options"], {"include_usage": True})

    def test_thinking_in_reasoning_content(self):
        self.fake.thinking = ("Let me", " think.")
        found = self.stream()[1]
        self.assertEqual(content(found, "reasoning_content"), "Let me think.")
        self.assertEqual(content(found), "You said: hello")

    def test_unknown_path_404_body(self):
        status, headers, body = call(self.fake, "/api/version")
        self.assertEqual((status, headers["Server"]), (404, "llama.cpp"))
        self.assertEqual(body, b'{"error":{"message":"File Not Found","type":"not_found_error",'
                               b'"code":404}}')

    def test_later_builds_have_no_ollama_routes(self):
        self.fake.ollama_routes = False
        self.assertEqual(call(self.fake, "/api/chat", chat_body("m"))[0], 404)
        self.assertEqual(call(self.fake, "/api/tags")[0], 404)
        self.assertEqual(call(self.fake, "/v1/models")[0], 200)

    def test_api_key_checked_before_routing_except_public_paths(self):
        self.fake.api_key = "k"
        refusal = (b'{"error":{"message":"Invalid API Key","type":"authentication_error",'
                   b'"code":401}}')
        self.assertEqual(call(self.fake, "/v1/chat/completions", chat_body("m"))[::2],
                         (401, refusal))
        self.assertEqual(call(self.fake, "/api/version")[0], 401)  # not 404
        self.assertEqual(call(self.fake, "/v1/models")[0], 200)
        self.assertEqual(call(self.fake, "/api/tags")[0], 200)
        status = call(self.fake, "/v1/chat/completions", chat_body("m"),
                      headers={"Authorization": "Bearer k"})[0]
        self.assertEqual(status, 200)

    def test_error_mid_stream_ends_without_done(self):
        self.fake.faults["error_after"] = 2
        found = self.stream()[1]
        self.assertEqual(content(found[:-1]), "You said")
        self.assertEqual(found[-1], {"error": {"code": 500, "message": "the model crashed (fake)",
                                               "type": "server_error"}})
        self.assertFalse(any(c.get("choices") and c["choices"][0]["finish_reason"]
                             for c in found[:-1]))

    def test_without_stream_one_completion(self):
        status, _, body = self.get_json("/v1/chat/completions", body={"model": "m",
                                                                       "messages": HELLO})
        self.assertEqual((status, body["object"]), (200, "chat.completion"))
        self.assertEqual(body["choices"][0]["message"], {"role": "assistant",
                                                         "content": "You said: hello"})
        self.assertIn("timings", body)

    def test_api_show_reports_the_slot_window(self):
        body = self.get_json("/api/show", body={"model": "x"})[2]
        self.assertEqual(body["model_info"], {"llama.context_length": 4096})
        self.assertEqual(body["capabilities"], ["completion"])

    def test_bad_json_is_a_500_server_error(self):
        status, _, body = call(self.fake, "/v1/chat/completions", method="POST")
        self.assertEqual(status, 500)
        self.assertEqual(json.loads(body)["error"]["type"], "server_error")


class LMStudioTest(ServerTest):
    server = FakeLMStudio

    def test_unexpected_endpoint_is_200_with_an_error(self):
        raw = exchange(self.fake, "POST", "/chat/completions", chat_body("m"))
        self.assertEqual(raw.status, 200)
        self.assertEqual(raw.body, b'{"error":"Unexpected endpoint or method. '
                                   b'(POST /chat/completions)"}')
        digest = base64.b64encode(hashlib.sha1(raw.body).digest()).decode()[:27]
        self.assertEqual([n for n, _ in raw.headers],
                         ["X-Powered-By", "Content-Type", "Content-Length", "ETag", "Date",
                          "Connection", "Keep-Alive"])
        headers = dict(raw.headers)
        self.assertEqual(headers["X-Powered-By"], "Express")
        self.assertEqual(headers["Content-Length"], "67")  # as in lmstudio-bug-tracker #618
        self.assertEqual(headers["ETag"], 'W/"43-%s"' % digest)
        self.assertEqual(headers["Keep-Alive"], "timeout=5")
        body = self.get_json("/api/chat", body=chat_body("m"))[2]
        self.assertEqual(body, {"error": "Unexpected endpoint or method. (POST /api/chat)"})
        self.assertEqual(self.get_json("/api/tags")[:3:2],
                         (200, {"error": "Unexpected endpoint or method. (GET /api/tags)"}))

    def test_models_owned_by_organization_owner(self):
        status, headers, raw = call(self.fake, "/v1/models")
        self.assertEqual(json.loads(raw), {"data": [{"id": "qwen/qwen3-8b", "object": "model",
                                                     "owned_by": "organization_owner"}],
                                           "object": "list"})
        self.assertIn(b'\n  "data"', raw)  # pretty-printed

    def test_stream_with_reasoning_content(self):
        self.fake.thinking = ("mm",)
        headers, found = self.stream()
        self.assertEqual((headers["Content-Type"], headers["X-Powered-By"]),
                         ("text/event-stream", "Express"))
        self.assertEqual(found[0]["choices"][0]["delta"],
                         {"role": "assistant", "reasoning_content": "mm"})
        self.assertEqual(content(found), "You said: hello")
        self.assertEqual(found[-2]["choices"][0]["delta"], {})
        self.assertEqual(found[-2]["choices"][0]["finish_reason"], "stop")
        self.assertEqual(found[-1], "[DONE]")

    def test_one_loaded_model_serves_any_name(self):
        found = self.stream(model="gpt-4")[1]
        self.assertEqual(found[0]["model"], "qwen/qwen3-8b")

    def test_several_loaded_refuse_an_unknown_name(self):
        self.fake.models.append("google/gemma-3-4b")
        status, _, raw = call(self.fake, "/v1/chat/completions", chat_body("default"))
        self.assertEqual(status, 404)
        error = json.loads(raw)["error"]
        self.assertEqual((error["type"], error["param"], error["code"]),
                         ("invalid_request_error", "model", "model_not_found"))
        self.assertTrue(error["message"].startswith('Model "default" not found.'))
        self.assertIn("google/gemma-3-4b", error["message"])

    def test_api_token_required(self):
        self.fake.api_key = "sk-lm-1"
        status, _, body = self.get_json("/v1/models")
        self.assertEqual((status, body["error"]["code"]), (401, "invalid_api_key"))
        self.assertEqual(call(self.fake, "/v1/models",
                              headers={"Authorization": "Bearer sk-lm-1"})[0], 200)


class VLLMTest(ServerTest):
    server = FakeVLLM

    def test_ollama_paths_are_fastapi_404(self):
        raw = exchange(self.fake, "POST", "/api/chat", chat_body("m"))
        self.assertEqual((raw.status, raw.body), (404, b'{"detail":"Not Found"}'))
        self.assertEqual(raw.headers[:2][1], ("server", "uvicorn"))
        self.assertEqual(raw.headers[0][0], "date")
        self.assertIn(("content-type", "application/json"), raw.headers)
        self.assertEqual(call(self.fake, "/api/tags")[::2], (404, b'{"detail":"Not Found"}'))

    def test_wrong_method_is_405(self):
        self.assertEqual(call(self.fake, "/v1/chat/completions")[::2],
                         (405, b'{"detail":"Method Not Allowed"}'))

    def test_models_owned_by_vllm(self):
        card = self.get_json("/v1/models")[2]["data"][0]
        self.assertEqual((card["id"], card["owned_by"], card["root"], card["max_model_len"]),
                         ("Qwen/Qwen3-8B", "vllm", "Qwen/Qwen3-8B", 40960))
        self.assertEqual(card["permission"][0]["object"], "model_permission")

    def test_stream_framing_and_reasoning(self):
        self.fake.thinking = ("hmm",)
        headers, found = self.stream(stream_options={"include_usage": True})
        self.assertEqual(headers["Content-Type"], "text/event-stream; charset=utf-8")
        self.assertEqual(found[0]["choices"][0], {"index": 0, "delta": {"role": "assistant",
                                                                        "content": ""},
                                                  "logprobs": None, "finish_reason": None})
        self.assertEqual(content(found, "reasoning"), "hmm")
        self.assertEqual(content(found), "You said: hello")
        finish = found[-3]["choices"][0]
        self.assertEqual((finish["finish_reason"], finish["stop_reason"]), ("stop", None))
        self.assertEqual(found[-2]["choices"], [])
        self.assertEqual(list(found[-2]["usage"]),
                         ["prompt_tokens", "total_tokens", "completion_tokens"])
        self.assertEqual(found[-1], "[DONE]")

    def test_older_builds_use_reasoning_content(self):
        with FakeVLLM(reasoning_field="reasoning_content", reasoning=("a",)) as fake:
            found = events(call(fake, "/v1/chat/completions", chat_body("Qwen/Qwen3-8B"))[2])
        self.assertEqual(found[1]["choices"][0]["delta"], {"reasoning_content": "a"})

    def test_unknown_model(self):
        status, _, body = self.get_json("/v1/chat/completions", body=chat_body("llama3"))
        self.assertEqual((status, body), (404, {"error": {
            "message": "The model `llama3` does not exist.", "type": "NotFoundError",
            "param": "model", "code": 404}}))

    def test_api_key_only_under_v1(self):
        self.fake.api_key = "sk-1"
        self.assertEqual(call(self.fake, "/v1/models")[::2], (401, b'{"error":"Unauthorized"}'))
        self.assertEqual(call(self.fake, "/health")[0], 200)
        self.assertEqual(call(self.fake, "/api/chat", chat_body("m"))[0], 404)
        self.assertEqual(call(self.fake, "/v1/models",
                              headers={"Authorization": "Bearer sk-1"})[0], 200)

    def test_error_mid_stream_then_done(self):
        self.fake.faults.update(error_after=1, error="KV cache full")
        found = self.stream()[1]
        self.assertEqual(found[-2], {"error": {"message": "KV cache full",
                                               "type": "InternalServerError", "param": None,
                                               "code": 500}})
        self.assertEqual(found[-1], "[DONE]")


class LiteLLMTest(ServerTest):
    server = FakeLiteLLM

    def test_models(self):
        self.assertEqual(self.get_json("/v1/models")[2], {"data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 1677610602,
             "owned_by": "openai"}], "object": "list"})

    def test_unknown_model_400_with_string_code(self):
        status, _, body = self.get_json("/v1/chat/completions", body=chat_body("llama3"))
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["code"], "400")
        self.assertEqual((body["error"]["type"], body["error"]["param"]), ("None", "None"))
        self.assertTrue(body["error"]["message"].startswith(
            "/chat/completions: Invalid model name passed in model=llama3."))

    def test_master_key(self):
        self.fake.api_key = "sk-master"
        status, headers, body = self.get_json("/v1/models")
        self.assertEqual((status, body["error"]["message"], body["error"]["type"]),
                         (401, "Authentication Error, No api key passed in.", "auth_error"))
        body = self.get_json("/v1/models", headers={"Authorization": "Bearer sk-x"})[2]
        self.assertEqual((body["error"]["type"], body["error"]["code"]),
                         ("token_not_found_in_db", "401"))
        self.assertEqual(call(self.fake, "/api/chat", chat_body("m"))[0], 404)  # routes first
        self.assertEqual(call(self.fake, "/v1/models",
                              headers={"Authorization": "Bearer sk-master"})[0], 200)

    def test_stream_drops_null_finish_reason_and_errors_without_done(self):
        found = self.stream()[1]
        self.assertEqual(found[0]["choices"][0], {"index": 0, "delta": {"content": "",
                                                                        "role": "assistant"}})
        self.assertNotIn("finish_reason", found[1]["choices"][0])
        self.assertEqual(found[-2]["choices"][0]["finish_reason"], "stop")
        self.fake.faults["error_after"] = 0
        body = call(self.fake, "/v1/chat/completions", chat_body("gpt-4o-mini"))[2]
        self.assertTrue(body.endswith(b'data: {"error": {"message": "the model crashed (fake)", '
                                      b'"type": "None", "param": "None", "code": "500"}}\n\n'))
        self.assertNotIn(b"[DONE]", body)


class LocalAITest(ServerTest):
    server = FakeLocalAI

    def test_api_chat_ndjson_with_a_short_final_line(self):
        status, headers, body = call(self.fake, "/api/chat", chat_body("qwen3-8b"))
        self.assertEqual((status, headers["Content-Type"]), (200, "application/x-ndjson"))
        lines = [json.loads(line) for line in body.decode().splitlines()]
        self.assertEqual("".join(l["message"]["content"] for l in lines), "You said: hello")
        self.assertEqual(sorted(lines[-1]), ["created_at", "done", "done_reason", "eval_count",
                                             "message", "model", "prompt_eval_count",
                                             "total_duration"])
        self.assertEqual((lines[-1]["done"], lines[-1]["done_reason"]), (True, "stop"))

    def test_failed_generation_ends_with_done_reason_error_and_no_text(self):
        self.fake.faults["error_after"] = 2
        body = call(self.fake, "/api/chat", chat_body("qwen3-8b:latest"))[2]
        lines = [json.loads(line) for line in body.decode().splitlines()]
        self.assertEqual(len(lines), 3)
        last = lines[-1]
        self.assertEqual({k: v for k, v in last.items() if k != "created_at"},
                         {"model": "qwen3-8b:latest", "message": {"role": "", "content": ""},
                          "done": True, "done_reason": "error"})

    def test_version_tags_models_and_echo_headers(self):
        status, headers, raw = call(self.fake, "/api/version")
        self.assertEqual((status, raw), (200, b'{"version":"0.9.0"}\n'))
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["X-Frame-Options"], "SAMEORIGIN")
        tag = self.get_json("/api/tags")[2]["models"][0]
        self.assertEqual((tag["name"], tag["model"], tag["size"]),
                         ("qwen3-8b:latest", "qwen3-8b:latest", 0))
        self.assertEqual(tag["digest"], "sha256:" + hashlib.sha256(b"qwen3-8b").hexdigest())
        self.assertEqual(self.get_json("/v1/models")[2],
                         {"object": "list", "data": [{"id": "qwen3-8b", "object": "model"}]})
        self.fake.models[:] = []
        self.assertEqual(self.get_json("/api/tags")[2], {"models": None})

    def test_unknown_model_404_on_both_apis(self):
        message = 'model "llama3" not found. To see available models, call GET /v1/models'
        for path in ("/api/chat", "/v1/chat/completions"):
            status, _, body = self.get_json(path, body=chat_body("llama3"))
            self.assertEqual((status, body), (404, {"error": {
                "code": 404, "message": message, "type": "invalid_request_error"}}), path)

    def test_older_builds_have_no_ollama_api(self):
        self.fake.ollama_api = False
        status, _, raw = call(self.fake, "/api/chat", chat_body("qwen3-8b"))
        self.assertEqual((status, raw), (404, b'{"error":{"code":404,"message":"Resource not '
                                              b'found","type":""}}\n'))

    def test_openai_stream_reasoning_beside_null_content(self):
        self.fake.thinking = ("hm",)
        found = self.stream(stream_options={"include_usage": True})[1]
        self.assertEqual(found[0]["choices"][0]["delta"], {"role": "assistant", "content": None})
        self.assertEqual(found[1]["choices"][0]["delta"], {"content": None, "reasoning": "hm"})
        self.assertEqual(content(found), "You said: hello")
        self.assertEqual(found[-3]["choices"][0], {"index": 0, "finish_reason": "stop",
                                                   "delta": {"content": None}})
        self.assertEqual((found[-2]["choices"], sorted(found[-2]["usage"])),
                         ([], ["completion_tokens", "prompt_tokens", "total_tokens"]))
        self.assertEqual(found[-1], "[DONE]")

    def test_error_event_then_done(self):
        self.fake.faults["error_after"] = 1
        found = self.stream()[1]
        self.assertEqual(found[-2], {"error": {"code": "server_error",
                                               "message": "the model crashed (fake)",
                                               "type": "server_error"}})
        self.assertEqual(found[-1], "[DONE]")

    def test_api_key(self):
        self.fake.api_key = "k"
        status, headers, body = self.get_json("/api/tags")
        self.assertEqual((status, headers["WWW-Authenticate"]), (401, "Bearer"))
        self.assertEqual(body["error"]["message"], "An authentication key is required")


class OpenWebUITest(ServerTest):
    server = FakeOpenWebUI
    key = {"Authorization": "Bearer sk-webui"}

    def test_root_api_chat_is_405_and_get_is_the_web_page(self):
        raw = exchange(self.fake, "POST", "/api/chat", chat_body("llama3"))
        self.assertEqual((raw.status, raw.body), (405, b'{"detail":"Method Not Allowed"}'))
        self.assertEqual(dict(raw.headers)["server"], "uvicorn")
        status, headers, body = call(self.fake, "/api/tags")
        self.assertEqual((status, headers["Content-Type"]), (200, "text/html; charset=utf-8"))
        self.assertTrue(body.startswith(b"<!doctype html>"))
        self.assertEqual(self.get_json("/api/version")[2], {"version": "0.6.36"})

    def test_ollama_passthrough_needs_a_key(self):
        self.assertEqual(self.get_json("/ollama/api/chat", body=chat_body("llama3"))[::2],
                         (403, {"detail": "Not authenticated"}))
        status, _, body = self.get_json("/ollama/api/chat", body=chat_body("llama3"),
                                        headers={"Authorization": "Bearer sk-wrong"})
        self.assertEqual((status, body["detail"]), (401, "Your session has expired or the token "
                                                         "is invalid. Please sign in again."))
        status, _, body = self.get_json("/ollama/api/tags",
                                        headers={"Authorization": "Bearer eyJhbGc"})
        self.assertEqual((status, body), (401, {"detail": "401 Unauthorized"}))

    def test_ollama_passthrough_streams_ollama_ndjson(self):
        status, headers, body = call(self.fake, "/ollama/api/chat", chat_body("llama3"),
                                     headers=self.key)
        self.assertEqual((status, headers["Content-Type"]), (200, "application/x-ndjson"))
        self.assertEqual(headers["server"], "uvicorn")
        lines = [json.loads(line) for line in body.decode().splitlines()]
        self.assertEqual("".join(l["message"]["content"] for l in lines), "You said: hello")
        self.assertEqual((lines[-1]["model"], lines[-1]["done_reason"]), ("llama3:latest", "stop"))
        tags = self.get_json("/ollama/api/tags", headers=self.key)[2]
        self.assertEqual((tags["models"][0]["model"], tags["models"][0]["urls"]),
                         ("llama3:latest", [0]))

    def test_errors_become_detail(self):
        status, _, body = self.get_json("/ollama/api/chat", body=chat_body("nope"),
                                        headers=self.key)
        self.assertEqual((status, body), (400, {"detail": "Model 'nope:latest' was not found"}))
        self.fake.add_model("embed", capabilities=("embedding",))
        status, _, body = self.get_json("/ollama/api/chat", body=chat_body("embed"),
                                        headers=self.key)
        self.assertEqual((status, body), (400, {"detail": '"embed:latest" does not support chat'}))
        self.fake.role = "user"
        self.assertEqual(self.get_json("/ollama/api/chat", body=chat_body("llama3"),
                                       headers=self.key)[::2], (403, {"detail": "Model not found"}))


class JanTest(ServerTest):
    server = FakeJan

    def test_api_chat_is_plain_404(self):
        raw = exchange(self.fake, "POST", "/api/chat", chat_body("qwen3-8b"))
        self.assertEqual((raw.status, raw.body), (404, b"Not Found"))
        names = [n for n, _ in raw.headers]
        self.assertNotIn("content-type", names)
        self.assertEqual(dict(raw.headers)["access-control-allow-origin"], "*")
        self.assertEqual(names, [n.lower() for n in names])

    def test_key_checked_before_routing(self):
        self.fake.api_key = "jan-key"
        self.assertEqual(call(self.fake, "/api/chat", chat_body("m"))[::2],
                         (401, b"Missing authorization header"))
        self.assertEqual(call(self.fake, "/v1/models", headers={"Authorization": "Bearer x"})[::2],
                         (401, b"Invalid or missing authorization token"))
        self.assertEqual(call(self.fake, "/v1/models",
                              headers={"Authorization": "Bearer jan-key"})[0], 200)

    def test_models_owned_by_user(self):
        status, headers, raw = call(self.fake, "/v1/models")
        self.assertEqual((status, headers["Content-Type"]), (200, "application/json"))
        self.assertEqual(raw, b'{"data":[{"created":1,"id":"qwen3-8b","object":"model",'
                              b'"owned_by":"user"}],"object":"list"}')

    def test_chat_is_llama_server_stream_behind_the_proxy(self):
        headers, found = self.stream(path="/v1/chat/completions")
        self.assertEqual((headers["server"], headers["access-control-allow-origin"]),
                         ("llama.cpp", "*"))
        self.assertEqual(found[0]["choices"][0]["delta"], {"role": "assistant", "content": None})
        self.assertEqual(content(found), "You said: hello")
        self.assertEqual(found[-1], "[DONE]")

    def test_model_sessions(self):
        self.assertEqual(call(self.fake, "/v1/chat/completions", chat_body("llama3"))[::2],
                         (404, b"No running session found for model 'llama3'"))
        self.fake.running = False
        self.assertEqual(call(self.fake, "/v1/chat/completions", chat_body("qwen3-8b"))[::2],
                         (503, b"No models are available"))


class LookalikeTest(ServerTest):
    server = FakeLookalike

    def test_generate_style_chunks_and_done_twice(self):
        status, _, body = call(self.fake, "/api/chat", chat_body("gpt-4o-mini"))
        lines = [json.loads(line) for line in body.decode().splitlines()]
        self.assertEqual(status, 200)
        self.assertFalse(any("message" in line for line in lines))
        self.assertEqual("".join(line["response"] for line in lines), "You said: hello")
        self.assertEqual([line["done"] for line in lines[-3:]], [False, True, True])

    def test_unknown_model_is_200_and_empty(self):
        raw = exchange(self.fake, "POST", "/api/chat", chat_body("llama3"))
        self.assertEqual((raw.status, raw.body, dict(raw.headers)["Content-Length"]),
                         (200, b"", "0"))

    def test_version(self):
        self.assertEqual(self.get_json("/api/version")[2], {"version": "0.1.42"})


class OllamaOpenAITest(ServerTest):
    server = FakeOllamaOpenAI

    def test_stream(self):
        self.fake.thinking = ("hm",)
        headers, found = self.stream(model="llama3", stream_options={"include_usage": True})
        self.assertEqual(headers["Content-Type"], "text/event-stream")
        self.assertEqual(found[0]["choices"][0]["delta"],
                         {"role": "assistant", "content": "", "reasoning": "hm"})
        self.assertEqual({c["choices"][0]["delta"]["role"] for c in found[:-2]}, {"assistant"})
        self.assertEqual(content(found), "You said: hello")
        self.assertEqual(found[-3]["choices"][0], {"index": 0, "finish_reason": "stop", "delta": {
            "role": "assistant", "content": ""}})
        self.assertEqual({c["system_fingerprint"] for c in found[:-1]}, {"fp_ollama"})
        self.assertEqual(found[-2]["choices"], [])
        self.assertEqual(found[-1], "[DONE]")

    def test_errors_and_models(self):
        status, _, raw = call(self.fake, "/v1/chat/completions", chat_body("nope"))
        self.assertEqual((status, raw), (404, b'{"error":{"message":"model \'nope\' not found",'
                                              b'"type":"not_found_error","param":null,'
                                              b'"code":null}}\n'))
        model = self.get_json("/v1/models")[2]["data"][0]
        self.assertEqual((model["id"], model["owned_by"]), ("llama3:latest", "library"))
        self.assertEqual(self.get_json("/api/version")[2], {"version": "0.12.6"})

    def test_error_mid_stream_is_an_empty_chunk_without_done(self):
        self.fake.faults["error_after"] = 1
        found = self.stream(model="llama3")[1]
        self.assertEqual(found[-1]["model"], "")
        self.assertEqual(found[-1]["choices"][0]["delta"], {"role": "assistant", "content": ""})
        self.assertNotIn("[DONE]", found)


class FaultsTest(ServerTest):
    """Misbehaviour on demand, on the wire (chunks as sent)."""
    server = FakeVLLM

    def raw(self):
        return exchange(self.fake, "POST", "/v1/chat/completions", chat_body("Qwen/Qwen3-8B"))

    def finishes(self, found):
        return [c["choices"][0]["finish_reason"] for c in found
                if isinstance(c, dict) and c.get("choices")
                and c["choices"][0]["finish_reason"]]

    def test_normal_stream_one_event_per_chunk(self):
        raw = self.raw()
        self.assertTrue(raw.complete)
        self.assertTrue(all(chunk.endswith(b"\n\n") and chunk.startswith(b"data: ")
                            for chunk in raw.chunks))
        self.assertEqual(raw.chunks[-1], SSE_DONE)

    def test_cut_before_finish(self):
        self.fake.faults["cut"] = True
        raw = self.raw()
        self.assertFalse(raw.complete)
        found = events(raw.body)
        self.assertEqual((self.finishes(found), content(found)), ([], "You said: hello"))
        self.assertNotIn("[DONE]", found)

    def test_no_done_after_finish(self):
        self.fake.faults["no_done"] = True
        raw = self.raw()
        found = events(raw.body)
        self.assertTrue(raw.complete)
        self.assertEqual(self.finishes(found), ["stop"])
        self.assertNotIn("[DONE]", found)

    def test_crlf_merge_split_comments_length(self):
        self.fake.faults.update(crlf=True, merge=True, comments=True, finish_reason="length")
        raw = self.raw()
        self.assertEqual(len(raw.chunks), 1)
        self.assertNotIn(b"\n\n", raw.body.replace(b"\r\n", b""))
        self.assertIn(b": keep-alive\r\n\r\n", raw.body)
        found = events(raw.body)
        self.assertEqual((self.finishes(found), found[-1]), (["length"], "[DONE]"))
        self.fake.faults.update(crlf=False, merge=False, comments=False, split=7)
        raw = self.raw()
        self.assertEqual({len(chunk) for chunk in raw.chunks[:-1]}, {7})
        self.assertEqual(content(events(raw.body)), "You said: hello")

    def test_scripted_reply_in_the_servers_format_and_headers(self):
        self.fake.script("/v1/chat/completions",
                         self.fake.sse_reply("A", "B", reasoning=("r",), usage=True, crlf=True),
                         Reply(chat_chunks("x")))
        raw = self.raw()
        self.assertIn(("server", "uvicorn"), raw.headers)
        found = events(raw.body)
        self.assertEqual((content(found), content(found, "reasoning")), ("AB", "r"))
        self.assertEqual(found[-2]["choices"], [])
        raw = self.raw()  # a fake_ollama Reply gets the server's headers too
        self.assertIn(("server", "uvicorn"), raw.headers)
        self.assertIn(("content-type", "application/x-ndjson"), raw.headers)

    def test_constructor_flags_change_every_default_stream(self):
        with FakeLMStudio(no_done=True, crlf=True) as fake:
            body = call(fake, "/v1/chat/completions", chat_body("x"))[2]
            fake.reset()
            again = call(fake, "/v1/chat/completions", chat_body("x"))[2]
        for data in (body, again):
            self.assertIn(b"\r\n\r\n", data)
            self.assertNotIn(b"[DONE]", data)


if __name__ == "__main__":
    unittest.main()
