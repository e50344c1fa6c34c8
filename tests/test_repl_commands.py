"""The interactive commands `ollama run` users expect (-i): /set, /show, /list, /model,
/read, /edit (Ctrl+G), /copy, /help; and what a terminal adds: word wrap, the input
history across sessions, bracketed paste, the model loaded while the user types.

Through a pipe (main() in this process, fast) where the command is all there is;
on a pseudo-terminal where a terminal matters. Every check waits on output or an
event, never on a clock.
"""

import base64
import json
import os
import re
import shlex
import stat
import struct
import subprocess
import sys
import time
import unicodedata
import unittest
import warnings
from unittest import mock

from support import Gate, ScriptTest, clean_env, user
from fake_ollama import Reply, chat_chunks, json_error
import ollama_chat

try:
    import fcntl
    import pty
    import termios
except ImportError:  # Windows
    pty = None
else:
    from test_repl import Terminal  # only the helper: its tests stay in test_repl

try:
    import readline
except ImportError:
    readline = None

ON_A_PTY = pty is not None and sys.platform != "win32"
LIBEDIT = readline is not None and "libedit" in (readline.__doc__ or "")
GNU_READLINE = readline is not None and not LIBEDIT


def readline_version():
    """GNU readline's version as (major, minor), or None."""
    text = getattr(readline, "_READLINE_LIBRARY_VERSION", "") if GNU_READLINE else ""
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


# Bracketed paste is readline 8.0's (on by default from 8.1); libedit has none.
HAS_BRACKETED_PASTE = (readline_version() or (0, 0)) >= (8, 0)

LONG_ENGLISH = ("The quick brown fox jumps over the lazy dog while the streaming reply "
                "keeps going on and on, word after word, until it has to wrap several "
                "times on a narrow terminal window.")
LONG_JAPANESE = ("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
                 "何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。")


def pieces(text, size):
    """The text as a model streams it: a few characters a chunk, words cut anywhere."""
    return [text[i:i + size] for i in range(0, len(text), size)]


def width(text):
    """Columns on a terminal, counted here (not with the client's own function)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else
               0 if unicodedata.combining(c) else 1 for c in text)


CSI = re.compile(r"\x1b\[([0-9;?]*)([@-~])")
OSC = re.compile(r"\x1b\][^\x07]*\x07")


def screen_lines(data):
    """The lines a terminal shows for this output: cursor moves, erasing and wide
    characters applied, and no automatic wrap (a line too long stays too long)."""
    text = OSC.sub("", data.decode("utf-8"))
    lines, row, col, i = [[]], 0, 0, 0
    while i < len(text):
        match = CSI.match(text, i)
        if match:
            number, command = match.groups()
            if command == "D":
                col = max(0, col - int(number or 1))
            elif command == "K":
                del lines[row][col:]
            i = match.end()
            continue
        char = text[i]
        i += 1
        if char == "\r":
            col = 0
        elif char == "\n":
            row += 1
            if row == len(lines):
                lines.append([])
        elif char == "\b":
            col = max(0, col - 1)
        elif char == "\t":  # to the next tab stop, every 8 columns
            col = (col // 8 + 1) * 8
        else:
            cells = lines[row]
            cells.extend([" "] * (col - len(cells)))
            span = width(char) or 1
            cells[col:col + span] = [char] + [""] * (span - 1)
            col += span
    return ["".join(cells).rstrip() for cells in lines]


def history_entries(path):
    """The entries of a history file, as readline writes it (libedit: a header, \\040)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if lines and lines[0] == "_HiStOrY_V2_":
        lines = [line.replace("\\040", " ") for line in lines[1:]]
    return lines


def said(text):
    return "You said: " + text


def load_answer():
    """What Ollama answers a load request ("messages": [], "stream": false)."""
    return {"model": "llama3", "created_at": "2026-11-26T06:00:00Z",
            "message": {"role": "assistant", "content": ""}, "done": True,
            "done_reason": "load"}


class CommandTest(ScriptTest):
    """A helper: lines typed into -i through a pipe, main() in this process."""

    def chat(self, *lines, args=(), env=None, constants=None):
        """Type these lines into `ollama_chat.py -i`; return (exit code, stdout, stderr).

        env: variables added to run_main's clean environment.
        """
        stdin = "".join(line + "\n" for line in lines)
        return self.run_main("-i", *args, stdin=stdin, constants=constants, env=env)

    def request(self, number):
        return self.server.chat_requests[number].json

    def typed(self, number):
        """The last user message of the number-th turn, as the user typed it."""
        return self.sent(number)[-1]["content"]

    def write(self, name, data):
        """A file in the test's folder: text (as UTF-8) or bytes; returns its path."""
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path


# --- 1. /set ---------------------------------------------------------------

