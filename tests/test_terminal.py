"""What a person sees on a terminal: the waiting indicator and colours (through a pty)."""

import re
import sys
import threading
import unittest

from support import ScriptTest
from fake_ollama import Reply, chat_chunks

try:
    import pty
except ImportError:  # Windows
    pty = None

SGR = re.compile(rb"\033\[[0-9;]*m")  # a colour or style sequence


@unittest.skipIf(pty is None or sys.platform == "win32", "needs a pseudo-terminal (POSIX)")
class TerminalTest(ScriptTest):

    def test_waiting_indicator_while_the_model_loads_then_cleared(self):
        loaded = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("ready"), hold=loaded))
        code, screen, out = self.run_on_terminal(
            stdout_too=False, when_seen=(b"waiting for llama3", loaded.set))
        self.assertEqual(code, 0, screen)
        self.assertIn(b"waiting for llama3 0s", screen)
        self.assertTrue(screen.endswith(b"\r\033[K"), screen[-40:])  # the line is erased
        self.assertIn(b"Assistant (llama3): ready\n", out)
        self.assertNotIn(b"\033", out)  # the pipe gets plain text

    def test_hidden_thinking_keeps_the_indicator_and_says_so(self):
        thought = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("ready", thinking=["secret"]),
                                              hold_at=(1, thought)))
        code, screen, out = self.run_on_terminal(
            stdout_too=False, constants={"SHOW_THINKING": False},
            when_seen=(b"llama3 is thinking", thought.set))
        self.assertEqual(code, 0, screen)
        self.assertIn(b"llama3 is thinking", screen)
        self.assertNotIn(b"secret", screen + out)
        self.assertIn(b"Assistant (llama3): ready\n", out)

    def test_colours_on_a_terminal(self):
        self.server.script("/api/chat", Reply(chat_chunks("ok", thinking=["hmm"])))
        code, screen, _ = self.run_on_terminal()
        self.assertEqual(code, 0, screen)
        self.assertIn(b"\033[1;32mAssistant (llama3): \033[0m", screen)
        self.assertIn(b"\033[2mhmm\033[0m", screen)  # thinking is dim

    def test_no_color_turns_colours_off(self):
        self.server.script("/api/chat", Reply(chat_chunks("ok", thinking=["hmm"])))
        code, screen, _ = self.run_on_terminal(env={"NO_COLOR": "1"})
        self.assertEqual(code, 0, screen)
        self.assertIn(b"Assistant (llama3): ok", screen)
        self.assertIsNone(SGR.search(screen), screen)

    def test_no_color_flag_turns_colours_off(self):
        self.server.script("/api/chat", Reply(chat_chunks("ok", thinking=["hmm"])))
        code, screen, _ = self.run_on_terminal("--no-color", "hi")
        self.assertEqual(code, 0, screen)
        self.assertIn(b"hmm", screen)
        self.assertIn(b"ok\r\n", screen)
        self.assertIsNone(SGR.search(screen), screen)

    def test_errors_are_red_on_a_terminal_and_plain_text_stays_readable(self):
        self.server.models = []
        code, screen, _ = self.run_on_terminal()
        self.assertEqual(code, 1)
        self.assertIn(b"\033[31;1mollama_chat: error: \033[0mmodel 'llama3' is not installed",
                      screen)


if __name__ == "__main__":
    unittest.main()
