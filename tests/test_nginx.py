"""The real script behind a real nginx: TLS, a Bearer key, buffering, a dead upstream.

nginx stands between ollama_chat.py and the fake Ollama the way people put it
in front of a real one, so these tests see nginx's own answers (its 401 and 502
pages, its re-chunking of a buffered stream, its TLS) instead of imitations.
Skipped when nginx or openssl is not installed
(apt-get install nginx-light openssl).
"""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from fake_ollama import Reply, chat_chunks  # noqa: E402


def find_program(name):
    """The program's path on PATH or in /usr/sbin and /sbin (where nginx lives), or None."""
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])
    return shutil.which(name, path=path)


NGINX = find_program("nginx")
OPENSSL = find_program("openssl")
MISSING = [name for name, path in (("nginx", NGINX), ("openssl", OPENSSL)) if not path]

# Python 3.13 verifies with VERIFY_X509_STRICT: the CA needs critical
# basicConstraints, keyUsage and a subject key id; the server certificate an
# authority key id, a subjectAltName and serverAuth.
OPENSSL_CONFIG = """\
[req]
distinguished_name = name
prompt = no
[name]
CN = unused
[ca_cert]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_cert]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

NGINX_CONFIG = """\
%(user)s
worker_processes 1;
daemon off;
pid "%(tmp)s/nginx.pid";
error_log "%(tmp)s/error.log" warn;
events { worker_connections 64; }
http {
    log_format sites '$server_port $status "$http_authorization"';
    access_log "%(tmp)s/access.log" sites;
    client_body_temp_path "%(tmp)s/client_body";
    proxy_temp_path "%(tmp)s/proxy";
    fastcgi_temp_path "%(tmp)s/fastcgi";
    uwsgi_temp_path "%(tmp)s/uwsgi";
    scgi_temp_path "%(tmp)s/scgi";

    # 1. TLS and a Bearer key, streaming: how people put nginx in front of Ollama
    server {
        listen 127.0.0.1:%(keyed_port)d ssl;
        ssl_certificate "%(tmp)s/server.pem";
        ssl_certificate_key "%(tmp)s/server.key";
        if ($http_authorization != "Bearer %(key)s") { return 401; }
        location / {
            proxy_pass http://127.0.0.1:%(ollama_port)d;
            proxy_http_version 1.1;
            proxy_buffering off;
        }
    }
    # 2. The same behind a self-signed certificate that nobody trusts
    server {
        listen 127.0.0.1:%(untrusted_port)d ssl;
        ssl_certificate "%(tmp)s/untrusted.pem";
        ssl_certificate_key "%(tmp)s/untrusted.key";
        location / {
            proxy_pass http://127.0.0.1:%(ollama_port)d;
            proxy_http_version 1.1;
            proxy_buffering off;
        }
    }
    # 3. Plain HTTP with nginx's defaults: the stream is buffered and re-chunked
    server {
        listen 127.0.0.1:%(buffered_port)d;
        location / {
            proxy_pass http://127.0.0.1:%(ollama_port)d;
            proxy_buffering on;
        }
    }
    # 4. Ollama is down behind it: nginx's own 502 page
    server {
        listen 127.0.0.1:%(dead_port)d;
        location / {
            proxy_pass http://127.0.0.1:%(closed_port)d;
        }
    }
}
"""

FIRST_PROMPT = "私の名前は太郎です。私の名前を覚えてください。"
SECOND_PROMPT = "今何時ですか？ また、私の名前は何でしたか？"
LABEL = "Assistant (llama3): "
RULE = "-" * 40
WRONG_KEY = "sk-wrong-6f1d2c9a8b7e"


def make_certificates(tmp):
    """A private CA, a server certificate it signs, and a self-signed one nobody trusts."""
    config = os.path.join(tmp, "openssl.cnf")
    with open(config, "w") as f:
        f.write(OPENSSL_CONFIG)
    env = dict(os.environ, OPENSSL_CONF=config)

    def openssl(*args):
        proc = subprocess.run([OPENSSL] + list(args), cwd=tmp, env=env, timeout=30,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode:
            raise RuntimeError("openssl %s failed:\n%s"
                               % (" ".join(args), proc.stdout.decode("utf-8", "replace")))

    for name in ("ca", "server", "untrusted"):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", name + ".key")
    openssl("req", "-new", "-x509", "-config", config, "-extensions", "ca_cert",
            "-key", "ca.key", "-subj", "/CN=ollama_chat test CA", "-days", "2", "-out", "ca.pem")
    openssl("req", "-new", "-config", config, "-key", "server.key", "-subj", "/CN=localhost",
            "-out", "server.csr")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", str(secrets.randbits(63)), "-days", "2",
            "-extfile", config, "-extensions", "server_cert", "-out", "server.pem")
    openssl("req", "-new", "-x509", "-config", config, "-extensions", "server_cert",
            "-key", "untrusted.key", "-subj", "/CN=localhost", "-days", "2",
            "-out", "untrusted.pem")
    return os.path.join(tmp, "ca.pem")


def free_ports(count):
    """Loopback ports nobody listens on right now (all distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def nginx_command(tmp, config):
    command = [NGINX, "-p", tmp + os.sep, "-c", config]
    version = subprocess.run([NGINX, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=10).stdout.decode("ascii", "replace")
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version)
    if found and tuple(map(int, found.groups())) >= (1, 19, 5):
        # -e keeps nginx off /var/log/nginx/error.log before it has read the config
        command += ["-e", os.path.join(tmp, "error.log")]
    return command


def start_nginx(tmp, ports, **values):
    config = os.path.join(tmp, "nginx.conf")
    with open(config, "w") as f:
        f.write(NGINX_CONFIG % dict(values, tmp=tmp,
                                    user="user root;" if os.geteuid() == 0 else ""))
    output = open(os.path.join(tmp, "nginx.out"), "wb")
    try:
        proc = subprocess.Popen(nginx_command(tmp, config), stdin=subprocess.DEVNULL,
                                stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own group: workers too
    finally:
        output.close()
    try:
        wait_until_listening(proc, ports, tmp)
    except BaseException:
        stop_nginx(proc)
        raise
    return proc


def wait_until_listening(proc, ports, tmp, limit=10.0):
    deadline = time.monotonic() + limit
    for port in ports:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("nginx exited with %s:\n%s" % (proc.returncode, nginx_log(tmp)))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not listen on port %d within %g s:\n%s"
                                       % (port, limit, nginx_log(tmp))) from None
                time.sleep(0.02)


def nginx_log(tmp):
    text = ""
    for name in ("nginx.out", "error.log"):
        try:
            with open(os.path.join(tmp, name), encoding="utf-8", errors="replace") as f:
                text += f.read()
        except OSError:
            pass
    return text.strip() or "(no output)"


def stop_nginx(proc):
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: fast shutdown of the master and its workers
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@unittest.skipIf(MISSING, "needs %s (apt-get install nginx-light openssl)" % " and ".join(MISSING))
class BehindNginx(support.ScriptTest):
    """One nginx and one fake Ollama for the whole class; each test runs the real script."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.nginx_dir = tempfile.mkdtemp(prefix="ollama_chat_nginx_")
        cls.addClassCleanup(shutil.rmtree, cls.nginx_dir, True)
        cls.ca_file = make_certificates(cls.nginx_dir)
        cls.key = "sk-test-" + secrets.token_hex(16)

        cls.ollama = cls.shared_server
        closed = socket.socket()  # bound but never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        cls.addClassCleanup(closed.close)

        ports = free_ports(4)
        cls.keyed_port, cls.untrusted_port, cls.buffered_port, cls.dead_port = ports
        cls.nginx = start_nginx(cls.nginx_dir, ports, key=cls.key,
                                ollama_port=cls.ollama.port, closed_port=closed.getsockname()[1],
                                keyed_port=cls.keyed_port, untrusted_port=cls.untrusted_port,
                                buffered_port=cls.buffered_port, dead_port=cls.dead_port)
        cls.addClassCleanup(stop_nginx, cls.nginx)

    def demo(self, url, env=None, **constants):
        """Run the two-turn demo against url; return (exit code, stdout, stderr)."""
        constants = dict(dict(API_URL=url + "/api/chat", API_KEY="", TIMEOUT=10,
                              CONNECT_TIMEOUT=5), **constants)
        return self.run_script(env=env, constants=constants, timeout=30)

    def keyed_url(self):
        return "https://127.0.0.1:%d" % self.keyed_port

    def assertDemoCompleted(self, code, out, err):
        self.assertEqual((code, err), (0, ""), out)
        self.assertIn("%s%s\n%sYou said: %s\n%s\n" % ("User: ", FIRST_PROMPT, LABEL,
                                                      FIRST_PROMPT, RULE), out)
        self.assertIn("%s%s\n%sYou said: %s\n%s\n" % ("User: ", SECOND_PROMPT, LABEL,
                                                      SECOND_PROMPT, RULE), out)
        self.assertTrue(out.endswith("--- Session Ended ---\n"), out)
        chats = self.server.chat_requests
        self.assertEqual(len(chats), 2, [r.path for r in self.server.requests])
        self.assertEqual(assistant_messages(chats[0]), [])
        self.assertEqual(assistant_messages(chats[1]), ["You said: " + FIRST_PROMPT])

    def assertShortFailure(self, code, out, err, *needles):
        self.assertCleanFailure(code, err)
        for needle in needles:
            self.assertIn(needle, err)
        self.assertLessEqual(len(err.splitlines()), 3, err)
        self.assertNotIn("<html", err.lower())
        self.assertNotIn(LABEL, out)  # no reply was shown
        for secret in (self.key, WRONG_KEY):
            self.assertNotIn(secret, out + err)

    # --- TLS and a key --------------------------------------------------------

    def test_demo_over_tls_with_private_ca_in_ssl_cert_file(self):
        code, out, err = self.demo(self.keyed_url(), API_KEY=self.key,
                                   env={"SSL_CERT_FILE": self.ca_file})
        self.assertDemoCompleted(code, out, err)

    def test_demo_over_tls_with_key_from_ollama_api_key(self):
        code, out, err = self.demo(self.keyed_url(),
                                   env={"SSL_CERT_FILE": self.ca_file, "OLLAMA_API_KEY": self.key})
        self.assertDemoCompleted(code, out, err)

    def test_ollama_behind_nginx_receives_the_bearer_key_the_script_sent(self):
        code, out, err = self.demo(self.keyed_url(), API_KEY=self.key,
                                   env={"SSL_CERT_FILE": self.ca_file})
        self.assertEqual((code, err), (0, ""), out)
        self.assertEqual([r.headers.get("Authorization") for r in self.server.requests],
                         ["Bearer " + self.key] * 2)

    def test_untrusted_certificate_is_one_clear_message_naming_ssl_cert_file(self):
        url = "https://127.0.0.1:%d" % self.untrusted_port
        code, out, err = self.demo(url, API_KEY=self.key)
        self.assertShortFailure(code, out, err, "not trusted", "SSL_CERT_FILE",
                                "127.0.0.1:%d" % self.untrusted_port)
        self.assertEqual(self.server.requests, [])
        self.assertNotIn(self.untrusted_port, self.logged_ports())  # the key never left

    def test_wrong_key_turns_nginx_401_page_into_a_message_about_api_key(self):
        code, out, err = self.demo(self.keyed_url(), API_KEY=WRONG_KEY,
                                   env={"SSL_CERT_FILE": self.ca_file})
        self.assertShortFailure(code, out, err, "401", "API_KEY", "rejected")
        self.assertEqual(self.server.requests, [])  # nginx stopped it

    def test_no_key_says_the_server_wants_one(self):
        code, out, err = self.demo(self.keyed_url(), env={"SSL_CERT_FILE": self.ca_file})
        self.assertShortFailure(code, out, err, "401", "wants an API key", "API_KEY",
                                "OLLAMA_API_KEY")
        self.assertEqual(self.server.requests, [])

    # --- What nginx does to the stream and to a dead Ollama ----------------------

    def test_buffering_proxy_still_gives_whole_replies(self):
        first = ["こんにちは", "、", "太郎", "さん", "。", "🍣", "寿司", " sushi ", "é", "\n"] * 400
        first.append("終わり。")
        second = ["二つ目", "の", "返事", "です", "。"] * 50
        self.server.default_num_ctx = 8192  # a 4,001-token reply: no "window full" warning
        self.server.script("/api/chat", Reply(chat_chunks(*first)), Reply(chat_chunks(*second)))
        code, out, err = self.demo("http://127.0.0.1:%d" % self.buffered_port)
        self.assertEqual((code, err), (0, ""), out[-500:])
        self.assertIn("%s%s\n%s\n" % (LABEL, "".join(first), RULE), out)
        self.assertIn("%s%s\n%s\n" % (LABEL, "".join(second), RULE), out)
        chats = self.server.chat_requests
        self.assertEqual(len(chats), 2)
        self.assertEqual(assistant_messages(chats[1]), ["".join(first)])

    def test_dead_ollama_behind_nginx_is_a_short_502_message(self):
        code, out, err = self.demo("http://127.0.0.1:%d" % self.dead_port)
        self.assertShortFailure(code, out, err, "502", "Ollama")

    def logged_ports(self):
        """The port of each request nginx has logged (log_format sites)."""
        with open(os.path.join(self.nginx_dir, "access.log"), encoding="utf-8") as f:
            return [int(line.split()[0]) for line in f if line.strip()]


def assistant_messages(request):
    return [m.get("content") for m in request.json["messages"] if m.get("role") == "assistant"]


if __name__ == "__main__":
    unittest.main()