class SetTest(CommandTest):

    def test_parameter_sets_model_options_for_the_following_turns(self):
        code, out, err = self.chat(
            "one", "/set parameter num_ctx 8192", "/set parameter temperature 0.25",
            "/set parameter seed -1", "/set parameter penalize_newline false",
            "/set parameter stop <|eot_id|>", "/set parameter stop END", "two", "three")
        self.assertEqual((code, out), (0, "%s\n%s\n%s\n" % (said("one"), said("two"),
                                                             said("three"))), err)
        self.assertNotIn("options", self.request(0))
        options = {"num_ctx": 8192, "temperature": 0.25, "seed": -1,
                   "penalize_newline": False, "stop": ["<|eot_id|>", "END"]}
        for number in (1, 2):
            self.assertEqual(self.request(number)["options"], options)
        sent = self.request(1)["options"]
        self.assertIs(type(sent["num_ctx"]), int)  # numbers as numbers, not "8192"
        self.assertIs(type(sent["seed"]), int)
        self.assertIs(type(sent["temperature"]), float)
        self.assertIs(sent["penalize_newline"], False)
        self.assertIn("Set parameter 'num_ctx' to 8192.", err)
        self.assertNotIn("error", err)
        # the server ran the model with that window
        self.assertEqual(self.server.chat_requests[1].num_ctx, 8192)

    def test_a_whole_number_for_a_float_option_is_sent_as_a_number(self):
        code, out, err = self.chat("/set parameter temperature 1", "one")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.request(0)["options"], {"temperature": 1})
        self.assertIsInstance(self.request(0)["options"]["temperature"], (int, float))

    def test_stop_adds_to_the_stops_given_with_o(self):
        code, out, err = self.chat("/set parameter stop B", "one",
                                   args=("-o", "stop=A", "-o", "num_ctx=4096"))
        self.assertEqual(code, 0, err)
        self.assertEqual(self.request(0)["options"], {"stop": ["A", "B"], "num_ctx": 4096})

    def test_a_bad_name_or_value_is_a_message_and_the_session_goes_on(self):
        cases = [
            ("/set parameter bogus 1", "unknown parameter 'bogus'"),
            ("/set parameter num_ctx big", "num_ctx takes a whole number, not 'big'"),
            ("/set parameter num_ctx 81.5", "num_ctx takes a whole number"),
            ("/set parameter temperature warm", "temperature takes a number"),
            ("/set parameter use_mmap maybe", "use_mmap takes true or false"),
            ("/set parameter seed", "/set parameter seed needs a value"),
            ("/set parameter", "unknown parameter ''"),
        ]
        for line, message in cases:
            with self.subTest(line=line):
                self.server.reset()
                code, out, err = self.chat("/set parameter top_k 20", line, "one")
                self.assertEqual((code, out), (0, said("one") + "\n"), err)
                self.assertIn("ollama_chat: error: " + message, err)
                self.assertNotIn("Traceback", err)
                self.assertEqual(self.request(0)["options"], {"top_k": 20})  # unchanged

    # Was a bug: set_option takes float("nan"), "inf" and "1e999" (as -o refuses to):
    # every following request's "options" then holds NaN or Infinity, which is
    # not JSON; Go's encoding/json (Ollama) refuses the body with 400 at every turn.
    def test_a_value_json_cannot_carry_is_refused(self):
        def strict(constant):
            raise ValueError("not JSON: %s" % constant)
        for value in ("nan", "inf", "-inf", "1e999"):
            with self.subTest(value=value):
                self.server.reset()
                code, out, err = self.chat("/set parameter temperature " + value, "one")
                self.assertEqual((code, out), (0, said("one") + "\n"), err)
                body = json.loads(self.server.chat_requests[0].body.decode("utf-8"),
                                  parse_constant=strict)
                self.assertNotIn("temperature", body.get("options", {}))
                self.assertIn("ollama_chat: error: temperature takes a number", err)

    def test_system_sets_the_system_prompt_and_system_is_its_short_form(self):
        for command in ("/set system", "/system"):
            with self.subTest(command=command):
                self.server.reset()
                code, out, err = self.chat("one", command + " Answer in French.", "two")
                self.assertEqual((code, out), (0, said("one") + "\n" + said("two") + "\n"))
                self.assertEqual(self.sent(0), [user("one")])
                self.assertEqual(self.sent(1)[0], {"role": "system",
                                                   "content": "Answer in French."})
                self.assertEqual(self.sent(1)[1:3], [user("one"),
                                                     {"role": "assistant",
                                                      "content": said("one")}])
                self.assertIn("System prompt set.", err)

    def test_a_triple_quoted_system_prompt_takes_the_lines_up_to_the_closing_quotes(self):
        code, out, err = self.chat('/set system """', "You are a pirate.", "",
                                   "  Answer in pirate speech.", '"""', "one")
        self.assertEqual((code, out), (0, said("one") + "\n"), err)
        self.assertEqual(self.sent(0), [
            {"role": "system", "content": "You are a pirate.\n\n  Answer in pirate speech."},
            user("one")])
        self.assertEqual(len(self.server.chat_requests), 1)  # the block sent nothing

    # Was a bug: set_system strips every '"' off both ends (text.strip('"\n ')), so a
    # prompt that ends (or begins) with a quotation loses its quote mark.
    def test_quotes_inside_a_system_prompt_are_kept(self):
        code, out, err = self.chat('/system Reply with "OK"', "one")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.sent(0)[0], {"role": "system", "content": 'Reply with "OK"'})

    # Was a bug: `/set system """Be brief."""` on one line is taken as the start of a
    # block: the next lines typed (here "one" and "two") become the system prompt
    # instead of messages, up to a line ending with """ (ollama run takes it whole).
    def test_a_triple_quoted_system_prompt_on_one_line(self):
        code, out, err = self.chat('/set system """Be brief."""', "one", "two")
        self.assertEqual((code, out), (0, said("one") + "\n" + said("two") + "\n"), err)
        self.assertEqual(self.sent(0), [{"role": "system", "content": "Be brief."},
                                        user("one")])

    def test_verbose_and_quiet_turn_the_statistics_and_the_context_line_on_and_off(self):
        code, out, err = self.chat("zero", "/set verbose", "one", "/set quiet", "two")
        self.assertEqual((code, out), (0, "%s\n%s\n%s\n" % (said("zero"), said("one"),
                                                            said("two"))), err)
        before, _, rest = err.partition("Set verbose mode.\n")
        during, _, after = rest.partition("Set quiet mode.\n")
        self.assertEqual(before, "")
        self.assertEqual(after, "")
        for name in ("total duration:", "load duration:", "prompt eval count:",
                     "eval count:", "eval rate:"):
            self.assertIn(name, during)
        self.assertRegex(during, r"\ncontext: [\d,]+ / 4,096 tokens \(\d+%\)\n$")

    def test_quiet_turns_off_what_v_turned_on(self):
        code, out, err = self.chat("one", "/set quiet", "two", args=("-v",))
        self.assertEqual(code, 0, err)
        first, _, after = err.partition("Set quiet mode.\n")
        self.assertIn("eval count:", first)
        self.assertIn("context: ", first)
        self.assertEqual(after, "")

    def test_think_levels_and_nothink(self):
        code, out, err = self.chat("a", "/set think", "b", "/set think low", "c",
                                   "/set think medium", "d", "/set think high", "e",
                                   "/set think max", "f", "/set nothink", "g")
        self.assertEqual(code, 0, err)
        thinks = [r.json.get("think", "absent") for r in self.server.chat_requests]
        self.assertEqual(thinks, ["absent", True, "low", "medium", "high", "max", False])
        self.assertIn("Thinking off.", err)

    def test_an_unknown_think_level_is_a_message_and_changes_nothing(self):
        code, out, err = self.chat("/set think low", "/set think hard", "one")
        self.assertEqual((code, out), (0, said("one") + "\n"))
        self.assertIn("ollama_chat: error: unknown /set think hard", err)
        self.assertEqual(self.request(0)["think"], "low")

    def test_format_json_and_noformat(self):
        code, out, err = self.chat("a", "/set format json", "b", "c", "/set noformat", "d",
                                   "/set format xml", "e")
        self.assertEqual(code, 0, err)
        formats = [r.json.get("format", "absent") for r in self.server.chat_requests]
        self.assertEqual(formats, ["absent", "json", "json", "absent", "absent"])
        self.assertIn("ollama_chat: error: unknown /set format xml", err)

    def test_noformat_drops_a_format_flag(self):
        code, out, err = self.chat("a", "/set noformat", "b", args=("--format", "json"))
        self.assertEqual(code, 0, err)
        self.assertEqual([r.json.get("format") for r in self.server.chat_requests],
                         ["json", None])

    def test_wordwrap_history_and_their_opposites_answer_and_change_no_request(self):
        code, out, err = self.chat("/set wordwrap", "/set nowordwrap", "/set history",
                                   "/set nohistory", "one")
        self.assertEqual((code, out), (0, said("one") + "\n"))
        self.assertEqual(err, "Word wrap on.\nWord wrap off.\nInput history not kept.\n"
                              "Input history not kept.\n")  # a pipe has no history
        self.assertEqual(set(self.request(0)), {"model", "messages", "stream"})

    def test_an_unknown_setting_is_a_message(self):
        code, out, err = self.chat("/set loud", "/set", "one")
        self.assertEqual((code, out), (0, said("one") + "\n"))
        self.assertIn("ollama_chat: error: unknown /set loud", err)
        self.assertEqual(err.count("ollama_chat: error: unknown /set"), 2, err)


