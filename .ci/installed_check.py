"""CI: the installed console script `ollama-chat` talks to the fake Ollama.

Usage: PYTHONPATH=tests python3 .ci/installed_check.py /path/to/venv/bin/ollama-chat
"""

import subprocess
import sys

from fake_ollama import FakeOllama


def main(command):
    with FakeOllama() as server:
        proc = subprocess.run([command, "--url", server.url, "hello from CI"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out, err = proc.stdout.decode(), proc.stderr.decode()
        ok = (proc.returncode == 0 and out == "You said: hello from CI\n" and err == ""
              and len(server.chat_requests) == 1)
        print("   installed ollama-chat: exit %d, stdout %r%s"
              % (proc.returncode, out, "" if ok else ", stderr %r" % err))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
