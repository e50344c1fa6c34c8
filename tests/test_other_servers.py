"""The client against servers that are not Ollama: LM Studio, llama.cpp, vLLM, LiteLLM,
LocalAI, Open WebUI, Jan, an Ollama lookalike (the fakes of fake_servers.py), and
OpenAI-style streams scripted on a fake Ollama.

Never silent (a reply without text, done_reason "error", an empty body are failures),
the server named in a line, the OpenAI-compatible API spoken when Ollama's is not
there (with what does not apply said), and the quality bar of Ollama's stream:
idle timeout, history only when complete, the key only as Bearer to the configured
server, no redirects, and a seeded random test of the SSE framing.
"""

import json
import os
import random
import re
import threading
import time
import unittest

from support import Gate, ScriptTest, assistant, spoken, user
from fake_ollama import Reply, chat_chunks, json_reply, redirect
from fake_servers import (SSE_COMMENT, SSE_DONE, FakeJan, FakeLiteLLM, FakeLlamaCpp,
                          FakeLMStudio, FakeLocalAI, FakeLookalike, FakeOpenWebUI, FakeVLLM,
                          sse_chunks, sse_event)

V1 = "/v1/chat/completions"
DEMO = ("私の名前は太郎です。私の名前を覚えてください。", "今何時ですか？ また、私の名前は何でしたか？")
NO_STATISTICS = "(the server sent no statistics with this reply)"

# One fake of each server for the whole module, made like new before each test.
FAKES = {}
KINDS = {"lmstudio": FakeLMStudio, "llamacpp": FakeLlamaCpp, "vllm": FakeVLLM,
         "litellm": FakeLiteLLM, "localai": FakeLocalAI, "openwebui": FakeOpenWebUI,
         "jan": FakeJan, "lookalike": FakeLookalike}


def setUpModule():
    for name, kind in KINDS.items():
        FAKES[name] = kind().start()
        unittest.addModuleCleanup(FAKES[name].stop)


def generic_openai(fake):
    """A fake Ollama scripted as an OpenAI-compatible server no one can name."""
    fake.script("/api/chat", Reply(status=404, body=b"404 page not found",
                                   content_type="text/plain"))
    fake.script("/api/version", Reply(status=404, body=b"404 page not found",
                                      content_type="text/plain"))
    fake.script("/v1/models", json_reply({"object": "list", "data": [
        {"id": "llama3", "object": "model", "created": 1, "owned_by": "someone"}]}))


class OtherServerTest(ScriptTest):
    """run_main against one of the module's fakes, with only API_URL and MODEL_NAME set."""

    def setUp(self):
        super().setUp()
        for fake in FAKES.values():
            fake.reset()

    def at(self, name, *args, url="/api/chat", stdin="", **constants):
        fake = FAKES[name]
        constants = dict({"API_URL": fake.url + url, "MODEL_NAME": fake.models[0]},
                         **constants)
        return self.run_main(*args, stdin=stdin, constants=constants)

    @staticmethod
    def routes(fake):
        return [(r.method, r.route) for r in fake.requests]

    @staticmethod
    def streams(fake):
        """The chat requests to the OpenAI-compatible endpoint, in order."""
        return [r for r in fake.requests if r.route == V1]

    def assertNote(self, err, name, fake):
        """stderr is the one note that names the server and switches."""
        lines = err.splitlines()
        self.assertLessEqual(len(lines), 2, err)
        self.assertTrue(lines[0].startswith("note: %s at 127.0.0.1:%d " % (name, fake.port)),
                        err)
        self.assertIn("OpenAI-compatible", lines[0])
        self.assertNotIn("warning", err)


# --- 1. Never silent --------------------------------------------------------

