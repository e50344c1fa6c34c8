"""Starting it as `ollama run` users do: the installed command set up by environment
variables alone (OLLAMA_HOST, OLLAMA_API_KEY, OLLAMA_CHAT_MODEL) and its messages naming
flags, the prompt's words joined, piped stdin before them, image paths attached, and the
request flags --format, --keepalive (KEEP_ALIVE) and --think max."""

import base64
import contextlib
import functools
import json
import os
import subprocess
import sys
import threading
import unittest
from unittest import mock

import support
from support import ScriptTest, assistant, clean_env, closed_port, configure, user
from fake_ollama import Reply, chat_chunks, json_error
import ollama_chat

SHIPPED_URL = ollama_chat.SHIPPED_URL
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # the bytes of a "picture"
SJIS = "日本語のメモ\n".encode("shift_jis")  # stdin that is not UTF-8


def b64(data):
    return base64.b64encode(data).decode("ascii")


def header(request, name):
    return {k.lower(): v for k, v in request.headers.items()}.get(name.lower())


class StartTest(ScriptTest):

    def run_env(self, *args, env=None, stdin="", constants=None, installed=False, argv0=None):
        """run_main with environment variables set, optionally as pip's installed
        ollama-chat (installed_command() True) or with sys.argv[0] as typed."""
        with contextlib.ExitStack() as stack:
            stack.enter_context(mock.patch.object(
                support, "clean_env", functools.partial(clean_env, **(env or {}))))
            if installed:
                stack.enter_context(mock.patch.object(ollama_chat, "installed_command",
                                                      return_value=True))
            if argv0 is not None:
                stack.enter_context(mock.patch.object(sys, "argv", [argv0]))
            return self.run_main(*args, stdin=stdin, constants=constants)

    def image(self, name="cat.png", data=PNG):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def last_message(self, number=0):
        """The last message of the number-th chat request, as sent (the time line on)."""
        return self.server.chat_requests[number].json["messages"][-1]

    def assertUsageError(self, result, *expected):
        code, out, err = result
        self.assertEqual((code, out), (2, ""), err)
        self.assertIn("usage: ", err)
        self.assertNotIn("Traceback", err)
        for text in expected:
            self.assertIn(text, err)
        self.assertEqual(self.server.requests, [])


# --- 1. The installed command, set up without editing site-packages ---------------

