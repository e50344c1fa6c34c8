"""Interactive mode (-i): through a pipe, and on a real terminal (Ctrl+C, Ctrl+D)."""

import json
import os
import select
import signal
import sys
import threading
import time
import unittest
import warnings

from support import SAVED, ScriptTest, assistant, clean_env, spoken, user
from fake_ollama import Reply, chat_chunks, json_error

try:
    import pty
except ImportError:  # Windows
    pty = None


def said(text):
    """What the fake answers when nothing is scripted."""
    return assistant("You said: " + text)


class PipedChatTest(ScriptTest):
    """-i with stdin a pipe: no prompts, each reply alone on its line of stdout."""

    def chat(self, *lines, args=(), **options):
        """Type these lines into `ollama_chat.py -i`; return (exit code, stdout, stderr)."""
        text = "".join(line + "\n" for line in lines)
        return self.run_script("-i", *args, input=text.encode("utf-8"), **options)

    def history(self, number):
        """The messages of the number-th chat request, without a system message."""
        return [m for m in self.sent(number) if m["role"] != "system"]

    def test_history_is_kept_across_turns(self):
        code, out, err = self.chat("one", "two", "three")
        self.assertEqual((code, out, err),
                         (0, "You said: one\nYou said: two\nYou said: three\n", ""))
        self.assertEqual(self.history(2), [user("one"), said("one"), user("two"), said("two"),
                                           user("three")])

    def test_bye_and_exit_quit_at_once(self):
        for command in ("/bye", "/exit"):
            with self.subTest(command=command):
                self.server.requests.clear()
                code, out, err = self.chat("one", command, "never sent")
                self.assertEqual((code, out, err), (0, "You said: one\n", ""))
                self.assertEqual(len(self.server.chat_requests), 1)

    def test_end_of_input_quits_with_0(self):
        code, out, err = self.chat("one")
        self.assertEqual((code, out, err), (0, "You said: one\n", ""))

    def test_a_prompt_argument_is_the_first_message(self):
        code, out, err = self.chat("two", args=("one",))
        self.assertEqual((code, out, err), (0, "You said: one\nYou said: two\n", ""))
        self.assertEqual(self.history(1), [user("one"), said("one"), user("two")])

    def test_clear_forgets_the_conversation_but_keeps_the_system_prompt(self):
        code, out, err = self.chat("one", "/clear", "two", args=("-s", "Be brief."))
        self.assertEqual((code, out), (0, "You said: one\nYou said: two\n"))
        self.assertIn("Cleared the conversation", err)
        self.assertEqual(self.sent(1), [{"role": "system", "content": "Be brief."}, user("two")])

    def test_model_switches_the_model_of_the_next_requests(self):
        self.server.models.append("qwen3:latest")
        code, out, err = self.chat("one", "/model qwen3", "two", "/model")
        self.assertEqual((code, out), (0, "You said: one\nYou said: two\n"), err)
        self.assertEqual([r.json["model"] for r in self.server.chat_requests],
                         ["llama3", "qwen3"])
        self.assertEqual(err, "Model: qwen3\nModel: qwen3\n")
        self.assertEqual(self.history(1), [user("one"), said("one"), user("two")])

    def test_system_sets_the_system_prompt_of_the_next_requests(self):
        code, out, err = self.chat("one", "/system Answer in French.", "two", "/system", "three")
        self.assertEqual(code, 0, err)
        firsts = [self.sent(number)[0] for number in range(3)]
        self.assertEqual(firsts, [user("one"), {"role": "system", "content": "Answer in French."},
                                  user("one")])
        self.assertIn("System prompt set.", err)
        self.assertIn("System prompt cleared.", err)

    def test_save_then_load_in_another_run_continues_the_conversation(self):
        self.server.models.append("qwen3:latest")
        code, out, err = self.chat("/model qwen3", "/system Be brief.", "one", "/save chat.json")
        self.assertEqual((code, out), (0, "You said: one\n"), err)
        self.assertIn("Saved 2 messages to chat.json.", err)
        with open(os.path.join(self.tmp, "chat.json"), encoding="utf-8") as f:
            saved = json.load(f)
        saved["messages"] = spoken(saved["messages"])
        self.assertEqual(saved, {"format": SAVED, "version": 1, "model": "qwen3",
                                 "system": "Be brief.", "messages": [user("one"), said("one")]})
        self.server.requests.clear()
        code, out, err = self.chat("/load chat.json", "two")
        self.assertEqual((code, out), (0, "You said: two\n"), err)
        self.assertIn("Loaded 2 messages (model qwen3) from chat.json.", err)
        request = self.server.chat_requests[0].json
        self.assertEqual(request["model"], "qwen3")
        self.assertEqual(self.sent(0), [{"role": "system", "content": "Be brief."}, user("one"),
                                        said("one"), user("two")])

    def test_load_of_a_corrupt_file_keeps_the_current_conversation(self):
        with open(os.path.join(self.tmp, "bad.json"), "w", encoding="utf-8") as f:
            f.write('{"format": "%s", "version": 1, "model": "qwen3", "messages": [' % SAVED)
        code, out, err = self.chat("one", "/load bad.json", "two")
        self.assertEqual((code, out), (0, "You said: one\nYou said: two\n"))
        self.assertIn("ollama_chat: error: bad.json is not a saved conversation (not valid "
                      "JSON", err)
        self.assertIn("nothing was loaded", err)
        self.assertNotIn("Loaded", err)
        self.assertEqual(self.server.chat_requests[1].json["model"], "llama3")
        self.assertEqual(self.history(1), [user("one"), said("one"), user("two")])

    def test_load_of_a_foreign_file_keeps_the_current_conversation(self):
        with open(os.path.join(self.tmp, "other.json"), "w", encoding="utf-8") as f:
            json.dump({"format": SAVED, "version": 1, "model": "qwen3",
                       "messages": [user("x"), {"role": "tool", "content": "y"}]}, f)
        code, out, err = self.chat("one", "/load other.json", "two")
        self.assertEqual((code, out), (0, "You said: one\nYou said: two\n"))
        self.assertIn("message 2 is not a user or assistant message", err)
        self.assertEqual(self.server.chat_requests[1].json["model"], "llama3")
        self.assertEqual(self.history(1), [user("one"), said("one"), user("two")])

    def test_retry_after_a_failed_turn_sends_the_same_message_again(self):
        self.server.script("/api/chat", Reply(chat_chunks("first answer")),
                           json_error(500, "boom"))
        code, out, err = self.chat("one", "two", "/retry")
        self.assertEqual((code, out), (0, "first answer\nYou said: two\n"))
        self.assertEqual(err, "ollama_chat: error: HTTP 500 Internal Server Error: boom\n")
        self.assertEqual(len(self.server.chat_requests), 3)
        self.assertEqual(self.history(1), self.history(2))
        self.assertEqual(self.history(2), [user("one"), assistant("first answer"), user("two")])

    def test_the_request_after_a_failed_turn_does_not_carry_it(self):
        self.server.script("/api/chat", json_error(500, "boom"))
        code, out, err = self.chat("lost", "next")
        self.assertEqual((code, out), (0, "You said: next\n"))
        self.assertIn("boom", err)
        self.assertEqual(self.history(1), [user("next")])

    def test_retry_after_a_reply_replaces_that_reply(self):
        self.server.script("/api/chat", Reply(chat_chunks("A1")), Reply(chat_chunks("A2 old")),
                           Reply(chat_chunks("A2 new")))
        code, out, err = self.chat("one", "two", "/retry", "three")
        self.assertEqual((code, out, err), (0, "A1\nA2 old\nA2 new\nYou said: three\n", ""))
        self.assertEqual(self.history(2), [user("one"), assistant("A1"), user("two")])
        self.assertEqual(self.history(3), [user("one"), assistant("A1"), user("two"),
                                           assistant("A2 new"), user("three")])

    # A failed /retry leaves the old reply in the history: the next /retry replaces
    # it, rather than asking the same message a second time after it.
    def test_retry_after_a_failed_retry_still_replaces_the_reply(self):
        self.server.script("/api/chat", Reply(chat_chunks("A1")), json_error(500, "boom"),
                           Reply(chat_chunks("A1 new")))
        code, out, err = self.chat("one", "/retry", "/retry", "two")
        self.assertEqual((code, out), (0, "A1\nA1 new\nYou said: two\n"), err)
        self.assertEqual(self.history(2), [user("one")])
        self.assertEqual(self.history(3), [user("one"), assistant("A1 new"), user("two")])

    def test_retry_before_any_message(self):
        code, out, err = self.chat("/retry", "one")
        self.assertEqual((code, out), (0, "You said: one\n"))
        self.assertEqual(err, "Nothing to retry yet.\n")
        self.assertEqual(len(self.server.chat_requests), 1)

    def test_help_lists_the_commands(self):
        code, out, err = self.chat("/help", "/?")
        self.assertEqual((code, out), (0, ""))
        help_text, again = err[:len(err) // 2], err[len(err) // 2:]
        self.assertEqual(help_text, again)  # /? is /help
        for name in ("/bye", "/exit", "/clear", "/model", "/system", "/save FILE", "/load FILE",
                     "/retry", "/help", '"""', "Ctrl+C", "Ctrl+D"):
            self.assertIn(name, help_text)
        self.assertEqual(self.server.requests, [])

    def test_an_unknown_command_or_a_failed_turn_is_an_error_line_and_the_session_goes_on(self):
        cases = [
            ((), "unknown command /frobnicate: /? lists the commands"),
            ((json_error(500, "llama runner process has terminated"),),
             "HTTP 500 Internal Server Error: llama runner process has terminated"),
        ]
        for replies, message in cases:
            with self.subTest(message=message):
                self.server.reset()
                self.server.script("/api/chat", *replies)
                first = "/frobnicate now" if not replies else "one"
                code, out, err = self.chat(first, "two")
                self.assertEqual((code, out, err),
                                 (0, "You said: two\n", "ollama_chat: error: %s\n" % message))
                self.assertEqual(self.history(-1), [user("two")])  # nothing of the failure

    def test_save_and_load_without_a_file_name(self):
        code, out, err = self.chat("/save", "/load", "one")
        self.assertEqual((code, out), (0, "You said: one\n"))
        self.assertEqual(err, "ollama_chat: error: /save needs a file name: /save FILE\n"
                              "ollama_chat: error: /load needs a file name: /load FILE\n")

    def test_a_bad_model_name_is_an_error_line_and_the_session_goes_on(self):
        code, out, err = self.chat("/model llama 3", "one")
        self.assertEqual((code, out), (0, "You said: one\n"), err)
        self.assertIn("must not contain spaces", err)
        self.assertEqual(self.server.chat_requests[0].json["model"], "llama3")

    def test_a_failed_save_does_not_claim_it_saved(self):
        missing = os.path.join(self.tmp, "no such folder", "chat.json")
        code, out, err = self.chat("one", "/save " + missing, "two")
        self.assertEqual((code, out), (0, "You said: one\nYou said: two\n"))
        self.assertIn("ollama_chat: error: cannot save the conversation to %s" % missing, err)
        self.assertNotIn("Saved", err)

    # In a UTF-8 locale other than C.UTF-8 (ja_JP.UTF-8; forced here with
    # PYTHONIOENCODING=utf-8) sys.stdin decodes strictly unless main() says otherwise.
    def test_lines_that_are_not_utf8_are_error_lines_and_the_session_goes_on(self):
        sjis = "日本語".encode("shift_jis")
        text = (b"one\n" + sjis + b"\n/system " + sjis + b"\n/model llama" + sjis
                + b"\ntwo\n")
        for env in ({}, {"PYTHONIOENCODING": "utf-8"}):
            with self.subTest(env=env):
                self.server.reset()
                code, out, err = self.run_script("-i", input=text, env=env)
                self.assertNotIn("Traceback", err)
                self.assertEqual((code, out), (0, "You said: one\nYou said: two\n"), err)
                self.assertEqual(err.count("is not UTF-8 text"), 3, err)
                self.assertIn("/system is not UTF-8 text", err)
                self.assertIn("/model is not UTF-8 text", err)
                self.assertEqual(self.history(1), [user("one"), said("one"), user("two")])
                self.assertEqual(self.server.chat_requests[1].json["model"], "llama3")

    def test_lines_between_triple_quotes_are_one_message(self):
        code, out, err = self.chat('"""', "first line", "", "  indented", '"""', "after")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "You said: first line\n\n  indented\nYou said: after\n")
        self.assertEqual(self.history(0), [user("first line\n\n  indented")])
        self.assertEqual(len(self.server.chat_requests), 2)

    def test_triple_quotes_on_the_same_lines_as_the_text(self):
        code, out, err = self.chat('"""/not a command', 'end"""')
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.history(0), [user("/not a command\nend")])

    def test_blank_lines_send_nothing(self):
        code, out, err = self.chat("", "   ", "one")
        self.assertEqual((code, out, err), (0, "You said: one\n", ""))
        self.assertEqual(len(self.server.chat_requests), 1)

    def test_a_cut_stream_is_reported_and_the_session_goes_on(self):
        self.server.script("/api/chat", Reply(chat_chunks("half a", done=False), cut=True))
        code, out, err = self.chat("one", "two")
        self.assertEqual((code, out), (0, "half a\nYou said: two\n"))
        self.assertIn("ollama_chat: error: the stream from 127.0.0.1:%d ended before the reply "
                      "was finished" % self.server.port, err)
        self.assertEqual(self.history(1), [user("two")])  # nothing of "half a" is kept

    def test_dash_is_refused_with_interactive(self):
        code, out, err = self.chat("one", args=("-",))
        self.assertEqual((code, out), (2, ""))
        self.assertIn('"-" reads the prompt from stdin, which -i needs for the chat', err)
        self.assertEqual(self.server.requests, [])


