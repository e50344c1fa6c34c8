"""The NDJSON reader and main() in-process: named cases and a seeded random stream."""

import contextlib
import io
import random
import threading
import unittest
import urllib.request
from unittest import mock

from support import ScriptTest
import ollama_chat
from fake_ollama import Reply, chat_chunks, ndjson

GARBAGE = [b"<html><body>Bad Gateway</body></html>", b"{broken json", b"\xff\xfe\xfa",
           b"[1, 2, 3]", b'"just a string"', b'data: {"choices": []}', b"null"]
ALPHABET = ["a", "b", " ", "日本", "語", "🙂", "é", "\\", '"', "\n", "\t", "{", "}", "ok"]


def random_stream(rng):
    """A reply as a proxy might deliver it: (chunks, shown text, kept text, outcome)."""
    tokens = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4)))
              for _ in range(rng.randint(0, 30))]
    final_text = rng.choice(["", "", "!"])
    lines = chat_chunks(*tokens, final_text=final_text)
    shown = "".join(tokens)
    outcome = "ok"
    for _ in range(rng.choice([0, 0, 1, 3])):
        lines.insert(rng.randint(0, len(lines) - 1), rng.choice(GARBAGE) + b"\n")
    roll = rng.random()
    if roll < 0.15:  # an error line part-way: nothing after it counts
        at = rng.randint(0, len(tokens))
        shown = "".join(tokens[:at])
        lines = [l for l in lines if b'"done":true' not in l]
        cut = [i for i, l in enumerate(lines) if l.startswith(b'{"model"')][at:at + 1]
        lines = lines[:cut[0]] if cut else lines
        lines.append(ndjson({"error": "an error mid-stream"}))
        outcome = "error"
    elif roll < 0.3:  # the connection ends before the final line
        lines = [l for l in lines if b'"done":true' not in l]
        outcome = "incomplete"
    else:
        shown += final_text
    garbage = sum(1 for line in lines if line[:-1] in GARBAGE)
    data = b"".join(lines)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12))))
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    return chunks, shown, outcome, garbage


class RandomStreamTest(ScriptTest):

    def test_seeded_random_streams(self):
        for seed in range(150):
            rng = random.Random(seed)
            chunks, shown, outcome, garbage = random_stream(rng)
            cut = outcome == "incomplete" and rng.random() < 0.5
            self.server.reset()
            self.server.script("/api/chat", Reply(chunks, cut=cut))
            with self.subTest(seed=seed, outcome=outcome, cut=cut):
                code, out, err = self.run_main()
                self.check(code, out, err, shown, outcome, garbage)

    def check(self, code, out, err, shown, outcome, garbage):
        if shown:  # the whole reply, then the line ended once
            self.assertIn("Assistant (llama3): " + shown.rstrip("\n") + "\n", out)
        else:
            self.assertNotIn("Assistant (llama3): ", out.split("User:")[1])
        self.assertNotIn("Traceback", err)
        self.assertEqual(err.count("warning: skipped a line"), min(garbage, 5))
        if outcome == "ok" and not shown:  # a finished reply without text is no reply
            self.assertEqual(code, 1, err)
            self.assertTrue(err.endswith("the server finished the reply without any text; "
                                         "nothing is kept. Is llama3 a model that can chat?\n"))
            self.assertEqual(len(self.server.chat_requests), 1)
            return
        if outcome == "ok":
            self.assertEqual(code, 0, err)
            self.assertEqual(self.sent(1)[1], {"role": "assistant", "content": shown})
            self.assertIn("--- Session Ended ---", out)
            return
        self.assertEqual(code, 1, err)
        self.assertEqual(len(self.server.chat_requests), 1)  # nothing fake went on
        last = err.splitlines()[-1]
        if outcome == "error":
            self.assertEqual(last, "ollama_chat: error: the server stopped the reply with an "
                                   "error: an error mid-stream")
        else:
            self.assertTrue(last.endswith("the reply is incomplete."), last)