class NeverSilentTest(OtherServerTest):

    def test_a_finished_reply_without_text_fails_in_one_line_and_saves_nothing(self):
        saved = os.path.join(self.tmp, "chat.json")
        for api, path, reply in (
                ("ollama", "/api/chat", Reply(chat_chunks())),
                ("openai", V1, Reply(sse_chunks(usage=True), content_type="text/event-stream"))):
            with self.subTest(api=api):
                self.server.reset()
                self.server.script(path, reply)
                code, out, err = self.run_main("--save", saved, "hi",
                                               constants={"API_STYLE": api})
                self.assertCleanFailure(code, err)
                self.assertEqual(err, "ollama_chat: error: the server finished the reply "
                                      "without any text; nothing is kept. Is llama3 a model "
                                      "that can chat?\n")
                self.assertEqual(out, "")
                self.assertFalse(os.path.exists(saved))

    def test_thinking_alone_is_a_reply(self):
        self.server.script(V1, Reply(sse_chunks(reasoning=["only ", "thought"]),
                                     content_type="text/event-stream"))
        code, out, err = self.run_main("hi", constants={"API_STYLE": "openai"})
        self.assertEqual(code, 0, err)
        self.assertIn("Thinking...\nonly thought\n", err)
        self.assertNotIn("without any text", err)

    def test_lookalike_response_chunks_are_the_reply_and_it_is_named(self):
        code, out, err = self.at("lookalike", "hi")
        self.assertEqual((code, out), (0, "You said: hi\n"), err)
        self.assertEqual(err, 'warning: this server answers /api/chat as /api/generate does '
                              '("response" chunks): an Ollama lookalike, not Ollama. '
                              'Showing them as the reply.\n')

    def test_lookalike_replies_enter_the_history(self):
        code, out, err = self.at("lookalike")  # the demo: two turns
        self.assertEqual(code, 0, err)
        self.assertIn("Assistant (gpt-4o-mini): You said: %s\n" % DEMO[0], out)
        self.assertIn("Assistant (gpt-4o-mini): You said: %s\n" % DEMO[1], out)
        chats = FAKES["lookalike"].chat_requests
        self.assertEqual(spoken(chats[1].json["messages"]),
                         [user(DEMO[0]), assistant("You said: " + DEMO[0]), user(DEMO[1])])

    def test_lookalike_is_named_once_per_run(self):
        # Was a bug: the lookalike warning is said once per reply (Reply.lookalike), so the
        # two-turn demo, or every turn of -i, repeats it; the issue asks for once.
        code, out, err = self.at("lookalike")
        self.assertEqual(code, 0, err)
        self.assertEqual(err.count("lookalike"), 1, err)

    def test_lookalike_answers_an_unknown_model_with_an_empty_body(self):
        code, out, err = self.at("lookalike", "hi", MODEL_NAME="no-such-model")
        self.assertCleanFailure(code, err)
        self.assertIn("an empty body", err)
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_verbose_says_when_the_server_sent_no_statistics(self):
        code, out, err = self.at("lookalike", "-v", "hi")
        self.assertEqual(code, 0, err)
        self.assertIn(NO_STATISTICS, err)
        self.server.script(V1, Reply(sse_chunks("hi"), content_type="text/event-stream"))
        code, out, err = self.run_main("-v", "hi", constants={"API_STYLE": "openai"})
        self.assertEqual((code, out), (0, "hi\n"), err)
        self.assertEqual(err, NO_STATISTICS + "\n")

    def test_localai_done_reason_error_fails_and_nothing_is_stored(self):
        FAKES["localai"].faults["error_after"] = 1
        saved = os.path.join(self.tmp, "chat.json")
        code, out, err = self.at("localai", "--save", saved, "hi")
        self.assertCleanFailure(code, err)
        self.assertIn('done_reason "error"', err)
        self.assertFalse(os.path.exists(saved))
        FAKES["localai"].reset()
        FAKES["localai"].script("/api/chat", FAKES["localai"].ndjson_reply(
            "qwen3-8b", ["x"], (1, 1), error_after=0))
        code, out, err = self.at("localai", "-i", stdin="one\ntwo\n")
        self.assertEqual(code, 0, err)  # -i goes on after a failed turn
        self.assertIn('done_reason "error"', err)
        second = FAKES["localai"].chat_requests[1]
        self.assertEqual(spoken(second.json["messages"]), [user("two")])

    def test_error_bodies_of_every_dialect_are_read(self):
        bodies = [{"error": "ollama words"}, {"error": {"message": "openai words"}},
                  {"detail": "fastapi words"}, {"detail": [{"msg": "pydantic words"}]}]
        for api, path in (("ollama", "/api/chat"), ("openai", V1)):
            for status in (400, 500):
                for body in bodies:
                    words = re.search(r"\w+ words", json.dumps(body)).group()
                    with self.subTest(api=api, status=status, body=body):
                        self.server.reset()
                        self.server.script(path, json_reply(body, status=status))
                        code, out, err = self.run_main("hi", constants={"API_STYLE": api})
                        self.assertCleanFailure(code, err)
                        self.assertIn("HTTP %d" % status, err)
                        self.assertIn(": " + words, err)

    def test_an_error_body_with_200_on_the_openai_endpoint_is_read(self):
        # Was a bug: a 200 JSON body {"error": {"message": ...}} on /v1/chat/completions (LM
        # Studio answers 200 with {"error": ...}) is reported as "an empty body: a
        # lookalike of Ollama does that for an unknown model" and the server's words
        # are lost; on /api/chat the same body gives "the server stopped the reply
        # with an error: <words>".
        self.server.script(V1, json_reply({"error": {"message": "model failed to load"}}))
        code, out, err = self.run_main("hi", constants={"API_STYLE": "openai"})
        self.assertCleanFailure(code, err)
        self.assertIn("model failed to load", err)
        self.assertNotIn("empty body", err)


# --- 2. Name the server -----------------------------------------------------

