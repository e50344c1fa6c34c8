#!/usr/bin/env python3
"""bench.py - what users feel from ollama_chat.py, side by side in one run with
curl, the original sample and the official `ollama` Python client, all against
the fake Ollama of tests/.

    python3 bench/bench.py              # full run (about 80 s on 2 cores)
    python3 bench/bench.py --quick      # small sizes, one round (about 10 s)
    python3 bench/bench.py --json PATH  # where the figures go (default bench/results.json)
    python3 bench/bench.py --markdown   # the table also as Markdown rows, for the README
    python3 bench/bench.py --also /tmp/patched.py   # a candidate, side by side

What it measures, each program run as a subprocess whose stdout is a pipe this
script drains:
  latency      tokens sent GAP apart; from the server writing a token's chunk to
               the token's text appearing on stdout (p50, p99); curl -N is the floor
  throughput   tokens/s through the two-turn demo while the server sends as fast
               as it can (one HTTP chunk per token), from the server's first byte
               to "--- Session Ended ---" on stdout
  CPU          CPU time (user+sys) of the whole two-turn demo with short replies,
               from start to exit; `python3 -c pass` beside it for scale
  memory       peak memory of that demo, and of a demo whose first reply is one
               30 MB token
  prompt cache a 20-turn chat (the same 20 messages for each program; the fake
               echoes each one): the prompt tokens the server evaluates anew on
               turn 20, i.e. not served from its prompt cache, as the fake's model
               of that cache counts them (tests/fake_ollama.py). ollama_chat.py
               runs -i with the messages on stdin, the original sample its own
               send_chat_request() driven as its main() drives it, the official
               client keeps its history as ollama-python's
               examples/chat-with-history.py does (streamed here)

The targets (TARGETS), each against a peer measured in the same rounds:
display latency p50 within 0.1 ms and p99 within 0.5 ms of curl -N; throughput at
least 0.8x the original sample and 2x the official client (a guard, not a race);
the whole demo's CPU at most the original sample's + 30 ms; the 30 MB token's peak
memory no higher than the original sample's. One more is against the chat itself:
on turn 20 the server re-reads at most 1.5x the newest turn's own size (the new
message with its template markers), and at most 1.5x what it re-read on turn 5
(flat as the chat grows); the peers' figures are shown beside it. Each verdict
line says met, MISSED or not measured, with the numbers.

Medians over alternating rounds. It never asserts a speed: it exits 0 once it
ran and wrote its JSON, 1 if ollama_chat.py itself failed, 2 on bad arguments.

Every peer runs when it can; when it cannot, a note says exactly why and what
enables it:
  curl -N          curl on PATH
  original sample  the seed ollama_chat_seed.md: --seed PATH, else $OLLAMA_CHAT_SEED,
                   else shared/seed/ beside the clone (CI's layout), else
                   shared/seed/ beside the local repository the clone came from
  official client  --official-python PYTHON, else this Python if it imports `ollama`,
                   else a venv in a cache directory outside the repository
                   ($OLLAMA_CHAT_BENCH_CACHE, else ~/.cache/ollama_chat-bench), which
                   the bench creates with pip from PyPI the first time (a few seconds;
                   --no-install forbids it). The project never depends on it.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import fake_ollama  # noqa: E402
import support  # noqa: E402

SEED_NAME = "ollama_chat_seed.md"
SEED_ENV = "OLLAMA_CHAT_SEED"
CACHE_ENV = "OLLAMA_CHAT_BENCH_CACHE"
MODEL = "llama3"
END_MARKER = b"--- Session Ended ---"
STAMP_RE = re.compile(rb"\[(\d{6})\]")  # a latency token's text: " [000123]"
VOCABULARY = ("こんにちは", "、", "太郎", "さん", "。", " The", " current", " time", " is",
              " 14", ":", "05", ".", " Your", " name", " is", " Taro", "!", "\n")

FULL = dict(rounds=5, tokens=100000, latency_tokens=200, gap=0.003, big_mb=30,
            short_tokens=30, starts=4, timeout=180, install_timeout=300)
QUICK = dict(rounds=1, tokens=20000, latency_tokens=100, gap=0.003, big_mb=30,
             short_tokens=30, starts=2, timeout=60, install_timeout=60)

# Each target: ollama_chat's median of a metric against a peer's, measured in the
# same rounds. "ratio": ours / theirs >= limit; "over": ours - theirs <= limit.
TARGETS = (  # key, metric, peer, kind, limit, label
    ("latency_p50", "latency_p50", "curl", "over", 0.1,
     "display latency p50 <= curl -N + 0.1 ms"),
    ("latency_p99", "latency_p99", "curl", "over", 0.5,
     "display latency p99 <= curl -N + 0.5 ms"),
    ("throughput_sample", "throughput", "sample", "ratio", 0.8,
     "throughput >= 0.8x original sample"),
    ("throughput_official", "throughput", "official", "ratio", 2.0,
     "throughput >= 2x official client"),
    ("cpu", "cpu", "sample", "over", 30.0,
     "CPU, whole demo <= original sample + 30 ms"),
    ("big_rss", "big_rss", "sample", "over", 0.0,
     "peak memory, one %d MB token <= original sample"),
    ("prompt_cache", "reread_ratio", None, "own", 1.5,  # ours / the newest turn's size
     "prompt re-read on turn 20 <= 1.5x the newest turn's size"),
)

# The prompt cache: a chat of CHAT_TURNS turns, every program sending these messages
# (a sentence or two each, Japanese and English, of about the same size, so that
# turn CHAT_EARLY_TURN and the last compare). The fake echoes each ("You said: ...").
CHAT_PROMPTS = (
    "私の名前は太郎です。I'm planning a weekend trip to Kyoto with my family.",
    "京都でおすすめのお寺はどこですか？ We would like to avoid the biggest crowds.",
    "子供が二人いて、六歳と九歳です。Which places would they enjoy the most?",
    "移動は電車とバスのどちらが便利ですか？ We are staying near Kyoto Station.",
    "金曜日の夜に着く予定です。Is there a good place for dinner close to the hotel?",
    "魚が苦手な家族がいます。Please suggest a few dishes without raw fish.",
    "土曜日の朝は何時に出発すればいいですか？ The kids usually wake up at seven.",
    "嵐山の竹林は混みますか？ I read that early morning is the quietest time.",
    "お昼ごはんは嵐山で食べたいです。Any casual place with a view of the river?",
    "午後は金閣寺に行くつもりです。How long does it take from Arashiyama by bus?",
    "雨が降ったらどうしましょう？ Please give me a plan B for a rainy afternoon.",
    "お土産に八ツ橋を買いたいです。Where can I find fresh ones near the station?",
    "日曜日は奈良に行くかもしれません。Is a day trip from Kyoto realistic with kids?",
    "奈良公園の鹿は危なくないですか？ My younger son is a little afraid of animals.",
    "帰りの新幹線は夕方六時です。How much time should we leave for Nara then?",
    "予算は一人一日一万円くらいです。Does the plan so far fit in that budget?",
    "子供用のICカードも必要ですか？ We have two adult Suica cards already.",
    "旅館に泊まるのもいいかなと思っています。What should we know about ryokan manners?",
    "ここまでの計画を短くまとめてください。A simple list for each day is enough.",
    "最後に、私の名前を覚えていますか？ Thank you for all the help with this trip!",
)
CHAT_TURNS = len(CHAT_PROMPTS)
CHAT_EARLY_TURN = 5  # flat: the last turn re-reads at most FLAT_LIMIT x what this one did
FLAT_LIMIT = 1.5
CHAT_NUM_CTX = 32768  # the fake's window and the model's trained length during the chat:
                      # far more than 20 turns need, so nothing is dropped

OFFICIAL_DRIVER = '''\
"""The two-turn demo with the official client (written by bench.py)."""
import sys
import ollama

host, model, name = sys.argv[1:4]
prompts = ("私の名前は%sです。私の名前を覚えてください。" % name,
           "今何時ですか？ また、私の名前は何でしたか？")
client = ollama.Client(host=host)
print("--- Starting Session with %s ---" % model, flush=True)
history = []
for prompt in prompts:
    print("User: " + prompt, flush=True)
    history.append({"role": "user", "content": prompt})
    print("Assistant (%s): " % model, end="", flush=True)
    parts = []
    for chunk in client.chat(model=model, messages=history, stream=True):
        text = chunk["message"]["content"] or ""
        print(text, end="", flush=True)
        parts.append(text)
    history.append({"role": "assistant", "content": "".join(parts)})
    print("\\n" + "-" * 40 + "\\n", flush=True)
print("--- Session Ended ---", flush=True)
'''

SAMPLE_CHAT_DRIVER = '''\
"""A long chat with the original sample (written by bench.py): its code is loaded
without running its main(), which does only the two-turn demo, and its
send_chat_request() is driven as main() drives it: history.append(user), the
call, history.append(assistant)."""
import json
import sys
from urllib import request

sample, prompts = sys.argv[1:3]
with open(sample, encoding="utf-8") as f:
    code = f.read()
namespace = {"__name__": "original_sample", "__file__": sample}
exec(compile(code, sample, "exec"), namespace)  # its API_URL: the bench's edit of it
request.install_opener(request.build_opener(request.ProxyHandler({})))  # as main() does
with open(prompts, encoding="utf-8") as f:
    prompts = json.load(f)
history = []
for prompt in prompts:
    print("User: " + prompt, flush=True)
    history.append({"role": "user", "content": prompt})
    response = namespace["send_chat_request"](history)
    history.append({"role": "assistant", "content": response})
print("--- Session Ended ---", flush=True)
'''

# A chat typed over many minutes, run in well under a second: each reading of the clock
# comes CLOCK_STEP seconds after the one before, so that a client that writes the time
# into messages already sent (a clock in the first system message) shows it.
CLOCK_STEP = 61
CLOCK_LAUNCHER = '''\
"""Runs a Python program (argv[1:]) with a clock that moves on %d s at each reading,
as in a chat typed over many minutes (written by bench.py): datetime.datetime.now()
and today() only; nothing else changes."""
import datetime
import os
import runpy
import sys

real_now = datetime.datetime.now


class Clock(datetime.datetime):
    readings = 0

    @classmethod
    def now(cls, tz=None):
        Clock.readings += 1
        return real_now(tz) + datetime.timedelta(seconds=%d * Clock.readings)

    @classmethod
    def today(cls):
        return cls.now()


datetime.datetime = Clock
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
''' % (CLOCK_STEP, CLOCK_STEP)

OFFICIAL_CHAT_DRIVER = '''\
"""A long chat with the official client, its history kept as ollama-python's
examples/chat-with-history.py keeps it (written by bench.py; streamed here)."""
import json
import sys
import ollama

host, model, prompts = sys.argv[1:4]
with open(prompts, encoding="utf-8") as f:
    prompts = json.load(f)
client = ollama.Client(host=host)
messages = []
for user_input in prompts:
    print("User: " + user_input, flush=True)
    parts = []
    for chunk in client.chat(model, messages=[*messages, {"role": "user", "content": user_input}],
                             stream=True):
        text = chunk["message"]["content"] or ""
        print(text, end="", flush=True)
        parts.append(text)
    print(flush=True)
    messages += [{"role": "user", "content": user_input},
                 {"role": "assistant", "content": "".join(parts)}]
print("--- Session Ended ---", flush=True)
'''


class RunFailed(Exception):
    """A program under test did not do its job (bad exit, missing text, timeout)."""


# --- The server: the fake Ollama, sending prebuilt replies fast or stamped ------

class BenchReply(fake_ollama.Reply):
    """A 200 stream, either framed once and sent in one write (framed), or sent
    token by token GAP apart, stamping each token's send time (timed)."""

    def __init__(self, framed=None, timed=(), gap=0.0):
        super().__init__(gap=gap)
        self.framed = framed  # the whole chunked body, terminator included
        self.timed = timed  # [(sequence number or None, framed chunk)]
        self.stamps = {}  # sequence number -> perf_counter() right before its write
        self.started = None  # perf_counter() before the first body byte