# --- 2. /show, /list, /model -------------------------------------------------

class ShowTest(CommandTest):

    def setUp(self):
        super().setUp()
        self.server.add_model(
            "llama3", system="You are a helpful assistant.",
            parameters={"num_ctx": 8192, "stop": ["<|eot_id|>", "<|end|>"], "temperature": 0.6},
            capabilities=("completion", "tools", "thinking"),
            template="{{ if .System }}<|system|>{{ .System }}{{ end }}{{ .Prompt }}",
            license="LLAMA 3 COMMUNITY LICENSE AGREEMENT\nMeta Llama 3 Version Release Date",
            family="llama", parameter_size="8.0B", quantization_level="Q4_K_M",
            context_length=131072)
        self.server.add_model("qwen3:8b", family="qwen3", parameter_size="8.2B")

    def show(self, *lines):
        code, out, err = self.chat(*lines)
        self.assertEqual(code, 0, err)
        return out, err

    def info(self, out):
        """The rows of /show info: {name: value}."""
        return dict(re.split(r"\s{2,}", line, maxsplit=1) for line in out.splitlines()
                    if re.match(r"^\S.*\s{2,}\S", line))

    def test_info_is_the_default_and_lists_the_model(self):
        for line in ("/show info", "/show"):
            with self.subTest(line=line):
                out, err = self.show(line)
                self.assertEqual(err, "")
                rows = self.info(out)
                self.assertEqual(rows["family"], "llama")
                self.assertEqual(rows["parameters"], "8.0B")
                self.assertEqual(rows["quantization"], "Q4_K_M")
                self.assertEqual(rows["capabilities"], "completion, tools, thinking")
                self.assertEqual(rows["context length"], "131,072")
                self.assertIn("not known yet", rows["window in use"])

    def test_info_tells_the_window_in_use_once_the_model_runs(self):
        out, err = self.show("one", "/show info")
        rows = self.info(out.partition(said("one") + "\n")[2])
        self.assertEqual(rows["window in use"], "8,192")  # the Modelfile's num_ctx
        self.assertEqual(rows["context length"], "131,072")

    def test_info_tells_a_window_set_with_set_parameter(self):
        out, err = self.show("/set parameter num_ctx 16384", "/show info")
        self.assertEqual(self.info(out)["window in use"], "16,384")

    # Was a bug: /show info before the first reply asks the window (not loaded yet: only
    # the trained length, an upper bound) and the gauge keeps that answer for the
    # session: after the model has run, /show info still says "not known yet" and
    # -v's context line and the "fills N%" warning never learn the real window.
    def test_info_before_the_first_reply_does_not_hide_the_window_for_good(self):
        out, err = self.show("/show info", "one", "/show info")
        rows = self.info(out.partition(said("one") + "\n")[2])
        self.assertEqual(rows["window in use"], "8,192")

    def test_parameters_system_template_license(self):
        model = self.server.model("llama3")
        cases = {"parameters": model.parameters_text(), "system": model.system,
                 "template": model.template, "license": model.license}
        for what, text in cases.items():
            with self.subTest(what=what):
                out, err = self.show("/show " + what)
                self.assertEqual((out, err), (text + "\n", ""))
        self.assertIn('stop                           "<|eot_id|>"',
                      self.show("/show parameters")[0])

    def test_what_the_model_lacks_is_said(self):
        out, err = self.show("/model qwen3:8b", "/show license", "/show system")
        self.assertEqual(out, "(the model has no license)\n(the model has no system)\n")

    def test_a_bad_argument_is_a_message(self):
        out, err = self.show("/show everything", "one")
        self.assertEqual(out, said("one") + "\n")
        self.assertIn("ollama_chat: error: /show takes info, parameters, system, template or "
                      "license", err)

    def test_list_shows_the_servers_models(self):
        out, err = self.show("/list")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "SIZE", "PARAMETERS", "QUANTIZATION"])
        self.assertEqual([line.split()[0] for line in lines[1:]], ["llama3:latest", "qwen3:8b"])
        self.assertIn("8.2B", lines[2])
        self.assertEqual([r.route for r in self.server.requests], ["/api/tags"])

    def test_model_switches_and_keeps_the_conversation(self):
        out, err = self.show("one", "/model qwen3:8b", "two")
        self.assertEqual(out, said("one") + "\n" + said("two") + "\n")
        self.assertIn("Model: qwen3:8b", err)
        self.assertEqual([r.json["model"] for r in self.server.chat_requests],
                         ["llama3", "qwen3:8b"])
        self.assertEqual(self.sent(1), [user("one"), {"role": "assistant",
                                                      "content": said("one")}, user("two")])

    def test_model_checks_the_server_has_it_and_otherwise_the_model_stays(self):
        out, err = self.show("one", "/model qwen3", "two", "/model")
        self.assertEqual(out, said("one") + "\n" + said("two") + "\n")
        self.assertIn("ollama_chat: error: 127.0.0.1:%d has no model qwen3 (closest: qwen3:8b"
                      % self.server.port, err)
        self.assertIn("the model stays llama3.", err)
        self.assertTrue(err.endswith("Model: llama3\n"), err)
        self.assertEqual([r.json["model"] for r in self.server.chat_requests],
                         ["llama3", "llama3"])
        self.assertEqual(len(self.sent(1)), 3)  # the conversation went on

    def test_model_without_a_tag_finds_latest(self):
        out, err = self.show("/model qwen3:8b", "/model llama3", "one")
        self.assertNotIn("error", err)
        self.assertEqual(self.request(0)["model"], "llama3")