class NameTheServerTest(OtherServerTest):

    NAMES = {"lmstudio": "LM Studio", "llamacpp": "llama.cpp (llama-server)",
             "vllm": "vLLM", "jan": "Jan"}

    def test_auto_names_the_server_in_one_line_and_answers(self):
        for name, shown in self.NAMES.items():
            with self.subTest(server=name):
                fake = FAKES[name]
                code, out, err = self.at(name, "hi")
                self.assertEqual((code, out), (0, "You said: hi\n"), err)
                self.assertNote(err, shown, fake)

    def test_llamacpp_without_its_ollama_routes_is_named_too(self):
        FAKES["llamacpp"].ollama_routes = False
        code, out, err = self.at("llamacpp", "hi")
        self.assertEqual((code, out), (0, "You said: hi\n"), err)
        self.assertNote(err, "llama.cpp (llama-server)", FAKES["llamacpp"])

    def test_a_server_no_one_can_name_is_an_openai_compatible_server(self):
        generic_openai(self.server)
        self.server.script(V1, Reply(sse_chunks("hello"), content_type="text/event-stream"))
        code, out, err = self.run_main("hi")
        self.assertEqual((code, out), (0, "hello\n"), err)
        self.assertNote(err, "an OpenAI-compatible server", self.server)

    def test_litellm_is_named(self):
        # Was a bug: LiteLLM is called "an OpenAI-compatible server": server_name() looks for
        # "litellm" in Server/X-Powered-By or owned_by, and LiteLLM sends neither
        # (uvicorn, owned_by "openai"). Its /v1/models gives every model created
        # 1677610602, and its errors carry a string "code".
        code, out, err = self.at("litellm", "hi")
        self.assertEqual(code, 0, err)
        self.assertNote(err, "LiteLLM", FAKES["litellm"])

    def test_localai_before_its_ollama_api_is_named(self):
        # Was a bug: LocalAI builds without /api/chat are called "an OpenAI-compatible
        # server": server_name() looks for "localai" in headers or owned_by, and
        # LocalAI sends neither; its 404 body is {"error":{"code":404,"message":
        # "Resource not found","type":""}}.
        FAKES["localai"].ollama_api = False
        code, out, err = self.at("localai", "hi")
        self.assertEqual(code, 0, err)
        self.assertNote(err, "LocalAI", FAKES["localai"])

    def test_open_webui_points_to_its_ollama_passthrough_and_key(self):
        fake = FAKES["openwebui"]
        code, out, err = self.at("openwebui", "hi")
        self.assertCleanFailure(code, err)
        self.assertIn("Open WebUI", err)
        self.assertIn("API_URL = %s/ollama/api/chat" % fake.url, err)
        self.assertIn("API_KEY", err)
        self.assertNotIn((("POST", V1)), self.routes(fake))
        code, out, err = self.at("openwebui", "hi", url="/ollama/api/chat",
                                 API_KEY="sk-webui", MODEL_NAME="llama3")
        self.assertEqual((code, out, err), (0, "You said: hi\n", ""))

    def test_open_webui_detail_errors_are_read_like_ollamas(self):
        code, out, err = self.at("openwebui", "hi", url="/ollama/api/chat",
                                 API_KEY="sk-webui", MODEL_NAME="qwen3")
        self.assertCleanFailure(code, err)
        self.assertIn("Model 'qwen3:latest' was not found", err)
        self.assertIn("closest first: llama3:latest", err)

    def test_api_ollama_never_switches_and_says_how(self):
        for name, shown in self.NAMES.items():
            with self.subTest(server=name):
                fake = FAKES[name]
                code, out, err = self.at(name, "--api", "ollama", "hi")
                self.assertCleanFailure(code, err)
                self.assertEqual(out, "")
                self.assertIn("%s at 127.0.0.1:%d is not Ollama" % (shown, fake.port), err)
                self.assertIn('API_STYLE = "openai" (or --api openai)', err)
                self.assertNotIn("warning", err)  # llama.cpp's SSE: no "skipped a line"
                self.assertNotIn(("POST", V1), self.routes(fake))
                self.assertLessEqual(len(err.splitlines()), 3, err)


# --- 3. Speak OpenAI-compatible chat ------------------------------------------