class BenchHandler(fake_ollama._Handler):
    def _send(self, reply, request):
        if not isinstance(reply, BenchReply):
            return super()._send(reply, request)
        self.send_response_only(200)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")  # it does close: no client reuses it
        self.end_headers()
        self.wfile.flush()
        clock, write = time.perf_counter, self.wfile.write  # unbuffered: one send each
        reply.started = clock()
        if reply.framed is not None:
            write(reply.framed)
            return
        for index, (number, data) in enumerate(reply.timed):
            if index:
                time.sleep(reply.gap)
            if number is not None:
                reply.stamps[number] = clock()
            write(data)
        write(b"0\r\n\r\n")


def start_server():
    server = fake_ollama.FakeOllama()
    server.httpd.RequestHandlerClass = BenchHandler
    return server.start()


def frame(chunk):
    return b"%x\r\n%s\r\n" % (len(chunk), chunk)


def token_lines(tokens):
    """NDJSON chunk lines as fake_ollama.chat_chunks writes them, built fast."""
    template = fake_ollama.ndjson({
        "model": fake_ollama.MODEL, "created_at": "2026-11-01T09:00:00.123456Z",
        "message": {"role": "assistant", "content": "@TOKEN@"}, "done": False})
    head, tail = template.split(b"@TOKEN@")
    encoded = {}
    lines = []
    for token in tokens:
        body = encoded.get(token)
        if body is None:
            body = encoded[token] = json.dumps(token, ensure_ascii=False)[1:-1].encode("utf-8")
        lines.append(head + body + tail)
    return lines


def final_line(count):
    return fake_ollama.ndjson(fake_ollama.final_chunk(fake_ollama.MODEL, eval_count=count))


