"""What the model really sees: its own system prompt, requests the server can cache,
the context window (-v's line, the warnings when it is full or was cut), and -o."""

import unittest

from support import ScriptTest, assistant, spoken, user
from fake_ollama import (Reply, chat_chunks, final_chunk, json_error, json_reply, message_tokens,
                         ndjson)

# Messages of a growing chat, a sentence or two each, Japanese and English.
TURNS = ["%d: 今日は会議の議事録をまとめます。Summarise point %d in two lines, please." % (n, n)
         for n in range(20)]


def counted(text, prompt, reply):
    """A reply whose final chunk says: the prompt took `prompt` tokens, the reply `reply`."""
    lines = chat_chunks(text, done=False)
    final = dict(final_chunk(), prompt_eval_count=prompt, eval_count=reply)
    return Reply(lines + [ndjson(final)])


class ChatTest(ScriptTest):
    """-i through a pipe, in this process: one line per message or command."""

    def chat(self, *lines, args=(), constants=None):
        return self.run_main("-i", *args, stdin="".join(line + "\n" for line in lines),
                             constants=constants)


class CacheableRequestTest(ChatTest):

    def test_each_request_repeats_the_last_one_exactly_then_the_reply_and_the_new_message(self):
        for args in ((), ("-s", "Be brief.")):
            with self.subTest(args=args):
                self.server.reset()
                lines = ["message %d" % n for n in range(6)]
                code, out, err = self.chat(*lines, args=args)
                self.assertEqual((code, err), (0, ""))
                requests = [r.json["messages"] for r in self.server.chat_requests]
                self.assertEqual(len(requests), 6)
                for turn in range(1, 6):
                    before, after = requests[turn - 1], requests[turn]
                    self.assertEqual(after[:len(before)], before)  # byte for byte
                    self.assertEqual(spoken(after[len(before):]),
                                     [assistant("You said: " + lines[turn - 1]),
                                      user(lines[turn])])

    def test_without_a_system_prompt_no_system_message_is_sent(self):
        code, out, err = self.chat("one", "two")
        self.assertEqual(code, 0, err)
        for request in self.server.chat_requests:
            self.assertEqual({m["role"] for m in request.json["messages"]},
                             {"user", "assistant"} if len(request.json["messages"]) > 1
                             else {"user"})