class OpenAIChatTest(OtherServerTest):

    def test_a_v1_url_means_openai_without_any_api_chat_request(self):
        for url in ("/v1", "/v1/", "/v1/chat/completions"):
            with self.subTest(url=url):
                FAKES["vllm"].reset()
                code, out, err = self.at("vllm", "hi", url=url)
                self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
                self.assertEqual(self.routes(FAKES["vllm"]), [("POST", V1)])

    def test_api_openai_goes_straight_there(self):
        code, out, err = self.at("lmstudio", "--api", "openai", "hi")
        self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
        self.assertEqual(self.routes(FAKES["lmstudio"]), [("POST", V1)])

    def test_the_switch_is_made_once_per_run(self):
        code, out, err = self.at("jan", "-i", stdin="one\ntwo\n")
        self.assertEqual(code, 0, err)
        self.assertEqual(err.count("note: "), 1, err)
        self.assertEqual([r for r in self.routes(FAKES["jan"]) if r[1] == "/api/chat"],
                         [("POST", "/api/chat")])
        self.assertEqual(len(self.streams(FAKES["jan"])), 2)

    def test_thinking_in_either_field_is_shown_on_stderr_and_never_stored(self):
        for name, field in (("lmstudio", "reasoning_content"), ("vllm", "reasoning")):
            with self.subTest(server=name, field=field):
                fake = FAKES[name]
                fake.thinking = ("The user ", "gave a name.")
                code, out, err = self.at(name, url="/v1")
                self.assertEqual(code, 0, err)
                self.assertIn("Thinking...\nThe user gave a name.\n...done thinking.", err)
                self.assertNotIn("The user", out)
                second = self.streams(fake)[1].json["messages"]
                self.assertEqual(spoken(second), [user(DEMO[0]),
                                                  assistant("You said: " + DEMO[0]),
                                                  user(DEMO[1])])
                self.assertEqual(set(second[1]), {"role", "content"})

    def test_finish_reason_length_warns(self):
        FAKES["llamacpp"].faults["finish_reason"] = "length"
        code, out, err = self.at("llamacpp", "hi", url="/v1")
        self.assertEqual((code, out), (0, "You said: hi\n"), err)
        self.assertIn("warning: the reply was cut by the length limit", err)

    def test_usage_is_verbose_prompt_eval_count_and_eval_count(self):
        fake = FAKES["vllm"]
        fake.script(V1, fake.sse_reply("Hi", " there", usage=True, counts=(37, 2)))
        code, out, err = self.at("vllm", "-v", "hi", url="/v1")
        self.assertEqual((code, out), (0, "Hi there\n"), err)
        self.assertEqual(err, "prompt eval count:    37 token(s)\n"
                              "eval count:           2 token(s)\n"
                              "context: 39 tokens; the window is not known (an "
                              "OpenAI-compatible server does not tell it)\n")
        self.assertEqual(self.streams(fake)[0].json["stream_options"], {"include_usage": True})

    def test_errors_before_the_stream_are_read(self):
        FAKES["lmstudio"].api_key = "lm-key"
        for name, words in (
                ("vllm", "(server: The model `nope` does not exist.)"),
                ("litellm", "(server: /chat/completions: Invalid model name passed in "
                            "model=nope."),
                ("jan", "(server: No running session found for model 'nope')"),
                ("lmstudio", "HTTP 401 Unauthorized: An LM Studio API token is required")):
            with self.subTest(server=name):
                code, out, err = self.at(name, "hi", url="/v1", MODEL_NAME="nope")
                self.assertCleanFailure(code, err)
                self.assertIn(words, err)
                self.assertEqual(self.routes(FAKES[name])[0], ("POST", V1))
        self.assertIn("the server wants an API key: set API_KEY", err)  # LM Studio's

    def test_an_error_event_inside_the_stream_fails_and_stores_nothing(self):
        for name in ("llamacpp", "vllm", "litellm", "localai", "jan"):
            with self.subTest(server=name):
                fake = FAKES[name]
                fake.faults.update(error_after=2, error="out of memory (fake)")
                code, out, err = self.at(name, "-i", url="/v1", stdin="one\ntwo\n")
                self.assertEqual(code, 0, err)
                self.assertEqual(err.count("ollama_chat: error: the server stopped the reply "
                                           "with an error: out of memory (fake)"), 2, err)
                self.assertIn("You said", out)  # shown as it came...
                second = self.streams(fake)[1].json["messages"]
                self.assertEqual(spoken(second), [user("two")])  # ...never kept

    def test_comment_lines_crlf_and_merged_events_are_read(self):
        for faults in ({"comments": True}, {"crlf": True}, {"merge": True}, {"split": 7},
                       {"crlf": True, "split": 3, "comments": True}):
            with self.subTest(**faults):
                FAKES["llamacpp"].reset()
                FAKES["llamacpp"].faults.update(faults)
                code, out, err = self.at("llamacpp", "hi 日本語", url="/v1")
                self.assertEqual((code, out, err), (0, "You said: hi 日本語\n", ""))

    def test_a_stream_without_done_after_its_finish_reason_is_complete(self):
        FAKES["litellm"].faults["no_done"] = True
        code, out, err = self.at("litellm", url="/v1")
        self.assertEqual(code, 0, err)
        second = self.streams(FAKES["litellm"])[1].json["messages"]
        self.assertEqual(spoken(second)[1], assistant("You said: " + DEMO[0]))

    def test_a_stream_cut_before_any_finish_reason_fails_and_stores_nothing(self):
        fake = FAKES["vllm"]
        fake.script(V1, fake.sse_reply("You", " said", cut=True))
        saved = os.path.join(self.tmp, "chat.json")
        code, out, err = self.at("vllm", "--save", saved, "-i", url="/v1",
                                 stdin="one\ntwo\n")
        self.assertEqual(code, 0, err)
        self.assertIn("the reply is incomplete.", err.splitlines()[0])
        self.assertEqual(spoken(self.streams(fake)[1].json["messages"]), [user("two")])
        with open(saved, encoding="utf-8") as f:
            self.assertEqual(spoken(json.load(f)["messages"]),
                             [user("two"), assistant("You said: two")])

    def test_a_model_the_server_does_not_list_gets_the_list_closest_first(self):
        for name, models, wanted in (
                ("vllm", ["meta-llama/Llama-3.1-8B", "Qwen/Qwen3-8B"], "Qwen/Qwen3-4B"),
                ("lmstudio", ["google/gemma-3-12b", "qwen/qwen3-8b"], "qwen3"),
                ("localai", ["phi-4", "qwen3-8b"], "qwen3")):
            with self.subTest(server=name):
                FAKES[name].models = models
                code, out, err = self.at(name, "hi", url="/v1", MODEL_NAME=wanted)
                self.assertCleanFailure(code, err)
                self.assertIn("closest first: %s, %s" % tuple(reversed(models)), err)
                self.assertNotIn("ollama pull", err)

    def test_litellm_unknown_model_gets_the_list(self):
        # Was a bug: LiteLLM's 400 "Invalid model name passed in model=gpt-4o" does not match
        # http_error's r"model.*(not found|does not exist)": no list of models.
        FAKES["litellm"].models = ["claude-3-haiku", "gpt-4o-mini"]
        code, out, err = self.at("litellm", "hi", url="/v1", MODEL_NAME="gpt-4o")
        self.assertCleanFailure(code, err)
        self.assertIn("closest first: gpt-4o-mini, claude-3-haiku", err)

    def test_jan_unknown_model_gets_the_list_not_a_wrong_url_hint(self):
        # Was a bug: Jan's 404 "No running session found for model 'qwen3'" (plain text) gets
        # "no OpenAI-compatible API at .../v1/chat/completions: check API_URL", which
        # is wrong (the URL is right), and no list of the models /v1/models serves.
        FAKES["jan"].models = ["llama3.2-3b", "qwen3-8b"]
        code, out, err = self.at("jan", "hi", url="/v1", MODEL_NAME="qwen3")
        self.assertCleanFailure(code, err)
        self.assertNotIn("check API_URL", err)
        self.assertIn("closest first: qwen3-8b, llama3.2-3b", err)

    def test_what_does_not_apply_is_said_once_and_not_sent(self):
        options = {"num_ctx": 8192, "num_predict": 64, "temperature": 0.2, "stop": ["\n\n"]}
        code, out, err = self.at("vllm", "--format", "json", "--keepalive", "10m", url="/v1",
                                 THINK=True, OPTIONS=options)  # the demo: two requests
        self.assertEqual(code, 0, err)
        warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
        self.assertEqual(len(warnings), 1, err)
        for name in ("num_ctx", "THINK", "--format", "KEEP_ALIVE", "not sent"):
            self.assertIn(name, warnings[0])
        for request in self.streams(FAKES["vllm"]):
            body = request.json
            self.assertEqual((body["max_tokens"], body["temperature"], body["stop"]),
                             (64, 0.2, ["\n\n"]))
            for field in ("think", "format", "keep_alive", "options", "num_ctx",
                          "num_predict"):
                self.assertNotIn(field, body)

    def test_pull_with_api_openai_is_a_usage_error_before_any_request(self):
        code, out, err = self.at("vllm", "--pull", "hi", url="/v1")
        self.assertCleanFailure(code, err, 2)
        self.assertIn("--pull works with Ollama only", err)
        self.assertEqual(FAKES["vllm"].requests, [])

    def test_verbose_says_the_context_window_is_not_known(self):
        # Was a bug: the issue lists the context window among what does not apply and "says
        # so instead of pretending"; with -v on the OpenAI-compatible API the client
        # shows the token counts and says nothing about the window (Ollama's -v shows
        # "context: ..."). It does not pretend, but it does not say so either.
        code, out, err = self.at("vllm", "-v", "hi", url="/v1")
        self.assertEqual(code, 0, err)
        self.assertIn("window", err)