@unittest.skipIf(pty is None or sys.platform == "win32", "needs a pseudo-terminal (POSIX)")
class TerminalChatTest(ScriptTest):
    """-i on a pseudo-terminal that is the script's controlling terminal."""

    def start_on_terminal(self, *args):
        path = self.script()
        argv = [sys.executable, path, "-i"] + list(args)
        env = clean_env(TERM="xterm", HOME=self.tmp)  # its input history: in the test's folder
        with warnings.catch_warnings():  # 3.12+: fork() with the fake's threads running
            warnings.simplefilter("ignore", DeprecationWarning)
            pid, fd = pty.fork()
        if pid == 0:  # the child: only exec, nothing that might need a lock
            try:
                os.chdir(self.tmp)
                os.execve(sys.executable, argv, env)
            finally:
                os._exit(127)
        self.terminal = Terminal(pid, fd)
        self.addCleanup(self.terminal.close)
        return self.terminal

    def test_ctrl_c_stops_the_reply_and_keeps_the_session(self):
        never = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("partial", " never shown"),
                                              hold_at=(1, never)))
        terminal = self.start_on_terminal()
        terminal.expect(b"Chatting with llama3. /? for help, /bye or Ctrl+D to quit.")
        terminal.expect(b">>> ")
        terminal.type(b"first\r")
        terminal.expect(b"partial")
        terminal.type(b"\x03")
        shown = terminal.expect(b"reply stopped; nothing of it kept (/retry sends the "
                                b"message again)")
        terminal.expect(b">>> ")
        self.assertNotIn(b"never shown", shown)
        self.assertTrue(self.server.chat_requests[0].disconnected.wait(10),
                        "the fake never saw the client hang up")
        terminal.type(b"second\r")
        terminal.expect(b"You said: second")
        terminal.expect(b">>> ")
        self.assertEqual(self.sent(1), [user("second")])
        terminal.type(b"\x04")
        self.assertEqual(terminal.exit_code(), 0, terminal.screen)
        self.assertNotIn(b"Traceback", terminal.screen)
        self.assertNotIn(b"interrupted", terminal.screen)  # the session was not ended

    def test_ctrl_c_at_the_prompt_says_how_to_quit(self):
        terminal = self.start_on_terminal()
        terminal.expect(b">>> ")
        terminal.type(b"half typed")
        terminal.expect(b"half typed")
        terminal.wait_for_the_keyboard()
        terminal.type(b"\x03")
        terminal.expect(b"Use Ctrl+D or /bye to exit.")
        terminal.expect(b">>> ")
        terminal.type(b"still here\r")
        terminal.expect(b"You said: still here")
        terminal.expect(b">>> ")
        terminal.type(b"\x04")
        self.assertEqual(terminal.exit_code(), 0, terminal.screen)
        self.assertEqual([self.sent(n) for n in range(len(self.server.chat_requests))],
                         [[user("still here")]])  # the half-typed line was dropped

    def test_ctrl_d_at_an_empty_prompt_quits_with_0(self):
        terminal = self.start_on_terminal()
        terminal.expect(b">>> ")
        terminal.type(b"\x04")
        self.assertEqual(terminal.exit_code(), 0, terminal.screen)
        self.assertNotIn(b"Traceback", terminal.screen)
        self.assertEqual(self.server.chat_requests, [])

    def test_bye_quits_with_0(self):
        terminal = self.start_on_terminal()
        terminal.expect(b">>> ")
        terminal.type(b"/bye\r")
        self.assertEqual(terminal.exit_code(), 0, terminal.screen)
        self.assertEqual(self.server.chat_requests, [])


