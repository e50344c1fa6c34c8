"""The two-turn demo, run as a user runs it: the real script in a subprocess."""

import datetime
import unittest

from support import ScriptTest
from fake_ollama import Reply, chat_chunks, merged, split_every

FIRST = "私の名前は太郎です。私の名前を覚えてください。"
SECOND = "今何時ですか？ また、私の名前は何でしたか？"


class DemoTest(ScriptTest):

    def test_two_turns_stream_and_keep_the_whole_history(self):
        self.server.script("/api/chat",
                           Reply(chat_chunks("こんにちは、", "太郎", "さん！")),
                           Reply(chat_chunks("今は", "昼です。", final_text="太郎さんです。")))
        code, out, err = self.run_script()
        self.assertEqual((code, err), (0, ""))
        self.assertIn("User: " + FIRST + "\nAssistant (llama3): こんにちは、太郎さん！\n", out)
        self.assertIn("User: " + SECOND + "\nAssistant (llama3): 今は昼です。太郎さんです。\n", out)
        first, second = self.server.chat_requests
        self.assertEqual(first.json["model"], "llama3")
        self.assertIs(first.json["stream"], True)
        self.assertEqual(self.sent(0), [{"role": "user", "content": FIRST}])
        self.assertEqual(self.sent(1), [
            {"role": "user", "content": FIRST},
            {"role": "assistant", "content": "こんにちは、太郎さん！"},
            {"role": "user", "content": SECOND}])
        # the second request repeats the first exactly: the server's cache can skip it
        self.assertEqual(second.json["messages"][:1], first.json["messages"])

    def test_user_name_constant_is_used(self):
        code, out, err = self.run_script(constants={"USER_NAME": "Alice"})
        self.assertEqual(code, 0, err)
        self.assertIn("User: 私の名前はAliceです。", out)
        self.assertEqual(self.sent(0)[0]["content"], "私の名前はAliceです。私の名前を覚えてください。")

    def test_each_new_message_carries_the_local_date_time_and_zone(self):
        code, out, err = self.run_script(env={"TZ": "Asia/Tokyo"})
        self.assertEqual(code, 0, err)
        today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9)))
        for request in self.server.chat_requests:
            newest = request.json["messages"][-1]
            self.assertEqual(newest["role"], "user")
            first_line = newest["content"].split("\n")[0]
            self.assertIn(today.strftime("%Y-%m-%d"), first_line)
            self.assertRegex(first_line, r" \d\d:\d\d JST, UTC\+09:00\]$")  # to the minute
            self.assertNotEqual(request.json["messages"][0]["role"], "system")

    def test_system_prompt_constant_is_the_first_message_and_never_changes(self):
        code, _, err = self.run_script(constants={"SYSTEM_PROMPT": "Answer in one line."})
        self.assertEqual(code, 0, err)
        for request in self.server.chat_requests:
            self.assertEqual(request.json["messages"][0],
                             {"role": "system", "content": "Answer in one line."})

    def test_lines_cut_mid_character_and_merged_give_the_same_text(self):
        text = ["日本語の", "テキスト🙂", " and ascii"]
        self.server.script("/api/chat",
                           Reply(split_every(chat_chunks(*text), 5)),
                           Reply(merged(chat_chunks(*text))))
        code, out, err = self.run_script()
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.count("Assistant (llama3): 日本語のテキスト🙂 and ascii\n"), 2)
        self.assertEqual(self.sent(1)[1]["content"], "日本語のテキスト🙂 and ascii")

    def test_a_stream_without_a_final_newline_still_counts(self):
        lines = chat_chunks("end")
        lines[-1] = lines[-1].rstrip(b"\n")
        self.server.script("/api/chat", Reply(lines))
        code, out, err = self.run_script()
        self.assertEqual((code, err), (0, ""))
        self.assertIn("Assistant (llama3): end\n", out)

    def test_thinking_is_shown_apart_and_kept_out_of_the_history(self):
        self.server.script("/api/chat",
                           Reply(chat_chunks("Hi", " Taro", thinking=["Let me ", "think."])))
        code, out, err = self.run_script()
        self.assertEqual(code, 0, err)
        self.assertIn("Thinking...\nLet me think.\n...done thinking.", err)
        self.assertNotIn("think", out)
        self.assertIn("Assistant (llama3): Hi Taro\n", out)
        self.assertEqual(self.sent(1)[1], {"role": "assistant", "content": "Hi Taro"})

    def test_thinking_can_be_hidden(self):
        self.server.script("/api/chat", Reply(chat_chunks("Hi", thinking=["secret plan"])))
        code, out, err = self.run_script(constants={"SHOW_THINKING": False})
        self.assertEqual((code, err), (0, ""))
        self.assertNotIn("secret plan", out)

    def test_think_constant_is_sent_only_when_set(self):
        code, _, err = self.run_script(constants={"THINK": "high"})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.server.chat_requests[0].json["think"], "high")
        self.server.requests.clear()
        code, _, err = self.run_script()
        self.assertEqual(code, 0, err)
        self.assertNotIn("think", self.server.chat_requests[0].json)

    def test_length_limit_is_warned_about(self):
        self.server.script("/api/chat", Reply(chat_chunks("Once upon", done_reason="length")))
        code, out, err = self.run_script()
        self.assertEqual(code, 0, err)
        self.assertIn("Assistant (llama3): Once upon\n", out)
        self.assertIn("warning: the reply was cut by the length limit", err)

    def test_a_garbage_line_is_warned_about_and_skipped(self):
        chunks = chat_chunks("good", " text")
        chunks.insert(1, b"<<garbage>>\n")
        self.server.script("/api/chat", Reply(chunks))
        code, out, err = self.run_script()
        self.assertEqual(code, 0, err)
        self.assertIn("Assistant (llama3): good text\n", out)
        self.assertIn("warning: skipped a line that is not valid JSON", err)
        self.assertIn("<<garbage>>", err)
        self.assertEqual(self.sent(1)[1]["content"], "good text")

    def test_stdout_is_plain_text_on_a_pipe(self):
        code, out, err = self.run_script()
        self.assertEqual(code, 0, err)
        self.assertNotIn("\033[", out + err)

    def test_no_authorization_header_without_a_key(self):
        code, _, err = self.run_script()
        self.assertEqual(code, 0, err)
        self.assertNotIn("Authorization", self.server.chat_requests[0].headers)

    def test_key_from_constant_or_environment(self):
        code, out, err = self.run_script(constants={"API_KEY": "sk-from-file"},
                                         env={"OLLAMA_API_KEY": "sk-env"})
        self.assertEqual(code, 0, err)
        self.assertNotIn("sk-from-file", out + err)
        self.assertEqual(self.server.chat_requests[0].headers["Authorization"], "Bearer sk-from-file")
        self.server.requests.clear()
        code, out, err = self.run_script(env={"OLLAMA_API_KEY": "sk-env"})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.server.chat_requests[0].headers["Authorization"], "Bearer sk-env")
        self.assertNotIn("sk-env", out + err)
        for request in self.server.chat_requests:
            self.assertNotIn("sk-env", request.body.decode("utf-8"))

    def test_api_url_may_be_a_base_address(self):
        for url in (self.server.url, self.server.url + "/"):
            self.server.requests.clear()
            code, _, err = self.run_script(constants={"API_URL": url})
            self.assertEqual(code, 0, err)
            self.assertEqual([r.path for r in self.server.requests], ["/api/chat"] * 2)

    def test_proxy_variables_are_ignored(self):
        dead = "http://127.0.0.1:9"  # the discard port: nothing listens
        env = {"http_proxy": dead, "HTTP_PROXY": dead, "https_proxy": dead, "all_proxy": dead}
        code, out, err = self.run_script(env=env)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(len(self.server.chat_requests), 2)

    def test_options_constant_is_sent_as_model_options(self):
        code, _, err = self.run_script(constants={"OPTIONS": {"num_ctx": 8192, "temperature": 0.2}})
        self.assertEqual(code, 0, err)
        for request in self.server.chat_requests:
            self.assertEqual(request.json["options"], {"num_ctx": 8192, "temperature": 0.2})
        self.server.reset()
        self.run_script()
        self.assertNotIn("options", self.server.chat_requests[0].json)

    def test_use_proxy_with_a_dead_proxy_names_the_proxy_not_ollama(self):
        from support import closed_port
        proxy = "http://user:pw@127.0.0.1:%d" % closed_port()
        code, out, err = self.run_script(constants={"USE_PROXY": True}, env={"http_proxy": proxy})
        self.assertEqual(code, 1, err)
        self.assertIn("cannot connect through the proxy 127.0.0.1:", err)
        self.assertIn("USE_PROXY = False", err)
        self.assertNotIn("pw", err)
        self.assertNotIn("ollama serve", err)

    def test_use_proxy_sends_through_the_environment_proxy(self):
        from fake_ollama import FakeOllama
        proxy = FakeOllama().start()  # answers proxied requests like the server would
        self.addCleanup(proxy.stop)
        code, _, err = self.run_script(constants={"USE_PROXY": True},
                                       env={"http_proxy": proxy.url})
        self.assertEqual(code, 0, err)
        self.assertEqual(self.server.requests, [])
        self.assertEqual(proxy.requests[0].path, self.server.url + "/api/chat")


if __name__ == "__main__":
    unittest.main()