class ListAndCheckTest(OtherServerTest):

    def test_list_on_lm_studio_lists_its_models_not_ollama_pull(self):
        FAKES["lmstudio"].models = ["qwen/qwen3-8b", "google/gemma-3-12b"]
        code, out, err = self.at("lmstudio", "--list")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines(), ["NAME                OWNED BY",
                                            "qwen/qwen3-8b       organization_owner",
                                            "google/gemma-3-12b  organization_owner"])
        self.assertNote(err, "LM Studio", FAKES["lmstudio"])
        self.assertNotIn("ollama pull", err)
        self.assertNotIn("No models", err)

    def test_list_with_an_openai_url(self):
        for name, owner in (("vllm", "vllm"), ("llamacpp", "llamacpp"), ("jan", "user"),
                            ("litellm", "openai"), ("lmstudio", "organization_owner")):
            with self.subTest(server=name):
                code, out, err = self.at(name, "--list", url="/v1")
                self.assertEqual((code, err), (0, ""))
                self.assertEqual(out.split(), ["NAME", "OWNED", "BY", FAKES[name].models[0],
                                               owner])
                self.assertEqual(self.routes(FAKES[name]), [("GET", "/v1/models")])

    def test_check_on_lm_studio_is_not_a_working_ollama(self):
        code, out, err = self.at("lmstudio", "--check")
        self.assertEqual((code, err), (0, ""), out)
        self.assertIn("[ ok ] server LM Studio answers at 127.0.0.1:%d with the OpenAI-"
                      "compatible API" % FAKES["lmstudio"].port, out)
        self.assertNotRegex(out, r"Ollama \S+ answers")
        self.assertIn("[ ok ] model  qwen/qwen3-8b is served", out)

    def test_check_with_an_openai_url(self):
        for name, shown in NameTheServerTest.NAMES.items():
            with self.subTest(server=name):
                code, out, err = self.at(name, "--check", url="/v1", THINK=True)
                self.assertEqual((code, err), (0, ""), out)
                self.assertIn("[ ok ] server %s answers" % shown, out)
                self.assertIn("[info] think  THINK does not apply", out)
                self.assertFalse([r for r in self.routes(FAKES[name]) if "/api/" in r[1]])

    def test_check_fails_for_a_model_the_server_does_not_serve(self):
        FAKES["vllm"].models = ["Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B"]
        code, out, err = self.at("vllm", "--check", url="/v1", MODEL_NAME="Qwen/Qwen3-4B")
        self.assertEqual(code, 1, out)
        self.assertIn("[FAIL] model  Qwen/Qwen3-4B is not served there (--pull works with "
                      "Ollama only); closest: Qwen/Qwen3-8B", out)

    def test_check_with_a_key_the_server_wants(self):
        FAKES["vllm"].api_key = "sk-vllm"
        code, out, err = self.at("vllm", "--check", url="/v1", API_KEY="sk-vllm")
        self.assertEqual(code, 0, out)
        self.assertIn("[ ok ] key    accepted by /v1/chat/completions (API_KEY)", out)

    def test_list_in_auto_mode_on_a_server_without_api_tags(self):
        # Was a bug: --list (API_STYLE "auto") on vLLM, Jan, LiteLLM, LocalAI before its Ollama
        # API, or a recent llama-server: GET /api/tags is 404, get_json raises and
        # list_models never reaches list_openai_models: exit 1, "no Ollama API at
        # .../api/tags: check API_URL", though a chat with the same settings works.
        code, out, err = self.at("vllm", "--list")
        self.assertEqual(code, 0, err)
        self.assertIn("Qwen/Qwen3-8B", out)

    def test_check_in_auto_mode_on_a_server_without_api_version(self):
        # Was a bug: --check (API_STYLE "auto") on vLLM, llama.cpp, Jan, LiteLLM, LocalAI:
        # GET /api/version is 404, get_json raises before /v1/models is probed:
        # "[FAIL] server HTTP 404 ... no Ollama API at .../api/version: check
        # API_URL", exit 1, though a chat with the same settings switches and works.
        code, out, err = self.at("vllm", "--check")
        self.assertEqual(code, 0, out)
        self.assertIn("[ ok ] server vLLM answers", out)

    def test_list_says_the_key_is_wanted_when_v1_models_refuses_it(self):
        # Was a bug: list_openai_models asks /v1/models through probe(), which swallows the
        # 401: "http://.../api/tags did not list models: is API_URL pointing at
        # Ollama?" names a path never asked and hides the key problem (a redirect
        # of /v1/models is hidden the same way).
        FAKES["vllm"].api_key = "sk-vllm"
        code, out, err = self.at("vllm", "--list", url="/v1")
        self.assertCleanFailure(code, err)
        self.assertIn("API key", err)
        self.assertNotIn("/api/tags", err)

    def test_check_says_the_key_is_wanted_when_v1_models_refuses_it(self):
        # Was a bug: run_check probes /v1/models and swallows the 401: "[FAIL] server ...
        # (/api/version has no version): is API_URL pointing at Ollama?" though
        # /api/version was never asked; the key line should FAIL instead.
        FAKES["vllm"].api_key = "sk-vllm"
        code, out, err = self.at("vllm", "--check", url="/v1", API_KEY="wrong")
        self.assertEqual(code, 1, out)
        self.assertIn("[FAIL] key", out)
        self.assertNotIn("/api/version", out)


