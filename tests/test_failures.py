"""Every way a turn can fail: a short message on stderr, exit 1 or 2, nothing fake kept."""

import signal
import socket
import threading
import unittest

from support import ScriptTest, closed_port
from fake_ollama import (Reply, chat_chunks, html_error, json_error, ndjson, redirect)

KEY = "sk-test-SECRET-0123456789"


class ServerErrorTest(ScriptTest):

    def assertStoppedAfterFirstTurn(self, out):
        self.assertEqual(len(self.server.chat_requests), 1)
        self.assertNotIn("Session Ended", out)

    def test_missing_model_suggests_pull_and_lists_installed_models_closest_first(self):
        self.server.models = ["qwen2.5:7b", "llama3.1:8b", "mistral:latest"]
        code, out, err = self.run_script()
        self.assertCleanFailure(code, err)
        self.assertIn("model 'llama3' is not installed on 127.0.0.1:%d" % self.server.port, err)
        self.assertIn("model 'llama3' not found", err)  # the server's own words
        self.assertIn("ollama pull llama3", err)
        self.assertIn("closest first: llama3.1:8b, mistral:latest, qwen2.5:7b", err)
        self.assertStoppedAfterFirstTurn(out)
        self.assertEqual(self.server.requests[-1].path, "/api/tags")

    def test_missing_model_on_an_empty_server(self):
        self.server.models = []
        code, _, err = self.run_script()
        self.assertCleanFailure(code, err)
        self.assertIn("No models are installed there yet.", err)

    def test_error_statuses_are_the_server_s_words_and_what_to_do(self):
        cases = [
            (json_error(500, "timed out waiting for llama-server to start"),
             ["HTTP 500 Internal Server Error: timed out waiting for llama-server to start"]),
            (json_error(503, "server busy, please try again. maximum pending requests exceeded"),
             ["HTTP 503 Service Unavailable: server busy", "try again in a moment"]),
            (html_error(401, "Authorization Required"),
             ["HTTP 401", "the server wants an API key: set API_KEY"]),
        ]
        for reply, expected in cases:
            with self.subTest(status=reply.status):
                self.server.reset()
                self.server.script("/api/chat", reply)
                code, out, err = self.run_script()
                self.assertCleanFailure(code, err)
                for text in expected:
                    self.assertIn(text, err)
                self.assertNotIn("<", err)
                self.assertStoppedAfterFirstTurn(out)

    def test_rejected_key_is_named_but_never_shown(self):
        self.server.script("/api/chat", json_error(401, "unauthorized"))
        code, out, err = self.run_script(constants={"API_KEY": KEY})
        self.assertCleanFailure(code, err)
        self.assertIn("rejected the API key in API_KEY", err)
        self.assertNotIn(KEY, out + err)
        self.assertEqual(self.server.chat_requests[0].headers["Authorization"], "Bearer " + KEY)

    def test_rejected_key_from_the_environment(self):
        self.server.script("/api/chat", html_error(403, "Forbidden"))
        code, out, err = self.run_script(env={"OLLAMA_API_KEY": KEY})
        self.assertCleanFailure(code, err)
        self.assertIn("OLLAMA_API_KEY", err)
        self.assertNotIn(KEY, out + err)

    def test_proxy_html_page_is_a_short_line(self):
        self.server.script("/api/chat", html_error(502, "Bad Gateway"))
        code, out, err = self.run_script()
        self.assertCleanFailure(code, err)
        self.assertIn("HTTP 502 Bad Gateway from nginx", err)
        self.assertIn("cannot reach Ollama", err)
        self.assertNotIn("<", err)
        self.assertLessEqual(len(err.splitlines()), 3)

    def test_wrong_path_gets_a_hint(self):
        code, _, err = self.run_script(constants={"API_URL": self.server.url + "/ollama"})
        self.assertCleanFailure(code, err)
        self.assertIn("404 page not found", err)
        self.assertIn("no Ollama API at %s/ollama/api/chat: check API_URL" % self.server.url, err)

    def test_redirect_is_reported_not_followed(self):
        self.server.script("/api/chat", redirect("https://elsewhere.example/api/chat", 308))
        code, out, err = self.run_script(constants={"API_KEY": KEY})
        self.assertCleanFailure(code, err)
        self.assertIn("redirects to https://elsewhere.example/api/chat", err)
        self.assertIn("API_URL", err)
        self.assertEqual(len(self.server.requests), 1)
        self.assertNotIn(KEY, out + err)

    def test_error_line_in_the_stream(self):
        chunks = chat_chunks("partial", " text", done=False) + [ndjson({"error": "out of memory"})]
        self.server.script("/api/chat", Reply(chunks))
        code, out, err = self.run_script()
        self.assertCleanFailure(code, err)
        self.assertIn("the server stopped the reply with an error: out of memory", err)
        self.assertIn("Assistant (llama3): partial text\n", out)  # what was shown stays
        self.assertStoppedAfterFirstTurn(out)

    def test_cut_connection(self):
        self.server.script("/api/chat", Reply(chat_chunks("half a", done=False), cut=True))
        code, out, err = self.run_script()
        self.assertCleanFailure(code, err)
        self.assertIn("ended before the reply was finished (the connection was closed or cut); "
                      "the reply is incomplete", err)
        self.assertIn("Assistant (llama3): half a\n", out)
        self.assertStoppedAfterFirstTurn(out)

    def test_stream_ending_without_done(self):
        self.server.script("/api/chat", Reply(chat_chunks("no end", done=False)))
        code, out, err = self.run_script()
        self.assertCleanFailure(code, err)
        self.assertIn("ended before the reply was finished", err)
        self.assertIn("the reply is incomplete", err)
        self.assertStoppedAfterFirstTurn(out)

    def test_failure_in_the_second_turn_keeps_the_first(self):
        self.server.script("/api/chat", Reply(chat_chunks("first answer")),
                           json_error(500, "boom"))
        code, out, err = self.run_script()
        self.assertCleanFailure(code, err)
        self.assertIn("Assistant (llama3): first answer\n", out)
        self.assertEqual(len(self.server.chat_requests), 2)

    def test_html_page_with_status_200(self):
        page = b"<!doctype html><html><body>Open WebUI</body></html>"
        self.server.script("/api/chat", Reply(body=page, content_type="text/html"))
        code, out, err = self.run_script()
        self.assertCleanFailure(code, err)
        self.assertIn("answered with a web page, not a chat stream", err)
        self.assertNotIn("Open WebUI", err)

    def test_not_a_chat_stream(self):
        self.server.script("/api/chat", Reply(body=b'{"id":"x","object":"chat.completion"}',
                                              content_type="application/json"))
        code, _, err = self.run_script()
        self.assertEqual(code, 1)
        self.assertEqual(err.splitlines()[-1], "ollama_chat: error: %s/api/chat answered, but "
                         "not with a chat stream: is API_URL pointing at Ollama "
                         "(port 11434)?" % self.server.url)