class WhatTheModelSeesTest(ChatTest):
    """Against the fake's model of the server: system prompts, the cache, the window."""

    def test_a_model_s_own_system_prompt_reaches_it_unless_one_is_given(self):
        self.server.add_model("pirate", system="You are a pirate. Answer in pirate speech.")
        cases = [("pirate", (), {"role": "system",
                                 "content": "You are a pirate. Answer in pirate speech."}),
                 ("pirate", ("-s", "Answer in French."),
                  {"role": "system", "content": "Answer in French."}),
                 ("llama3", (), None)]  # a model that has none
        for model, args, system in cases:
            with self.subTest(model=model, args=args):
                self.server.reset()
                self.server.add_model("pirate", system="You are a pirate. Answer in pirate "
                                                       "speech.")
                code, out, err = self.chat("one", "two", args=("-m", model) + args)
                self.assertEqual((code, err), (0, ""))
                for request in self.server.chat_requests:
                    seen = [m for m in request.seen if m["role"] == "system"]
                    self.assertEqual(seen, [system] if system else [])

    def test_a_long_chat_re_reads_only_its_newest_turn(self):
        code, out, err = self.chat(*TURNS, constants={"OPTIONS": {"num_ctx": 32768}})
        self.assertEqual((code, err), (0, ""))
        requests = self.server.chat_requests
        self.assertEqual(len(requests), 20)
        self.assertEqual([r.dropped for r in requests], [0] * 20)
        for number, request in enumerate(requests[1:], 1):
            newest = len(message_tokens(request.json["messages"][-1])) + 2  # and markers
            with self.subTest(turn=number + 1):
                self.assertLessEqual(request.evaluated, 1.5 * newest)
        self.assertLessEqual(requests[19].evaluated, 1.5 * requests[4].evaluated)  # flat
        self.assertGreater(requests[19].prompt_tokens, 10 * requests[19].evaluated)

    def test_a_chat_pushed_past_its_window_warns_once_with_the_fix(self):
        self.server.default_num_ctx = 2048
        code, out, err = self.chat(*[t * 8 for t in TURNS[:9]])
        self.assertEqual(code, 0, err)
        self.assertGreater(max(r.dropped for r in self.server.chat_requests), 0)
        first_drop = next(n for n, r in enumerate(self.server.chat_requests) if r.dropped)
        warnings = [line for line in err.splitlines() if line.startswith("warning:")]
        self.assertTrue(warnings, err)
        self.assertIn("this chat fills", warnings[0])  # said before anything was lost
        dropped = [w for w in warnings if "no longer fits" in w]
        self.assertTrue(dropped[0].startswith(
            "warning: the chat no longer fits the model's context window (2,048 tokens): the "
            "server dropped the oldest messages without a word. The model no longer sees "
            "about the first"), err)
        self.assertIn("(from 「0: 今日は会議の議事録をまとめます。Summarise p…」)", dropped[0])
        self.assertIn("For more room: -o num_ctx=8192", err)
        self.assertEqual(err.count("this chat fills"), 1, err)  # once per crossing
        self.assertGreaterEqual(first_drop, 1)
        self.assertEqual([r.route for r in self.server.requests].count("/api/ps"), 1)

    def test_the_window_comes_from_ps_once_per_model_or_show_as_an_upper_bound(self):
        code, out, err = self.chat("one", "two", "three", args=("-v",))
        self.assertEqual(code, 0, err)
        self.assertIn("context: ", err)
        self.assertRegex(err, r"context: \d+ / 4,096 tokens \(0%\)")
        self.assertEqual([r.route for r in self.server.requests].count("/api/ps"), 1)
        self.server.reset()  # an older server: /api/ps without context_length
        self.server.script("/api/ps", json_reply({"models": [{"name": "llama3:latest"}]}))
        code, out, err = self.chat("one", args=("-v",))
        self.assertEqual(code, 0, err)
        self.assertIn("the window is Ollama's default (4,096 or more) unless num_ctx is set, at "
                      "most 8,192, the model's trained length", err)
        self.server.reset()  # a proxy that lets only /api/chat through: nothing extra said
        self.server.script("/api/ps", json_error(404, "not found"))
        self.server.script("/api/show", json_error(404, "not found"))
        code, out, err = self.chat("one", "two", args=("-v",))
        self.assertEqual(code, 0, err)
        self.assertEqual(err.count("the window is not known"), 2, err)
        self.assertNotIn("error", err)
        self.assertEqual([r.route for r in self.server.requests].count("/api/ps"), 1)


class OptionFlagTest(ScriptTest):

    def test_options_are_merged_over_the_constant_with_their_types(self):
        code, out, err = self.run_main(
            "-o", "num_ctx=16384", "--option", "temperature=0.2", "-o", "stop=<|eot|>",
            "-o", "stop=42", "-o", "penalize_newline=false", "hi",
            constants={"OPTIONS": {"num_ctx": 8192, "top_k": 20, "stop": ["x"]}})
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.server.chat_requests[0].json["options"],
                         {"num_ctx": 16384, "top_k": 20, "temperature": 0.2,
                          "stop": ["<|eot|>", "42"], "penalize_newline": False})

    def test_a_malformed_pair_is_a_usage_error(self):
        for value in ("num_ctx", "=3", "num ctx=3", "num-ctx=3", ""):
            with self.subTest(value=value):
                code, out, err = self.run_main("-o", value, "hi")
                self.assertEqual((code, out), (2, ""), err)
                self.assertIn("argument -o/--option: takes NAME=VALUE, e.g. num_ctx=16384", err)
                self.assertEqual(self.server.requests, [])

    def test_the_real_script_takes_it_too(self):
        code, out, err = self.run_script("-o", "num_ctx=4096", "hi")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.server.chat_requests[0].json["options"], {"num_ctx": 4096})


