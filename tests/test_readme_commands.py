"""The README's `manage.py` commands work as written in a checkout that has been through the
development set-up (`make run`: the .env file, migrate, load_demo), run with a clean
environment: no DEBUG, no SECRET_KEY, nothing set by hand. Production (no .env, or DEBUG=0
in the environment) still refuses to start without a SECRET_KEY.

Each command runs in a subprocess in a copy of the project (so its .env, .secret_key, SQLite
file and media are the copy's own): once with `--help`, which must succeed and list every
option the README shows, and once as written, its placeholders filled with demo values,
which must end without a traceback (a refusal of the step itself, as a one-line error, is
the command working)."""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_SLUG = "marrow-bay-switches-on-harbour-tidal-turbines-after-a-decade-of-delays"
# Demo values for the README's placeholders. A new placeholder in the README needs one here.
PLACEHOLDERS = {
    "SLUG": DEMO_SLUG,
    "USERNAME": "editor",
    "FILE": "articles/demo/stories/cargo-bike-delivery-hubs.txt",
    "N": "2",
    "IP": "127.0.0.1",
    "TEXT": "Checked against the README",
    "ISO-DATETIME": "2031-01-01T09:00:00+00:00",
    "DIR": "readme-exports",
}
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "readme-test-" + "k8#Vq2!rT9zLw4@Xe7$Nb1%Yc6" * 2,
    "ALLOWED_HOSTS": "news.example",
}
SKIP_COPY = shutil.ignore_patterns(
    ".git",
    ".venv",
    "media",
    "staticfiles",
    "artifacts",
    "__pycache__",
    ".pytest_cache",
    "db.sqlite3*",
    ".env",
    ".secret_key",
)


def readme_commands(text: str) -> list[tuple[str, bool]]:
    """Every `manage.py` command in the README, with whether it stands in the Production
    section: lines of fenced code blocks (continuation lines joined) and inline code spans."""
    commands = []
    for section in re.split(r"^(?=## )", text, flags=re.M):
        production = section.startswith("## Production")
        for block in re.findall(r"^```[^\n]*\n(.*?)^```", section, flags=re.M | re.S):
            for line in block.replace("\\\n", " ").splitlines():
                if "manage.py" in line:
                    commands.append((line.split("#", 1)[0].strip(), production))
        inline = re.sub(r"^```.*?^```", "", section, flags=re.M | re.S)
        commands += [(span.strip(), production) for span in re.findall(r"`([^`\n]*manage\.py [^`\n]*)`", inline)]
    return list(dict.fromkeys((" ".join(command.split()), production) for command, production in commands))


def split_command(command: str) -> tuple[dict, list[str]]:
    """(environment assignments written before it, the arguments after `manage.py`)."""
    words = shlex.split(command)
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    at = next(i for i, word in enumerate(words) if word.endswith("manage.py"))
    return env, words[at + 1 :]


def options_shown(arguments: list[str]) -> list[str]:
    return sorted({m for word in arguments for m in re.findall(r"--[a-z][a-z0-9-]*", word)})


def as_demo_run(arguments: list[str]) -> list[str]:
    """The command with optional parts dropped, the first of each `a|b` choice, and each
    placeholder (an upper-case word) given its demo value."""
    text = " ".join(arguments)
    while re.search(r"\[[^\[\]]*\]", text):
        text = re.sub(r"\s*\[[^\[\]]*\]", "", text)
    run = []
    for word in text.split():
        word = word.split("|", 1)[0]
        if re.fullmatch(r"[A-Z][A-Z0-9-]*", word):
            assert word in PLACEHOLDERS, f"the README's placeholder {word} needs a demo value in PLACEHOLDERS"
            word = PLACEHOLDERS[word]
        run.append(word)
    return run


def test_the_extraction_finds_the_readme_commands():
    """The parser itself, on a README-like text: blocks, continuations, inline spans."""
    text = (
        "Intro `manage.py unlock_login USERNAME` here.\n\n```sh\n"
        ".venv/bin/python manage.py workflow SLUG submit|approve \\\n    --user USERNAME [--comment TEXT]\n"
        "make run\n```\n## Production\n\n`manage.py check --deploy` reports nothing.\n"
    )
    commands = readme_commands(text)
    assert commands == [
        (".venv/bin/python manage.py workflow SLUG submit|approve --user USERNAME [--comment TEXT]", False),
        ("manage.py unlock_login USERNAME", False),
        ("manage.py check --deploy", True),
    ]
    env, arguments = split_command(commands[0][0])
    assert env == {} and options_shown(arguments) == ["--comment", "--user"]
    assert as_demo_run(arguments) == ["workflow", DEMO_SLUG, "submit", "--user", "editor"]
    assert split_command("DEBUG=0 manage.py check")[0] == {"DEBUG": "0"}


