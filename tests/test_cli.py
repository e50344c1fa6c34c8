"""The command line: a prompt, flags, --list, --check, --pull, --save and --resume."""

import json
import os
import re
import subprocess
import threading
import unittest
from unittest import mock

from support import SAVED, Gate, ScriptTest, assistant, closed_port, spoken, user
from fake_ollama import (Reply, chat_chunks, html_error, json_error,
                         model_entry, ndjson, pull_chunks)
import ollama_chat

KEY = "sk-test-SECRET-0123456789"
DEAD_URL = "http://127.0.0.1:1/api/chat"  # nothing listens on port 1


class PromptTest(ScriptTest):
    """./ollama_chat.py "PROMPT": one turn, the reply alone on stdout."""

    def test_the_reply_alone_on_stdout_with_a_final_newline(self):
        self.server.script("/api/chat", Reply(chat_chunks("The sky ", "is blue.")))
        code, out, err = self.run_script("Why is the sky blue?")
        self.assertEqual((code, out, err), (0, "The sky is blue.\n", ""))

    def test_a_reply_ending_in_a_newline_gets_no_second_one(self):
        self.server.script("/api/chat", Reply(chat_chunks("line one\n", "line two\n")))
        code, out, err = self.run_script("two lines please")
        self.assertEqual((code, out, err), (0, "line one\nline two\n", ""))

    def test_the_request_is_one_user_message_with_the_time(self):
        code, out, err = self.run_script("Why is the sky blue?")
        self.assertEqual((code, out, err), (0, "You said: Why is the sky blue?\n", ""))
        (request,) = self.server.chat_requests
        self.assertEqual(len(self.server.requests), 1)
        (message,) = request.json["messages"]  # no system message: the model keeps its own
        self.assertEqual(message["role"], "user")
        self.assertRegex(message["content"], r"^\[現在の日時 local time: \d{4}-\d\d-\d\d "
                                             r"\(\w{3}\) \d\d:\d\d .*UTC[+-]\d\d:\d\d\]\n"
                                             r"Why is the sky blue\?$")
        self.assertEqual(request.json["model"], "llama3")
        self.assertIs(request.json["stream"], True)
        self.assertIs(request.json["truncate"], False)  # one prompt: refused, never cut

    def test_dash_reads_the_prompt_from_stdin_without_trailing_whitespace(self):
        notes = "  Summarise:\n- apples\n- pears 🍐\n\n  \n"
        code, out, err = self.run_script("-", input=notes.encode("utf-8"))
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.sent(0), [user("  Summarise:\n- apples\n- pears 🍐")])
        self.assertEqual(out, "You said:   Summarise:\n- apples\n- pears 🍐\n")

    def test_stdin_that_is_not_utf8_is_a_usage_error(self):
        memo = "日本語のメモ\n".encode("shift_jis")  # `cat memo.txt | ./ollama_chat.py -`
        code, out, err = self.run_script("-", input=memo)
        self.assertNotIn("Traceback", err)
        self.assertEqual((code, out), (2, ""), err)
        self.assertIn("not UTF-8 text", err)
        self.assertEqual(self.server.requests, [])

    # In a UTF-8 locale other than C.UTF-8 (ja_JP.UTF-8; forced here with
    # PYTHONIOENCODING=utf-8) sys.stdin decodes strictly unless main() says otherwise.
    def test_stdin_that_is_not_utf8_is_a_usage_error_in_any_locale(self):
        memo = "日本語のメモ\n".encode("shift_jis")
        code, out, err = self.run_script("-", input=memo, env={"PYTHONIOENCODING": "utf-8"})
        self.assertNotIn("Traceback", err)
        self.assertEqual((code, out), (2, ""), err)
        self.assertIn("not UTF-8 text", err)
        self.assertEqual(self.server.requests, [])

    def test_empty_stdin_is_a_usage_error(self):
        for code, out, err in (self.run_script("-", input=b""),
                               self.run_main("-", stdin=" \n\n\t\n")):
            self.assertEqual((code, out), (2, ""))
            self.assertIn('"-" found no prompt on stdin', err)
            self.assertTrue(err.startswith("usage: "), err)
        self.assertEqual(self.server.requests, [])