# --- 3. Word wrap --------------------------------------------------------------

class PipedWrapTest(CommandTest):
    """Never for pipes or files: the reply byte for byte, whatever its length."""

    def test_a_long_reply_through_a_pipe_is_not_wrapped(self):
        for text in (LONG_ENGLISH, LONG_JAPANESE) * 2:
            self.server.script("/api/chat", Reply(chat_chunks(*pieces(text, 5))))
        code, out, err = self.chat("a", "b", "/set wordwrap", "c", "d")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, (LONG_ENGLISH + "\n" + LONG_JAPANESE + "\n") * 2)

    def test_a_real_pipe_and_a_file(self):
        self.server.script("/api/chat", Reply(chat_chunks(*pieces(LONG_ENGLISH, 5))))
        code, out, err = self.run_script("-i", input=b"/set wordwrap\none\n",
                                         env={"TERM": "xterm", "COLUMNS": "40"})
        self.assertEqual((code, out), (0, LONG_ENGLISH + "\n"), err)
        self.server.script("/api/chat", Reply(chat_chunks(*pieces(LONG_JAPANESE, 5))))
        path = os.path.join(self.tmp, "out.txt")
        with open(path, "wb") as f:
            proc = self.start_script("-i", stdout=f, stdin=subprocess.PIPE,
                                     env={"COLUMNS": "40"})
            _, err = proc.communicate(b"one\n", timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), LONG_JAPANESE.encode("utf-8") + b"\n")


