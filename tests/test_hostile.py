"""A hostile server, a hostile file: nothing it sends takes over the terminal, leaks
the key or a password, crashes the client or eats unbounded memory.

The terminal cases run the script on a pseudo-terminal (as a person sees it) or
main() in this process with stdout and stderr standing in for a terminal (an
isatty() that says True). A "# Was a bug:" comment tells what a test first found.
"""

import gzip
import json
import os
import re
import subprocess
import sys
import unittest
import zlib

from support import ScriptTest, clean_env, closed_port, user
from fake_ollama import (Reply, chat_chunks, final_chunk, json_error, json_reply,
                         model_entry, ndjson, redirect)
import ollama_chat

try:
    import pty
except ImportError:  # Windows
    pty = None

KEY = "sk-hostile-SECRET-0123456789"

# What a hostile model or server writes: every kind of control a terminal obeys.
EVIL = ("\x1b]52;c;cHduZWQ=\x07"  # OSC 52: writes the clipboard
        "\x1b]0;pwned\x07"  # OSC 0: the window title
        "\x1b[2J"  # CSI 2J: clears the screen
        "\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07"  # OSC 8: a hidden link
        "\x1b[5;35m"  # blinking magenta: a colour the client never uses itself
        "\x07ring fake\rreal\x9b2Jc1\x7f\ttab")  # BEL, a bare CR, C1 CSI, DEL, a tab
# The same text as it must reach a terminal: visible, harmless, CR dropped, tab kept.
SHOWN = ("^[]52;c;cHduZWQ=^G^[]0;pwned^G^[[2J^[]8;;http://evil.example/^Gclick^[]8;;^G"
         "^[[5;35m^Gring fakereal\\x9b2Jc1^?\ttab")

# The client's own sequences: its colours (Style.CODES) and the indicator's "erase line".
OWN = re.compile(r"\x1b\[(?:0|1|2|31|32|33|36)(?:;(?:0|1|2|31|32|33|36))*m|\r\x1b\[K")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but newline and tab