class OllamaHostTest(StartTest):
    """OLLAMA_HOST names the server when API_URL is as shipped."""

    def test_the_forms_users_write_reach_the_server(self):
        port = self.server.port
        for host in ["127.0.0.1:%d" % port, "http://127.0.0.1:%d" % port,
                     "http://127.0.0.1:%d/" % port, " 127.0.0.1:%d \n" % port,
                     '"127.0.0.1:%d"' % port, "'http://127.0.0.1:%d'" % port]:
            with self.subTest(OLLAMA_HOST=host):
                self.server.reset()
                code, out, err = self.run_env("hi", env={"OLLAMA_HOST": host},
                                              constants={"API_URL": SHIPPED_URL})
                self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
                self.assertEqual(len(self.server.chat_requests), 1)

    def test_what_each_form_means(self):
        table = [
            ("example.com", "http://example.com:11434"),  # Ollama's port
            ("example.com:8080", "http://example.com:8080"),
            ("https://ollama.example", "https://ollama.example"),  # https's own port
            ("http://ollama.example:8080/", "http://ollama.example:8080"),
            ("0.0.0.0", "http://localhost:11434"),  # "listen everywhere": this machine
            ("0.0.0.0:8080", "http://localhost:8080"),
            (":8080", "http://localhost:8080"),
            ("::1", "http://[::1]:11434"),
            ('"0.0.0.0:8080"', "http://localhost:8080"),
            ("'example.com'", "http://example.com:11434"),
        ]
        with mock.patch.object(ollama_chat, "API_URL", SHIPPED_URL):
            for host, expected in table:
                with self.subTest(OLLAMA_HOST=host):
                    settings = ollama_chat.Settings.from_constants(environ={"OLLAMA_HOST": host})
                    self.assertEqual(settings.base_url, expected)
                    self.assertEqual(settings.url_name, "OLLAMA_HOST")
            settings = ollama_chat.Settings.from_constants(environ={"OLLAMA_HOST": "  "})
            self.assertEqual(settings.base_url, "http://localhost:11434")  # blank: unset
            settings = ollama_chat.Settings.from_constants(
                url="http://10.0.0.5:11434", environ={"OLLAMA_HOST": "example.com"})
            self.assertEqual((settings.base_url, settings.url_name),
                             ("http://10.0.0.5:11434", "API_URL"))  # given: not OLLAMA_HOST's

    def test_an_edited_api_url_wins(self):
        # A copy of the file with API_URL edited (to the fake), OLLAMA_HOST elsewhere.
        dead = "127.0.0.1:%d" % closed_port()
        code, out, err = self.run_script("hi", env={"OLLAMA_HOST": dead})
        self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
        self.assertEqual(len(self.server.chat_requests), 1)
        # ...and the same copy with API_URL as shipped goes where OLLAMA_HOST says.
        self.server.reset()
        code, out, err = self.run_script("hi", constants={"API_URL": SHIPPED_URL},
                                         env={"OLLAMA_HOST": "127.0.0.1:%d" % self.server.port})
        self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
        self.assertEqual(len(self.server.chat_requests), 1)

    def test_url_flag_wins(self):
        dead = "127.0.0.1:%d" % closed_port()
        code, out, err = self.run_env("--url", self.server.url, "hi", installed=True,
                                      env={"OLLAMA_HOST": dead},
                                      constants={"API_URL": SHIPPED_URL})
        self.assertEqual((code, out, err), (0, "You said: hi\n", ""))

    def bad(self, host):
        code, out, err = self.run_env("hi", env={"OLLAMA_HOST": host},
                                      constants={"API_URL": SHIPPED_URL}, installed=True)
        self.assertCleanFailure(code, err, 2)
        self.assertEqual(self.server.requests, [])
        return err

    def test_a_bad_value_is_named(self):
        for host, expected in [
                ("ftp://127.0.0.1", "OLLAMA_HOST must be an http:// or https:// URL"),
                ("127.0.0.1:99999", "OLLAMA_HOST has a bad port: '127.0.0.1:99999'"),
                ("127.0.0.1:11434/api/generate", "OLLAMA_HOST must end in /api/chat")]:
            with self.subTest(OLLAMA_HOST=host):
                self.assertIn(expected, self.bad(host))

    def test_a_one_slash_typo_is_not_taken_for_ipv6(self):  # two colons, no "://"
        err = self.bad("http:/127.0.0.1:8080")
        self.assertIn("OLLAMA_HOST must begin with http:// or https:// (two slashes)", err)
        self.assertNotIn("IPv6", err)

    # Was a bug: a user name and password in OLLAMA_HOST get "put the key in API_KEY instead",
    # a constant the installed command cannot edit: OLLAMA_API_KEY is its knob.
    def test_a_password_in_it_points_at_the_key_variable(self):
        err = self.bad("http://taro:secret@127.0.0.1:8080")
        self.assertIn("must not contain a user name or password", err)
        self.assertIn("OLLAMA_API_KEY", err)
        self.assertNotIn(" API_KEY instead", err)


class ApiKeyTest(StartTest):

    def test_the_key_comes_from_ollama_api_key(self):
        code, out, err = self.run_env("hi", env={"OLLAMA_API_KEY": "sk-env-0123456789"},
                                      installed=True)
        self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
        self.assertEqual(header(self.server.chat_requests[0], "Authorization"),
                         "Bearer sk-env-0123456789")

    def test_no_key_no_header(self):
        code, _, err = self.run_env("hi", installed=True)
        self.assertEqual(code, 0, err)
        self.assertIsNone(header(self.server.chat_requests[0], "Authorization"))


class ChatModelTest(StartTest):
    """OLLAMA_CHAT_MODEL chooses the model once, when MODEL_NAME is as shipped."""

    def setUp(self):
        super().setUp()
        for name in ("qwen3", "mistral"):
            self.server.add_model(name)

    def models(self):
        return [r.json["model"] for r in self.server.chat_requests]

    def test_it_chooses_the_model_for_every_turn(self):
        code, out, err = self.run_env("-i", stdin="one\ntwo\n",
                                      env={"OLLAMA_CHAT_MODEL": "qwen3"}, installed=True)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.models(), ["qwen3", "qwen3"])

    def test_the_model_flag_wins(self):
        code, _, err = self.run_env("-m", "mistral", "hi", env={"OLLAMA_CHAT_MODEL": "qwen3"})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.models(), ["mistral"])
        self.server.reset()
        code, _, err = self.run_env("-m", "llama3", "hi", env={"OLLAMA_CHAT_MODEL": "qwen3"})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.models(), ["llama3"])  # -m of the shipped name is still -m

    def test_an_edited_model_name_wins(self):
        code, _, err = self.run_env("hi", env={"OLLAMA_CHAT_MODEL": "qwen3"},
                                    constants={"MODEL_NAME": "mistral"})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.models(), ["mistral"])

    def test_blank_is_unset(self):
        code, _, err = self.run_env("hi", env={"OLLAMA_CHAT_MODEL": " "})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.models(), [ollama_chat.SHIPPED_MODEL])

    # Was a bug: a bad OLLAMA_CHAT_MODEL is reported as "MODEL_NAME must not contain spaces:
    # 'llama 3'": it names the constant the installed command cannot edit, not the
    # variable that holds the value.
    def test_a_bad_value_is_named(self):
        code, _, err = self.run_env("hi", env={"OLLAMA_CHAT_MODEL": "llama 3"}, installed=True)
        self.assertCleanFailure(code, err, 2)
        self.assertIn("OLLAMA_CHAT_MODEL", err)
        self.assertNotIn("MODEL_NAME", err)