@unittest.skipUnless(ON_A_PTY, "needs a pseudo-terminal (POSIX)")
class TerminalTest(ScriptTest):
    """-i on a pseudo-terminal of a given size, with its own home and state folders."""

    def setUp(self):
        super().setUp()
        self.home = os.path.join(self.tmp, "home")
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.home)
        self.history = os.path.join(self.state, "ollama_chat", "history")

    def start(self, *args, env=None, columns=80, rows=24):
        """Start `ollama_chat.py -i` on a new terminal; return it at its first prompt."""
        argv = [sys.executable, self.script(), "-i"] + list(args)
        environ = clean_env(TERM="xterm", HOME=self.home, XDG_STATE_HOME=self.state,
                            **(env or {}))
        size = struct.pack("HHHH", rows, columns, 0, 0)
        with warnings.catch_warnings():  # 3.12+: fork() with the fake's threads running
            warnings.simplefilter("ignore", DeprecationWarning)
            pid, fd = pty.fork()
        if pid == 0:  # the child: only system calls and exec, nothing that takes a lock
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, size)
                os.chdir(self.tmp)
                os.execve(sys.executable, argv, environ)
            finally:
                os._exit(127)
        terminal = Terminal(pid, fd)
        self.addCleanup(terminal.close)
        terminal.expect(b">>> ")
        return terminal

    def resize(self, terminal, columns, rows=24):
        fcntl.ioctl(terminal.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def turn(self, terminal, line, until=None):
        """Type a line; return what showed up to the next prompt (the echo included).

        until: what ends the reply, when readline may draw its prompt again before
        it (it does after the terminal is resized)."""
        start = terminal.seen
        terminal.type(line.encode("utf-8") + b"\r")
        if until:
            terminal.expect(until)
        terminal.expect(b">>> ")
        return terminal.screen[start:terminal.seen - len(b">>> ")]

    def reply_lines(self, shown, typed):
        """The reply's lines on screen: those after the typed line's, blank ones dropped."""
        rows = screen_lines(shown)
        echo = next(i for i, row in enumerate(rows) if row.endswith(typed))
        return [row for row in rows[echo + 1:] if row]

    def quit(self, terminal):
        terminal.type(b"\x04")
        self.assertEqual(terminal.exit_code(), 0, terminal.screen[-600:])
        self.assertNotIn(b"Traceback", terminal.screen)


class WordWrapTest(TerminalTest):

    def assertWrapped(self, lines, text, columns):
        """Lines that fit, broken only between words, each filled as far as it goes."""
        self.assertGreater(len(lines), 2, lines)
        for line in lines:
            self.assertLessEqual(width(line), columns, lines)
        self.assertEqual(" ".join(lines).split(), text.split(), lines)  # no word cut
        for line, following in zip(lines, lines[1:]):  # no early break either
            self.assertGreater(width(line) + 1 + width(following.split()[0]), columns - 1,
                               lines)

    def test_a_long_english_reply_wraps_between_words_as_it_streams(self):
        self.server.script("/api/chat", Reply(chat_chunks(*pieces(LONG_ENGLISH, 5))))
        terminal = self.start(columns=40)
        shown = self.turn(terminal, "tell me")
        self.assertWrapped(self.reply_lines(shown, "tell me"), LONG_ENGLISH, 40)
        self.assertRegex(shown, rb"\x1b\[\d+D\x1b\[K")  # a word already shown was moved
        self.quit(terminal)

    def test_japanese_wraps_by_width_without_splitting_a_character(self):
        text = "ab" + LONG_JAPANESE  # wide characters from an odd column on
        self.server.script("/api/chat", Reply(chat_chunks(*pieces(text, 7))))
        terminal = self.start(columns=40)
        lines = self.reply_lines(self.turn(terminal, "日本語で"), "日本語で")
        self.assertGreater(len(lines), 3, lines)
        self.assertEqual("".join(lines), text)
        for line, following in zip(lines, lines[1:] + [""]):
            self.assertLessEqual(width(line), 40, lines)
            if following:  # full: the next character would not have fitted
                self.assertGreater(width(line) + width(following[0]), 39, lines)
        self.quit(terminal)

    def test_not_on_a_terminal_too_narrow_or_of_unknown_width(self):
        for columns in (15, 0):  # 0 x 0: a terminal that tells no size
            with self.subTest(columns=columns):
                self.server.script("/api/chat", Reply(chat_chunks(*pieces(LONG_ENGLISH, 5))))
                terminal = self.start(columns=columns, rows=columns and 24)
                shown = self.turn(terminal, "tell me")
                self.assertEqual(self.reply_lines(shown, "tell me"), [LONG_ENGLISH])
                self.quit(terminal)

    # Was a bug: wrapped() counts a tab as one column, but a terminal moves it to the
    # next multiple of 8: lines with tabs (Go code, TSV) run past the edge and the
    # terminal breaks them in the middle of a word.
    def test_tabs_count_to_the_next_tab_stop(self):
        code = ("func main() {\n\tfor i, name := range []string{\"alpha\", \"beta\"} {\n"
                "\t\tfmt.Println(i, name, \"is on a line of Go code that is long\")\n\t}\n}")
        self.server.script("/api/chat", Reply(chat_chunks(*pieces(code, 5))))
        terminal = self.start(columns=40)
        lines = self.reply_lines(self.turn(terminal, "go code"), "go code")
        self.quit(terminal)
        self.assertEqual(" ".join(lines).split(), code.split(), lines)
        for line in lines:
            self.assertLessEqual(width(line), 40, lines)

    def test_nowordwrap_flag_and_set_nowordwrap_turn_it_off(self):
        for args, lines in (((), ["/set nowordwrap"]),
                            (("--nowordwrap",), []),
                            (("--nowordwrap",), ["/set nowordwrap", "/set wordwrap"])):
            with self.subTest(args=args, lines=lines):
                self.server.reset()
                self.server.script("/api/chat", Reply(chat_chunks(*pieces(LONG_ENGLISH, 5))))
                terminal = self.start(*args, columns=40)
                for line in lines:
                    self.turn(terminal, line)
                shown = self.turn(terminal, "tell me")
                if lines[-1:] == ["/set wordwrap"]:
                    self.assertWrapped(self.reply_lines(shown, "tell me"), LONG_ENGLISH, 40)
                else:  # one line, wrapped by the terminal alone
                    self.assertEqual(self.reply_lines(shown, "tell me"), [LONG_ENGLISH])
                    self.assertNotRegex(shown, rb"\x1b\[\d+D")
                self.quit(terminal)

    def test_a_resized_terminal_is_picked_up_at_the_next_reply(self):
        self.server.script("/api/chat", *[Reply(chat_chunks(*pieces(LONG_ENGLISH, 5)))] * 3)
        terminal = self.start(columns=40)
        end = LONG_ENGLISH.split()[-1].encode()
        for line, columns in (("one", 40), ("two", 72), ("three", 30)):
            if columns != 40:
                self.resize(terminal, columns)  # between turns, at the prompt
            shown = self.turn(terminal, line, until=end)
            self.assertWrapped(self.reply_lines(shown, line), LONG_ENGLISH, columns)
        self.quit(terminal)


# --- 4. Input history ----------------------------------------------------------

@unittest.skipUnless(readline is not None, "needs readline")
class HistoryTest(TerminalTest):

    def seed(self, entries, mode=0o644):
        os.makedirs(os.path.dirname(self.history))
        with open(self.history, "w", encoding="utf-8") as f:
            f.write("".join(entry + "\n" for entry in entries))
        os.chmod(self.history, mode)
        with open(self.history, "rb") as f:
            return f.read()

    def test_a_second_session_recalls_the_first_ones_lines(self):
        terminal = self.start()
        self.turn(terminal, "what is the capital of France")
        self.quit(terminal)
        self.assertEqual(history_entries(self.history), ["what is the capital of France"])
        self.assertEqual(stat.S_IMODE(os.stat(self.history).st_mode), 0o600)

        terminal = self.start()
        terminal.type(b"\x1b[A")  # Up arrow
        terminal.expect(b"what is the capital of France")
        terminal.type(b"\r")
        terminal.expect(said("what is the capital of France").encode())
        terminal.expect(b">>> ")
        self.quit(terminal)
        self.assertEqual(self.sent(1)[-1], user("what is the capital of France"))

    def test_at_most_100_entries_in_a_0600_file(self):
        self.seed(["earlier line %03d" % n for n in range(120)], mode=0o644)
        terminal = self.start()
        for line in ("one", "two", "three"):
            self.turn(terminal, line)
        self.quit(terminal)
        entries = history_entries(self.history)
        self.assertEqual(len(entries), 100)
        self.assertEqual(entries[-3:], ["one", "two", "three"])
        self.assertEqual(entries[0], "earlier line 023")
        self.assertEqual(stat.S_IMODE(os.stat(self.history).st_mode), 0o600)

    def test_ollama_nohistory_keeps_none(self):
        terminal = self.start(env={"OLLAMA_NOHISTORY": "1"})
        self.turn(terminal, "private")
        self.quit(terminal)
        self.assertFalse(os.path.exists(self.history))
        before = self.seed(["old entry"])
        terminal = self.start(env={"OLLAMA_NOHISTORY": "1"})
        self.turn(terminal, "private")
        self.quit(terminal)
        with open(self.history, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_set_nohistory_keeps_none(self):
        terminal = self.start()
        shown = self.turn(terminal, "/set nohistory")
        self.assertIn(b"Input history not kept.", shown)
        self.turn(terminal, "private")
        self.quit(terminal)
        self.assertFalse(os.path.exists(self.history))
        before = self.seed(["old entry"])
        terminal = self.start()
        self.turn(terminal, "/set nohistory")
        self.turn(terminal, "private")
        self.quit(terminal)
        with open(self.history, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_set_history_turns_it_back_on(self):
        terminal = self.start()
        self.turn(terminal, "/set nohistory")
        self.assertIn(b"Input history kept.", self.turn(terminal, "/set history"))
        self.turn(terminal, "kept line")
        self.quit(terminal)
        self.assertIn("kept line", history_entries(self.history))

    # Was a bug: /set nohistory only skips writing the file at the end; readline still
    # records every line, so after /set history the lines typed while it was off
    # (a password, say) are written too. `ollama run` stops recording them.
    def test_lines_typed_while_history_was_off_are_not_kept(self):
        terminal = self.start()
        self.turn(terminal, "/set nohistory")
        self.turn(terminal, "my secret")
        self.turn(terminal, "/set history")
        self.turn(terminal, "public")
        self.quit(terminal)
        entries = history_entries(self.history)
        self.assertIn("public", entries)
        self.assertNotIn("my secret", entries)


# --- 5. Long messages: /edit, Ctrl+G, bracketed paste --------------------------

EDITOR = """\
import json, sys
log, source, path = sys.argv[1], sys.argv[2], sys.argv[-1]
with open(path, encoding="utf-8") as f:
    found = f.read()
with open(log, "a", encoding="utf-8") as f:
    f.write(json.dumps({"path": path, "found": found}) + "\\n")
with open(source, encoding="utf-8") as f:
    text = f.read()
with open(path, "w", encoding="utf-8") as f:
    f.write(text)
"""


class EditorMixin:
    """A tiny editor: it logs the file it was given and writes a prepared text into it."""

    def make_editor(self, text, name="editor"):
        folder = os.path.join(self.tmp, "my tools")  # a space: the command is split as sh does
        os.makedirs(folder, exist_ok=True)
        script = os.path.join(folder, name + ".py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(EDITOR)
        source = os.path.join(folder, name + ".txt")
        with open(source, "w", encoding="utf-8") as f:
            f.write(text)
        self.editor_log = os.path.join(folder, name + ".log")
        return " ".join(shlex.quote(part) for part in
                        (sys.executable, "-I", script, self.editor_log, source))

    def edits(self):
        """What the editor was given each time: [{"path":..., "found":...}]."""
        if not os.path.exists(self.editor_log):
            return []
        with open(self.editor_log, encoding="utf-8") as f:
            return [json.loads(line) for line in f]


class EditTest(EditorMixin, CommandTest):

    def test_edit_sends_what_the_editor_saved(self):
        editor = self.make_editor("A long question,\n\nwritten in my editor.\n")
        code, out, err = self.chat("/edit", "next", env={"OLLAMA_EDITOR": editor})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.typed(0), "A long question,\n\nwritten in my editor.\n")
        self.assertEqual(self.typed(1), "next")
        self.assertEqual(out, said("A long question,\n\nwritten in my editor.\n")
                         + said("next") + "\n")
        (edit,) = self.edits()
        self.assertEqual(edit["found"], "")
        self.assertFalse(os.path.exists(edit["path"]), "the temporary file was left behind")

    def test_an_empty_file_sends_nothing_and_says_so(self):
        for text in ("", "  \n\n"):
            with self.subTest(text=text):
                self.server.reset()
                editor = self.make_editor(text)
                code, out, err = self.chat("/edit", "one", env={"OLLAMA_EDITOR": editor})
                self.assertEqual((code, out), (0, said("one") + "\n"), err)
                self.assertIn("The file was empty: nothing sent.", err)
                self.assertEqual(len(self.server.chat_requests), 1)

    def test_text_after_edit_is_in_the_file_first(self):
        editor = self.make_editor("edited")
        code, out, err = self.chat("/edit draft of a question", env={"OLLAMA_EDITOR": editor})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.edits()[0]["found"], "draft of a question")

    def test_the_editor_is_ollama_editor_then_visual_then_editor_then_vi(self):
        names = ("OLLAMA_EDITOR", "VISUAL", "EDITOR")
        for given in range(len(names) + 1):
            environ = {name: "%s-cmd --flag" % name.lower() for name in names[given:]}
            environ.update({name: "  " for name in names[:given]})  # blank: unset
            expected = ["%s-cmd" % names[given].lower(), "--flag"] if given < 3 else ["vi"]
            with self.subTest(environ=environ), \
                    mock.patch("subprocess.call", return_value=0) as call:
                self.assertEqual(ollama_chat.edit_text("", environ), "")
                self.assertEqual(call.call_args[0][0][:-1], expected)

    def test_an_editor_that_does_not_start_is_a_message(self):
        code, out, err = self.chat("/edit", "one",
                                   env={"OLLAMA_EDITOR": os.path.join(self.tmp, "no-editor")})
        self.assertEqual((code, out), (0, said("one") + "\n"), err)
        self.assertIn("ollama_chat: error: cannot start the editor", err)
        self.assertEqual(len(self.server.chat_requests), 1)


@unittest.skipUnless(GNU_READLINE, "needs GNU readline (key bindings, bracketed paste)")
class TerminalEditTest(EditorMixin, TerminalTest):

    def test_ctrl_g_opens_the_editor_with_the_line_typed_so_far(self):
        editor = self.make_editor("The final text\nof two lines")
        terminal = self.start(env={"OLLAMA_EDITOR": editor})
        terminal.type(b"half a thought")
        terminal.expect(b"half a thought")
        terminal.type(b"\x07")
        terminal.expect(said("The final text").encode())
        terminal.expect(b">>> ")
        self.quit(terminal)
        self.assertEqual([e["found"] for e in self.edits()], ["half a thought"])
        self.assertEqual(self.sent(0), [user("The final text\nof two lines")])

    def test_ctrl_g_on_an_empty_line(self):
        editor = self.make_editor("from scratch")
        terminal = self.start(env={"VISUAL": editor})
        terminal.type(b"\x07")
        terminal.expect(said("from scratch").encode())
        terminal.expect(b">>> ")
        self.quit(terminal)
        self.assertEqual([e["found"] for e in self.edits()], [""])

    @unittest.skipUnless(HAS_BRACKETED_PASTE, "this readline has no bracketed paste")
    def test_a_multi_line_paste_is_one_message(self):
        terminal = self.start()
        # A terminal brackets a paste only when asked to; readline takes the marks anyway.
        self.assertIn(b"\x1b[?2004h", terminal.screen)
        terminal.type(b"\x1b[200~line one\nline two\n  line three\x1b[201~")
        terminal.expect(b"line three")
        terminal.type(b"\r")
        terminal.expect(b"You said: line one")
        terminal.expect(b">>> ")
        # a paste that begins with a slash is a message too, not a command
        terminal.type(b"\x1b[200~/usr/local/bin is\nwhere it goes\x1b[201~")
        terminal.expect(b"where it goes")
        terminal.type(b"\r")
        terminal.expect(b"You said: /usr/local/bin is")
        terminal.expect(b">>> ")
        self.quit(terminal)
        self.assertEqual(len(self.server.chat_requests), 2)
        self.assertEqual(self.sent(0), [user("line one\nline two\n  line three")])
        self.assertEqual(self.sent(1)[-1], user("/usr/local/bin is\nwhere it goes"))


# --- 6. /read -------------------------------------------------------------------

class ReadTest(CommandTest):

    def test_the_files_text_goes_with_the_next_message_only(self):
        path = self.write("notes.txt", "line 1\nline 2 ✓\n")
        code, out, err = self.chat("/read " + path, "summarise this", "and now?")
        self.assertEqual(code, 0, err)
        self.assertIn("The text of %s goes with your next message." % path, err)
        first = self.typed(0)
        self.assertIn("line 1\nline 2 ✓\n", first)
        self.assertIn("notes.txt", first)
        self.assertTrue(first.endswith("summarise this"), first)
        self.assertEqual(self.typed(1), "and now?")
        self.assertEqual(self.sent(1)[0]["content"], first)  # it stays in the history

    def test_tilde_is_the_home_folder(self):
        self.write("home notes.txt", "from home")
        code, out, err = self.chat('/read "~/home notes.txt"', "go", env={"HOME": self.tmp})
        self.assertEqual(code, 0, err)
        self.assertIn("from home", self.typed(0))

    def test_the_size_is_capped(self):
        small = self.write("small.txt", "x" * 64)
        big = self.write("big.txt", "x" * 65)
        code, out, err = self.chat("/read " + big, "one", "/read " + small, "two",
                                   constants={"MAX_READ": 64})
        self.assertEqual(code, 0, err)
        self.assertIn("ollama_chat: error: %s is larger than" % big, err)
        self.assertEqual(self.typed(0), "one")  # nothing of the big file
        self.assertIn("x" * 64, self.typed(1))  # exactly the limit is fine

    def test_a_big_file_at_the_shipped_limit(self):
        big = self.write("big.log", b"y" * (ollama_chat.MAX_READ + 1))
        code, out, err = self.chat("/read " + big, "one")
        self.assertEqual((code, out), (0, said("one") + "\n"))
        self.assertIn("is larger than %d KB" % (ollama_chat.MAX_READ >> 10), err)
        self.assertEqual(self.typed(0), "one")

    def test_shift_jis_is_refused_with_a_clear_message(self):
        path = self.write("sjis.txt", "日本語のメモ".encode("shift_jis"))
        code, out, err = self.chat("/read " + path, "one")
        self.assertEqual((code, out), (0, said("one") + "\n"))
        self.assertIn("ollama_chat: error: %s is not UTF-8 text" % path, err)
        self.assertIn("Shift_JIS", err)
        self.assertEqual(self.typed(0), "one")

    def test_a_missing_file_or_no_name_is_a_message_and_the_session_goes_on(self):
        missing = os.path.join(self.tmp, "nowhere.txt")
        code, out, err = self.chat("/read " + missing, "/read", "one")
        self.assertEqual((code, out), (0, said("one") + "\n"))
        self.assertEqual(err, "ollama_chat: error: cannot read %s: No such file or directory\n"
                              "ollama_chat: error: /read needs a file name: /read FILE\n"
                              % missing)
        self.assertEqual(self.typed(0), "one")

    def test_a_folder_is_a_message(self):
        code, out, err = self.chat("/read " + self.tmp, "one")
        self.assertEqual((code, out), (0, said("one") + "\n"))
        self.assertIn("ollama_chat: error: cannot read %s" % self.tmp, err)

    # Was a bug: the file's text goes through attach_images() with the message: a file
    # that mentions an image path (a README saying "see ./logo.png") is refused
    # ("cannot attach the image ./logo.png ... nothing was sent"), and the file's
    # text is lost for the next message too; an existing image is attached
    # instead and its path cut out of the file's text ("The logo is in , see it.").
    def test_an_image_path_in_the_file_is_text(self):
        text = "# Project\n\nThe logo is in ./logo.png, see it.\n"
        path = self.write("README.md", text)
        code, out, err = self.chat("/read " + path, "summarise")
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.server.chat_requests), 1, err)
        self.assertIn(text, self.typed(0))