class ContextWarningTest(ChatTest):
    """The window's fill after each reply, with the server's counts scripted."""

    WINDOW = {"OPTIONS": {"num_ctx": 1000}}

    def test_verbose_shows_how_full_the_window_is(self):
        self.server.script("/api/chat", counted("ok", 3000, 412))
        code, out, err = self.run_main("-v", "hi", constants={"OPTIONS": {"num_ctx": 4096}})
        self.assertEqual(code, 0, err)
        self.assertIn("context: 3,412 / 4,096 tokens (83%)", err.splitlines())
        self.assertIn("warning: this chat fills 83% of the model's context window", err)
        self.assertNotIn("/api/ps", [r.route for r in self.server.requests])  # num_ctx says

    def test_a_normal_chat_says_nothing_and_asks_nothing_more(self):
        code, out, err = self.chat("one", "two", "three")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual({r.route for r in self.server.requests}, {"/api/chat"})

    def test_a_full_window_is_said_once_per_crossing(self):
        self.server.script("/api/chat", counted("a", 500, 100), counted("b", 750, 100),
                           counted("c", 900, 50), counted("d", 30, 10), counted("e", 830, 20))
        code, out, err = self.chat("one", "two", "three", "/clear", "four", "five",
                                   constants=self.WINDOW)
        self.assertEqual(code, 0, err)
        warnings = [line for line in err.splitlines() if line.startswith("warning:")]
        self.assertEqual(warnings, [
            "warning: this chat fills 85% of the model's context window (850 of 1,000 tokens); "
            "past it, the server silently drops the oldest messages."] * 2, err)
        self.assertIn("  For more room: -o num_ctx=8192 or OPTIONS at the top of "
                      "ollama_chat.py (more memory; the model reloads), /clear in -i, or a "
                      "new chat.", err)

    def test_a_dropped_start_is_said_with_what_the_model_no_longer_sees(self):
        self.server.script("/api/chat", counted("a" * 40, 300, 100), counted("b" * 40, 700, 298),
                           counted("c" * 40, 500, 100))
        code, out, err = self.chat("私の名前は太郎です。" * 4, "x" * 40, "y" * 40,
                                   constants=self.WINDOW)
        self.assertEqual(code, 0, err)
        self.assertIn("warning: this chat fills 99% of the model's context window", err)
        self.assertIn("warning: the chat no longer fits the model's context window (1,000 "
                      "tokens): the server dropped the oldest messages without a word. The "
                      "model no longer sees about the first 3 messages (from 「私の名前は太郎で"
                      "す。私の名前は太郎です。私の名前は太郎です。…」).\n  For more room: "
                      "-o num_ctx=8192", err)
        self.assertEqual(err.count("warning:"), 2, err)
        # the server's 500 tokens hold the newest messages: the first 3 took about 527
        self.assertEqual(len(self.server.chat_requests[2].json["messages"]), 5)

    def test_a_smaller_prompt_after_clear_retry_or_a_new_system_prompt_is_no_drop(self):
        for lines in (("one", "/clear", "two"), ("one", "/retry"),
                      ("/system long", "one", "/system", "two"), ("one", "/model qwen3", "two")):
            with self.subTest(lines=lines):
                self.server.reset()
                self.server.models.append("qwen3:latest")
                self.server.script("/api/chat", counted("a", 700, 100), counted("b", 100, 10))
                code, out, err = self.chat(*lines, constants={"OPTIONS": {"num_ctx": 800}})
                self.assertEqual(code, 0, err)
                self.assertIn("this chat fills 100%", err)  # the window was full...
                self.assertNotIn("no longer fits", err)  # ...but nothing was dropped

    def test_a_one_shot_prompt_too_long_for_the_window_is_refused_with_the_fix(self):
        self.server.script("/api/chat",
                           json_error(400, "the input length exceeds the context length"))
        code, out, err = self.run_main("x" * 100)
        self.assertEqual((code, out), (1, ""), err)
        self.assertIn("HTTP 400 Bad Request: the input length exceeds the context length", err)
        self.assertIn("the prompt is longer than the model's context window: give a larger "
                      "one with -o num_ctx=16384", err)
        self.assertIs(self.server.chat_requests[0].json["truncate"], False)

    def test_a_chat_lets_the_server_drop_old_messages(self):  # and warns when it does
        code, out, err = self.chat("one")
        self.assertEqual(code, 0, err)
        self.assertNotIn("truncate", self.server.chat_requests[0].json)


if __name__ == "__main__":
    unittest.main()
