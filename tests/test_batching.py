"""Reading a stream a batch at a time: the de-chunker, one write per batch, a lone
token shown at once, a huge token with bounded memory."""

import io
import random
import threading
import unittest
import urllib.request

import http.client

from support import FakeOllama
import ollama_chat
from fake_ollama import Reply, chat_chunks, merged


class DechunkerTest(unittest.TestCase):

    def dechunk(self, pieces):
        chunks = ollama_chat.Dechunker()
        data = b"".join(chunks.feed(piece) for piece in pieces)
        return data, chunks.done

    def test_framing_cut_anywhere(self):
        rng = random.Random(6)
        for trial in range(300):
            chunks = [bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 2, 3, 60])))
                      for _ in range(rng.randint(0, 6))]
            extension = b";x=y" if rng.random() < 0.3 else b""
            body = b"".join(b"%x%s\r\n%s\r\n" % (len(c), extension, c) for c in chunks)
            body += b"0\r\n\r\n"
            cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(0, 9))))
            pieces = [body[a:b] for a, b in zip([0] + cuts, cuts + [len(body)])]
            with self.subTest(trial=trial):
                self.assertEqual(self.dechunk(pieces), (b"".join(chunks), True))

    def test_broken_framing_fails_as_http_client_does(self):
        for pieces in ([b"5\r\nhel", b""], [b"zz\r\n"], [b"-5\r\nabc"]):
            with self.subTest(pieces=pieces), self.assertRaises(http.client.IncompleteRead):
                self.dechunk(pieces)
        with self.assertRaises(http.client.LineTooLong):
            self.dechunk([b"1" * 70000])


class CountingOut(io.StringIO):
    """stdout that remembers what each flush() made visible."""

    def __init__(self, watch=None):
        super().__init__()
        self.flushed = []
        self.watch = watch  # text whose showing sets self.shown
        self.shown = threading.Event()

    def flush(self):
        self.flushed.append(self.getvalue())
        if self.watch and self.watch in self.flushed[-1]:
            self.shown.set()


class BatchTest(unittest.TestCase):

    def setUp(self):
        self.server = FakeOllama().start()
        self.addCleanup(self.server.stop)
        self.settings = ollama_chat.Settings.from_constants(url=self.server.url, environ={})
        urllib.request.install_opener(ollama_chat.build_opener(self.settings))
        self.addCleanup(urllib.request.install_opener, None)
        self.out = CountingOut()
        self.display = ollama_chat.Display(self.out, io.StringIO())

    def stream(self):
        body = {"model": "llama3", "messages": [], "stream": True}
        return ollama_chat.stream_reply(self.settings, self.display, body)

    def test_a_burst_of_lines_is_one_write(self):
        tokens = ["t%d " % i for i in range(300)]
        self.server.script("/api/chat", Reply(merged(chat_chunks(*tokens))))
        reply = self.stream()
        self.assertEqual(reply.text, "".join(tokens))
        self.assertLessEqual(len(self.out.flushed), 4)  # not one per token

    def test_a_lone_token_is_shown_at_once(self):
        go_on = threading.Event()
        self.server.script("/api/chat", Reply(chat_chunks("first", " second"),
                                               hold_at=(1, go_on)))
        self.out.watch = "first"
        thread = threading.Thread(target=self.stream)
        thread.start()
        try:  # the second token is held back until the first has been shown
            self.assertTrue(self.out.shown.wait(10), "the first token never showed")
        finally:
            go_on.set()
            thread.join()
        self.assertTrue(self.out.getvalue().endswith("first second\n"))


if __name__ == "__main__":
    unittest.main()
