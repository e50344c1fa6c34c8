"""Pure pieces: URL parsing, settings, hints; the doctests; the module's import contract."""

import doctest
import os
import ssl
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

from support import ROOT, SCRIPT, clean_env
import ollama_chat
from ollama_chat import ConfigError, Settings, server_base_url


def load_tests(loader, tests, ignore):
    tests.addTests(doctest.DocTestSuite(ollama_chat))
    return tests


class ServerUrlTest(unittest.TestCase):

    def test_forms_users_write(self):
        table = [
            ("http://localhost:11434/api/chat", "http://localhost:11434"),
            ("http://localhost:11434/api/chat/", "http://localhost:11434"),
            ("http://localhost:11434", "http://localhost:11434"),
            ("  http://localhost:11434/  ", "http://localhost:11434"),
            ("https://ollama.com", "https://ollama.com"),
            ("https://example.com/ollama", "https://example.com/ollama"),
            ("http://[::1]:11434/api/chat", "http://[::1]:11434"),
            ("localhost", "http://localhost:11434"),
            ("0.0.0.0:8080", "http://0.0.0.0:8080"),
            ("host.docker.internal", "http://host.docker.internal:11434"),
        ]
        for text, expected in table:
            with self.subTest(text=text):
                self.assertEqual(server_base_url(text), expected)

    def test_refused_forms(self):
        for text in ["", "   ", "file:///etc/passwd", "ftp://host/", "javascript:alert(1)",
                     "http://", "http://host:99999/", "http://host:port/",
                     "http://user:pw@host/", "http://host/api/generate", "http://host/?a=1"]:
            with self.subTest(text=text):
                with self.assertRaises(ConfigError):
                    server_base_url(text)

    def test_host_port_for_messages(self):
        def host_port(url):
            return Settings.from_constants(url=url, environ={}).host_port
        self.assertEqual(host_port("http://localhost:11434/api/chat"), "localhost:11434")
        self.assertEqual(host_port("https://ollama.com"), "ollama.com:443")
        self.assertEqual(host_port("http://[::1]:8080"), "[::1]:8080")


class KeyTest(unittest.TestCase):

    def test_constant_wins_then_environment_then_none(self):
        env = {"OLLAMA_API_KEY": " sk-env "}
        self.assertEqual(ollama_chat.resolve_key("sk-file", env), ("sk-file", "API_KEY"))
        self.assertEqual(ollama_chat.resolve_key("", env), ("sk-env", "OLLAMA_API_KEY"))
        self.assertEqual(ollama_chat.resolve_key("", {}), ("", None))

    def test_key_errors_never_show_the_key(self):
        for key in ["sk-abc\ndef", "sk-日本", "sk abc"]:
            with self.subTest(key=key):
                with self.assertRaises(ConfigError) as caught:
                    ollama_chat.resolve_key(key, {})
                self.assertNotIn("abc", str(caught.exception))

    def test_repr_hides_the_key(self):
        settings = Settings.from_constants(key="sk-very-secret", environ={})
        self.assertNotIn("sk-very-secret", repr(settings))