def conversation_file(path, model="llama3", messages=(), raw=None):
    """A conversation as --save writes it (or raw text), for --resume."""
    text = raw if raw is not None else json.dumps(
        {"format": ollama_chat.SAVE_FORMAT, "version": 1, "model": model, "system": "",
         "messages": list(messages)}, ensure_ascii=False, indent=1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    with open(path, "rb") as f:
        return f.read()


class HostileTest(ScriptTest):

    def run_here(self, *args, env=None, stdin="", constants=None, terminal=False):
        """main() in this process, stdout and stderr terminals if `terminal`."""
        return self.run_main(*args, env=env, stdin=stdin, constants=constants,
                             terminal=terminal)

    def run_bytes(self, *args, env=None, input=None):
        """The real script in a subprocess; its output as bytes (any encoding)."""
        proc = subprocess.run([sys.executable, self.script()] + list(args), input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=clean_env(**(env or {})), timeout=30, cwd=self.tmp)
        return proc.returncode, proc.stdout, proc.stderr

    def assertHarmless(self, text):
        """No control character but newline and tab, apart from the client's colours."""
        rest = OWN.sub("", text)
        found = CONTROL.search(rest)
        self.assertIsNone(found, "a control character reached the terminal: %r in %r"
                          % (found and found.group(), rest[:300]))

    def assertNoTraceback(self, *texts):
        for text in texts:
            self.assertNotIn("Traceback", text)

    def path(self, name):
        return os.path.join(self.tmp, name)


# --- The terminal ------------------------------------------------------------

@unittest.skipIf(pty is None or sys.platform == "win32", "needs a pseudo-terminal (POSIX)")
class PseudoTerminalTest(HostileTest):
    """The reply and the thinking, the real script on a real pty."""

    def run_on_terminal(self, *args, stdout_too=True):
        """Run with stderr (and stdout) on a pty: (exit code, the screen, the stdout pipe),
        the screen with the pty's "\r\n" back to "\n", so a bare CR stands out."""
        code, screen, piped = super().run_on_terminal(*args, stdout_too=stdout_too)
        return code, screen.decode("utf-8").replace("\r\n", "\n"), piped

    def script_evil_reply(self):
        # Cut mid-sequence, as tokens come: the escaping must not depend on where.
        self.server.script("/api/chat", Reply(chat_chunks(
            EVIL[:3], EVIL[3:40], EVIL[40:], thinking=[EVIL[:10], EVIL[10:]])))

    def test_reply_and_thinking_on_a_terminal_are_shown_not_obeyed(self):
        self.script_evil_reply()
        code, screen, _ = self.run_on_terminal("hi")
        self.assertEqual(code, 0, screen)
        self.assertHarmless(screen)
        self.assertEqual(OWN.sub("", screen).count(SHOWN), 2, screen)  # thinking, reply
        self.assertIn("\x1b[2m", screen)  # the client's own colour (dim thinking) stays

    def test_a_pipe_gets_the_reply_byte_for_byte(self):
        self.script_evil_reply()
        code, screen, out = self.run_on_terminal("hi", stdout_too=False)
        self.assertEqual(code, 0, screen)
        self.assertEqual(out, EVIL.encode("utf-8") + b"\n")  # `> file` keeps every byte
        self.assertHarmless(screen)  # the thinking still went to the terminal
        self.assertIn(SHOWN, OWN.sub("", screen))


class ServerTextOnTerminalTest(HostileTest):
    """Every text from the server, and model names, on stdout/stderr that are terminals."""

    def test_an_error_line_mid_stream(self):
        self.server.script("/api/chat", Reply(chat_chunks("partial", done=False) +
                                              [ndjson({"error": "oom " + EVIL})]))
        code, out, err = self.run_here("hi", terminal=True)
        self.assertEqual(code, 1, err)
        self.assertHarmless(out + err)
        self.assertIn("the server stopped the reply with an error: oom " + SHOWN, err)
        self.assertIn("\x1b[31;1mollama_chat: error: \x1b[0m", err)  # its own red stays

    def test_an_error_status_with_a_json_body(self):
        self.server.script("/api/chat", json_error(500, "boom " + EVIL))
        code, out, err = self.run_here("hi", terminal=True)
        self.assertEqual(code, 1, err)
        self.assertHarmless(out + err)
        self.assertIn("HTTP 500 Internal Server Error: boom " + SHOWN, err)
        self.assertIn("\x1b[31;1m", err)

    def test_an_html_error_page_title_and_server_header(self):
        page = ("<html><head><title>502 gate\x1b]0;pwned\x07\x1b[2J\x9bway</title></head>"
                "<body>\x1b]52;c;cHduZWQ=\x07</body></html>")
        self.server.script("/api/chat", Reply(
            status=502, body=page.encode("utf-8"), content_type="text/html",
            headers={"Server": "nginx\x1b]0;owned\x07\x9b"}))
        code, out, err = self.run_here("hi", terminal=True)
        self.assertEqual(code, 1, err)
        self.assertHarmless(out + err)
        self.assertIn("from nginx^[]0;owned^G\\x9b", err)
        self.assertIn("gate^[]0;pwned^G^[[2J\\x9bway", err)

    def test_a_redirect_location(self):
        self.server.script("/api/chat", redirect(
            "http://evil.example/\x1b]8;;http://x.example/\x07here\x1b]8;;\x07\x1b[2J\x9b"))
        code, out, err = self.run_here("hi", terminal=True)
        self.assertEqual(code, 1, err)
        self.assertHarmless(out + err)
        self.assertIn("redirects to http://evil.example/^[]8;;http://x.example/^Ghere"
                      "^[]8;;^G^[[2J\\x9b", err)

    def test_list_with_model_names_that_carry_escapes(self):
        entry = model_entry("evil\x1b]0;pwned\x07:latest")
        entry["details"]["parameter_size"] = "8B\x1b[2J"
        entry["details"]["quantization_level"] = "\x9bQ4"
        self.server.script("/api/tags", json_reply({"models": [entry, model_entry("llama3")]}))
        code, out, err = self.run_here("--list", terminal=True)
        self.assertEqual((code, err), (0, ""))
        self.assertHarmless(out)
        self.assertIn("evil^[]0;pwned^G:latest", out)
        self.assertIn("8B^[[2J", out)
        self.assertIn("\\x9bQ4", out)
        self.assertRegex(out, r"(?m)^llama3 ")

    def test_check_with_a_version_and_closest_models_that_carry_escapes(self):
        self.server.script("/api/version", json_reply({"version": "0.12.6\x1b]0;pwned\x07"}))
        self.server.models = ["llama3.1\x1b]52;c;cHduZWQ=\x07:8b", "mistral\x9b2J:latest"]
        code, out, err = self.run_here("--check", terminal=True)
        self.assertEqual(code, 1, out + err)
        self.assertHarmless(out + err)
        self.assertIn("Ollama 0.12.6^[]0;pwned^G answers", out)
        self.assertIn("closest: llama3.1^[]52;c;cHduZWQ=^G:8b, mistral\\x9b2J:latest", out)
        self.assertIn("\x1b[31m[FAIL]\x1b[0m", out)  # its own colours stay

    def test_missing_model_closest_list_that_carries_escapes(self):
        self.server.models = ["llama3\x1b]0;pwned\x07:8b", "qwen\x1b[2J\x9b:7b"]
        code, out, err = self.run_here("hi", terminal=True)
        self.assertEqual(code, 1, err)
        self.assertHarmless(out + err)
        self.assertIn("Installed models, closest first: llama3^[]0;pwned^G:8b, "
                      "qwen^[[2J\\x9b:7b", err)

    def test_pull_progress_that_carries_escapes(self):
        self.server.models = []
        self.server.script("/api/pull", Reply([
            ndjson({"status": "pulling manifest\x1b]0;pwned\x07"}),
            ndjson({"status": "pulling \x1b[2J\x9b", "digest": "sha256:1", "total": 100,
                    "completed": 50}),
            ndjson({"status": "success"})]))
        self.server.script("/api/chat", Reply(chat_chunks("ready")))
        code, out, err = self.run_here("--pull", "hi", terminal=True)
        self.assertEqual(code, 0, err)
        self.assertHarmless(out + err)
        self.assertIn("pulling manifest^[]0;pwned^G", err)
        self.assertIn("pulling ^[[2J\\x9b  50%", err)

    # A model name is shown in the demo's lines, the label and the waiting indicator:
    # one with control characters in a --resume file is refused, as -m and /model do.
    def test_a_model_name_from_a_resume_file(self):
        path = self.path("chat.json")
        conversation_file(path, model="llama3\x1b]0;pwned\x07")
        code, out, err = self.run_here("--resume", path, terminal=True)
        self.assertEqual((code, out), (2, ""), err)
        self.assertIn("is not a conversation saved by ollama_chat (no valid model name)", err)
        self.assertHarmless(out + err)
        self.assertEqual(self.server.requests, [])


# --- Output that cannot be encoded --------------------------------------------

class EncodingTest(HostileTest):
    """PYTHONIOENCODING=latin-1 or ascii: unencodable characters become "?", no crash."""

    def test_the_demo_with_emoji_and_japanese(self):
        for encoding, cafe in (("latin-1", b"caf\xe9"), ("ascii", b"caf?")):
            with self.subTest(encoding=encoding):
                self.server.reset()
                self.server.script(
                    "/api/chat",
                    Reply(chat_chunks("caf\u00e9 ", "\u3053\u3093\u306b\u3061\u306f \U0001f389",
                                      thinking=["\u8003\u3048\u4e2d \U0001f914"])),
                    Reply(chat_chunks("12\u6642\u3067\u3059 \U0001f55b \u592a\u90ce")))
                code, out, err = self.run_bytes(env={"PYTHONIOENCODING": encoding})
                self.assertEqual(code, 0, err)
                self.assertNotIn(b"Traceback", err)
                self.assertEqual(len(self.server.chat_requests), 2)
                self.assertIn(b"Assistant (llama3): " + cafe + b" ????? ?\n", out)
                self.assertIn(b"Assistant (llama3): 12??? ? ??\n", out)
                self.assertIn(b"--- Session Ended ---", out)
                self.assertIn(b"??? ?", err)  # the thinking, replaced too

    def test_interactive_session_goes_on_after_such_a_reply(self):
        self.server.script("/api/chat", Reply(chat_chunks("caf\u00e9 \U0001f389")),
                           Reply(chat_chunks("\u3042\u308a\u304c\u3068\u3046")))
        code, out, err = self.run_bytes("-i", env={"PYTHONIOENCODING": "ascii"},
                                        input=b"first\nsecond\n")
        self.assertEqual(code, 0, err)
        self.assertNotIn(b"Traceback", err)
        self.assertEqual(out, b"caf? ?\n?????\n")
        self.assertEqual(len(self.server.chat_requests), 2)
        # Only the screen lost characters: the model gets its reply back whole.
        self.assertEqual(self.sent(1)[1], {"role": "assistant",
                                           "content": "caf\u00e9 \U0001f389"})


# --- A lone surrogate ----------------------------------------------------------

class SurrogateTest(HostileTest):

    # "\ud800" as the 6 characters \ u d 8 0 0 in a line: valid JSON, but no text.
    LINE = (b'{"model":"llama3","created_at":"2026-01-01T00:00:00Z","message":'
            b'{"role":"assistant","content":"bad \\ud800 char \\ud83d\\ude00",'
            b'"thinking":"hm \\udfff"},"done":false}\n')

    def test_a_lone_surrogate_is_shown_saved_and_sent_back(self):
        self.server.script("/api/chat", Reply([self.LINE] + chat_chunks("!")),
                           Reply(chat_chunks("ok")))
        saved = self.path("chat.json")
        code, out, err = self.run_here("-i", "--save", saved, stdin="first\nsecond\n")
        self.assertEqual(code, 0, err)
        self.assertNoTraceback(err)
        # Replaced (U+FFFD); an escaped pair that makes a character stays that character.
        self.assertRegex(out, "^bad \ufffd+ char \U0001f600!\nok\n$")
        self.assertRegex(err, "hm \ufffd+")
        self.assertNotRegex(out + err, "[\ud800-\udfff]")
        with open(saved, encoding="utf-8") as f:  # strict UTF-8: no surrogate in the file
            data = json.load(f)
        reply = data["messages"][1]["content"]
        self.assertRegex(reply, "^bad \ufffd+ char \U0001f600!$")
        self.assertEqual(len(self.server.chat_requests), 2)
        self.assertEqual(self.sent(1)[1], {"role": "assistant", "content": reply})
        self.assertEqual(self.sent(1)[2], user("second"))

    # Was a bug: one lone surrogate becomes three U+FFFD, not one: parse_line
    # encodes it with surrogatepass (3 bytes, ED A0 80) and decodes with "replace",
    # which replaces each byte. The model is sent "bad \ufffd\ufffd\ufffd char".
    # Repro: a stream line {"message":{"role":"assistant","content":"bad \ud800 char"}}
    # (the escape as 6 characters); `./ollama_chat.py hi` prints "bad \ufffd\ufffd\ufffd char".
    def test_a_lone_surrogate_becomes_one_replacement_character(self):
        self.server.script("/api/chat", Reply([self.LINE] + chat_chunks("!")))
        code, out, err = self.run_here("hi")
        self.assertEqual((code, out), (0, "bad \ufffd char \U0001f600!\n"), err)

    # Was a bug: a lone surrogate escaped in a --resume file is loaded as it is and the next
    # request crashes: open_api's json.dumps(...).encode("utf-8") raises
    # UnicodeEncodeError (a traceback, exit 1). Repro: a saved conversation whose
    # message content is "a\ud800" (the 6 characters backslash-u-d-8-0-0 in the file),
    # then `./ollama_chat.py --resume FILE hi`.
    def test_a_lone_surrogate_in_a_resume_file(self):
        path = self.path("chat.json")
        conversation_file(path, raw='{"format": "%s", "version": 1, "model": "llama3", '
                                    '"system": "", "messages": [{"role": "user", "content": '
                                    '"a\\ud800"}, {"role": "assistant", "content": "b"}]}'
                                    % ollama_chat.SAVE_FORMAT)
        code, out, err = self.run_here("--resume", path, "hi")
        self.assertIn(code, (0, 2), err)  # refused cleanly, or sent as U+FFFD
        self.assertNoTraceback(err)
        with open(path, encoding="utf-8") as f:
            json.load(f)


# --- Bad data from the server or on disk ------------------------------------------

DEEP = b"[" * 100000 + b"]" * 100000  # RecursionError in json.loads


class DeepJsonTest(HostileTest):
    """JSON nested 100,000 levels deep: never a traceback."""

    def test_in_a_stream_line_a_warning_and_the_reply_goes_on(self):
        self.server.script("/api/chat", Reply(chat_chunks("before ", done=False) +
                                              [DEEP + b"\n"] + chat_chunks("after")))
        code, out, err = self.run_here("hi")
        self.assertEqual((code, out), (0, "before after\n"), err)
        self.assertNoTraceback(err)
        self.assertIn("warning: skipped a line that is not valid JSON", err)
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_in_an_error_body(self):
        self.server.script("/api/chat", Reply(status=500, body=b'{"error":' + DEEP + b'}',
                                              content_type="application/json"))
        code, out, err = self.run_here("hi")
        self.assertCleanFailure(code, err)
        self.assertIn("HTTP 500 Internal Server Error", err)
        self.assertLess(len(err), 600)  # the start of the page at most, never all of it

    def test_in_api_tags(self):
        self.server.script("/api/tags", Reply(body=DEEP, content_type="application/json"))
        code, out, err = self.run_here("--list")
        self.assertCleanFailure(code, err)
        self.assertIn("/api/tags", err)

    def test_in_a_resume_file(self):
        path = self.path("deep.json")
        before = conversation_file(path, raw=DEEP.decode())
        code, out, err = self.run_here("--resume", path, "hi")
        self.assertCleanFailure(code, err, 2)
        self.assertIn("nested too deep", err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(self.server.requests, [])


def final_line(**raw):
    """A final chunk with fields given as raw JSON text (1e400 is not Python's to write)."""
    text = ndjson(final_chunk()).decode()
    for name, value in raw.items():
        text, count = re.subn(r'"%s":[^,}]*' % name, '"%s":%s' % (name, value), text)
        assert count == 1, name
    return text.encode()


class WrongTypesTest(HostileTest):
    """Fields of the wrong type, or absurd values."""

    def test_statistics_as_strings_dicts_infinity_and_true(self):
        self.server.script("/api/chat", Reply(chat_chunks("hi", done=False) + [final_line(
            total_duration='"2.5s"', load_duration='{"ns": 1}', prompt_eval_count="true",
            prompt_eval_duration="1e400", eval_count="12", eval_duration="1e400")]))
        code, out, err = self.run_here("-v", "hi")
        self.assertEqual((code, out), (0, "hi\n"), err)
        self.assertNoTraceback(err)
        self.assertEqual(err, "eval count:           12 token(s)\n")

    def test_statistics_all_wrong_show_nothing(self):
        self.server.script("/api/chat", Reply(chat_chunks("hi", done=False) + [final_line(
            total_duration="1e400", load_duration="-5", prompt_eval_count='"26"',
            prompt_eval_duration="null", eval_count="[1]", eval_duration="false")]))
        code, out, err = self.run_here("-v", "hi")
        self.assertEqual((code, out), (0, "hi\n"), err)
        self.assertNoTraceback(err)
        self.assertNotRegex(err, r"duration:|count:|rate:|inf|nan")  # at most "no statistics"
        self.assertLessEqual(len(err.splitlines()), 1, err)

    # Was a bug: an integer too large for a float (400 digits, valid JSON) in the final
    # chunk's statistics crashes -v: show_stats' seconds() divides it by 1e9
    # (OverflowError: int too large to convert to float). number() lets it through
    # since 0 <= value < inf holds for a huge int. Repro: a final chunk with
    # "total_duration": 999...9 (400 nines), `./ollama_chat.py -v hi`.
    def test_statistics_as_a_huge_integer(self):
        self.server.script("/api/chat", Reply(chat_chunks("hi", done=False) + [
            final_line(total_duration="9" * 400, eval_duration="9" * 400)]))
        code, out, err = self.run_here("-v", "hi")
        self.assertEqual((code, out), (0, "hi\n"), err)
        self.assertNoTraceback(err)

    def test_pull_progress_with_a_string_completed_and_total(self):
        self.server.models = []
        self.server.script("/api/pull", Reply([
            ndjson({"status": "pulling manifest"}),
            ndjson({"status": "pulling 365c0bd3c000", "total": 4000, "completed": "half"}),
            ndjson({"status": "pulling 365c0bd3c000", "total": 4000, "completed": 4000}),
            ndjson({"status": "pulling abc", "total": "x", "completed": 5}),
            ndjson({"status": "success"})]))
        self.server.script("/api/chat", Reply(chat_chunks("ready")))
        code, out, err = self.run_here("--pull", "hi")
        self.assertEqual((code, out), (0, "ready\n"), err)
        self.assertNoTraceback(err)
        self.assertIn("pulling 365c0bd3c000   0% 0 B/4.0 KB\n", err)  # "half": nothing yet
        self.assertIn("pulling 365c0bd3c000 100% 4.0 KB/4.0 KB\n", err)
        self.assertIn("pulling abc\n", err)  # no total: the status alone
        self.assertIn("success\n", err)

    # Was a bug: a huge integer "total" in the pull progress crashes --pull: human_size()
    # divides it by 1000 (OverflowError: integer division result too large for a
    # float). Repro: /api/pull streams {"status":"pulling x","total":999...9 (400
    # digits),"completed":1}; `./ollama_chat.py --pull hi` on a server without the model.
    def test_pull_progress_with_a_huge_total(self):
        self.server.models = []
        self.server.script("/api/pull", Reply([
            b'{"status":"pulling x","total":' + b"9" * 400 + b',"completed":1}\n',
            ndjson({"status": "success"})]))
        self.server.script("/api/chat", Reply(chat_chunks("ready")))
        code, out, err = self.run_here("--pull", "hi")
        self.assertEqual((code, out), (0, "ready\n"), err)
        self.assertNoTraceback(err)
        self.assertIn("pulling x\n", err)  # a total no file can have: the status alone

    def test_list_with_names_of_every_type_and_sizes_as_strings(self):
        good = model_entry("llama3")
        entries = [dict(good, name=42), dict(good, name={"a": 1}), dict(good, name=None),
                   dict(good, name="text-size", size="4.7 GB"), dict(good, name="x", size=[1]),
                   dict(good, name="y", details="none"), {"size": 3}, "junk", None, good]
        self.server.script("/api/tags", json_reply({"models": entries}))
        code, out, err = self.run_here("--list")
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^NAME\s+SIZE\s+PARAMETERS\s+QUANTIZATION$")
        self.assertEqual(len(lines), 9, out)  # the header and the 8 dicts
        self.assertRegex(out, r"(?m)^42\s+4\.7 GB\s+8\.0B\s+Q4_0$")
        self.assertRegex(out, r"(?m)^text-size\s+8\.0B\s+Q4_0$")  # no size shown, not "4.7 GB"
        self.assertRegex(out, r"(?m)^y\s+4\.7 GB$")
        self.assertRegex(out, r"(?m)^\?\s+3 B$")  # no name at all
        self.assertRegex(out, r"(?m)^llama3\s+4\.7 GB\s+8\.0B\s+Q4_0$")

    # Was a bug: a huge integer size in /api/tags crashes --list: human_size() raises
    # OverflowError. Repro: /api/tags answers {"models":[{"name":"x","size":999...9}]}
    # (400 digits); `./ollama_chat.py --list`.
    def test_list_with_a_huge_integer_size(self):
        self.server.script("/api/tags", Reply(
            body=b'{"models":[{"name":"x","size":' + b"9" * 400 + b'}]}',
            content_type="application/json"))
        code, out, err = self.run_here("--list")
        self.assertEqual(code, 0, err)
        self.assertNoTraceback(err)

    # Was a bug: "models" that is not a list in /api/tags crashes with TypeError: 'int'
    # object is not iterable (list_models and installed_models iterate
    # `data.get("models") or ()`). Repro: /api/tags answers {"models": 5};
    # `./ollama_chat.py --list`, `--check`, or a missing model (its closest list).
    def test_api_tags_with_models_that_is_not_a_list(self):
        for args in (("--list",), ("--check",), ("hi",)):
            with self.subTest(args=args):
                self.server.reset()
                self.server.models = []  # "hi": the chat's 404 asks /api/tags
                self.server.script("/api/tags", json_reply({"models": 5}))
                code, out, err = self.run_here(*args)
                self.assertIn(code, (0, 1), err)
                self.assertNoTraceback(err)

    # Was a bug: with -v, /api/ps answering {"models": 5} crashes the turn after the reply
    # (ask_window iterates it; only ChatError is caught): TypeError traceback.
    # Repro: `./ollama_chat.py -v hi` against a server whose /api/ps says {"models": 5}.
    def test_api_ps_with_models_that_is_not_a_list(self):
        self.server.script("/api/ps", json_reply({"models": 5}))
        code, out, err = self.run_here("-v", "hi")
        self.assertEqual((code, out), (0, "You said: hi\n"), err)
        self.assertNoTraceback(err)


class BoundsTest(HostileTest):
    """Memory stays bounded: a line, an answer, a saved file each have a cap."""

    def test_a_stream_line_that_never_ends(self):
        saved = self.path("chat.json")
        self.server.script("/api/chat", Reply(chat_chunks("start", done=False) +
                                              [b"x" * (1 << 20)] * 2))  # 2 MiB, no newline
        code, out, err = self.run_here("--save", saved, "hi",
                                       constants={"MAX_LINE": 1 << 20})
        self.assertCleanFailure(code, err)
        self.assertIn("sent a line of more than 1 MB without an end", err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertFalse(os.path.exists(saved))

    def test_a_token_just_under_the_cap(self):
        head = b'{"model":"llama3","message":{"role":"assistant","content":"'
        tail = b'"},"done":false}\n'
        token = "y" * ((1 << 20) - len(head) - len(tail))
        line = head + token.encode() + tail
        self.assertEqual(len(line), 1 << 20)  # the whole line, its newline included
        self.server.script("/api/chat", Reply([line] + chat_chunks("!")))
        code, out, err = self.run_here("hi", constants={"MAX_LINE": 1 << 20})
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, token + "!\n")

    def test_an_api_tags_answer_over_the_cap(self):
        body = json.dumps({"models": [model_entry("llama3")],
                           "padding": "z" * (3 << 19)}).encode()  # 1.5 MiB
        self.server.script("/api/tags", Reply(body=body, content_type="application/json"))
        code, out, err = self.run_here("--list", constants={"MAX_ANSWER": 1 << 20})
        self.assertCleanFailure(code, err)
        self.assertIn("/api/tags answered with more than 1 MB", err)
        self.assertEqual(out, "")

    def test_a_resume_file_over_the_cap(self):
        path = self.path("big.json")
        before = conversation_file(path, messages=[user("w" * (5 << 18))])  # 1.25 MiB
        code, out, err = self.run_here("--resume", path, "hi",
                                       constants={"MAX_SAVED": 1 << 20})
        self.assertCleanFailure(code, err, 2)
        self.assertIn("is larger than 1 MB", err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(self.server.requests, [])


class CompressedTest(HostileTest):
    """A body compressed though the client never asked (Content-Encoding)."""

    PACK = {"gzip": gzip.compress, "deflate": zlib.compress}

    def test_an_error_page_is_unpacked_and_its_text_shown(self):
        for encoding, pack in self.PACK.items():
            with self.subTest(encoding=encoding):
                self.server.reset()
                reply = json_error(500, "model runner crashed")
                reply.body = pack(reply.body)
                reply.headers["Content-Encoding"] = encoding
                self.server.script("/api/chat", reply)
                code, out, err = self.run_here("hi")
                self.assertCleanFailure(code, err)
                self.assertIn("HTTP 500 Internal Server Error: model runner crashed", err)

    def test_a_compressed_stream_is_named_in_one_line(self):
        for encoding, pack in self.PACK.items():
            with self.subTest(encoding=encoding):
                self.server.reset()
                saved = self.path("chat-%s.json" % encoding)
                self.server.script("/api/chat", Reply(
                    [pack(b"".join(chat_chunks("Hello", " there")))],
                    headers={"Content-Encoding": encoding}))
                code, out, err = self.run_here("--save", saved, "hi")
                self.assertCleanFailure(code, err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn("compressed", err)
                self.assertIn("Content-Encoding: %s" % encoding, err)
                self.assertNotIn("not valid JSON", err)
                self.assertEqual(out, "")
                self.assertFalse(os.path.exists(saved))


# --- Secrets -------------------------------------------------------------------

class KeyTest(HostileTest):
    """The key never shows, even when the server echoes it back."""

    def assertMasked(self, out, err, *expected):
        self.assertNotIn(KEY, out + err)
        for text in expected:
            self.assertIn(text, out + err)

    def test_a_401_json_body_that_echoes_the_key(self):
        self.server.script("/api/chat", json_error(401, "invalid api key '%s'" % KEY))
        code, out, err = self.run_here("hi", constants={"API_KEY": KEY})
        self.assertCleanFailure(code, err)
        self.assertMasked(out, err, "HTTP 401 Unauthorized: invalid api key '***'")
        self.assertEqual(self.server.requests[0].headers["Authorization"], "Bearer " + KEY)

    def test_a_403_html_title_with_the_bearer_key(self):
        page = ("<html><head><title>403 Forbidden for Bearer %s</title></head>"
                "<body>no</body></html>" % KEY)
        self.server.script("/api/chat", Reply(status=403, body=page.encode(),
                                              content_type="text/html"))
        code, out, err = self.run_here("hi", env={"OLLAMA_API_KEY": KEY})
        self.assertCleanFailure(code, err)
        self.assertMasked(out, err, "Forbidden for Bearer ***",
                          "refused access with the API key in OLLAMA_API_KEY")

    def test_an_error_line_mid_stream_with_the_key(self):
        self.server.script("/api/chat", Reply(chat_chunks("part", done=False) + [
            ndjson({"error": "quota exceeded for key %s, sorry" % KEY})]))
        code, out, err = self.run_here("hi", env={"OLLAMA_API_KEY": KEY})
        self.assertCleanFailure(code, err)
        self.assertMasked(out, err, "quota exceeded for key ***, sorry")

    def test_a_bad_line_warning_with_the_key(self):
        self.server.script("/api/chat", Reply(chat_chunks("a", done=False) + [
            b"auth=%s oops\n" % KEY.encode()] + chat_chunks("b")))
        code, out, err = self.run_here("hi", constants={"API_KEY": KEY})
        self.assertEqual((code, out), (0, "ab\n"), err)
        self.assertMasked(out, err, "warning: skipped a line that is not valid JSON",
                          "auth=*** oops")

    def test_a_redirect_and_a_server_header_with_the_key(self):
        self.server.script("/api/chat", redirect("https://x.example/?k=" + KEY))
        code, out, err = self.run_here("hi", constants={"API_KEY": KEY})
        self.assertCleanFailure(code, err)
        self.assertMasked(out, err, "redirects to https://x.example/?k=***")
        self.server.reset()
        self.server.script("/api/chat", Reply(status=502, body=b"<html></html>",
                                              content_type="text/html",
                                              headers={"Server": "k " + KEY}))
        code, out, err = self.run_here("hi", constants={"API_KEY": KEY})
        self.assertCleanFailure(code, err)
        self.assertNotIn(KEY[:8], out + err)

    # Was a bug: the server's text is cut (error [:300], page title [:100], a bad line
    # [:60], Server [:40], Location [:200]) *before* masked() replaces the key, so a
    # key that straddles the cut is shown in part. Repro: a 401 body
    # {"error": "<285 x> sk-hostile-SECRET-0123456789"} with API_KEY set prints
    # "...xxx sk-hostile-SECR" (the same for a bad stream line with the key at 45).
    def test_a_key_cut_by_a_length_limit_is_not_shown_in_part(self):
        cases = [json_error(401, "x" * 285 + " " + KEY),
                 Reply(chat_chunks("a", done=False) +
                       [b"y" * 45 + b" " + KEY.encode() + b"\n"] + chat_chunks("b"))]
        for reply in cases:
            with self.subTest(status=reply.status):
                self.server.reset()
                self.server.script("/api/chat", reply)
                code, out, err = self.run_here("hi", constants={"API_KEY": KEY})
                self.assertNotIn(KEY[:10], out + err)

    # Was a bug: --debug prints the traceback of the ChatError unmasked: its message holds
    # the server's words with the key (the "ollama_chat: error:" line after it is
    # masked). --debug output is what goes into bug reports. Repro: a 401 answer
    # {"error": "invalid api key 'sk-...'"}, `./ollama_chat.py --debug hi` with API_KEY set.
    def test_debug_traceback_never_shows_the_key(self):
        self.server.script("/api/chat", json_error(401, "invalid api key '%s'" % KEY))
        code, out, err = self.run_here("--debug", "hi", constants={"API_KEY": KEY})
        self.assertEqual(code, 1, err)
        self.assertMasked(out, err, "invalid api key '***'")


class PasswordTest(HostileTest):
    """A password in a URL (http://user:secret@host) is never printed."""

    def test_not_in_the_ollama_host_hint(self):
        url = "http://127.0.0.1:%d/api/chat" % closed_port()
        for host in ("http://me:secret@127.0.0.1:1", "me:secret@192.168.1.20"):
            with self.subTest(host=host):
                code, out, err = self.run_here("hi", env={"OLLAMA_HOST": host},
                                               constants={"API_URL": url})
                self.assertCleanFailure(code, err)
                self.assertIn("connection refused", err)
                self.assertNotIn("secret", out + err)

    def test_not_in_help_nor_in_the_refusal_of_such_an_api_url(self):
        url = "http://me:secret@127.0.0.1:%d/api/chat" % self.server.port
        code, out, err = self.run_here("--help", constants={"API_URL": url})
        self.assertEqual(code, 0, err)
        self.assertIn("API_URL = 'http://***@127.0.0.1:%d/api/chat'" % self.server.port,
                      " ".join(out.split()))
        self.assertNotIn("secret", out + err)
        code, out, err = self.run_here("hi", constants={"API_URL": url})
        self.assertCleanFailure(code, err, 2)
        self.assertIn("API_URL must not contain a user name or password", err)
        self.assertNotIn("secret", out + err)
        self.assertEqual(self.server.requests, [])

    def test_not_in_a_bad_url_message(self):
        for url in ("http://me:secret@127.0.0.1:bad", "http://me:secret@127.0.0.1:99999",
                    "ftp://me:secret@127.0.0.1", "http://me:secret@127.0.0.1\uff1a1",
                    "http://me:secret@127.0.0.1:1/api/chat?x=1",
                    "http://me:secret@127.0.0.1:1"):
            with self.subTest(url=url):
                code, out, err = self.run_here("-u", url, "hi")
                self.assertEqual(code, 2, err)
                self.assertIn("--url", err)
                self.assertNotIn("secret", out + err)
        self.assertEqual(self.server.requests, [])

    # Was a bug: without_password() strips up to the *first* "@", but a URL's user info
    # ends at the last one (urlsplit's rpartition): a password with an "@" in it is
    # shown in part. Repro: `./ollama_chat.py -u 'http://me:p@ssword@127.0.0.1:bad' hi`
    # prints "has a bad port: 'http://***@ssword@127.0.0.1:bad'".
    def test_not_in_part_when_the_password_holds_an_at_sign(self):
        code, out, err = self.run_here("-u", "http://me:p@ssword@127.0.0.1:bad", "hi")
        self.assertEqual(code, 2, err)
        self.assertNotIn("ssword", out + err)


if __name__ == "__main__":
    unittest.main()