class KnobTest(StartTest):
    """Messages name what fits how it was started: flags and environment variables for
    the installed command, the constants at the top for the copied file."""

    def both(self, *args, reply=None, **kwargs):
        """(installed, copied file): each run's (code, stderr)."""
        results = []
        for installed in (True, False):
            self.server.reset()
            if reply:
                self.server.script("/api/chat", reply())
            code, _, err = self.run_env(*args, installed=installed, **kwargs)
            self.assertNotIn("Traceback", err)
            results.append((code, err))
        return results

    def test_a_key_asked_for(self):
        (code, err), (code2, err2) = self.both("hi", reply=lambda: json_error(401, "unauthorized"))
        self.assertEqual(code, 1, err)
        self.assertIn("set the environment variable OLLAMA_API_KEY", err)
        self.assertNotIn("top of ollama_chat.py", err)
        self.assertEqual(code2, 1, err2)
        self.assertIn("set API_KEY at the top of ollama_chat.py", err2)

    def test_a_key_refused(self):
        env = {"OLLAMA_API_KEY": "sk-wrong-0123456789"}
        (code, err), _ = self.both("hi", env=env, reply=lambda: json_error(401, "unauthorized"))
        self.assertEqual(code, 1, err)
        self.assertIn("the API key in OLLAMA_API_KEY (from the environment)", err)
        self.assertNotIn("top of ollama_chat.py", err)
        self.assertNotIn("sk-wrong", err)

    def test_silence(self):
        never = threading.Event()
        self.addCleanup(never.set)
        (code, err), (code2, err2) = self.both(
            "hi", constants={"API_URL": self.server.url, "TIMEOUT": 0.2},
            reply=lambda: Reply(chat_chunks("late"), hold=never))
        self.assertEqual(code, 1, err)
        self.assertIn("give a larger --timeout", err)
        self.assertNotIn("top of ollama_chat.py", err)
        self.assertEqual(code2, 1, err2)
        self.assertIn("raise TIMEOUT at the top of ollama_chat.py", err2)

    def test_the_length_warning(self):
        full = lambda: Reply(chat_chunks("ok", stats={"prompt_eval_count": 90, "eval_count": 5}))
        (code, err), (code2, err2) = self.both("-o", "num_ctx=100", "hi", reply=full)
        self.assertEqual(code, 0, err)
        self.assertIn("fills 95% of the model's context window", err)
        self.assertIn("-o num_ctx=8192", err)
        self.assertNotIn("OPTIONS", err)
        self.assertEqual(code2, 0, err2)
        self.assertIn("-o num_ctx=8192 or OPTIONS at the top of ollama_chat.py", err2)

    def test_a_prompt_longer_than_the_window(self):
        refused = lambda: json_error(400, "the input length exceeds the context length")
        (code, err), (code2, err2) = self.both("hi", reply=refused)
        self.assertEqual(code, 1, err)
        self.assertIn("-o num_ctx=16384", err)
        self.assertNotIn("OPTIONS", err)
        self.assertEqual(code2, 1, err2)
        self.assertIn("OPTIONS at the top of ollama_chat.py", err2)

    def test_a_server_that_is_not_there(self):
        dead = "http://127.0.0.1:%d" % closed_port()
        (code, err), (code2, err2) = self.both("hi", constants={"API_URL": dead})
        self.assertEqual(code, 1, err)
        self.assertIn("connection refused", err)
        self.assertIn("fix OLLAMA_HOST (or --url)", err)
        self.assertNotIn("API_URL", err)
        self.assertEqual(code2, 1, err2)
        self.assertIn("fix API_URL", err2)
        # Set by OLLAMA_HOST, or by --url: that is what to fix.
        port = closed_port()
        code, _, err = self.run_env("hi", env={"OLLAMA_HOST": "127.0.0.1:%d" % port},
                                    constants={"API_URL": SHIPPED_URL}, installed=True)
        self.assertEqual(code, 1, err)
        self.assertIn("fix OLLAMA_HOST", err)
        self.assertNotIn("API_URL", err)
        code, _, err = self.run_env("--url", "127.0.0.1:%d" % port, "hi", installed=True)
        self.assertIn("fix --url", err)
        self.assertNotIn("API_URL", err)

    # Was a bug: after `--think on` on a model that cannot think, the hint says "set THINK =
    # None (or False) for this model." THINK is None already and the installed command
    # has no THINK to set: the flag is what to drop.
    def test_thinking_refused_names_the_flag(self):
        refused = lambda: json_error(400, '"llama3" does not support thinking')
        (code, err), _ = self.both("--think", "on", "hi", reply=refused)
        self.assertEqual(code, 1, err)
        self.assertIn("--think", err)
        self.assertNotIn("THINK =", err)

    # Was a bug: pointed at an OpenAI-compatible server (vLLM here), the installed command's
    # note says 'API_STYLE = "openai" skips this check.': a constant it cannot edit,
    # where --api openai is the knob.
    def test_the_note_about_another_api_names_the_flag(self):
        from fake_servers import FakeVLLM
        with FakeVLLM() as vllm:
            code, _, err = self.run_env("--url", vllm.url, "hi", installed=True)
        self.assertIn("does not speak Ollama's API", err)
        self.assertIn("--api openai", err)
        self.assertNotIn("API_STYLE", err)

    # Was a bug: pointed at Open WebUI, the installed command is told to put the key "in
    # API_KEY" (and to write "--url = http://.../ollama/api/chat"); it has only
    # OLLAMA_API_KEY.
    def test_the_open_webui_hint_names_the_variable(self):
        from fake_servers import FakeOpenWebUI
        with FakeOpenWebUI() as webui:
            code, _, err = self.run_env("--url", webui.url, "hi", installed=True)
        self.assertEqual(code, 1, err)
        self.assertIn("Open WebUI", err)
        self.assertIn("OLLAMA_API_KEY", err)
        self.assertNotIn("in API_KEY", err)