class ReaderTest(unittest.TestCase):
    """read_ndjson on a body read with readline(), as http.client's responses are."""

    def read(self, body):
        warnings = []
        items = list(ollama_chat.read_ndjson(None, io.BytesIO(body), warnings.append))
        return items, warnings

    def test_a_last_line_without_a_newline(self):
        items, warnings = self.read(ndjson({"message": {"content": "日本"}}).rstrip())
        self.assertEqual(items, [{"message": {"content": "日本"}}])
        self.assertEqual(warnings, [])

    def test_many_lines_in_one_piece_and_crlf(self):
        items, warnings = self.read(b'{"a":1}\r\n{"a":2}\n\n \n{"a":3}\n')
        self.assertEqual(items, [{"a": 1}, {"a": 2}, {"a": 3}])

    def test_bad_utf8_and_non_objects_are_reported(self):
        items, warnings = self.read(b'\xff\n[1]\n{"a":1}\n')
        self.assertEqual(items, [{"a": 1}])
        self.assertEqual(len(warnings), 2)
        self.assertIn("not valid JSON", warnings[0])
        self.assertIn("not a JSON object", warnings[1])

    def test_warnings_are_capped_per_reply(self):
        said = []
        warn = ollama_chat.few_warnings(said.append, limit=2)
        for _ in range(10):
            warn("bad")
        self.assertEqual(said, ["bad", "bad", "more bad lines in this reply; skipping them "
                                              "without a word."])


class ReaderGone(io.StringIO):
    """stdout whose reader leaves (| head -c 7) once it has the first text."""

    def write(self, text):
        if self.getvalue():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


class ClosedStdoutTest(ScriptTest):

    def test_reader_gone_while_a_failure_is_reported_is_still_quiet(self):
        self.server.script("/api/chat", Reply(chat_chunks("partial", done=False), cut=True))
        out, err = ReaderGone(), io.StringIO()
        with mock.patch.object(ollama_chat, "API_URL", self.server.url), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = ollama_chat.main(["hi"])  # the cut is reported, and "\n" hits the pipe
        self.assertEqual((code, out.getvalue(), err.getvalue()), (141, "partial", ""))


class WatchedOut(io.StringIO):
    """stdout that tells when a text has been flushed to the screen."""

    def __init__(self, watch):
        super().__init__()
        self.watch = watch
        self.shown = threading.Event()

    def flush(self):
        if self.watch in self.getvalue():
            self.shown.set()


class ConversationTest(ScriptTest):

    def conversation(self, out=None):
        settings = ollama_chat.Settings.from_constants(url=self.server.url, environ={})
        urllib.request.install_opener(ollama_chat.build_opener(settings))
        self.addCleanup(urllib.request.install_opener, None)
        display = ollama_chat.Display(out or io.StringIO(), io.StringIO())
        return ollama_chat.Conversation(settings, display)

    def test_a_token_is_on_screen_before_the_next_arrives(self):
        go_on = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("first", " second"),
                                               hold_at=(1, go_on)))
        out = WatchedOut("first")
        conversation = self.conversation(out)
        turn = threading.Thread(target=conversation.ask, args=("hi",))
        turn.start()
        try:  # the server holds " second" back until "first" has been shown
            self.assertTrue(out.shown.wait(10), "the first token never showed")
        finally:
            go_on.set()
            turn.join()
        self.assertEqual(out.getvalue(), "first second\n")

    def test_settings_never_change_once_built(self):
        conversation = self.conversation()
        with self.assertRaises(AttributeError):
            conversation.settings.model = "other"
        conversation.model = "other"  # what a chat changes belongs to the conversation
        self.assertEqual(conversation.settings.model, "llama3")

    def test_failed_turn_adds_nothing(self):
        conversation = self.conversation()
        conversation.ask("one")
        before = list(conversation.messages)
        self.server.script("/api/chat", Reply(chat_chunks("x", done=False), cut=True))
        with self.assertRaises(ollama_chat.ChatError):
            conversation.ask("two")
        self.assertEqual(conversation.messages, before)
        self.assertEqual(before[-1], {"role": "assistant", "content": "You said: one"})


if __name__ == "__main__":
    unittest.main()