class HintTest(unittest.TestCase):

    def write(self, text):
        fd, path = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.remove, path)
        return path

    def test_wsl_is_read_from_proc_version(self):
        wsl = self.write("Linux version 5.15.167.4-microsoft-standard-WSL2 (gcc)")
        plain = self.write("Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org)")
        self.assertTrue(ollama_chat.running_on_wsl(wsl))
        self.assertFalse(ollama_chat.running_on_wsl(plain))
        self.assertFalse(ollama_chat.running_on_wsl("/no/such/file"))

    def test_windows_host_is_the_default_gateway(self):
        route = self.write(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
            "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\n"
            "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00F0FFFF\n")
        self.assertEqual(ollama_chat.windows_host_address(route), "192.168.0.1")

    def test_refused_connection_on_wsl_tells_what_to_do(self):
        settings = Settings.from_constants(url="http://localhost:11434", environ={})
        with mock.patch.object(ollama_chat, "running_on_wsl", return_value=True), \
                mock.patch.object(ollama_chat, "windows_host_address",
                                           return_value="172.29.96.1"):
            text = str(ollama_chat.connection_error(settings, ConnectionRefusedError(111, "x")))
        self.assertIn("cannot connect to localhost:11434: connection refused", text)
        self.assertIn("WSL2: Ollama on Windows listens on 127.0.0.1 only", text)
        self.assertIn("http://172.29.96.1:11434", text)
        self.assertIn("networkingMode=mirrored", text)

    def test_no_wsl_hint_for_a_remote_host(self):
        settings = Settings.from_constants(url="http://10.0.0.5:11434", environ={})
        with mock.patch.object(ollama_chat, "running_on_wsl", return_value=True):
            text = str(ollama_chat.connection_error(settings, ConnectionRefusedError(111, "x")))
        self.assertNotIn("WSL2", text)

    def test_same_ollama_host_is_not_mentioned(self):
        settings = Settings.from_constants(url="http://localhost:11434/api/chat",
                                           environ={"OLLAMA_HOST": "localhost:11434"})
        self.assertEqual(ollama_chat.connection_hints(settings), [])


class CertificateHintTest(unittest.TestCase):

    def problem(self, code, message, environ=None):
        err = ssl.SSLCertVerificationError(1, "certificate verify failed")
        err.verify_code, err.verify_message = code, message
        settings = Settings.from_constants(url="https://ollama.example:8443", environ=environ or {})
        return ollama_chat.certificate_problem(settings, err)

    def test_unknown_ca_points_at_ssl_cert_file(self):
        text = self.problem(20, "unable to get local issuer certificate")
        self.assertEqual(text, "the TLS certificate of ollama.example:8443 is not trusted (unable "
                               "to get local issuer certificate).\n  For a private CA or a "
                               "self-signed certificate, run with SSL_CERT_FILE=/path/to/ca.pem "
                               "./ollama_chat.py")

    def test_ssl_cert_file_already_set(self):
        missing = self.problem(20, "x", {"SSL_CERT_FILE": "/no/such/ca.pem"})
        self.assertIn("SSL_CERT_FILE=/no/such/ca.pem is set, but there is no such file.", missing)
        wrong = self.problem(20, "x", {"SSL_CERT_FILE": __file__})
        self.assertIn("is set, but holds neither the CA", wrong)

    def test_name_mismatch_is_not_a_trust_problem(self):
        text = self.problem(62, "Hostname mismatch, certificate is not valid for 'ollama.example'.")
        self.assertEqual(text, "the TLS certificate of ollama.example:8443 is for another name "
                               "(Hostname mismatch, certificate is not valid for "
                               "'ollama.example'): use a name the certificate lists in API_URL.")


class ModuleContractTest(unittest.TestCase):

    def run_python(self, *args):
        return subprocess.run([sys.executable] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=clean_env(), cwd=ROOT, timeout=30)

    def test_import_does_nothing(self):
        proc = self.run_python("-c", "import urllib.request, ollama_chat, threading, signal;"
                                     "assert urllib.request._opener is None;"
                                     "assert threading.active_count() == 1;"
                                     "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler;"
                                     "print('ok')")
        self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, b"ok\n", b""))

    def test_help_documents_exit_codes(self):
        proc = self.run_python(SCRIPT, "--help")
        self.assertEqual(proc.returncode, 0)
        self.assertIn(b"130 interrupted", proc.stdout)
        self.assertIn(b"2 configuration or usage error", proc.stdout)

    def test_version_and_usage_errors(self):
        proc = self.run_python(SCRIPT, "--version")
        self.assertEqual(proc.stdout.decode().strip(), "ollama_chat.py " + ollama_chat.__version__)
        proc = self.run_python(SCRIPT, "--no-such-flag")
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"unrecognized arguments: --no-such-flag", proc.stderr)

    def test_script_is_executable_with_a_shebang(self):
        self.assertTrue(os.access(SCRIPT, os.X_OK))
        with open(SCRIPT, "rb") as f:
            self.assertEqual(f.readline(), b"#!/usr/bin/env python3\n")


if __name__ == "__main__":
    unittest.main()