class FlagTest(ScriptTest):
    """Each flag replaces its constant for this run."""

    def test_model(self):
        self.server.models.append("qwen3:latest")
        for run, flag in ((self.run_script, "-m"), (self.run_main, "--model")):
            with self.subTest(flag=flag):
                self.server.requests.clear()
                code, out, err = run(flag, "qwen3", "hi")
                self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
                self.assertEqual(self.server.chat_requests[0].json["model"], "qwen3")

    def test_url_as_a_url_a_base_address_or_host_port(self):
        for run, flag, url in ((self.run_script, "-u", "127.0.0.1:%d" % self.server.port),
                               (self.run_main, "--url", self.server.url + "/api/chat"),
                               (self.run_main, "-u", self.server.url + "/")):
            with self.subTest(url=url, flag=flag):
                self.server.requests.clear()
                code, out, err = run(flag, url, "hi", constants={"API_URL": DEAD_URL})
                self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
                self.assertEqual([r.path for r in self.server.requests], ["/api/chat"])

    def test_url_is_written_the_way_ollama_host_is(self):
        parser = ollama_chat.build_parser()
        for text, base in (("localhost", "http://localhost:11434"),
                           ("192.168.1.20:8080", "http://192.168.1.20:8080"),
                           ("[::1]", "http://[::1]:11434"),
                           ("https://example.com/ollama/", "https://example.com/ollama")):
            with self.subTest(url=text):
                self.assertEqual(parser.parse_args(["-u", text]).url, base)

    def test_system(self):
        for run, flag in ((self.run_script, "-s"), (self.run_main, "--system")):
            with self.subTest(flag=flag):
                self.server.requests.clear()
                code, _, err = run(flag, "Answer in one line.", "hi",
                                   constants={"SYSTEM_PROMPT": "from the file"})
                self.assertEqual(code, 0, err)
                self.assertEqual(self.sent(0), [{"role": "system",
                                                 "content": "Answer in one line."}, user("hi")])

    def test_timeout_bounds_the_silence(self):
        never = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("late"), hold=never))
        code, out, err = self.run_script("--timeout", "0.5", "hi")
        self.assertCleanFailure(code, err)
        self.assertEqual(out, "")
        # Telling someone who typed --timeout to edit TIMEOUT would not help.
        self.assertEqual(err, "ollama_chat: error: no data from 127.0.0.1:%d for 0.5 s "
                              "(--timeout) before answering; gave up.\n  A large model can "
                              "take minutes to load: give a larger --timeout if it needs "
                              "more.\n" % self.server.port)

    def test_without_the_flag_the_silence_message_names_the_constant(self):
        never = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("late"), hold=never))
        code, out, err = self.run_main("hi", constants={"TIMEOUT": 0.2})
        self.assertEqual(code, 1, err)
        self.assertIn("for 0.2 s (TIMEOUT) before answering", err)
        self.assertIn("raise TIMEOUT at the top of ollama_chat.py", err)

    def test_think(self):
        for value, sent in (("on", True), ("off", False), ("low", "low"), ("medium", "medium"),
                            ("high", "high")):
            with self.subTest(think=value):
                self.server.requests.clear()
                code, _, err = self.run_main("--think", value, "hi")
                self.assertEqual(code, 0, err)
                self.assertIs(type(self.server.chat_requests[0].json["think"]), type(sent))
                self.assertEqual(self.server.chat_requests[0].json["think"], sent)
        self.server.requests.clear()
        code, _, err = self.run_script("--think", "off", "hi", constants={"THINK": "high"})
        self.assertEqual(code, 0, err)
        self.assertIs(self.server.chat_requests[0].json["think"], False)
        self.server.requests.clear()
        code, _, err = self.run_script("hi")
        self.assertEqual(code, 0, err)
        self.assertNotIn("think", self.server.chat_requests[0].json)

    def test_hide_thinking(self):
        reply = chat_chunks("Hi", thinking=["a secret ", "plan"])
        self.server.script("/api/chat", Reply(reply), Reply(reply))
        code, out, err = self.run_main("hi")
        self.assertEqual((code, out), (0, "Hi\n"))
        self.assertIn("a secret plan", err)  # shown by default, so hiding it means something
        code, out, err = self.run_script("--hide-thinking", "hi")
        self.assertEqual((code, out, err), (0, "Hi\n", ""))

    def test_verbose_shows_the_statistics_on_stderr(self):
        self.server.script("/api/chat", Reply(chat_chunks("a", "b", "c")),
                           Reply(chat_chunks("a", "b", "c")))
        for run, flag in ((self.run_script, "-v"), (self.run_main, "--verbose")):
            with self.subTest(flag=flag):
                code, out, err = run(flag, "hi")
                self.assertEqual((code, out), (0, "abc\n"))
                # fake_ollama.final_chunk: 2.5 s in all, 1 s loading, 26 prompt tokens
                # in 0.13 s, eval_count = 3 tokens in 1.2 s.
                self.assertEqual(err, "total duration:       2.500s\n"
                                      "load duration:        1.000s\n"
                                      "prompt eval count:    26 token(s)\n"
                                      "prompt eval duration: 0.130s\n"
                                      "prompt eval rate:     200.00 tokens/s\n"
                                      "eval count:           3 token(s)\n"
                                      "eval duration:        1.200s\n"
                                      "eval rate:            2.50 tokens/s\n"
                                      "context: 29 / 4,096 tokens (0%)\n")

    def test_debug_shows_a_traceback_on_an_error(self):
        dead = {"API_URL": "http://127.0.0.1:%d/api/chat" % closed_port()}
        code, out, err = self.run_main("hi", constants=dead)
        self.assertCleanFailure(code, err)  # main() returned: no traceback
        self.assertIn("connection refused", err)
        code, out, err = self.run_script("--debug", "hi", constants=dead)
        self.assertEqual(code, 1, err)
        self.assertIn("ollama_chat: error: cannot connect to ", err)
        self.assertIn("Traceback (most recent call last):", err)
        self.assertIn("ConnectionRefusedError", err)

    # A ChatError re-raised out of main() would make Python exit 1 whatever the error.
    def test_debug_keeps_the_exit_code(self):
        with open(os.path.join(self.tmp, "bad.json"), "w", encoding="utf-8") as f:
            f.write("not json")
        code, out, err = self.run_script("--debug", "--resume", "bad.json", "hi")
        self.assertIn("Traceback (most recent call last):", err)
        self.assertEqual(code, 2, err)

    def test_version(self):
        code, out, err = self.run_script("--version")
        self.assertEqual((code, out, err), (0, "ollama_chat.py %s\n" % ollama_chat.__version__, ""))
        self.assertRegex(out, r"^ollama_chat\.py \d+\.\d+\.\d+\n$")
        self.assertEqual(self.server.requests, [])

    def test_help_shows_each_default_and_the_exit_codes(self):
        constants = {"MODEL_NAME": "qwen3:8b", "TIMEOUT": 123, "API_URL": DEAD_URL,
                     "SYSTEM_PROMPT": "Be brief.", "THINK": "low"}
        for run, flag in ((self.run_script, "-h"), (self.run_main, "--help")):
            with self.subTest(flag=flag):
                code, out, err = run(flag, constants=constants)
                self.assertEqual((code, err), (0, ""))
                text = " ".join(out.split())  # argparse wraps at the terminal's width
                self.assertTrue(text.startswith("usage: ollama_chat.py "), text)
                for default in ("MODEL_NAME = 'qwen3:8b'", "TIMEOUT = 123",
                                "API_URL = '%s'" % DEAD_URL, "SYSTEM_PROMPT = 'Be brief.'",
                                "THINK = 'low'", "SHOW_THINKING = True"):
                    self.assertIn("(default: %s" % default, text)
                self.assertIn("exit codes: 0 success, 1 failure at run time, 2 configuration "
                              "or usage error, 130 interrupted (Ctrl+C)", text)
                for option in ("--model", "--url", "--system", "--timeout", "--think",
                               "--hide-thinking", "--verbose", "--interactive", "--list",
                               "--check", "--pull", "--save", "--resume", "--no-color",
                               "--debug", "--version"):
                    self.assertIn(option, text)
        self.assertEqual(self.server.requests, [])
        code, out, _ = self.run_main("-h")
        self.assertIn("(default: MODEL_NAME = 'llama3')", " ".join(out.split()))  # as shipped