class CommandNameTest(StartTest):
    """--version and the usage line name the command as it was typed."""

    def test_a_copy_saved_under_another_name(self):
        path = configure(os.path.join(self.tmp, "chat.py"), API_URL=self.server.url)
        def run(*args):
            proc = subprocess.run([sys.executable, path] + list(args), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=clean_env(), timeout=30, cwd=self.tmp)
            return proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        self.assertEqual(run("--version"), (0, "chat.py %s\n" % ollama_chat.__version__, ""))
        code, out, err = run("--bogus")
        self.assertEqual((code, out), (2, ""))
        self.assertTrue(err.startswith("usage: chat.py "), err)
        self.assertIn("chat.py: error: unrecognized arguments: --bogus", err)
        self.assertNotIn("ollama_chat.py", err)

    def test_the_installed_command(self):
        argv0 = "/home/taro/.local/bin/ollama-chat"
        with mock.patch.object(sys, "argv", [argv0]):
            self.assertEqual(ollama_chat.command_name(), "ollama-chat")
        self.assertEqual(self.run_env("--version", argv0=argv0),
                         (0, "ollama-chat %s\n" % ollama_chat.__version__, ""))
        code, out, err = self.run_env("--think", "extreme", "hi", argv0=argv0)
        self.assertEqual((code, out), (2, ""))
        self.assertTrue(err.startswith("usage: ollama-chat "), err)
        self.assertIn("ollama-chat: error: argument --think", err)

    def test_other_ways_to_start_it(self):
        for argv0, expected in [("/usr/lib/python3/site-packages/ollama_chat.py", "ollama_chat.py"),
                                ("./my_chat.py", "my_chat.py"),
                                ("/usr/lib/python3.12/site-packages/ollama_chat/__main__.py",
                                 "ollama_chat.py"),
                                ("", "ollama_chat.py"), ("-c", "ollama_chat.py")]:
            with self.subTest(argv0=argv0), mock.patch.object(sys, "argv", [argv0]):
                self.assertEqual(ollama_chat.command_name(), expected)
        with mock.patch.object(sys, "argv", []):
            self.assertEqual(ollama_chat.command_name(), "ollama_chat.py")


# --- 2. and 3. The prompt: its words joined, piped stdin before them ----------------