# --- 4. The same quality bar -------------------------------------------------

class QualityBarTest(OtherServerTest):

    def held(self, *args, chunks=None):
        """Run with TIMEOUT 0.2 against a stream held before its status line, or
        after its first two events."""
        gate = Gate()
        self.addCleanup(gate.set)
        never = threading.Timer(10, gate.set)  # without a timeout the run ends, and fails
        never.start()
        self.addCleanup(never.cancel)
        if chunks is None:
            reply = Reply(content_type="text/event-stream", hold=gate)
        else:
            reply = Reply(chunks, content_type="text/event-stream", hold_at=(2, gate))
        self.server.script(V1, reply)
        started = time.monotonic()
        result = self.run_main(*args, constants={"API_STYLE": "openai", "TIMEOUT": 0.2})
        self.assertLess(time.monotonic() - started, 4)  # TIMEOUT, not some other limit
        return result

    def test_idle_timeout_before_the_stream(self):
        code, out, err = self.held("hi")
        self.assertCleanFailure(code, err)
        self.assertIn("no data from 127.0.0.1:%d for 0.2 s (TIMEOUT) before answering"
                      % self.server.port, err)
        self.assertEqual(out, "")

    def test_idle_timeout_in_the_middle_of_the_stream_keeps_nothing(self):
        saved = os.path.join(self.tmp, "chat.json")
        code, out, err = self.held("--save", saved, "hi", chunks=sse_chunks("partial", "rest"))
        self.assertCleanFailure(code, err)
        self.assertIn("for 0.2 s (TIMEOUT) in the middle of the reply", err)
        self.assertEqual(out, "partial\n")
        self.assertFalse(os.path.exists(saved))

    def test_the_reply_enters_the_history_only_when_complete(self):
        fake = FAKES["jan"]
        fake.script(V1, fake.sse_reply("You said: one"), fake.sse_reply("You said: two", cut=True))
        code, out, err = self.at("jan", "-i", url="/v1", stdin="one\ntwo\nthree\n")
        self.assertEqual(code, 0, err)
        sent = [spoken(r.json["messages"]) for r in self.streams(fake)]
        self.assertEqual(sent, [[user("one")],
                                [user("one"), assistant("You said: one"), user("two")],
                                [user("one"), assistant("You said: one"), user("three")]])

    def test_the_key_goes_as_bearer_to_every_request_and_is_never_shown(self):
        for name in ("vllm", "jan", "litellm", "lmstudio", "llamacpp"):
            with self.subTest(server=name):
                fake = FAKES[name]
                fake.api_key = "sk-0123456789abcdef"
                code, out, err = self.at(name, "hi", API_KEY="sk-0123456789abcdef")
                self.assertEqual((code, out), (0, "You said: hi\n"), err)
                self.assertEqual(len(fake.requests), 4)  # /api/chat, probes, the chat
                for request in fake.requests:
                    self.assertEqual(request.headers.get("Authorization"),
                                     "Bearer sk-0123456789abcdef")
                self.assertNotIn("0123456789", out + err)

    def test_a_key_refused_by_the_openai_endpoint_says_so(self):
        FAKES["jan"].api_key = "jan-key"
        code, out, err = self.at("jan", "hi", url="/v1", API_KEY="wrong-key")
        self.assertCleanFailure(code, err)
        self.assertIn("Invalid or missing authorization token", err)
        self.assertIn("the server rejected the API key in API_KEY", err)

    def test_no_redirect_is_followed_on_v1_paths(self):
        elsewhere = FAKES["vllm"]
        cases = [(V1, ("hi",)), ("/v1/models", ("--list",))]
        for path, args in cases:
            with self.subTest(path=path):
                self.server.reset()
                self.server.script(path, redirect(elsewhere.url + path, 307))
                code, out, err = self.run_main(*args, constants={"API_STYLE": "openai",
                                                                 "API_KEY": "sk-secret"})
                self.assertCleanFailure(code, err)
                self.assertEqual(elsewhere.requests, [])
                self.assertNotIn("sk-secret", out + err)
                if path == V1:  # --list's probe says nothing of it: see the bug below
                    self.assertIn("Redirects are not followed", err)

    def test_a_redirected_probe_does_not_take_the_key_elsewhere(self):
        elsewhere = FAKES["vllm"]
        self.server.script("/api/chat", Reply(status=404, body=b"404 page not found",
                                              content_type="text/plain"))
        self.server.script("/api/version", Reply(status=404, body=b"", content_type="text/plain"))
        self.server.script("/v1/models", redirect(elsewhere.url + "/v1/models"))
        code, out, err = self.run_main("hi", constants={"API_KEY": "sk-secret"})
        self.assertCleanFailure(code, err)
        self.assertEqual(elsewhere.requests, [])
        self.assertNotIn(V1, [r.route for r in self.server.requests])

    def test_events_that_are_not_chat_chunks_are_warned_about_a_few_times(self):
        # Was a bug: show_event warns about every event that is not a chat chunk, outside
        # few_warnings: a server that sends 20 such events gets 20 warnings (lines
        # that are not JSON stop at 5 and a summary). show_chunk's "not a chat
        # message" on /api/chat is the same.
        events = [sse_event({"object": "chat.completion.ping"})] * 20 + sse_chunks("ok")
        self.server.script(V1, Reply(events, content_type="text/event-stream"))
        code, out, err = self.run_main("hi", constants={"API_STYLE": "openai"})
        self.assertEqual((code, out), (0, "ok\n"), err)
        self.assertLessEqual(err.count("warning: "), 6, err)