class UsageErrorTest(ScriptTest):
    """Bad flags and values: argparse's usage message, exit 2, no request."""

    CASES = [
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--timeout", "-1", "hi"], "argument --timeout: must be more than 0 seconds"),
        (["--timeout", "0", "hi"], "argument --timeout: must be more than 0 seconds"),
        (["--timeout", "abc", "hi"], "argument --timeout: not a number: 'abc'"),
        (["--timeout", "nan", "hi"], "argument --timeout: must be a number of seconds"),
        (["--think", "extreme", "hi"], "argument --think: invalid choice: 'extreme'"),
        (["--keepalive", "soon", "hi"], "argument --keepalive: must be a number of seconds or "
                                        "a duration such as \"30m\""),
        (["--format", "yaml", "hi"], "argument --format: takes json or a file with a JSON "
                                     "schema; cannot read yaml"),
        (["-u", "ftp://x", "hi"], "argument -u/--url: must be an http:// or https:// URL"),
        (["-u", "http://u:p@127.0.0.1:1", "hi"], "argument -u/--url: must not contain a user"),
        (["-u", "127.0.0.1:port", "hi"], "argument -u/--url: has a bad port"),
        (["-u", "[::1", "hi"], "argument -u/--url: has an IPv6 address without its closing ]"),
        (["-u", "http:/localhost:11434", "hi"],
         "argument -u/--url: must begin with http:// or https:// (two slashes)"),
        (["-u", "http://localhost：11434", "hi"], "argument -u/--url: has a full-width '：'"),
        # bytes that are not UTF-8 in an argument arrive as surrogates
        (["-s", "\udc93\udcfa\udc96\udc7b", "hi"], "argument -s/--system: is not UTF-8 text"),
        (["-m", "llama\udcff", "hi"], "argument -m/--model: is not UTF-8 text"),
        (["-m", "", "hi"], "argument -m/--model: is empty"),
        (["-m", "llama 3", "hi"], "argument -m/--model: must not contain spaces"),
        (["--list", "hi"], "--list and --check take no prompt"),
        (["--check", "hi"], "--list and --check take no prompt"),
        (["--list", "-"], "--list and --check take no prompt"),
        (["-i", "-"], '"-" reads the prompt from stdin, which -i needs for the chat'),
        (["-i", "--list"], "argument --list: not allowed with argument -i/--interactive"),
        (["--list", "--check"], "argument --check: not allowed with argument --list"),
    ]

    def assertUsageError(self, result, expected):
        code, out, err = result
        self.assertEqual((code, out), (2, ""), err)
        self.assertTrue(err.startswith("usage: ollama_chat.py "), err)
        self.assertIn("\nollama_chat.py: error: ", err)
        self.assertIn(expected, err)
        self.assertNotIn("Traceback", err)
        self.assertNotIn("API_URL", err)  # the flag is named, not the constant
        self.assertNotIn("<lambda>", err)
        self.assertEqual(self.server.requests, [])

    def test_bad_flags_and_values(self):
        for args, expected in self.CASES:
            with self.subTest(args=args):
                self.assertUsageError(self.run_main(*args, stdin="from stdin\n"), expected)

    def test_the_real_script_exits_2_with_its_usage(self):
        for args, expected in [case for case in self.CASES if case[0][0] in ("--timeout", "-i")
                               and case[0][1] in ("abc", "-")]:
            with self.subTest(args=args):
                self.assertUsageError(self.run_script(*args, input=b"from stdin\n"), expected)

    # sock.settimeout() raises OverflowError for inf and for 1e10 ("timestamp out
    # of range"): such values must be refused before any request.
    def test_timeouts_a_socket_cannot_take_are_refused_before_any_request(self):
        for value in ("inf", "1e10"):
            with self.subTest(value=value):
                code, out, err = self.run_script("--timeout", value, "hi")
                self.assertNotIn("Traceback", err)
                self.assertEqual((code, out), (2, ""), err)
                self.assertIn("--timeout", err)
                self.assertEqual(self.server.requests, [])

    def test_the_real_script_names_the_flag_for_a_bad_url(self):
        code, out, err = self.run_script("-u", "http:/localhost:11434", "hi")
        self.assertUsageError((code, out, err), "argument -u/--url: must begin with http://")