# --- 7. /copy -------------------------------------------------------------------

class PipedCopyTest(CommandTest):

    def test_before_any_reply_there_is_none(self):
        code, out, err = self.chat("/copy", "one")
        self.assertEqual((code, out), (0, said("one") + "\n"))
        self.assertEqual(err, "No reply to copy yet.\n")

    def test_with_stdout_not_a_terminal_it_says_so(self):
        code, out, err = self.chat("one", "/copy", "two")
        self.assertEqual((code, out), (0, said("one") + "\n" + said("two") + "\n"))
        self.assertEqual(err, "ollama_chat: error: /copy writes to the clipboard through the "
                              "terminal, but stdout is not a terminal.\n")


class TerminalCopyTest(TerminalTest):

    def test_the_last_reply_goes_out_as_osc_52_when_asked(self):
        reply = LONG_ENGLISH + " naïve café ✓ 日本語"
        self.server.script("/api/chat", Reply(chat_chunks("first reply")),
                           Reply(chat_chunks(*pieces(reply, 5))))
        terminal = self.start(columns=40)  # wrapped on screen, whole on the clipboard
        self.turn(terminal, "one")
        self.turn(terminal, "two")
        self.assertNotIn(b"\x1b]52", terminal.screen)  # only when the user asks
        terminal.type(b"/copy\r")
        copied = b"\x1b]52;c;" + base64.b64encode(reply.encode("utf-8")) + b"\x07"
        terminal.expect(copied)
        terminal.expect(b"Copied the last reply")
        terminal.expect(b">>> ")
        self.assertEqual(terminal.screen.count(b"\x1b]52"), 1)
        self.quit(terminal)

    def test_before_any_reply_there_is_none(self):
        terminal = self.start()
        shown = self.turn(terminal, "/copy")
        self.assertIn(b"No reply to copy yet.", shown)
        self.assertNotIn(b"\x1b]52", terminal.screen)
        self.quit(terminal)