class PromptWordsTest(StartTest):

    def test_the_words_are_one_message(self):
        code, out, err = self.run_env("why", "is", "the", "sky", "blue")
        self.assertEqual((code, out, err), (0, "You said: why is the sky blue\n", ""))
        self.assertEqual(self.sent(0), [user("why is the sky blue")])

    def test_quoted_words_keep_their_spaces(self):
        code, _, err = self.run_env("why is", "the  sky", "blue?")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.sent(0), [user("why is the  sky blue?")])

    def test_the_real_command_line(self):
        code, out, err = self.run_script("why", "is", "the", "sky", "blue")
        self.assertEqual((code, out, err), (0, "You said: why is the sky blue\n", ""))
        self.assertEqual(self.sent(0), [user("why is the sky blue")])


class PipedStdinTest(StartTest):

    def assertStdinFirst(self, messages, stdin, words):
        self.assertEqual(len(messages), 1, messages)
        self.assertEqual(messages[0]["role"], "user")
        self.assertRegex(messages[0]["content"], r"^%s\s+%s$" % (stdin, words))

    def test_stdin_goes_before_the_words(self):
        code, out, err = self.run_env("要約して", stdin="notes\n")
        self.assertEqual((code, err), (0, ""))
        self.assertStdinFirst(self.sent(0), "notes", "要約して")
        self.assertEqual(len(self.server.chat_requests), 1)

    def test_through_a_real_pipe(self):
        code, _, err = self.run_script("要約して", input="notes\nmore notes\n".encode())
        self.assertEqual((code, err), (0, ""))
        self.assertStdinFirst(self.sent(0), "notes\nmore notes", "要約して")

    def test_stdin_alone_is_the_prompt(self):
        code, out, err = self.run_env(stdin="why is the sky blue\n")
        self.assertEqual((code, out, err), (0, "You said: why is the sky blue\n", ""))
        self.assertEqual(self.sent(0), [user("why is the sky blue")])

    def test_empty_stdin_and_no_words_runs_the_demo(self):
        first = ollama_chat.DEMO_PROMPTS[0].format(name=ollama_chat.USER_NAME)
        for label, run in [("</dev/null", lambda: self.run_script()),
                           ("empty pipe", lambda: self.run_script(input=b"")),
                           ("blank lines", lambda: self.run_env(stdin="\n  \n"))]:
            with self.subTest(stdin=label):
                self.server.reset()
                code, out, err = run()
                self.assertEqual(code, 0, err)
                self.assertIn("--- Starting Session with llama3 ---", out)
                self.assertEqual(len(self.server.chat_requests), 2)
                self.assertEqual(self.sent(0), [user(first)])

    def test_dash_still_reads_only_stdin(self):
        code, out, err = self.run_env("-", stdin="from stdin\n")
        self.assertEqual((code, out, err), (0, "You said: from stdin\n", ""))
        self.assertEqual(self.sent(0), [user("from stdin")])

    def test_stdin_that_is_not_utf8_is_a_clear_usage_error(self):
        # C.UTF-8 gives stdin surrogateescape already; a ja_JP.UTF-8 or en_US.UTF-8
        # locale gives "strict", which PYTHONIOENCODING plays here.
        for args, env in [(("要約して",), None), ((), None),
                          (("要約して",), {"PYTHONIOENCODING": "utf-8:strict"})]:
            with self.subTest(args=args, env=env):
                self.server.reset()
                code, out, err = self.run_script(*args, input=SJIS, env=env)
                self.assertCleanFailure(code, err, 2)
                self.assertIn("not UTF-8 text", err)
                self.assertEqual(out, "")
                self.assertEqual(self.server.requests, [])

    def test_interactive_reads_stdin_line_by_line(self):
        code, out, err = self.run_script("-i", input=b"hello\nworld\n")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "You said: hello\nYou said: world\n")
        self.assertEqual(len(self.server.chat_requests), 2)
        self.assertEqual(self.sent(1), [user("hello"), assistant("You said: hello"),
                                        user("world")])

    def test_interactive_with_words_sends_them_first_then_stdin_lines(self):
        code, out, err = self.run_env("-i", "first", "words", stdin="next\n")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.sent(1), [user("first words"), assistant("You said: first words"),
                                        user("next")])


# --- 4. Images ----------------------------------------------------------------------