class Terminal:
    """The master side of a pty: what the script shows, and keys to type."""

    def __init__(self, pid, fd):
        self.pid, self.fd = pid, fd
        self.screen = b""
        self.seen = 0  # expect() looks only after its previous match
        self.status = None

    def type(self, keys):
        os.write(self.fd, keys)

    def read(self, deadline):
        """Append what arrives before the deadline; False at the end of output."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        readable, _, _ = select.select([self.fd], [], [], remaining)
        if not readable:
            return True
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # EIO: the child has closed the terminal
            data = b""
        self.screen += data
        return bool(data)

    def wait_for_the_keyboard(self, timeout=10):
        """Wait until readline sleeps in its select() for the next key.

        CPython's readline notices a signal only when it interrupts that
        select(), the one without a time limit: a Ctrl+C that lands while
        readline is busy with the previous key waits for Enter. A person
        never types that fast; a test on a busy machine does. Linux shows the
        system call a process sleeps in, with its arguments, in /proc/PID/;
        elsewhere this returns at once.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open("/proc/%d/syscall" % self.pid) as f:
                    call = f.read().split()
                with open("/proc/%d/wchan" % self.pid) as f:
                    where = f.read()
            except OSError:
                return
            if (len(call) > 5 and call[0].isdigit() and call[5] == "0x0"
                    and ("poll" in where or "select" in where)):
                return  # select(n, keyboard, NULL, NULL, no time limit)
            if time.monotonic() >= deadline:
                raise AssertionError("the script never waited for a key: %s, %s" % (call, where))
            time.sleep(0.005)  # /proc cannot be waited on

    def expect(self, wanted, timeout=10):
        """Wait until `wanted` shows; return what showed before it."""
        deadline = time.monotonic() + timeout
        while wanted not in self.screen[self.seen:]:
            if time.monotonic() >= deadline or not self.read(deadline):
                raise AssertionError("%r did not show; the terminal shows %r"
                                     % (wanted, self.screen[self.seen:][-600:]))
        start = self.screen.index(wanted, self.seen)
        before, self.seen = self.screen[self.seen:start], start + len(wanted)
        return before

    def exit_code(self, timeout=10):
        """Read to the end of the output, then reap the script."""
        deadline = time.monotonic() + timeout
        while self.read(deadline):
            if time.monotonic() >= deadline:
                raise AssertionError("the script did not end; the terminal shows %r"
                                     % self.screen[-600:])
        _, self.status = os.waitpid(self.pid, 0)  # the terminal closed: it has exited
        if os.WIFSIGNALED(self.status):
            return -os.WTERMSIG(self.status)
        return os.WEXITSTATUS(self.status)

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        os.close(self.fd)


if __name__ == "__main__":
    unittest.main()