# --- 8. The model loads while the user types ------------------------------------

class LoadTest(TerminalTest):

    def held_load(self):
        gate = Gate()
        self.addCleanup(gate.set)
        self.server.script("load", Reply(body=json.dumps(load_answer()).encode(),
                                         content_type="application/json; charset=utf-8",
                                         hold=gate))
        return gate

    def test_one_load_request_at_the_start_before_anything_is_typed(self):
        gate = self.held_load()
        terminal = self.start()
        self.assertTrue(gate.reached.wait(10), "no load request")
        (load,) = self.server.load_requests
        self.assertEqual((load.json["model"], load.json["messages"]), ("llama3", []))
        self.assertEqual(self.server.chat_requests, [])
        gate.set()
        self.turn(terminal, "one")
        self.turn(terminal, "two")
        self.quit(terminal)
        self.assertEqual(len(self.server.load_requests), 1)
        self.assertEqual(len(self.server.chat_requests), 2)

    # Was a bug: the load request carries neither the model options (-o num_ctx=8192,
    # OPTIONS) nor --keepalive: Ollama loads the model with its default window,
    # and the first turn, with num_ctx 8192, loads it all over again (the load in
    # advance is wasted, the user waits twice); a --keepalive is not honoured
    # until the first reply.
    def test_the_load_is_for_the_window_the_turns_use(self):
        gate = self.held_load()
        terminal = self.start("-o", "num_ctx=8192", "--keepalive", "1h")
        self.assertTrue(gate.reached.wait(10), "no load request")  # the fake has loaded it
        gate.set()
        self.turn(terminal, "one")
        self.quit(terminal)
        (load,) = self.server.load_requests
        self.assertEqual(load.json.get("options"), {"num_ctx": 8192})
        self.assertEqual(load.json.get("keep_alive"), "1h")
        self.assertFalse(self.server.chat_requests[0].loaded, "the first turn loaded it again")

    def test_the_first_turn_does_not_wait_for_the_load(self):
        self.held_load()  # never answered
        terminal = self.start()
        terminal.type(b"hello\r")
        terminal.expect(said("hello").encode())
        terminal.expect(b">>> ")
        self.quit(terminal)  # Ctrl+D while the load is still held

    @unittest.skipUnless(os.path.isdir("/proc/self/task"), "needs Linux's /proc")
    def test_a_failed_load_is_a_warning_at_the_first_turn(self):
        gate = Gate()
        reply = json_error(500, "llama runner process has terminated: exit status 2")
        reply.hold = gate
        self.server.script("load", reply)
        terminal = self.start()
        self.assertTrue(gate.reached.wait(10), "no load request")
        gate.set()
        self.wait_for_one_thread(terminal.pid)  # the load has ended, failed
        shown = re.sub(rb"\x1b\[[0-9;]*m", b"", self.turn(terminal, "hello"))  # colours
        self.assertIn(b"warning: loading llama3 in advance failed: HTTP 500 Internal Server "
                      b"Error: llama runner process has terminated", shown)
        self.assertLess(shown.index(b"warning"), shown.index(said("hello").encode()))
        shown = self.turn(terminal, "again")
        self.assertNotIn(b"warning", shown)  # said once
        self.quit(terminal)
        self.assertEqual(len(self.server.chat_requests), 2)

    def test_ctrl_d_during_the_load_exits_at_once_with_0(self):
        gate = self.held_load()
        terminal = self.start()
        self.assertTrue(gate.reached.wait(10), "no load request")
        terminal.type(b"\x04")
        self.assertEqual(terminal.exit_code(timeout=5), 0, terminal.screen)
        self.assertFalse(gate.is_set())
        self.assertNotIn(b"Traceback", terminal.screen)

    def wait_for_one_thread(self, pid, timeout=10):
        """Wait until the script runs its main thread alone (the load's thread ended).
        /proc cannot be waited on: look again every few milliseconds."""
        deadline = time.monotonic() + timeout
        while len(os.listdir("/proc/%d/task" % pid)) > 1:
            if time.monotonic() > deadline:
                self.fail("the load's thread never ended")
            time.sleep(0.005)