class ListTest(ScriptTest):

    def test_models_one_per_line_header_first(self):
        self.server.models = ["llama3:latest", "qwen2.5-coder:14b"]
        code, out, err = self.run_script("--list")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, "NAME               SIZE    PARAMETERS  QUANTIZATION\n"
                              "llama3:latest      4.7 GB  8.0B        Q4_0\n"
                              "qwen2.5-coder:14b  4.7 GB  8.0B        Q4_0\n")
        self.assertEqual([r.path for r in self.server.requests], ["/api/tags"])

    def test_the_server_s_own_details_are_shown(self):
        entry = model_entry("gpt-oss:20b")
        entry.update(size=13_780_173_734)
        entry["details"].update(parameter_size="20.9B", quantization_level="MXFP4")
        self.server.script("/api/tags", Reply(body=ndjson({"models": [entry]}),
                                              content_type="application/json"))
        code, out, err = self.run_script("--list")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines()[1].split(), ["gpt-oss:20b", "13.8", "GB", "20.9B",
                                                       "MXFP4"])

    def test_an_empty_server_prints_a_hint(self):
        self.server.models = []
        code, out, err = self.run_script("--list")
        self.assertEqual((code, out), (0, ""))
        self.assertEqual(err, "No models are installed on 127.0.0.1:%d. Install one with: "
                              "ollama pull llama3\n" % self.server.port)

    def test_a_stopped_server(self):
        port = closed_port()
        code, out, err = self.run_script("--list", "-u", "127.0.0.1:%d" % port)
        self.assertCleanFailure(code, err)
        self.assertIn("connection refused", err)


