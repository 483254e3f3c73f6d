"""The manual pages against the program: every option of --help is in
ksysmon(8) and every option there is in --help, with the same short
letters; the signals handled, the exit codes, the configuration's event
types, fields and conditions (as the parser names them) are in the pages;
the pages format without a warning; --version is debian/changelog's."""
import os
import re
import subprocess
import tempfile
import unittest

from harness import MONITOR, ROOT, Monitor

MAN8 = os.path.join(ROOT, "man/ksysmon.8")
MAN5 = os.path.join(ROOT, "man/ksysmon.yaml.5")


def read(path):
    with open(path) as f:
        return f.read()


def section(page, name):
    """The roff text of one .SH section."""
    m = re.search(r"^\.SH %s\n(.*?)(?=^\.SH |\Z)" % re.escape(name), page, re.M | re.S)
    assert m, name
    return m.group(1)


def roff_options(text):
    """{long: short or None} of the .TP items of an OPTIONS section."""
    opts = {}
    for item in re.findall(r"^\.TP\n(.*)$", text, re.M):
        longs = [x.replace("\\-", "-")
                 for x in re.findall(r"\\-\\-([a-z0-9]+(?:\\-[a-z0-9]+)*)", item)]
        shorts = re.findall(r"(?<![\\-])\\-([a-zA-Z])\b", item)
        assert len(longs) == 1, item
        opts[longs[0]] = shorts[0] if shorts else None
    return opts


def help_options():
    out = subprocess.run([MONITOR, "--help"], capture_output=True, check=True).stdout.decode()
    opts = {}
    for m in re.finditer(r"^\s+(?:-([a-zA-Z]), )?--([a-z0-9-]+)", out, re.M):
        opts[m.group(2)] = m.group(1)
    return opts


def expected_list(config_text, pattern):
    """The list a configuration error names after `expected`."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(config_text)
        f.flush()
        p = subprocess.run([MONITOR, "-c", f.name], capture_output=True)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    m = re.search(pattern + r".*\(expected ([a-z_, ]+)\)", err)
    assert m, err
    return set(m.group(1).split(", "))


class ManPages(unittest.TestCase):
    def test_options_match_help_both_ways(self):
        man = roff_options(section(read(MAN8), "OPTIONS"))
        self.assertGreater(len(man), 20)
        self.assertEqual(man, help_options())

    def test_signals_and_exit_codes(self):
        page = read(MAN8)
        sigs = section(page, "SIGNALS")
        for sig in ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGPIPE"):
            self.assertIn(sig, sigs)
        codes = re.findall(r"^\.TP\n\.B (\d+)$", section(page, "EXIT STATUS"), re.M)
        self.assertEqual(codes, ["0", "1", "2"])
        # the codes are those the program uses: 2 for a bad value, 1 otherwise
        bad = subprocess.run([MONITOR, "--format", "xml"], capture_output=True)
        self.assertEqual(bad.returncode, 2)
        self.assertEqual(subprocess.run([MONITOR, "--read", "/nonexistent"],
                                        capture_output=True).returncode, 1)

    def test_configuration_page_names_what_the_parser_knows(self):
        page = read(MAN5)
        types = expected_list("events:\n  proces_exec: off\n", "unknown event type")
        fields = expected_list("events:\n  process_exec:\n    exclude:\n      - imag: x\n",
                               "unknown field")
        conds = expected_list("events:\n  process_exec:\n    exclude:\n      - image: {startswith: x}\n",
                              "unknown condition")
        for name in types:
            self.assertIn(".BR " if name != "all" else "all", page)
            self.assertRegex(section(page, "EVENT TYPES"), r"\b%s\b" % name)
        documented = set(re.findall(r"^\.TP\n\.B ([a-z_]+)$", section(page, "FIELDS"), re.M))
        self.assertEqual(documented, fields - {"all", "any"})
        self.assertEqual(fields & {"all", "any"}, {"all", "any"})
        self.assertRegex(section(page, "RULES"), r"all: \[")
        self.assertRegex(section(page, "RULES"), r"any: \[")
        listed = set()
        for item in re.findall(r"^\.TP\n\.BR? (.*)$", section(page, "CONDITIONS"), re.M):
            listed |= set(re.findall(r"[a-z_]+", item))
        self.assertEqual(listed, conds)

    def test_configuration_options_are_the_command_lines(self):
        """Every option the page says the file may not set is one of
        --help's, and the others are accepted by the file."""
        page = section(read(MAN5), "OPTIONS")
        m = re.search(r"Every option may be set but\n\.BR (.*)$", page, re.M)
        excluded = set(re.findall(r"[a-z]+", m.group(1))) - {"and"}
        opts = help_options()
        self.assertEqual(excluded - set(opts), set())
        for name in excluded:
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write("options:\n  %s: x\n" % name)
                f.flush()
                r = subprocess.run([MONITOR, "-c", f.name], capture_output=True, text=True)
            self.assertEqual(r.stderr, "ksysmon: %s:2: '%s' cannot be set in the configuration file\n"
                             % (f.name, name))
        # the others reach the option parser under their names
        for name in set(opts) - excluded:
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write("options:\n  %s: \"\\x01\"\n" % name)
                f.flush()
                r = subprocess.run([MONITOR, "-c", f.name, "--version"], capture_output=True, text=True)
            self.assertNotIn("unknown option", r.stderr, name)

    def test_pages_format_without_warnings(self):
        for page in (MAN8, MAN5):
            p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", page],
                               capture_output=True, env=dict(os.environ, MANWIDTH="80"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, b"", page)
            self.assertIn(b"SYNOPSIS", p.stdout)

    def test_version_is_the_changelogs(self):
        first = read(os.path.join(ROOT, "debian/changelog")).splitlines()[0]
        upstream = re.match(r"ksysmon \(([^-)]+)", first).group(1)
        out = subprocess.run([MONITOR, "--version"], capture_output=True, check=True).stdout
        self.assertEqual(out.decode(), "ksysmon %s\n" % upstream)

    def test_default_configuration_starts(self):
        """The configuration installed for the service is valid as shipped."""
        with Monitor("-c", os.path.join(ROOT, "dist/ksysmon.yaml")) as m:
            pass
        self.assertEqual(m.returncode, 0, m.stderr)
        self.assertRegex(m.stderr, r"(?m)^ksysmon: filtered: kernel=0 user=0$")


if __name__ == "__main__":
    unittest.main()