class PipedLoadTest(CommandTest):

    def test_a_pipe_loads_nothing_in_advance(self):
        code, out, err = self.chat("one")
        self.assertEqual((code, out), (0, said("one") + "\n"), err)
        self.assertEqual(self.server.load_requests, [])


# --- 9. /? and /help ------------------------------------------------------------

class HelpTest(CommandTest):

    def test_help_lists_every_command(self):
        code, out, err = self.chat("/help", "/?")
        self.assertEqual((code, out), (0, ""))
        help_text, again = err[:len(err) // 2], err[len(err) // 2:]
        self.assertEqual(help_text, again)
        for words in ("/set parameter NAME VALUE", "/set system", '"""', "/set verbose",
                      "quiet", "/set think", "low", "medium", "high", "max", "/set nothink",
                      "/set format json", "/set noformat", "wordwrap", "nowordwrap",
                      "/set history", "nohistory", "/system", "/model", "/show",
                      "info", "parameters", "system", "template", "license", "/list",
                      "/edit", "Ctrl+G", "$OLLAMA_EDITOR", "/read FILE", "/copy", "/help",
                      "/?"):
            self.assertIn(words, help_text)
        self.assertEqual(self.server.requests, [])

    def test_every_command_in_the_help_is_known(self):
        commands = set(re.findall(r"(?<![\w/])/[a-z?]+", ollama_chat.REPL_HELP))
        self.assertGreaterEqual(commands, {"/set", "/show", "/list", "/read", "/edit",
                                           "/copy", "/model", "/system", "/help", "/?"})
        code, out, err = self.chat(*sorted(commands - {"/bye", "/exit"}),
                                   env={"OLLAMA_EDITOR": "true"})
        self.assertNotIn("unknown command", err)


if __name__ == "__main__":
    unittest.main()