def clean_environment(**extra) -> dict:
    """What a new shell has: no DEBUG, SECRET_KEY, DATABASE_URL or settings module."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT") if name in os.environ}
    return {**keep, **extra}


def manage(checkout: Path, *arguments: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "manage.py", *arguments],
        cwd=checkout,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def fresh_checkout(parent: Path) -> Path:
    """The project's files as a new clone has them, with the project's virtualenv."""
    checkout = parent / "checkout"
    shutil.copytree(ROOT, checkout, ignore=SKIP_COPY, symlinks=True)
    (checkout / ".venv").symlink_to(ROOT / ".venv")
    return checkout


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy that has been through `make run`'s set-up: the Makefile's own .env rule, then
    migrate and load_demo, with nothing set by hand."""
    checkout = fresh_checkout(tmp_path_factory.mktemp("readme"))
    made = subprocess.run(
        ["make", "-s", ".env"], cwd=checkout, env=clean_environment(), capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stdout + made.stderr
    for step in (("migrate", "--noinput", "-v0"), ("load_demo",)):
        result = manage(checkout, *step)
        assert result.returncode == 0, f"manage.py {' '.join(step)}:\n{result.stdout}{result.stderr}"
    return checkout


def crashed(result: subprocess.CompletedProcess) -> bool:
    output = result.stdout + result.stderr
    return "Traceback" in output or "ImproperlyConfigured" in output


COMMANDS = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_shows_manage_py_commands():
    names = {split_command(command)[1][0] for command, _ in COMMANDS}
    assert {"workflow", "import_story"} <= names


@pytest.mark.slow
@pytest.mark.parametrize(("command", "production"), COMMANDS)
def test_a_readme_command_works_as_written(checkout, command, production):
    """Commands of the Production section run as production does (DEBUG=0 and a SECRET_KEY
    in the environment, which win over the development .env); the others as a developer
    runs them after `make run`, with nothing set by hand."""
    env, arguments = split_command(command)
    if production:
        env = {**PRODUCTION, **env}
    name = arguments[0]
    helped = manage(checkout, name, "--help", **env)
    assert helped.returncode == 0 and not crashed(helped), f"{command}\n{helped.stdout}{helped.stderr}"
    missing = [option for option in options_shown(arguments) if option not in helped.stdout]
    assert not missing, f"{command}: manage.py {name} has no {', '.join(missing)}"
    run = as_demo_run(arguments)
    result = manage(checkout, *run, **env)
    output = result.stdout + result.stderr
    assert not crashed(result), f"{' '.join(run)}\n{output}"
    # A step the workflow refuses ends with the reason on one line, not a crash.
    assert result.returncode == 0 or result.stderr.startswith("CommandError:"), f"{' '.join(run)}\n{output}"


@pytest.mark.slow
def test_the_demo_commands_give_real_results(checkout):
    """Not only no crash: as the demo's editor, importing a demo file again updates its story."""
    result = manage(checkout, "import_story", PLACEHOLDERS["FILE"], "--user", "editor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/articles/aldergate-" in result.stdout and "updated" in result.stdout


@pytest.mark.slow
def test_the_env_file_is_written_once_and_never_overwritten(checkout):
    env_file = checkout / ".env"
    assert env_file.read_text().splitlines()[-1] == "DEBUG=1"
    original = env_file.read_text()
    env_file.write_text(original + "LOG_LEVEL=WARNING\n")
    again = subprocess.run(
        ["make", "-s", ".env"], cwd=checkout, env=clean_environment(), capture_output=True, text=True
    )
    assert again.returncode == 0 and env_file.read_text() == original + "LOG_LEVEL=WARNING\n"
    env_file.write_text(original)


@pytest.mark.slow
def test_the_environment_wins_over_the_env_file_and_production_still_refuses(checkout):
    refused = manage(checkout, "check", DEBUG="0")
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr
    assert manage(checkout, "check", DEBUG="0", SECRET_KEY="k" * 60, ALLOWED_HOSTS="news.example").returncode == 0


@pytest.mark.slow
def test_without_the_env_file_manage_py_refuses_as_production_does(tmp_path):
    checkout = fresh_checkout(tmp_path)
    result = manage(checkout, "check")
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr
    assert ".env" in result.stderr  # the message says how development gets its settings
    assert not (checkout / ".secret_key").exists()