class ImageTest(StartTest):

    def assertAttached(self, number, text, *datas):
        """The number-th request's last message: text, the images as base64, no "files"."""
        message = self.last_message(number)
        self.assertEqual(ollama_chat.without_time(message["content"]), text)
        self.assertEqual(message.get("images"), [b64(d) for d in datas])
        self.assertNotIn("files", message)  # the names stay here

    def test_a_path_in_the_prompt_is_attached(self):
        for name in ["cat.png", "cat.jpg", "cat.jpeg", "cat.webp", "CAT.PNG", "Cat.JpG",
                     "cat.JPEG", "cat.WebP"]:
            with self.subTest(name=name):
                self.server.reset()
                data = PNG + name.encode()
                path = self.image(name, data)
                code, out, err = self.run_env("describe", path)
                self.assertEqual((code, out), (0, "You said: describe\n"), err)
                self.assertAttached(0, "describe", data)
                self.assertEqual(err, "Added image '%s'\n" % path)

    def test_several_images_and_text_around_them(self):
        one, two = self.image("one.png", b"one"), self.image("two.jpg", b"two")
        code, _, err = self.run_env("compare", one, "with", "%s:" % two, "which", "is", "red?")
        self.assertEqual(code, 0, err)
        self.assertAttached(0, "compare with : which is red?", b"one", b"two")
        self.assertIn("Added image '%s'\nAdded image '%s'\n" % (one, two), err)

    def test_a_vision_model_sees_it(self):
        self.server.add_model("gemma3", capabilities=("completion", "vision"))
        code, _, err = self.run_env("-m", "gemma3", "describe", self.image())
        self.assertEqual(code, 0, err)
        request = self.server.chat_requests[0]
        self.assertGreater(request.prompt_tokens, 768)  # the fake counts 768 a picture

    def test_relative_paths_from_the_current_folder(self):
        self.image("cat.png")
        code, out, err = self.run_script("describe", "./cat.png")
        self.assertEqual((code, out), (0, "You said: describe\n"), err)
        self.assertAttached(0, "describe", PNG)
        self.assertIn("Added image './cat.png'", err)

    def test_paths_with_spaces_quoted_or_escaped(self):
        for name, quote in [("my cat.png", "'"), ("my cat.WebP", '"'), ("my cat.jpeg", "\\")]:
            path = self.image(name)
            if quote == "\\":
                prompt = "describe %s" % path.replace(" ", "\\ ")
            else:
                prompt = "describe %s%s%s" % (quote, path, quote)
            with self.subTest(prompt=prompt):
                self.server.reset()
                code, _, err = self.run_env(prompt)
                self.assertEqual(code, 0, err)
                self.assertAttached(0, "describe", PNG)
                self.assertIn("Added image '%s'" % path, err)

    def test_tilde_is_the_home_folder(self):
        path = self.image("cat.webp")
        code, _, err = self.run_env("describe ~/cat.webp", env={"HOME": self.tmp})
        self.assertEqual(code, 0, err)
        self.assertAttached(0, "describe", PNG)
        self.assertIn("Added image '%s'" % path, err)

    def test_interactive(self):
        path = self.image()
        code, out, err = self.run_env("-i", stdin="describe %s\nthanks\n" % path)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "You said: describe\nYou said: thanks\n")
        self.assertAttached(0, "describe", PNG)
        self.assertEqual(ollama_chat.without_time(self.last_message(1)["content"]), "thanks")
        self.assertNotIn("images", self.last_message(1))
        self.assertIn("Added image '%s'" % path, err)

    def test_urls_are_not_paths(self):
        for prompt in ["describe https://example.com/a.png", "see http://example.com/x/cat.JPG.",
                       "(https://example.com/a.webp)"]:
            with self.subTest(prompt=prompt):
                self.server.reset()
                code, out, err = self.run_env(prompt)
                self.assertEqual((code, out, err), (0, "You said: %s\n" % prompt, ""))
                self.assertEqual(self.sent(0), [user(prompt)])
                self.assertNotIn("images", self.last_message())

    def assertRefused(self, result, *expected):
        code, out, err = result
        self.assertCleanFailure(code, err, 2)
        self.assertEqual(out, "")
        self.assertIn("nothing was sent", err)
        for text in expected:
            self.assertIn(text, err)
        self.assertEqual(self.server.requests, [])

    def test_a_missing_file(self):
        path = os.path.join(self.tmp, "nowhere.png")
        self.assertRefused(self.run_env("describe", path),
                           "cannot attach the image %s: No such file or directory" % path)

    def test_an_unreadable_file(self):
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            self.skipTest("running as root: chmod 000 does not stop root reading the file")
        path = self.image()
        os.chmod(path, 0)
        self.assertRefused(self.run_env("describe", path),
                           "cannot attach the image %s: Permission denied" % path)

    def test_a_folder_named_like_an_image(self):  # unreadable even for root
        path = os.path.join(self.tmp, "album.png")
        os.mkdir(path)
        self.assertRefused(self.run_env("describe", path), "cannot attach the image %s: " % path)

    def test_a_file_larger_than_ollama_takes(self):
        path = os.path.join(self.tmp, "huge.png")
        with open(path, "wb") as f:
            f.truncate(ollama_chat.MAX_IMAGE + 1)  # sparse: nothing written, nothing read
        self.assertRefused(self.run_env("describe", path),
                           "the image %s is larger than 100 MB" % path)
        small = self.image("small.png", b"x" * 11)
        self.assertRefused(self.run_env("describe", small, constants={
            "API_URL": self.server.url, "MAX_IMAGE": 10}), "the image %s is larger" % small)

    def test_interactive_errors_leave_the_chat_going(self):
        missing = os.path.join(self.tmp, "missing.jpg")
        big = self.image("big.png", b"x" * 11)
        code, out, err = self.run_env(
            "-i", stdin="describe %s\ndescribe %s\nhello\n" % (missing, big),
            constants={"API_URL": self.server.url, "MAX_IMAGE": 10})
        self.assertEqual((code, out), (0, "You said: hello\n"), err)
        self.assertIn("ollama_chat: error: cannot attach the image %s" % missing, err)
        self.assertIn("ollama_chat: error: the image %s is larger" % big, err)
        self.assertEqual(len(self.server.requests), 1)
        self.assertEqual(self.sent(0), [user("hello")])  # the failed messages are not kept

    def test_a_model_without_vision(self):
        for status, text in [
                (500, "Failed to create new sequence: failed to process inputs: this model is "
                      "missing data required for image input"),
                (400, "model does not support images")]:
            with self.subTest(text=text):
                self.server.reset()
                self.server.script("/api/chat", json_error(status, text))
                path = self.image()
                code, out, err = self.run_env("describe", path)
                self.assertEqual((code, out), (1, ""), err)
                self.assertNotIn("Traceback", err)
                self.assertTrue(err.startswith("Added image '%s'\nollama_chat: error: HTTP %d "
                                               % (path, status)), err)
                self.assertIn(text, err)
                self.assertIn("this model cannot see images: use a vision model", err)
                self.assertEqual(len(self.last_message().get("images", [])), 1)

    def test_a_saved_chat_keeps_the_names_not_the_bytes(self):
        picture = self.image("photo.jpg", os.urandom(30000))
        saved = os.path.join(self.tmp, "chat.json")
        code, _, err = self.run_env("--save", saved, "describe", picture)
        self.assertEqual(code, 0, err)
        self.assertLess(os.path.getsize(saved), 2000)
        with open(saved, encoding="utf-8") as f:
            data = json.load(f)
        first = data["messages"][0]
        self.assertEqual(first["files"], [picture])
        self.assertNotIn("images", first)
        self.assertEqual(ollama_chat.without_time(first["content"]), "describe")
        # Resumed, the history goes out as plain messages: neither bytes nor names.
        code, _, err = self.run_env("--resume", saved, "and now?")
        self.assertEqual(code, 0, err)
        history = self.server.chat_requests[1].json["messages"]
        self.assertEqual(len(history), 3)
        self.assertFalse([m for m in history if "files" in m or "images" in m], history)

    # Was a bug: a path the shell has quoted arrives as one word with its spaces, e.g.
    # `ollama_chat.py describe "$HOME/My Pictures/cat.png"`; it is sent as text, the
    # image silently not attached. `ollama run` attaches it (its pattern takes spaces).
    def test_a_quoted_word_with_spaces_from_the_shell(self):
        path = self.image("my cat.png")
        code, _, err = self.run_env("describe", path)
        self.assertEqual(code, 0, err)
        self.assertAttached(0, "describe", PNG)

    # Was a bug: a path followed by Japanese punctuation ("、", "。", "？") is not attached:
    # IMAGE_PATH's lookahead allows only ASCII punctuation or a space after it, so
    # `ollama_chat.py "/tmp/cat.png、これは何？"` sends the path as text. `ollama run`
    # (a \b after the extension) attaches it.
    def test_japanese_punctuation_after_the_path(self):
        path = self.image()
        code, _, err = self.run_env("%s、これは何？" % path)
        self.assertEqual(code, 0, err)
        self.assertAttached(0, "、これは何？", PNG)

    # Was a bug: attaching an image joins the whole message into one line
    # (" ".join(text.split())): `printf 'a\nb\n' | ollama_chat.py describe /tmp/cat.png`
    # sends "a b describe", the piped text's lines (a list, code) lost.
    def test_the_rest_of_the_message_keeps_its_lines(self):
        path = self.image()
        code, _, err = self.run_env("describe", path, stdin="- apples\n- pears\n")
        self.assertEqual(code, 0, err)
        self.assertRegex(ollama_chat.without_time(self.last_message()["content"]),
                         r"^- apples\n- pears\s+describe$")