class TimeoutTest(ScriptTest):

    def test_silence_before_the_first_byte_is_bounded_by_timeout(self):
        never = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("late"), hold=never))
        code, out, err = self.run_script(constants={"TIMEOUT": 0.5})
        self.assertCleanFailure(code, err)
        self.assertIn("no data from 127.0.0.1:%d for 0.5 s (TIMEOUT)" % self.server.port, err)
        self.assertIn("raise TIMEOUT", err)

    def test_silence_in_the_middle_of_a_reply(self):
        never = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("a", "b"), hold_at=(1, never)))
        code, out, err = self.run_script(constants={"TIMEOUT": 0.5})
        self.assertCleanFailure(code, err)
        self.assertIn("in the middle of the reply", err)
        self.assertIn("Assistant (llama3): a\n", out)

    def test_connect_timeout_when_packets_are_dropped(self):
        # A listener whose accept queue is full: the kernel drops further SYNs,
        # as a firewall would.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self.addCleanup(listener.close)
        fillers = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(listener.getsockname())
            fillers.append(s)
            self.addCleanup(s.close)
        url = "http://127.0.0.1:%d/api/chat" % listener.getsockname()[1]
        code, _, err = self.run_script(constants={"API_URL": url, "CONNECT_TIMEOUT": 0.5})
        self.assertCleanFailure(code, err)
        self.assertIn("within 0.5 s (CONNECT_TIMEOUT)", err)


class ConnectionTest(ScriptTest):

    def test_nothing_listening(self):
        port = closed_port()
        code, out, err = self.run_script(constants={"API_URL": "http://127.0.0.1:%d" % port})
        self.assertCleanFailure(code, err)
        self.assertIn("cannot connect to 127.0.0.1:%d: connection refused" % port, err)
        self.assertIn("ollama serve", err)
        self.assertLessEqual(len(err.splitlines()), 3)

    def test_messages_name_the_flag_when_the_url_came_from_it(self):
        port = closed_port()
        code, _, err = self.run_script("-u", "127.0.0.1:%d" % port, "hi")
        self.assertCleanFailure(code, err)
        self.assertIn("or fix --url.", err)
        self.assertNotIn("API_URL", err)

    def test_ollama_host_that_differs_is_mentioned(self):
        port = closed_port()
        code, _, err = self.run_script(constants={"API_URL": "http://127.0.0.1:%d" % port},
                                       env={"OLLAMA_HOST": "192.168.1.20"})
        self.assertCleanFailure(code, err)
        self.assertIn("OLLAMA_HOST is set to '192.168.1.20', but this script uses API_URL", err)

    def test_unknown_host(self):
        code, _, err = self.run_script(constants={"API_URL": "http://no-such-host.invalid:11434"})
        self.assertCleanFailure(code, err)
        self.assertIn("cannot find the host no-such-host.invalid", err)

    def test_tls_against_a_plain_http_server(self):
        code, _, err = self.run_script(constants={"API_URL": self.server.url.replace("http:", "https:")})
        self.assertCleanFailure(code, err)
        self.assertIn("TLS with 127.0.0.1:%d failed" % self.server.port, err)
        self.assertIn("use http:// in API_URL", err)