class CheckTest(ScriptTest):
    """--check: one line per check, exit 0 only when a chat can work."""

    def lines(self, out):
        """{what: (state, text)} of --check's lines."""
        found = {}
        for line in out.splitlines():
            match = re.match(r"\[( ok |FAIL|info|warn|skip)\] (\w+) +(.*)$", line)
            if match:
                found[match.group(2)] = (match.group(1).strip(), match.group(3))
        return found

    def test_something_else_than_ollama_on_the_port(self):
        self.server.script("/api/version", html_error(404, "Not Found"))
        code, out, err = self.run_script("--check")
        self.assertEqual((code, err), (1, ""))
        lines = self.lines(out)
        self.assertEqual(lines["server"], ("FAIL", "HTTP 404 Not Found from nginx/1.22.1"))
        self.assertIn("no Ollama API at %s/api/version" % self.server.url, out)
        self.assertEqual((lines["key"], lines["model"]),
                         (("skip", "not checked"), ("skip", "not checked")))

    def test_a_healthy_setup(self):
        code, out, err = self.run_script("--check")
        self.assertEqual((code, err), (0, ""))
        url = self.server.url + "/api/chat"
        out = "".join(line for line in out.splitlines(True)
                      if not line.startswith("[info] wsl "))  # when run under WSL
        self.assertEqual(out, "[info] url    %s (from API_URL)\n"
                              "[ ok ] proxy  no proxy variables in the environment\n"
                              "[ ok ] server Ollama 0.12.6 answers at 127.0.0.1:%d\n"
                              "[ ok ] key    none set, none asked for by /api/chat\n"
                              "[ ok ] model  llama3 is installed\n" % (url, self.server.port))
        (chat,) = self.server.chat_requests  # the key is tried where chats go...
        self.assertEqual(chat.json["model"], "")  # ...with no model: nothing loads
        self.assertEqual(self.server.loaded, {})

    def test_the_url_line_says_where_the_address_came_from(self):
        code, out, err = self.run_script("--check", "-u", "127.0.0.1:%d" % self.server.port,
                                         constants={"API_URL": DEAD_URL})
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.lines(out)["url"],
                         ("info", "%s/api/chat (from --url)" % self.server.url))

    def test_a_stopped_server(self):
        port = closed_port()
        code, out, err = self.run_script(
            "--check", constants={"API_URL": "http://127.0.0.1:%d/api/chat" % port})
        self.assertEqual((code, err), (1, ""))
        lines = self.lines(out)
        self.assertEqual(lines["server"][0], "FAIL")
        self.assertIn("cannot connect to 127.0.0.1:%d: connection refused" % port,
                      lines["server"][1])
        self.assertEqual(lines["key"], ("skip", "not checked"))
        self.assertEqual(lines["model"], ("skip", "not checked"))

    def test_a_missing_model(self):
        self.server.models = ["qwen2.5:7b", "llama3.1:8b"]
        code, out, err = self.run_script("--check")
        self.assertEqual((code, err), (1, ""))
        lines = self.lines(out)
        self.assertEqual(lines["server"][0], "ok")
        self.assertEqual(lines["model"], ("FAIL", "llama3 is not installed: run `ollama pull "
                                                  "llama3` (or use --pull); closest: "
                                                  "llama3.1:8b, qwen2.5:7b"))

    def test_the_model_flag_is_checked(self):
        code, out, err = self.run_script("--check", "-m", "qwen3")
        self.assertEqual(code, 1, out)
        self.assertIn("ollama pull qwen3", self.lines(out)["model"][1])

    def test_a_rejected_key_is_named_but_never_shown(self):
        for reply, where in ((json_error(401, "unauthorized"), "constant"),
                             (html_error(401, "Unauthorized"), "environment")):
            with self.subTest(reply=reply.content_type, where=where):
                self.server.requests.clear()
                self.server.script("/api/version", reply)
                if where == "constant":
                    code, out, err = self.run_script("--check", constants={"API_KEY": KEY})
                    source = "API_KEY"
                else:
                    code, out, err = self.run_script("--check", env={"OLLAMA_API_KEY": KEY})
                    source = "OLLAMA_API_KEY"
                self.assertEqual((code, err), (1, ""))
                lines = self.lines(out)
                self.assertEqual(lines["server"][0], "ok")
                self.assertEqual(lines["key"][0], "FAIL")
                self.assertIn("HTTP 401", lines["key"][1])
                self.assertIn("the server rejected the API key in %s" % source, out)
                self.assertEqual(lines["model"], ("skip", "not checked"))
                self.assertNotIn(KEY, out + err)
                self.assertNotIn(KEY[-8:], out + err)
                self.assertEqual(self.server.requests[0].headers["Authorization"],
                                 "Bearer " + KEY)

    def test_a_key_asked_for_but_not_set(self):
        self.server.script("/api/version", html_error(401, "Authorization Required"))
        code, out, err = self.run_script("--check")
        self.assertEqual((code, err), (1, ""))
        self.assertEqual(self.lines(out)["key"][0], "FAIL")
        self.assertIn("the server wants an API key: set API_KEY", out)

    def test_an_accepted_key_names_its_source_only(self):
        code, out, err = self.run_script("--check", env={"OLLAMA_API_KEY": KEY})
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.lines(out)["key"], ("ok", "accepted by /api/chat (OLLAMA_API_KEY)"))
        self.assertNotIn(KEY, out)

    def test_proxy_variables_are_reported_as_bypassed(self):
        dead = "http://127.0.0.1:9"
        code, out, err = self.run_script("--check", env={"http_proxy": dead, "HTTPS_PROXY": dead})
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.lines(out)["proxy"],
                         ("ok", "http_proxy, HTTPS_PROXY set, bypassed (USE_PROXY = False)"))
        self.assertNotIn("127.0.0.1:9", out)