class Stream:
    """One reply's bytes, framed once and reused by every run."""

    def __init__(self, tokens):
        self.text = "".join(tokens).encode("utf-8")
        self.count = len(tokens)
        lines = token_lines(tokens) + [final_line(len(tokens))]
        self.framed = b"".join(frame(line) for line in lines) + b"0\r\n\r\n"

    def reply(self):
        return BenchReply(framed=self.framed)


class StampedStream:
    """Latency tokens " [000123]", numbered from `first`, sent GAP apart."""

    def __init__(self, first, count, gap):
        self.numbers = list(range(first, first + count))
        tokens = [" [%06d]" % n for n in self.numbers]
        lines = token_lines(tokens)
        self.timed = list(zip(self.numbers, map(frame, lines)))
        self.timed.append((None, frame(final_line(count))))
        self.gap = gap

    def reply(self):
        return BenchReply(timed=self.timed, gap=self.gap)


def vocabulary_tokens(count):
    return [VOCABULARY[i % len(VOCABULARY)] for i in range(count)]


def big_token(megabytes):
    unit = "".join(VOCABULARY)
    size = len(unit.encode("utf-8"))
    return unit * (megabytes * 1000000 // size + 1)


# --- Running a program and reading its stdout --------------------------------

# Each program runs under a small `python -S` that forks it and reports its
# os.wait4() usage: a child forked straight from this (large) process would
# count this process's memory in its ru_maxrss, and its page copying as CPU.
LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write("%d %r %r %d" % (status, usage.ru_utime, usage.ru_stime, usage.ru_maxrss))
"""


class Outcome:
    def __init__(self, value, code, err, cpu, maxrss_mb):
        self.value, self.code, self.err = value, code, err
        self.cpu, self.maxrss_mb = cpu, maxrss_mb


def exit_code(status):
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)


def run(argv, read, timeout, cwd):
    """Run argv with stdout a pipe that read(fd) drains; its CPU time and peak memory."""
    killed = threading.Event()
    usage_file = os.path.join(cwd, "usage.txt")
    if os.path.exists(usage_file):
        os.remove(usage_file)

    def kill():
        killed.set()
        os.killpg(proc.pid, 9)

    with tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, usage_file] + argv,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err_file, env=support.clean_env(), cwd=cwd,
                                start_new_session=True)
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            value = read(proc.stdout.fileno())
        except BaseException:
            kill()
            raise
        finally:
            proc.wait()
            timer.cancel()
            proc.stdout.close()
        err_file.seek(0)
        err = err_file.read().decode("utf-8", "replace")
    try:
        with open(usage_file) as f:
            status, utime, stime, maxrss = f.read().split()
    except (OSError, ValueError):
        return Outcome(value, proc.returncode or -9, err + "\n(no usage report)", 0.0, 0.0)
    code = exit_code(int(status))
    if killed.is_set():
        err += "\n(killed after %d s)" % timeout
    return Outcome(value, code, err, float(utime) + float(stime), int(maxrss) * 1024 / 1e6)


def read_all(fd):
    """(perf_counter when END_MARKER showed up, everything read)."""
    data = bytearray()
    seen = None
    while True:
        piece = os.read(fd, 1 << 20)
        if not piece:
            return seen, bytes(data)
        data += piece
        if seen is None and END_MARKER in data[-len(piece) - len(END_MARKER):]:
            seen = time.perf_counter()


def read_stamped(fd):
    """({token number: perf_counter when its text was complete on stdout}, everything)."""
    data = bytearray()
    seen = {}
    position = 0
    while True:
        piece = os.read(fd, 65536)
        now = time.perf_counter()
        if not piece:
            return seen, bytes(data)
        data += piece
        for match in STAMP_RE.finditer(data, position):
            seen.setdefault(int(match.group(1)), now)
            position = match.end()


def check(outcome, name, what):
    if outcome.code != 0:
        tail = " | ".join(outcome.err.strip().splitlines()[-2:])[-300:]
        raise RunFailed("%s exited %d during %s: %s" % (name, outcome.code, what, tail))


# --- The programs -------------------------------------------------------------

class Program:
    """A demo client: argv (None when it cannot run, and note says why)."""

    def __init__(self, name, argv, note=None, script=False, source=None):
        self.name, self.argv, self.note = name, argv, note
        self.script, self.source = script, source  # a copy of some ollama_chat.py
        self.found = None  # for a peer: what runs, and where it was found
        self.heading = HEADINGS.get(name, name)


def client_program(tmp, url, script, name="ollama_chat"):
    """A copy of the script with API_URL pointing at the fake, as a user edits it."""
    folder = os.path.join(tmp, name)
    os.makedirs(folder)
    with open(script, "rb") as f:  # the file measured, even if it is edited meanwhile
        sha256 = hashlib.sha256(f.read()).hexdigest()
    support.SCRIPT = script  # configure() copies support.SCRIPT
    path = support.configure(os.path.join(folder, "ollama_chat.py"), API_URL=url + "/api/chat")
    program = Program(name, [sys.executable, path], script=True, source=script)
    program.sha256 = sha256
    if name != "ollama_chat":
        program.heading = os.path.basename(script)
    return program


def local_origin():
    """The local repository this clone came from (git's remote "origin"), or None."""
    try:
        url = subprocess.run(["git", "-C", ROOT, "config", "--get", "remote.origin.url"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if url.startswith("file://"):
        url = url[len("file://"):]
    elif not url or "://" in url or ":" in url.split("/")[0]:
        return None  # a remote host (https://, ssh://, host:path): nothing to look beside
    path = os.path.normpath(os.path.join(ROOT, os.path.expanduser(url)))
    if os.path.basename(path) == ".git":
        path = os.path.dirname(path)
    return path if os.path.isdir(path) else None


def seed_places():
    """[(how it was chosen, path)]: the seed is the first of these that exists.
    $OLLAMA_CHAT_SEED, when set, is the only place looked at."""
    if os.environ.get(SEED_ENV):
        return [("$%s" % SEED_ENV, os.path.abspath(os.environ[SEED_ENV]))]
    places = [("beside the clone", os.path.join(os.path.dirname(ROOT), "shared", "seed",
                                                SEED_NAME))]
    origin = local_origin()
    if origin:
        path = os.path.join(os.path.dirname(origin), "shared", "seed", SEED_NAME)
        if path not in [p for _, p in places]:
            places.append(("beside the clone's origin %s" % origin, path))
    return places


def find_seed(explicit):
    """(path of the seed, how it was found) or (None, why not and how to enable it)."""
    if explicit:
        return os.path.abspath(explicit), "--seed"
    places = seed_places()
    for how, path in places:
        if os.path.isfile(path):
            return path, how
    looked = ", ".join("%s (%s)" % (path, how) for how, path in places)
    return None, ("not run: no seed %s at %s. To run it: pass --seed PATH/%s, or set %s=PATH "
                  "to it (in CI it sits in shared/seed/ beside the clone)"
                  % (SEED_NAME, looked, SEED_NAME, SEED_ENV))


def sample_program(tmp, url, seed_arg):
    """The original sample from the seed, without its sleep, pointed at the fake."""
    seed, how = find_seed(seed_arg)
    if seed is None:
        return Program("sample", None, how)
    try:
        with open(seed, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        return Program("sample", None, "not run: cannot read the seed %s, from %s (%s). To run "
                       "it: pass --seed PATH/%s" % (seed, how, err, SEED_NAME))
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    if not blocks:
        return Program("sample", None, "not run: no ```python block in the seed %s. To run it: "
                       "pass --seed with the original %s" % (seed, SEED_NAME))
    code, sleeps = re.subn(r"^(\s*)time\.sleep\(1\)$", r"\1pass  # bench: no sleep", blocks[0],
                           flags=re.M)
    code, urls = re.subn(r"^API_URL = .*$", "API_URL = %r" % (url + "/api/chat"), code,
                         count=1, flags=re.M)
    if sleeps != 1 or urls != 1:
        return Program("sample", None, "not run: the seed %s has no `time.sleep(1)` line or no "
                       "`API_URL = ` line for the bench to edit. To run it: pass --seed with "
                       "the original %s" % (seed, SEED_NAME))
    path = os.path.join(tmp, "sample_ollama_chat.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(code)
    program = Program("sample", [sys.executable, path])
    program.found = "%s (%s)" % (seed, how)
    return program


def official_program(tmp, url, args, sizes):
    python, how = official_python(args, sizes)
    if python is None:
        return Program("official", None, how)
    path = os.path.join(tmp, "official_driver.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(OFFICIAL_DRIVER)
    version = subprocess.run([python, "-c", "import importlib.metadata as m; "
                              "print(m.version('ollama'), m.version('httpx'))"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout.split()
    program = Program("official", [python, path, url, MODEL, "太郎"])
    program.version = " ".join(version)
    program.found = "ollama %s (%s)" % (
        " with httpx ".join(version) or "version unknown", how)
    return program


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get(CACHE_ENV) or os.path.join(base, "ollama_chat-bench")


def import_ollama(python):
    """None if python imports `ollama`, else why not (one line)."""
    try:
        proc = subprocess.run([python, "-c", "import ollama"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        return str(err)
    if proc.returncode == 0:
        return None
    return (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]


def official_python(args, sizes):
    """(a python that imports `ollama`, how it was found) or (None, why not and how to
    enable it). --official-python, else this Python, else the cached venv, else a
    new cached venv (unless --no-install)."""
    if args.official_python:
        why = import_ollama(args.official_python)
        if why is None:
            return args.official_python, "--official-python %s" % args.official_python
        return None, ("not run: --official-python %s cannot import ollama (%s). To run it: "
                      "`%s -m pip install ollama`, or leave out --official-python"
                      % (args.official_python, why, args.official_python))
    if import_ollama(sys.executable) is None:
        return sys.executable, "imported by %s" % sys.executable
    venv = os.path.join(cache_dir(), "venv-ollama-py%d.%d" % sys.version_info[:2])
    python = os.path.join(venv, "bin", "python")
    by_hand = ("`%s -m venv %s && %s -m pip install ollama`, or pass --official-python "
               "PYTHON (one that imports ollama)" % (sys.executable, venv, python))
    if os.path.exists(python) and import_ollama(python) is None:
        return python, "cached venv %s" % venv
    if args.no_install:
        return None, ("not run: this Python cannot import ollama and --no-install forbids "
                      "creating the venv %s. To run it: leave out --no-install (it takes a "
                      "few seconds, once), or %s" % (venv, by_hand))
    print("bench: creating %s and installing ollama from PyPI there (once) ..." % venv,
          file=sys.stderr, flush=True)
    failed = install_ollama(venv, sizes["install_timeout"])
    if import_ollama(python) is None:  # also when a run beside this one made it first
        return python, "venv %s, created now" % venv
    failed = failed or "ollama still not importable: %s" % import_ollama(python)
    return None, ("not run: could not create the venv for it: %s. To run it: let pip reach "
                  "PyPI (pip's index and proxy settings; %s=DIR for another cache "
                  "directory), or %s" % (failed, CACHE_ENV, by_hand))


def install_ollama(venv, timeout):
    """Create venv with `ollama` installed: None, or what failed. It is built beside its
    place and renamed into it, so that a run that is killed leaves nothing half made."""
    building = "%s.building-%d" % (venv, os.getpid())
    deadline = time.monotonic() + timeout
    try:
        os.makedirs(os.path.dirname(venv), exist_ok=True)
        python = os.path.join(building, "bin", "python")
        for shown, argv in (
                ("python -m venv", [sys.executable, "-m", "venv", building]),
                ("pip install ollama", [python, "-m", "pip", "install", "--quiet",
                                        "--disable-pip-version-check", "--no-input",
                                        "--retries", "1", "--timeout", "15", "ollama"])):
            try:
                proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      universal_newlines=True,
                                      timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return "`%s` took more than %d s" % (shown, timeout)
            if proc.returncode != 0:
                lines = [line for line in proc.stdout.strip().splitlines()
                         if not line.startswith("WARNING:")] or ["no output"]
                return "`%s` exited %d: %s" % (shown, proc.returncode, lines[-1][-300:])
        shutil.rmtree(venv, ignore_errors=True)
        os.rename(building, venv)
        return None
    except OSError as err:
        return str(err)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def curl_argv(tmp, url):
    curl = shutil.which("curl")
    if not curl:
        return None
    body = os.path.join(tmp, "curl_body.json")
    with open(body, "w", encoding="utf-8") as f:
        json.dump({"model": MODEL, "messages": [{"role": "user", "content": "こんにちは"}],
                   "stream": True}, f, ensure_ascii=False)
    return [curl, "-sN", "--noproxy", "*", "-H", "Content-Type: application/json",
            "-H", "Expect:", "--data-binary", "@" + body, url + "/api/chat"]


# --- The measurements -----------------------------------------------------------

class Bench:
    def __init__(self, sizes, server, tmp):
        self.sizes, self.server, self.tmp = sizes, server, tmp
        tokens = vocabulary_tokens(sizes["tokens"])
        self.bulk = Stream(tokens)
        self.short = Stream(vocabulary_tokens(sizes["short_tokens"]))
        self.big = Stream([big_token(sizes["big_mb"])])
        self.big_answer = Stream(["OK", "."])
        n = sizes["latency_tokens"]
        self.stamped = (StampedStream(0, n, sizes["gap"]), StampedStream(n, n, sizes["gap"]))
        self.stamped_curl = StampedStream(0, 2 * n, sizes["gap"])

    def demo(self, program, replies, read=read_all, what="a demo"):
        self.server.reset()
        self.server.script("/api/chat", *replies)
        outcome = run(program.argv, read, self.sizes["timeout"], self.tmp)
        check(outcome, program.name, what)
        chats = len(self.server.chat_requests)
        if chats != len(replies):
            raise RunFailed("%s sent %d chat requests during %s, not %d"
                            % (program.name, chats, what, len(replies)))
        return outcome

    def throughput(self, program):
        replies = (self.bulk.reply(), self.bulk.reply())
        outcome = self.demo(program, replies, what="the throughput run")
        seen, out = outcome.value
        if seen is None or out.count(self.bulk.text) != 2:
            raise RunFailed("%s did not show both replies whole" % program.name)
        return 2 * self.bulk.count / (seen - replies[0].started)

    def latency(self, program):
        replies = [s.reply() for s in self.stamped]
        outcome = self.demo(program, replies, read_stamped, "the latency run")
        return latencies(program.name, replies, outcome.value[0])

    def curl_latency(self, argv):
        reply = self.stamped_curl.reply()
        self.server.reset()
        self.server.script("/api/chat", reply)
        outcome = run(argv, read_stamped, self.sizes["timeout"], self.tmp)
        check(outcome, "curl", "the latency run")
        return latencies("curl", [reply], outcome.value[0])

    def overhead(self, program):
        outcome = self.demo(program, (self.short.reply(), self.short.reply()))
        if outcome.value[1].count(self.short.text) != 2:
            raise RunFailed("%s did not show the short replies" % program.name)
        return outcome.cpu * 1000, outcome.maxrss_mb

    def bare(self, argv):
        outcome = run(argv, read_all, self.sizes["timeout"], self.tmp)
        check(outcome, "python -c pass", "a bare start")
        return outcome.cpu * 1000, outcome.maxrss_mb

    def big_token(self, program):
        outcome = self.demo(program, (self.big.reply(), self.big_answer.reply()),
                            what="the big-token run")
        if self.big.text not in outcome.value[1]:
            raise RunFailed("%s did not show the big token whole" % program.name)
        return outcome.maxrss_mb


def latencies(name, replies, seen):
    """Per-token delays in ms, or RunFailed if a token never showed up."""
    delays = []
    for reply in replies:
        for number, sent in reply.stamps.items():
            if number not in seen:
                raise RunFailed("%s never showed token %d" % (name, number))
            delays.append((seen[number] - sent) * 1000)
    return percentile(delays, 50), percentile(delays, 99)


def percentile(values, p):
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- The prompt cache: what the server re-reads as a chat grows ------------------

def chat_run(program, tmp):
    """(argv, stdin) of a CHAT_TURNS-turn chat with program, its drivers written to tmp.
    The stdlib programs run under CLOCK_LAUNCHER's moving clock; the official client
    does not (its example never reads the clock; its pydantic types need the real one)."""
    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path
    prompts = write("chat_prompts.json", json.dumps(list(CHAT_PROMPTS), ensure_ascii=False))
    clock = write("clock_launcher.py", CLOCK_LAUNCHER)
    if program.script:  # ollama_chat.py or a candidate: -i, one message a line
        return ([program.argv[0], clock] + program.argv[1:] + ["-i"],
                ("\n".join(CHAT_PROMPTS) + "\n").encode("utf-8"))
    if program.name == "sample":  # argv: [python, the bench's copy of the sample]
        driver = write("sample_chat_driver.py", SAMPLE_CHAT_DRIVER)
        return [program.argv[0], clock, driver, program.argv[1], prompts], b""
    driver = write("official_chat_driver.py", OFFICIAL_CHAT_DRIVER)
    python, _, url = program.argv[:3]  # the official client's demo: python, driver, url...
    return [python, driver, url, MODEL, prompts], b""


def chat_cache(bench, program):
    """Run the long chat with program on a fresh fake; what its prompt cache saw."""
    server = bench.server
    server.reset()  # nothing loaded: no cache from a run before
    server.add_model(MODEL, context_length=CHAT_NUM_CTX)
    server.default_num_ctx = CHAT_NUM_CTX  # reset() puts both back
    argv, stdin = chat_run(program, bench.tmp)
    what = "the %d-turn chat" % CHAT_TURNS
    try:
        proc = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=support.clean_env(), cwd=bench.tmp,
                              timeout=bench.sizes["timeout"])
    except subprocess.TimeoutExpired:
        raise RunFailed("%s took more than %d s over %s"
                        % (program.name, bench.sizes["timeout"], what))
    finally:
        requests = [r for r in server.chat_requests
                    if isinstance(r.json, dict) and r.json.get("messages")]
        server.reset()
    err = proc.stderr.decode("utf-8", "replace")
    check(Outcome(None, proc.returncode, err, 0.0, 0.0), program.name, what)
    if len(requests) != CHAT_TURNS or any(r.evaluated is None for r in requests):
        raise RunFailed("%s sent %d chat requests during %s (%d answered by the model), "
                        "not %d: %s" % (program.name, len(requests), what,
                                        sum(r.evaluated is not None for r in requests),
                                        CHAT_TURNS, " | ".join(err.strip().splitlines()[-2:])))
    return cache_figures(requests)


def cache_figures(requests):
    """Turn by turn: tokens evaluated anew, cached, the prompt's, the newest turn's own."""
    evaluated = [r.evaluated for r in requests]
    # The newest turn's own size: its message's tokens, the "<|end|>" that closes the
    # reply before it and the "<|assistant|>" that opens the next reply; what a prompt
    # adds to the cache's tokens (the last prompt and its reply), so the least a
    # server can evaluate.
    own = [len(fake_ollama.message_tokens(r.seen[-1])) + 2 for r in requests]
    early = CHAT_EARLY_TURN - 1
    rewritten = []  # turns whose request did not begin with the last request's messages
    for turn in range(1, len(requests)):
        before, now = requests[turn - 1].json["messages"], requests[turn].json["messages"]
        changed = [i for i, (a, b) in enumerate(zip(before, now)) if a != b]
        if changed or len(now) <= len(before):
            first = changed[0] if changed else min(len(before), len(now))
            rewritten.append({"turn": turn + 1, "message": first, "role": (
                before[first].get("role") if first < len(before) else None)})
    return {"turns": len(requests), "evaluated": evaluated,
            "cached": [r.cached for r in requests],
            "prompt_tokens": [r.prompt_tokens for r in requests], "own": own,
            "last_evaluated": evaluated[-1], "last_own": own[-1],
            "ratio": evaluated[-1] / own[-1], "early_turn": CHAT_EARLY_TURN,
            "early_evaluated": evaluated[early], "growth": evaluated[-1] / evaluated[early],
            "flat": evaluated[-1] <= FLAT_LIMIT * evaluated[early],
            "dropped": sum(r.dropped or 0 for r in requests),
            "shifted": sum(bool(r.shifted) for r in requests),
            "reloaded": sum(bool(r.loaded) for r in requests[1:]),
            "rewritten": rewritten}


def measure_cache(bench, programs, samples, notes):
    """{program: cache_figures} for each program that ran the long chat."""
    cache = {}
    for program in list(programs):
        try:
            figures = chat_cache(bench, program)
        except RunFailed as err:
            if program.name == "ollama_chat":
                raise
            notes.append("%s: no prompt-cache figures: %s" % (program.heading, err))
            continue
        cache[program.name] = figures
        samples.add(program.name, "reread", figures["last_evaluated"])
        samples.add(program.name, "reread_ratio", figures["ratio"])
        if figures["dropped"] or figures["shifted"] or figures["reloaded"]:
            notes.append("%s: during the %d-turn chat the fake dropped %d message(s), "
                         "shifted %d prompt(s), reloaded the model %d time(s): its window "
                         "(CHAT_NUM_CTX) is too small for the chat" % (
                             program.heading, CHAT_TURNS, figures["dropped"],
                             figures["shifted"], figures["reloaded"]))
        if figures["rewritten"]:
            first = figures["rewritten"][0]
            notes.append("%s: %d request(s) of the chat did not begin with the request "
                         "before's messages (first: turn %d changed message %d, %s), "
                         "which defeats the prompt cache" % (
                             program.heading, len(figures["rewritten"]), first["turn"],
                             first["message"], first["role"]))
    return cache


# --- Rounds, table, JSON ---------------------------------------------------------

METRICS = (  # key, label, unit, digits
    ("latency_p50", "display latency p50", "ms", 3),
    ("latency_p99", "display latency p99", "ms", 3),
    ("throughput", "throughput", "tokens/s", 0),
    ("cpu", "CPU, whole demo", "ms", 1),
    ("cpu_nosite", "CPU, whole demo, python -S", "ms", 1),
    ("rss", "peak memory, whole demo", "MB", 1),
    ("big_rss", "peak memory, one %d MB token", "MB", 1),
    ("reread", "prompt re-read, turn %s" % CHAT_TURNS, "tokens", 0),
    ("reread_ratio", "prompt re-read / turn %s's size" % CHAT_TURNS, "x", 2),
)
PEERS = ("sample", "official", "curl", "python")
HEADINGS = {"ollama_chat": "ollama_chat", "sample": "original sample",
            "official": "official ollama", "curl": "curl -N", "python": "python3 -c pass"}


class Samples:
    def __init__(self):
        self.values = {}

    def add(self, column, metric, value):
        self.values.setdefault(column, {}).setdefault(metric, []).append(value)

    def median(self, column, metric):
        values = self.values.get(column, {}).get(metric)
        return statistics.median(values) if values else None


def one_round(bench, programs, curl, bare, samples, notes):
    """Each measurement for every program in turn (client, sample, official, ...)."""
    steps = [("throughput", bench.throughput), ("latency", bench.latency)]
    steps += [("overhead", bench.overhead)] * bench.sizes["starts"]
    steps += [("big_rss", bench.big_token)]
    for step, measure in steps:
        if step == "latency" and curl:
            p50, p99 = bench.curl_latency(curl)
            samples.add("curl", "latency_p50", p50)
            samples.add("curl", "latency_p99", p99)
        if step == "overhead":
            for metric, argv in bare:
                cpu, rss = bench.bare(argv)
                samples.add("python", metric, cpu)
                if metric == "cpu":
                    samples.add("python", "rss", rss)
        for program in list(programs):
            try:
                record(samples, program, step, measure)
            except RunFailed as err:
                if program.name == "ollama_chat":
                    raise
                notes.append("%s: dropped after a failed run: %s" % (program.heading, err))
                programs.remove(program)


def record(samples, program, step, measure):
    name = program.name
    if step == "throughput":
        samples.add(name, "throughput", measure(program))
    elif step == "latency":
        p50, p99 = measure(program)
        samples.add(name, "latency_p50", p50)
        samples.add(name, "latency_p99", p99)
    elif step == "overhead":
        cpu, rss = measure(program)
        samples.add(name, "cpu", cpu)
        samples.add(name, "rss", rss)
        if program.script or name == "sample":
            nosite = Program(name, [program.argv[0], "-S"] + program.argv[1:])
            samples.add(name, "cpu_nosite", measure(nosite)[0])
    else:
        samples.add(name, "big_rss", measure(program))


def compare(metric, ours, theirs):
    """How ollama_chat stands against a peer: a ratio for speed, a difference else."""
    if ours is None or theirs is None:
        return None
    if metric == "throughput":
        return ours / theirs
    return ours - theirs


def fmt(value, digits):
    if value is None:
        return "-"
    return "{:,.{}f}".format(value, digits)


def fmt_compare(metric, value, digits):
    if value is None:
        return ""
    if metric == "throughput":
        return " (%.2fx)" % value
    return " (%+.*f)" % (digits, value)


def table_rows(samples, sizes, scripts, headings):
    """Metrics down, programs across; each peer with how ollama_chat compares to it."""
    columns = scripts + [c for c in PEERS if c in samples.values]
    rows = [["metric"] + [headings[c] for c in columns]]
    for metric, label, unit, digits in METRICS:
        if "%d" in label:
            label %= sizes["big_mb"]
        ours = samples.median("ollama_chat", metric)
        row = ["%s, %s" % (label, unit)]
        for column in columns:
            theirs = samples.median(column, metric)
            row.append(fmt(theirs, digits) if column in scripts else
                       fmt(theirs, digits) + fmt_compare(metric, compare(metric, ours, theirs),
                                                         digits))
        rows.append(row)
    return rows


TABLE_NOTES = ("(x) = ollama_chat / peer; (+/-) = ollama_chat minus peer. Medians of %d "
               "round(s).", "whole demo: the two-turn demo with %d-token replies, from start "
               "to exit. python -S: started without site-packages' .pth hooks, which some "
               "machines run at every start.", "prompt re-read: of a %d-turn chat (the same "
               "messages for each program), the last turn's prompt tokens the server "
               "evaluates anew, not from its prompt cache (the fake's count); turn's size: "
               "its new message with the template's markers, the least it can be.")


def table(rows, sizes):
    widths = [34] + [max(13, max(len(r[i]) for r in rows) + 2) for i in range(1, len(rows[0]))]
    lines = ["".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                     for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.append(TABLE_NOTES[0] % sizes["rounds"])
    lines.append(TABLE_NOTES[1] % sizes["short_tokens"])
    lines.append(TABLE_NOTES[2] % CHAT_TURNS)
    return "\n".join(lines)


def markdown(rows, sizes):
    def line(cells):
        return "| " + " | ".join(cells) + " |"
    lines = [line(rows[0]), "|" + "---|" * len(rows[0])]
    lines += [line(["–" if cell == "-" else cell for cell in row]) for row in rows[1:]]
    lines.append("")
    lines.append(TABLE_NOTES[0] % sizes["rounds"])
    lines.append(TABLE_NOTES[1] % sizes["short_tokens"])
    lines.append(TABLE_NOTES[2] % CHAT_TURNS)
    return "\n".join(lines)


def verdicts(samples, sizes, headings, column="ollama_chat", cache=None):
    """[{target, metric, peer, ours, theirs, value, limit, unit, met, why}] for one
    script: met is None when not measured, and why then says so. cache: the chat's
    figures per program (measure_cache), for the prompt-cache target."""
    result = []
    for key, metric, peer, kind, limit, label in TARGETS:
        if "%d" in label:
            label %= sizes["big_mb"]
        if kind == "own":
            result.append(cache_verdict(key, metric, limit, label, column, cache or {},
                                        headings))
            continue
        ours, theirs = samples.median(column, metric), samples.median(peer, metric)
        unit = "x" if kind == "ratio" else dict((m[0], m[2]) for m in METRICS)[metric]
        check = {"key": key, "target": label, "metric": metric, "peer": peer, "ours": ours,
                 "theirs": theirs, "value": None, "limit": limit, "unit": unit,
                 "met": None, "why": None}
        if ours is None:
            check["why"] = "%s was not measured" % headings.get(column, column)
        elif theirs is None:
            check["why"] = "%s did not run (see peers above)" % headings[peer]
        elif kind == "ratio":
            check["value"] = ours / theirs
            check["met"] = check["value"] >= limit
        else:
            check["value"] = ours - theirs
            check["met"] = check["value"] <= limit
        result.append(check)
    return result


def cache_verdict(key, metric, limit, label, column, cache, headings):
    """The prompt-cache target: the last turn's re-read against the turn's own size
    (at most limit x), and flat (at most FLAT_LIMIT x turn CHAT_EARLY_TURN's); the
    peers' figures beside it."""
    figures = cache.get(column)
    check = {"key": key, "target": label, "metric": metric, "peer": None, "kind": "own",
             "ours": None, "theirs": None, "value": None, "limit": limit, "unit": "x",
             "met": None, "why": None, "newest_turn": None, "early_turn": CHAT_EARLY_TURN,
             "early": None, "growth": None, "flat": None, "flat_limit": FLAT_LIMIT,
             "peers": {}}
    for peer in ("sample", "official"):
        theirs = cache.get(peer)
        check["peers"][peer] = theirs and {
            "evaluated": theirs["last_evaluated"], "newest_turn": theirs["last_own"],
            "ratio": theirs["ratio"], "early": theirs["early_evaluated"],
            "growth": theirs["growth"], "flat": theirs["flat"]}
    if figures is None:
        check["why"] = "%s did not run the %d-turn chat" % (headings.get(column, column),
                                                            CHAT_TURNS)
        return check
    check.update(ours=figures["last_evaluated"], newest_turn=figures["last_own"],
                 value=figures["ratio"], early=figures["early_evaluated"],
                 growth=figures["growth"], flat=figures["flat"])
    check["met"] = figures["ratio"] <= limit and figures["flat"]
    return check


def cache_verdict_line(c, headings):
    """met/MISSED, ours, then each peer's re-read on the same chat."""
    def figures(ratio, evaluated, own, growth, flat):
        return "%d of a %d-token turn, %.2fx; turn %d/%d %.2fx, %s" % (
            evaluated, own, ratio, CHAT_TURNS, CHAT_EARLY_TURN, growth,
            "flat" if flat else "GROWS")
    text = "%s (limit %.2fx, flat %.2fx)" % (
        figures(c["value"], c["ours"], c["newest_turn"], c["growth"], c["flat"]),
        c["limit"], c["flat_limit"])
    beside = []
    for peer, theirs in c["peers"].items():
        beside.append("%s %s" % (headings[peer], "not run (see peers above)" if theirs is None
                                 else figures(theirs["ratio"], theirs["evaluated"],
                                              theirs["newest_turn"], theirs["growth"],
                                              theirs["flat"])))
    return "  %-13s %s: %s\n  %-13s beside it: %s" % (
        "met" if c["met"] else "MISSED", c["target"], text, "", "; ".join(beside))


def verdict_lines(checks, headings, sources):
    """For each script measured: one line per target, met/MISSED with the numbers."""
    digits = dict((m[0], m[3]) for m in METRICS)
    units = dict((m[0], m[2]) for m in METRICS)
    lines = []
    for column, column_checks in checks.items():
        if lines:
            lines.append("")
        title = headings[column] if column == "ollama_chat" else "%s (%s)" % (
            headings[column], sources[column])
        lines.append("targets for %s:" % title)
        for c in column_checks:
            if c["met"] is None:
                lines.append("  %-13s %s: %s" % ("not measured", c["target"], c["why"]))
                continue
            if c.get("kind") == "own":
                lines.append(cache_verdict_line(c, headings))
                continue
            d, unit = digits[c["metric"]], units[c["metric"]]
            numbers = "%s vs %s %s" % (fmt(c["ours"], d), fmt(c["theirs"], d), unit)
            if c["unit"] == "x":
                margin = "%.2fx, limit %.2fx" % (c["value"], c["limit"])
            else:
                margin = "%+.*f %s, limit %+.*f" % (d, c["value"], unit, d, c["limit"])
            lines.append("  %-13s %s: %s (%s)" % ("met" if c["met"] else "MISSED",
                                                   c["target"], numbers, margin))
    return "\n".join(lines)


def machine(programs):
    info = {"python": platform.python_version(), "executable": sys.executable,
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    script = os.path.abspath(programs[0].source)
    info["script"] = script
    info["ollama_chat_sha256"] = programs[0].sha256  # as copied when the run began
    info["git_head"] = git("rev-parse", "--short", "HEAD")
    info["git_modified"] = None  # whether the copy measured differs from HEAD's
    with open(script, "rb") as f:
        info["changed_during_run"] = hashlib.sha256(f.read()).hexdigest() != programs[0].sha256
    if info["git_head"] and os.path.dirname(script) == ROOT:
        try:
            head = subprocess.run(["git", "-C", ROOT, "show", "HEAD:" + os.path.basename(script)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
            if head.returncode == 0:
                head_sha256 = hashlib.sha256(head.stdout).hexdigest()
                info["git_modified"] = head_sha256 != programs[0].sha256
        except (OSError, subprocess.SubprocessError):
            pass
    for program in programs:
        if getattr(program, "version", None):
            info["official_ollama_httpx"] = program.version
    return info


def git(*argv):
    try:
        return subprocess.run(["git", "-C", ROOT] + list(argv), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# --- Command line -----------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        prog="bench.py", description="Benchmark ollama_chat.py against curl, the original "
        "sample and the official ollama client, side by side in one run, on the fake Ollama "
        "of tests/. Exit status: 0 once it ran and wrote its JSON (it never judges a speed), "
        "1 if ollama_chat.py itself failed, 2 on bad arguments.")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, one round (well under a minute)")
    parser.add_argument("--json", metavar="PATH", default=os.path.join(HERE, "results.json"),
                        help="where to write the figures (default: bench/results.json)")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the table as Markdown rows (for the README)")
    parser.add_argument("--rounds", type=int, metavar="N", help="rounds (default 5, quick 1)")
    parser.add_argument("--script", metavar="PATH", default=support.SCRIPT,
                        help="the ollama_chat.py to measure (default: the repository's; "
                             "a patched copy elsewhere, to try a change)")
    parser.add_argument("--also", metavar="PATH", action="append", default=[],
                        help="another ollama_chat.py (a patched copy) measured in the same "
                             "rounds, in a column of its own; may be repeated")
    parser.add_argument("--seed", metavar="PATH",
                        help="the seed markdown holding the original sample (default: $%s, "
                             "else shared/seed/%s beside the clone, else beside the local "
                             "repository it was cloned from)" % (SEED_ENV, SEED_NAME))
    parser.add_argument("--official-python", metavar="PYTHON",
                        help="a Python that imports the official `ollama` client (default: "
                             "this one if it does, else a venv in $%s or "
                             "~/.cache/ollama_chat-bench, created with pip the first time)"
                             % CACHE_ENV)
    parser.add_argument("--no-install", action="store_true",
                        help="never create that venv (the official client then runs only "
                             "if a Python at hand imports it)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds must be at least 1")
        sizes["rounds"] = args.rounds
    for path in [args.script] + args.also + [p for p in (args.seed,) if p]:
        if not os.path.isfile(path):
            parser.error("no such file: %s" % path)
    if args.official_python and not shutil.which(args.official_python):
        parser.error("--official-python: no such program: %s" % args.official_python)
    notes = []
    started, load = time.monotonic(), os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="ollama_chat_bench_")
    server = start_server()
    try:
        samples, programs, peers, cache = measure_all(args, sizes, server, tmp, notes)
    except RunFailed as err:
        print("bench: ollama_chat.py failed: %s" % err, file=sys.stderr)
        return 1
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    headings = dict(HEADINGS, **{p.name: p.heading for p in programs})
    scripts = [p.name for p in programs if p.script]
    sources = {p.name: os.path.abspath(p.source) for p in programs if p.script}
    checks = {name: verdicts(samples, sizes, headings, name, cache) for name in scripts}
    info = machine(programs)
    info["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    info["command"] = " ".join(["python3", os.path.relpath(os.path.abspath(__file__))]
                               + (sys.argv[1:] if argv is None else list(argv)))
    rows = table_rows(samples, sizes, scripts, headings)
    print("ollama_chat bench (%s): Python %s on %s, %s CPUs, %.0f s, load %.2f -> %.2f"
          % ("quick" if args.quick else "full", info["python"], info["platform"],
             info["cpus"], time.monotonic() - started, *info["load_average"]))
    print("command: %s" % info["command"])
    print("measured: %s, sha256 %s%s" % (
        info["script"], info["ollama_chat_sha256"][:12],
        "" if info["git_head"] is None or info["git_modified"] is None else
        ", uncommitted changes over git %s" % info["git_head"] if info["git_modified"] else
        ", as in git %s" % info["git_head"]))
    print(peer_lines(peers, headings))
    print()
    print(table(rows, sizes))
    print()
    print(verdict_lines(checks, headings, sources))
    if args.markdown:
        print()
        print(markdown(rows, sizes))
    if info["changed_during_run"]:
        notes.append("%s changed during the run: the figures are for the copy taken when it "
                     "began (sha256 %s)" % (info["script"], info["ollama_chat_sha256"][:12]))
    if load > (info["cpus"] or 1):
        notes.append("the machine was busy before the run began (load average %.2f): the "
                     "figures are noisier than usual" % load)
    for note in notes:
        print("note: " + note)
    write_json(args.json, {"machine": info, "quick": args.quick, "sizes": sizes,
                           "scripts": sources, "peers": peers,
                           "medians": medians(samples), "samples": samples.values,
                           "targets": checks["ollama_chat"], "candidate_targets":
                           {name: checks[name] for name in scripts[1:]},
                           "prompt_cache": {"turns": CHAT_TURNS, "prompts": list(CHAT_PROMPTS),
                                            "num_ctx": CHAT_NUM_CTX, "programs": cache},
                           "notes": notes})
    print("wrote %s" % args.json)
    return 0


def peer_lines(peers, headings):
    """Which peers ran, from where; which did not, why, and what would enable them."""
    lines = ["peers:"]
    for name, peer in peers.items():
        lines.append("  %-16s %s" % (headings[name], peer["found"] if peer["ran"]
                                     else peer["why"]))
    return "\n".join(lines)


def measure_all(args, sizes, server, tmp, notes):
    """(samples, the programs measured, {peer: {ran, found, why}})."""
    programs = [client_program(tmp, server.url, args.script)]
    for number, path in enumerate(args.also, 1):
        programs.append(client_program(tmp, server.url, path, "candidate%d" % number))
    curl = curl_argv(tmp, server.url)
    peers = {"curl": {"ran": True, "found": curl and curl[0], "why": None}}
    if curl is None:
        peers["curl"] = {"ran": False, "found": None, "why": (
            "not run: no curl on PATH (%s), so the latency targets cannot be judged. To run "
            "it: install curl (apt-get install curl) or put it on PATH"
            % os.environ.get("PATH", ""))}
    for program in (sample_program(tmp, server.url, args.seed),
                    official_program(tmp, server.url, args, sizes)):
        peers[program.name] = {"ran": program.argv is not None, "found": program.found,
                               "why": program.note}
        if program.argv is not None:
            programs.append(program)
    bare = [("cpu", [sys.executable, "-c", "pass"]),
            ("cpu_nosite", [sys.executable, "-S", "-c", "pass"])]
    bench = Bench(sizes, server, tmp)
    samples = Samples()
    active = list(programs)  # a peer that fails is dropped from the later rounds
    bench.bare(bare[0][1])  # warm the page cache (and the peers' imports); not counted
    warm(bench, active, notes)
    for number in range(sizes["rounds"]):
        print("round %d/%d ..." % (number + 1, sizes["rounds"]), file=sys.stderr, flush=True)
        one_round(bench, active, curl, bare, samples, notes)
    print("a %d-turn chat (prompt cache) ..." % CHAT_TURNS, file=sys.stderr, flush=True)
    cache = measure_cache(bench, active, samples, notes)  # deterministic: once is enough
    for program in programs:
        if program.name in peers and program not in active:
            peers[program.name].update(ran=False, why="dropped after a failed run (see the "
                                       "note); its figures are from the rounds before")
    return samples, programs, peers, cache


def warm(bench, programs, notes):
    for program in list(programs):
        try:
            bench.overhead(program)
        except RunFailed as err:
            if program.name == "ollama_chat":
                raise
            notes.append("%s: dropped after a failed run: %s" % (program.heading, err))
            programs.remove(program)


def medians(samples):
    return {column: {metric: statistics.median(values) for metric, values in metrics.items()}
            for column, metrics in samples.values.items()}


def write_json(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