class ConfigErrorTest(ScriptTest):

    def test_bad_constants_exit_2_before_any_request(self):
        cases = [
            ({"API_URL": "file:///etc/passwd"}, "API_URL must be an http:// or https:// URL"),
            ({"API_URL": "ftp://127.0.0.1/api/chat"}, "API_URL must be an http:// or https:// URL"),
            ({"API_URL": ""}, "API_URL is empty"),
            ({"API_URL": "http://u:p@127.0.0.1:1/"}, "must not contain a user name or password"),
            ({"API_URL": "http://127.0.0.1:1/api/generate"}, "must end in /api/chat"),
            ({"MODEL_NAME": ""}, "MODEL_NAME is empty"),
            ({"MODEL_NAME": "llama 3"}, "MODEL_NAME must not contain spaces"),
            ({"TIMEOUT": -1}, "TIMEOUT must be more than 0 seconds"),
            ({"TIMEOUT": "600"}, "TIMEOUT must be a number, not text: write TIMEOUT = 600, "
                                 "without the quotes"),
            ({"TIMEOUT": "ten"}, "TIMEOUT must be a number of seconds"),
            ({"CONNECT_TIMEOUT": 0}, "CONNECT_TIMEOUT must be more than 0 seconds"),
            ({"USE_PROXY": "no"}, "USE_PROXY must be True or False"),
            ({"THINK": "extreme"}, "THINK must be None, True, False"),
            ({"KEEP_ALIVE": "soon"}, "KEEP_ALIVE must be a number of seconds or a duration"),
            ({"API_KEY": "two words"}, "API_KEY contains spaces"),
            ({"OPTIONS": "num_ctx=8192"}, "OPTIONS must be a dict"),
            ({"OPTIONS": {"stop": {1, 2}}}, "OPTIONS holds a value JSON cannot carry"),
            # mistakes a new user makes, easily with a Japanese IME
            ({"API_URL": "http://[::1/api/chat"},
             "API_URL has an IPv6 address without its closing ]"),
            ({"API_URL": "http://localhost：11434/api/chat"},
             "API_URL has a full-width '：' (FULLWIDTH COLON): type it as ':' (half-width)"),
            ({"API_URL": "http：//localhost:11434/api/chat"},
             "API_URL has a full-width '：' (FULLWIDTH COLON)"),
            ({"API_URL": "http:/localhost:11434/api/chat"},
             "API_URL must begin with http:// or https:// (two slashes): "
             "'http:/localhost:11434/api/chat'"),
            ({"API_URL": "http://例え.jp/api/chat"}, "API_URL has the character '例'"),
        ]
        for constants, expected in cases:
            with self.subTest(constants=constants):
                self.assertConfigError(constants, expected)

    def assertConfigError(self, constants, expected):
        code, out, err = self.run_main("hi", constants=constants)
        self.assertCleanFailure(code, err, expected_code=2)
        self.assertEqual(out, "")
        self.assertIn(expected, err)
        self.assertNotIn("http://http", err)  # never a URL the user did not type
        self.assertEqual(self.server.requests, [])

    def test_the_real_script_exits_2_before_any_request(self):
        code, out, err = self.run_script(constants={"API_URL": "http://[::1/api/chat"})
        self.assertCleanFailure(code, err, expected_code=2)
        self.assertEqual(self.server.requests, [])


class InterruptTest(ScriptTest):

    def test_ctrl_c_mid_reply_ends_the_line_and_exits_130(self):
        release = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("partial", " more"), hold_at=(1, release)))
        proc = self.start_script()
        seen = b""
        while b"partial" not in seen:
            data = proc.stdout.read1(4096) if hasattr(proc.stdout, "read1") else proc.stdout.read(1)
            self.assertTrue(data, "the script ended before showing the reply")
            seen += data
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        out, err = (seen + out).decode(), err.decode()
        self.assertEqual(proc.returncode, 130, err)
        self.assertTrue(out.endswith("partial\n"), out)
        self.assertEqual(err, "ollama_chat: interrupted\n")

    def test_closed_stdout_exits_quietly(self):
        release = threading.Event()
        many = ["token %d " % i for i in range(20000)]
        self.server.script("/api/chat", Reply(chat_chunks(*many), hold=release))
        proc = self.start_script()
        proc.stdout.read(10)  # like `| head -c 10`
        proc.stdout.close()
        release.set()
        err = proc.stderr.read().decode()
        proc.wait(timeout=20)
        self.assertEqual(err, "")
        self.assertEqual(proc.returncode, 141)


if __name__ == "__main__":
    unittest.main()