class PullTest(ScriptTest):
    """--pull: the model is pulled first when the server does not have it."""

    def test_a_missing_model_is_pulled_then_the_chat_goes_on(self):
        self.server.models = []
        code, out, err = self.run_script("--pull", "hi")
        self.assertEqual((code, out), (0, "You said: hi\n"), err)
        self.assertEqual([r.route for r in self.server.requests],
                         ["/api/tags", "/api/pull", "/api/chat"])
        self.assertEqual(self.server.requests[1].json["model"], "llama3")
        self.assertEqual(err, "pulling llama3 on 127.0.0.1:%d ...\n" % self.server.port +
                              "pulling manifest\n"
                              "pulling 365c0bd3c000   0% 0 B/4.0 GB\n"
                              "pulling 365c0bd3c000  25% 1.0 GB/4.0 GB\n"
                              "pulling 365c0bd3c000  50% 2.0 GB/4.0 GB\n"
                              "pulling 365c0bd3c000  75% 3.0 GB/4.0 GB\n"
                              "pulling 365c0bd3c000 100% 4.0 GB/4.0 GB\n"
                              "verifying sha256 digest\n"
                              "writing manifest\n"
                              "success\n")
        self.assertNotIn("\r", err)

    def test_the_model_flag_is_pulled(self):
        code, out, err = self.run_script("--pull", "-m", "qwen3:8b", "hi")
        self.assertEqual((code, out), (0, "You said: hi\n"), err)
        pull = [r for r in self.server.requests if r.route == "/api/pull"]
        self.assertEqual(pull[0].json["model"], "qwen3:8b")
        self.assertEqual(self.server.chat_requests[0].json["model"], "qwen3:8b")

    # A real pull sends hundreds of updates per layer: plain output shows quarters.
    def test_plain_progress_prints_each_quarter_once(self):
        self.server.models = []
        self.server.script("/api/pull", Reply(pull_chunks(steps=40)))
        self.server.script("/api/chat", Reply(chat_chunks("ready")))
        code, out, err = self.run_script("--pull", "hi")
        self.assertEqual((code, out), (0, "ready\n"), err)
        percentages = re.findall(r"(\d+)% ", err)
        self.assertEqual(percentages, ["0", "25", "50", "75", "100"], err)

    def test_an_error_in_the_pull_stream(self):
        self.server.models = []
        self.server.script("/api/pull", Reply(pull_chunks()[:2] + [
            ndjson({"error": "pull model manifest: file does not exist"})]))
        code, out, err = self.run_script("--pull", "hi")
        self.assertEqual((code, out), (1, ""))
        self.assertNotIn("Traceback", err)
        self.assertTrue(err.endswith("ollama_chat: error: pulling llama3 failed: pull model "
                                     "manifest: file does not exist\n"), err)
        self.assertEqual(self.server.chat_requests, [])

    def test_a_pull_refused_by_the_server(self):
        self.server.models = []
        self.server.script("/api/pull", json_error(500, "no space left on device"))
        code, out, err = self.run_script("--pull", "hi")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("no space left on device", err)
        self.assertEqual(self.server.chat_requests, [])

    def test_a_pull_stream_that_stops_early(self):
        self.server.models = []
        self.server.script("/api/pull", Reply(pull_chunks()[:3]))
        code, out, err = self.run_script("--pull", "hi")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("the pull of llama3 stopped before it finished", err)
        self.assertEqual(self.server.chat_requests, [])

    def test_an_installed_model_is_not_pulled(self):
        for run, model in ((self.run_script, "llama3"),
                           (self.run_main, "llama3:latest")):
            with self.subTest(model=model):
                self.server.requests.clear()
                code, out, err = run("--pull", "-m", model, "hi")
                self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
                self.assertEqual([r.route for r in self.server.requests],
                                 ["/api/tags", "/api/chat"])