# --- 5. The request flags `ollama run` has --------------------------------------------

class RequestFlagTest(StartTest):

    def body(self, *args, constants=None):
        self.server.reset()
        code, out, err = self.run_env(*args, constants=constants)
        self.assertEqual((code, out, err), (0, "You said: hi\n", ""))
        return self.server.chat_requests[0].json

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_format(self):
        self.assertEqual(self.body("--format", "json", "hi")["format"], "json")
        schema = {"type": "object", "properties": {"name": {"type": "string"},
                                                   "age": {"type": "integer"}},
                  "required": ["name", "age"]}
        path = self.write("schema.json", json.dumps(schema))
        self.assertEqual(self.body("--format", path, "hi")["format"], schema)
        self.assertNotIn("format", self.body("hi"))

    def test_format_every_turn_of_a_chat(self):
        code, _, err = self.run_env("-i", "--format", "json", stdin="one\ntwo\n")
        self.assertEqual(code, 0, err)
        self.assertEqual([r.json.get("format") for r in self.server.chat_requests],
                         ["json", "json"])

    def test_keepalive(self):
        for value, sent in [("30m", "30m"), ("1h30m", "1h30m"), ("-1", -1), ("0", 0),
                            ("300", 300)]:
            with self.subTest(keepalive=value):
                body = self.body("--keepalive", value, "hi")
                self.assertEqual(body["keep_alive"], sent)
                self.assertIs(type(body["keep_alive"]), type(sent))
        self.assertEqual(self.body("--keepalive=-1", "hi")["keep_alive"], -1)
        self.assertNotIn("keep_alive", self.body("hi"))

    def test_keep_alive_constant(self):
        for value in ["1h", -1, 0, 600]:
            with self.subTest(KEEP_ALIVE=value):
                body = self.body("hi", constants={"API_URL": self.server.url, "KEEP_ALIVE": value})
                self.assertEqual(body["keep_alive"], value)
        body = self.body("--keepalive", "5m", "hi",
                         constants={"API_URL": self.server.url, "KEEP_ALIVE": "1h"})
        self.assertEqual(body["keep_alive"], "5m")  # the flag wins

    def test_keep_alive_constant_in_the_real_script(self):
        code, _, err = self.run_script("hi", constants={"KEEP_ALIVE": "30m"})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.server.chat_requests[0].json["keep_alive"], "30m")

    def test_think_max(self):
        self.assertEqual(self.body("--think", "max", "hi")["think"], "max")
        body = self.body("hi", constants={"API_URL": self.server.url, "THINK": "max"})
        self.assertEqual(body["think"], "max")

    def test_bad_values_are_usage_errors(self):
        not_json = self.write("schema.yaml", "type: object\n")
        a_list = self.write("list.json", "[1, 2]")
        missing = os.path.join(self.tmp, "missing.json")
        for args, expected in [
                (["--format", missing], "argument --format: takes json or a file with a JSON "
                                        "schema; cannot read %s" % missing),
                (["--format", not_json], "argument --format: %s is not a JSON schema (not "
                                         "valid JSON)" % not_json),
                (["--format", a_list], "argument --format: %s is not a JSON schema (not a "
                                       "JSON object)" % a_list),
                (["--format", self.tmp], "argument --format: takes json or a file"),
                (["--keepalive", "soon"], "argument --keepalive: must be a number of seconds "
                                          "or a duration"),
                (["--keepalive", "30 minutes"], "argument --keepalive: must be a number"),
                (["--think", "extreme"], "argument --think: invalid choice: 'extreme'")]:
            with self.subTest(args=args):
                self.server.reset()
                self.assertUsageError(self.run_env(*(args + ["hi"])), expected)

    def test_a_bad_format_file_in_the_real_script(self):
        path = os.path.join(self.tmp, "bad.json")
        with open(path, "wb") as f:
            f.write(b"\xff\xfe{")
        self.assertUsageError(self.run_script("--format", path, "hi"),
                              "argument --format: %s is not a JSON schema" % path)


if __name__ == "__main__":
    unittest.main()
