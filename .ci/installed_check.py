"""CI: the installed console script `ollama-chat` talks to the fake Ollama, set up
the way an installed command is: by flags and environment variables only.

Usage: PYTHONPATH=tests python3 .ci/installed_check.py /path/to/venv/bin/ollama-chat
"""

import os
import subprocess
import sys

from fake_ollama import FakeOllama, json_error


def run(command, args, **env):
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    environ.update(env)
    proc = subprocess.run([command] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, env=environ, timeout=60)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def main(command):
    problems = []
    with FakeOllama(models=("llama3:latest", "qwen3:latest")) as server:
        result = run(command, ["--url", server.url, "hello from CI"])
        if result != (0, "You said: hello from CI\n", ""):
            problems.append("--url: %r" % (result,))
        server.reset()  # the server named only by OLLAMA_HOST, the model chosen once
        host = "127.0.0.1:%d" % server.port
        result = run(command, ["hello", "again"], OLLAMA_HOST=host, OLLAMA_CHAT_MODEL="qwen3")
        models = [r.json["model"] for r in server.chat_requests]
        if result != (0, "You said: hello again\n", "") or models != ["qwen3"]:
            problems.append("OLLAMA_HOST: %r, models %r" % (result, models))
        server.reset()
        server.script("/api/chat", json_error(401, "unauthorized"))
        code, out, err = run(command, ["hi"], OLLAMA_HOST=host)
        if code != 1 or "OLLAMA_API_KEY" not in err or "top of ollama_chat.py" in err:
            problems.append("a key asked for: exit %d, %r" % (code, err))
    code, out, err = run(command, ["--version"])
    if code != 0 or not out.startswith("ollama-chat "):
        problems.append("--version: exit %d, %r" % (code, out))
    print("   installed ollama-chat: %s" % ("; ".join(problems) or
                                            "OK (--url, OLLAMA_HOST, OLLAMA_CHAT_MODEL, "
                                            "the key's message, --version)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