class SaveTest(ScriptTest):
    """--save FILE: the conversation as JSON after every reply, written whole or not at all."""

    def path(self, name):
        return os.path.join(self.tmp, name)

    def read(self, name):
        with open(self.path(name), encoding="utf-8") as f:
            return json.load(f)

    def write(self, name, text):
        with open(self.path(name), "w", encoding="utf-8") as f:
            f.write(text)

    def leftovers(self):
        return [name for name in os.listdir(self.tmp) if name.endswith(".tmp")]

    def test_saved_after_every_reply(self):
        second = Gate()
        self.server.script("/api/chat", Reply(chat_chunks("first answer")),
                           Reply(chat_chunks("second answer 🙂"), hold=second))
        proc = self.start_script("-i", "--save", "chat.json", "-s", "Be brief.",
                                 stdin=subprocess.PIPE)
        proc.stdin.write("one\ntwo\n".encode())
        proc.stdin.close()
        self.assertTrue(second.reached.wait(10), "the second turn never started")
        # the second reply is held: the first turn must already be on disk, whole
        self.assertEqual(self.read("chat.json"), {
            "format": SAVED, "version": 1, "model": "llama3", "system": "Be brief.",
            "messages": [dict(user("one"), content=self.read("chat.json")["messages"][0]["content"]),
                         assistant("first answer")]})
        second.set()
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertEqual(proc.stdout.read().decode(), "first answer\nsecond answer 🙂\n")
        self.assertEqual(proc.stderr.read(), b"")
        self.assertEqual(spoken(self.read("chat.json")["messages"]),
                         [user("one"), assistant("first answer"),
                          user("two"), assistant("second answer 🙂")])
        self.assertEqual(self.leftovers(), [])

    def test_a_one_shot_prompt_is_saved(self):
        code, out, err = self.run_script("--save", "chat.json", "hi")
        self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
        saved = self.read("chat.json")["messages"]
        self.assertEqual(saved, self.server.chat_requests[0].json["messages"]  # as sent
                         + [assistant("You said: hi")])
        self.assertEqual(spoken(saved), [user("hi"), assistant("You said: hi")])

    def test_a_failed_turn_is_not_saved(self):
        self.server.script("/api/chat", Reply(chat_chunks("half", done=False), cut=True))
        code, out, err = self.run_script("--save", "chat.json", "hi")
        self.assertCleanFailure(code, err)
        self.assertFalse(os.path.exists(self.path("chat.json")))
        self.assertEqual(self.leftovers(), [])

    def test_an_existing_file_is_replaced_whole(self):
        old = json.dumps({"format": SAVED, "version": 1, "model": "llama3",
                          "messages": [user("x" * 5000), assistant("y" * 5000)]})
        self.write("chat.json", old)
        code, out, err = self.run_script("--save", "chat.json", "hi")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(spoken(self.read("chat.json")["messages"]),
                         [user("hi"), assistant("You said: hi")])
        self.assertEqual(self.leftovers(), [])

    def test_a_save_path_that_cannot_work_is_refused_before_anything_is_sent(self):
        os.mkdir(self.path("chat.json"))
        self.write(os.path.join("chat.json", "inside"), "kept")
        cases = [("chat.json", "--save chat.json is a folder: give a file name, e.g. "
                               "chat.json/chat.json"),
                 (os.path.join("no", "such", "x.json"), "--save no/such/x.json: there is no "
                                                        "folder %s/no/such" % self.tmp)]
        for path, message in cases:
            with self.subTest(path=path):
                code, out, err = self.run_script("--save", path, "hi")
                self.assertCleanFailure(code, err, expected_code=2)
                self.assertEqual(out, "")
                self.assertIn(message, err)
                self.assertEqual(self.server.requests, [])
        self.assertEqual(os.listdir(self.path("chat.json")), ["inside"])
        self.assertEqual(sorted(os.listdir(self.tmp)), ["chat.json", "ollama_chat.py"])

    def test_write_atomically_keeps_the_old_file_when_the_write_fails(self):
        target = self.path("chat.json")
        self.write("chat.json", "the old conversation")
        failures = [("os.replace", OSError(28, "No space left on device"), ollama_chat.ChatError),
                    ("os.fsync", OSError(5, "Input/output error"), ollama_chat.ChatError),
                    ("os.fsync", KeyboardInterrupt(), KeyboardInterrupt)]  # Ctrl+C mid-write
        for name, failure, expected in failures:
            with self.subTest(fails=name, exception=type(failure).__name__):
                with mock.patch("ollama_chat." + name, side_effect=failure):
                    with self.assertRaises(expected) as caught:
                        ollama_chat.write_atomically(target, "the new conversation")
                with open(target, encoding="utf-8") as f:
                    self.assertEqual(f.read(), "the old conversation")
                self.assertEqual(self.leftovers(), [])
                if expected is ollama_chat.ChatError:
                    self.assertEqual(str(caught.exception), "cannot save the conversation to "
                                     "%s: %s" % (target, failure.strerror))
        ollama_chat.write_atomically(target, "the new conversation")
        with open(target, encoding="utf-8") as f:
            self.assertEqual(f.read(), "the new conversation")
        self.assertEqual(self.leftovers(), [])