# --- The seeded random SSE stream ---------------------------------------------

CONTENT = ["a", "b", " ", "日本", "語", "🙂", "é", "\\", '"', "\n", "\t", "{", "}", "ok",
           "data: x", "[DONE]", "\r"]
WARNED = [b"data: {broken json", b"data: \xff\xfe\xfa", b"data: [1, 2, 3]",
          b'data: "just a string"', b"data: null", b"data: <html>Bad Gateway</html>"]
SILENT = [b": keep-alive", b":", b"event: ping", b"id: 42", b"retry: 1000", b"data:",
          b"data:   "]
ERROR_EVENT = sse_event({"error": {"message": "an error mid-stream", "type": "server_error"}})


def random_sse(rng):
    """One OpenAI stream as a proxy might deliver it, and what the client should make
    of it: (chunks, cut, shown text, thinking, outcome, warned lines, finish_reason)."""
    tokens = ["".join(rng.choice(CONTENT) for _ in range(rng.randint(1, 4)))
              for _ in range(rng.randint(0, 25))]
    thinking = ["∴%d " % i for i in range(rng.choice([0, 0, 3]))]
    finish = rng.choice(["stop", "stop", "length"])
    events = sse_chunks(*tokens, reasoning=thinking, finish_reason=finish,
                        usage=rng.choice([None, True]),
                        reasoning_field=rng.choice(["reasoning_content", "reasoning"]))
    start = 1 + len(thinking)  # the role chunk and the thinking come first
    crlf = rng.random() < 0.3
    if crlf:
        events = [e.replace(b"\n", b"\r\n") for e in events]
    roll, cut, partial = rng.random(), False, b""
    if roll < 0.15:  # an error event part-way: nothing after it counts
        at = rng.randint(0, len(tokens))
        body = events[:start + at]
        tail = [ERROR_EVENT] + rng.choice([[], [SSE_DONE], [sse_event(
            {"choices": [{"index": 0, "delta": {"content": "NEVER SHOWN"}}]})]])
        outcome = "error"
    elif roll < 0.35:  # the stream ends before any finish_reason
        at = rng.randint(0, len(tokens))
        body, tail = events[:start + at], []
        if rng.random() < 0.5:  # the end falls inside the next event
            event = events[start + at]
            partial = event[:rng.randrange(event.rindex(b"}"))]
        cut = rng.random() < 0.5
        outcome = "incomplete"
    else:
        at = len(tokens)
        body, tail = events[:start + at], events[start + at:]
        if rng.random() < 0.3:  # no [DONE] after the finish_reason
            tail = tail[:-1]
            cut = rng.random() < 0.5
        outcome = "ok"
    warned = 0
    for _ in range(rng.choice([0, 0, 1, 3, 8])):  # after the thinking: it stays in one piece
        junk = rng.choice(WARNED + SILENT)
        warned += junk in WARNED
        body.insert(rng.randint(start, len(body)), junk + (b"\r\n\r\n" if crlf else b"\n\n"))
    for _ in range(rng.choice([0, 2])):
        body.insert(rng.randint(0, len(body)), SSE_COMMENT)
    if partial.startswith(b"data:") and not (len(partial) > 5 and partial[5:].isspace()):
        warned += 1  # a line cut short is not JSON
    data = b"".join(body + tail) + partial
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12))))
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    return chunks, cut, "".join(tokens[:at]), "".join(thinking), outcome, warned, finish