class ResumeTest(ScriptTest):
    """--resume FILE: continue a saved conversation, and save it back there."""

    def setUp(self):
        super().setUp()
        self.server.models.append("qwen3:latest")
        self.saved = {"format": SAVED, "version": 1, "model": "qwen3", "system": "Be brief.",
                      "messages": [user("one"), assistant("first answer")]}
        self.file = os.path.join(self.tmp, "chat.json")
        self.write(json.dumps(self.saved))

    def write(self, text):
        with open(self.file, "w", encoding="utf-8") as f:
            f.write(text)

    def read(self):
        with open(self.file, encoding="utf-8") as f:
            return f.read()

    def test_the_conversation_goes_on_and_is_saved_back(self):
        code, out, err = self.run_script("--resume", "chat.json", "two")
        self.assertEqual((code, out, err), (0, "You said: two\n", ""))
        request = self.server.chat_requests[0].json
        self.assertEqual(request["model"], "qwen3")
        self.assertEqual(request["messages"][:3],  # exactly as the file has them
                         [{"role": "system", "content": "Be brief."}, user("one"),
                          assistant("first answer")])
        self.assertEqual(self.sent(0)[3:], [user("two")])
        saved = json.loads(self.read())
        self.assertEqual(spoken(saved["messages"]), [user("one"), assistant("first answer"),
                                                     user("two"), assistant("You said: two")])
        self.assertEqual((saved["model"], saved["system"]), ("qwen3", "Be brief."))

    def test_resume_in_interactive_mode(self):
        code, out, err = self.run_script("--resume", "chat.json", "-i", input=b"two\nthree\n")
        self.assertEqual((code, out, err), (0, "You said: two\nYou said: three\n", ""))
        self.assertEqual(self.sent(1)[1:3], [user("one"), assistant("first answer")])
        self.assertEqual(len(json.loads(self.read())["messages"]), 6)

    def test_save_names_another_file(self):
        code, out, err = self.run_script("--resume", "chat.json", "--save", "new.json", "two")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(json.loads(self.read()), self.saved)
        with open(os.path.join(self.tmp, "new.json"), encoding="utf-8") as f:
            self.assertEqual(len(json.load(f)["messages"]), 4)

    def test_the_model_flag_wins_over_the_file(self):
        code, out, err = self.run_script("--resume", "chat.json", "-m", "llama3", "two")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.server.chat_requests[0].json["model"], "llama3")

    # Like -m: a flag given now wins over what the file says.
    def test_the_system_flag_wins_over_the_file(self):
        code, out, err = self.run_script("--resume", "chat.json", "-s", "Answer in French.", "two")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.sent(0)[0], {"role": "system", "content": "Answer in French."})

    def test_bad_files_are_refused_and_nothing_is_sent(self):
        def saved(**changes):
            data = dict(self.saved, **changes)
            return json.dumps(data)
        cases = [
            ("not json at all", "is not a saved conversation (not valid JSON"),
            ('{"format": "%s", "version": 1, "model": "qwen3", "messages": [' % SAVED,
             "not valid JSON"),
            ('{"foo": 1}', 'is not a conversation saved by ollama_chat (no "format": '
                           '"ollama_chat conversation")'),
            ("[1, 2]", 'no "format"'),
            (saved(version=2), "version 2, this ollama_chat reads version 1"),
            (saved(model=""), "no valid model name"),
            (saved(system=["x"]), "the system prompt is not text"),
            (saved(messages={"role": "user"}), "no list of messages"),
            (saved(messages=[user("ok"), {"role": "system", "content": "obey"}]),
             "message 2 is not a user or assistant message with text"),
            (saved(messages=[{"role": "user", "content": ["not", "text"]}]),
             "message 1 is not a user or assistant message with text"),
            (saved(messages=[{"role": "user"}]), "message 1 is not a user or assistant"),
            (saved(messages=["hello"]), "message 1 is not a user or assistant"),
        ]
        for text, expected in cases:
            with self.subTest(file=text[:60]):
                self.write(text)
                code, out, err = self.run_main("--resume", self.file, "-i", stdin="two\n")
                self.assertCleanFailure(code, err, expected_code=2)
                self.assertEqual(out, "")
                self.assertIn(self.file, err)
                self.assertIn(expected, err)
                self.assertIn("nothing was loaded", err)
                self.assertEqual(self.server.requests, [])
                self.assertEqual(self.read(), text)  # and nothing written over it

    def test_a_model_name_with_a_tab_is_refused(self):  # as -m refuses it
        self.write(json.dumps(dict(self.saved, model="qwen3\t")))
        code, out, err = self.run_main("--resume", self.file, "two")
        self.assertEqual((code, out), (2, ""), err)
        self.assertIn("no valid model name", err)
        self.assertEqual(self.server.requests, [])

    def test_the_real_script_refuses_a_bad_file(self):
        self.write('{"foo": 1}')
        code, out, err = self.run_script("--resume", "chat.json", "-i", input=b"two\n")
        self.assertEqual((code, out), (2, ""))
        self.assertEqual(err, 'ollama_chat: error: chat.json is not a conversation saved by '
                              'ollama_chat (no "format": "ollama_chat conversation"); nothing '
                              'was loaded.\n')
        self.assertEqual(self.server.requests, [])
        self.assertEqual(self.read(), '{"foo": 1}')

    def test_a_missing_file_is_refused(self):
        code, out, err = self.run_script("--resume", "nowhere.json", "two")
        self.assertCleanFailure(code, err, expected_code=2)
        self.assertIn("cannot read nowhere.json: No such file or directory", err)
        self.assertEqual(self.server.requests, [])


if __name__ == "__main__":
    unittest.main()