class RandomStreamTest(ScriptTest):

    def test_seeded_random_sse_streams(self):
        for seed in range(150):
            rng = random.Random(seed)
            chunks, cut, shown, thinking, outcome, warned, finish = random_sse(rng)
            self.server.reset()
            self.server.script(V1, Reply(chunks, content_type="text/event-stream", cut=cut),
                               Reply(sse_chunks("fine"), content_type="text/event-stream"))
            with self.subTest(seed=seed, outcome=outcome, cut=cut):
                code, out, err = self.run_main(constants={"API_STYLE": "openai"})
                self.check(code, out, err, shown, thinking, outcome, warned, finish)

    def check(self, code, out, err, shown, thinking, outcome, warned, finish):
        first = out.split("User: ")[1]
        if shown:  # the text as it came, then the line ended once
            self.assertIn("Assistant (llama3): " + shown.rstrip("\n") + "\n", first)
        else:
            self.assertNotIn("Assistant (llama3): ", first)
        self.assertNotIn("∴", out)
        self.assertNotIn("NEVER SHOWN", out)
        if thinking:
            self.assertIn("Thinking...\n" + thinking, err)
        self.assertNotIn("Traceback", err)
        self.assertEqual(err.count("warning: skipped a line"), min(warned, 5), err)
        self.assertEqual("more bad lines" in err, warned > 5, err)
        streams = [r for r in self.server.requests if r.route == V1]
        self.assertNotIn("/api/chat", [r.route for r in self.server.requests])
        if outcome == "ok" and not (shown or thinking):
            self.assertEqual(code, 1, err)
            self.assertTrue(err.endswith("the server finished the reply without any text; "
                                         "nothing is kept. Is llama3 a model that can "
                                         "chat?\n"), err)
            self.assertEqual(len(streams), 1)
        elif outcome == "ok":
            self.assertEqual(code, 0, err)
            self.assertTrue(out.endswith("--- Session Ended ---\n"), out)
            self.assertEqual(("the reply was cut by the length limit" in err),
                             finish == "length", err)
            self.assertEqual(spoken(streams[1].json["messages"]),
                             [user(DEMO[0]), assistant(shown), user(DEMO[1])])
        else:
            self.assertEqual(code, 1, err)
            self.assertEqual(len(streams), 1)  # nothing fake went on
            last = err.splitlines()[-1]
            if outcome == "error":
                self.assertEqual(last, "ollama_chat: error: the server stopped the reply "
                                       "with an error: an error mid-stream")
            else:
                self.assertTrue(last.endswith("the reply is incomplete."), last)


# --- Done when: the demo, with only API_URL and MODEL_NAME changed -------------

class DemoAgainstOtherServersTest(OtherServerTest):

    def check_demo(self, name, code, out, err, model):
        fake = FAKES[name]
        self.assertEqual(code, 0, err)
        for prompt in DEMO:
            self.assertIn("User: %s\nAssistant (%s): You said: %s\n" % (prompt, model, prompt),
                          out)
        self.assertTrue(out.endswith("--- Session Ended ---\n"), out)
        self.assertNote(err, NameTheServerTest.NAMES[name], fake)
        self.assertEqual(spoken(self.streams(fake)[1].json["messages"]),
                         [user(DEMO[0]), assistant("You said: " + DEMO[0]), user(DEMO[1])])
        self.assertEqual(len(fake.chat_requests), 1)  # Ollama's API tried once

    def test_the_demo_as_a_user_runs_it_against_lm_studio_and_llama_cpp(self):
        for name in ("lmstudio", "llamacpp"):
            with self.subTest(server=name):
                fake = FAKES[name]
                code, out, err = self.run_script(constants={
                    "API_URL": fake.url + "/api/chat", "MODEL_NAME": fake.models[0]})
                self.check_demo(name, code, out, err, fake.models[0])

    def test_the_demo_in_process_against_vllm_and_jan(self):
        for name in ("vllm", "jan"):
            with self.subTest(server=name):
                code, out, err = self.at(name)
                self.check_demo(name, code, out, err, FAKES[name].models[0])


if __name__ == "__main__":
    unittest.main()
