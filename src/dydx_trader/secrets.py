"""The signing secret: where it may come from, and how it is kept out of sight.

The mnemonic comes only from the environment: ``DYDX_TRADER_MNEMONIC`` (the
words themselves) or ``DYDX_TRADER_MNEMONIC_FILE`` (a path to a file holding
them, readable by its owner alone: mode 0600 or stricter). Never from the TOML
config, the command line or the journal. Paper trading on the devnet needs no
secret at all; call :func:`load_mnemonic` only when a live signer is built.

It is held in a :class:`Secret`: ``repr``/``str`` show ``Secret('********')``,
it cannot be hashed or pickled, and :meth:`Secret.reveal` is for the signer
alone. :class:`RedactingFilter` scrubs every secret loaded here from log
records, as a second line of defence.

A *bot key* (a permissioned key, see ``adapters/dydx/authenticators.py``) follows
the same rules: only from the file ``DYDX_TRADER_BOT_KEY_FILE`` (mode 0600),
either a mnemonic or a hex private key, never in the config. With a bot key the
owner's mnemonic stays off the trading host.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from dydx_trader.domain.errors import SecretUnavailable

MNEMONIC_ENV = "DYDX_TRADER_MNEMONIC"
MNEMONIC_FILE_ENV = "DYDX_TRADER_MNEMONIC_FILE"
BOT_KEY_FILE_ENV = "DYDX_TRADER_BOT_KEY_FILE"
_MASK = "********"
_MAX_FILE_BYTES = 4096  # a mnemonic is ~200 bytes; anything larger is the wrong file
_MNEMONIC_LENGTHS = (12, 15, 18, 21, 24)


class Secret:
    """A string that does not show itself. Compare with ``==``; read with :meth:`reveal`."""

    __slots__ = ("__value", "__weakref__")
    __hash__ = None  # type: ignore[assignment]  # a hash would leak bits of the value

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a str")
        self.__value = value
        _register(self)

    def reveal(self) -> str:
        """The value itself. Only the signer calls this; never log or format the result."""
        return self.__value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.__value == other.__value

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self


# Every live Secret, so the log filter can scrub values it never saw directly.
# Keyed by id (a Secret has no hash); entries vanish with their Secret.
_LIVE: dict[int, weakref.ref[Secret]] = {}
_LIVE_LOCK = threading.RLock()  # re-entrant: a GC callback may fire inside the lock


def _register(secret: Secret) -> None:
    key = id(secret)
    with _LIVE_LOCK:
        _LIVE[key] = weakref.ref(secret, lambda _ref: _LIVE.pop(key, None))


def _live_values() -> list[str]:
    with _LIVE_LOCK:
        secrets = [ref() for ref in list(_LIVE.values())]
    values = [secret.reveal() for secret in secrets if secret is not None]
    # Longest first, so a value containing another is masked whole.
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every live secret replaced by ``********``."""
    for value in _live_values():
        if value in text:
            text = text.replace(value, _MASK)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs live secrets from a record's message and arguments (never drops a record).

    Install on a handler (``handler.addFilter(RedactingFilter())``), or call
    :func:`install_log_redaction` once at start-up to cover every record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not _live_values():
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  a bad format string is the handler's to report
            message = f"{record.msg} {record.args!r}"
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None
        return True


_factory_installed = False


def install_log_redaction() -> None:
    """Scrub live secrets from every log record created from now on.

    It wraps the logging record factory, so it covers every logger and every
    handler, including those configured later (a filter on a logger would miss
    records propagated from its children). Calling it again does nothing.
    """
    global _factory_installed
    with _LIVE_LOCK:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()
        scrub = RedactingFilter()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrub.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True


def load_mnemonic(environ: Mapping[str, str] | None = None) -> Secret:
    """The mnemonic from ``DYDX_TRADER_MNEMONIC`` or the file ``DYDX_TRADER_MNEMONIC_FILE``.

    Raises :class:`SecretUnavailable` (never showing any of the content) when
    neither is set, both are, the file is missing, not a regular file, too
    large, or readable or writable by group or others.
    """
    env = os.environ if environ is None else environ
    inline, file_name = env.get(MNEMONIC_ENV), env.get(MNEMONIC_FILE_ENV)
    if inline and file_name:
        raise SecretUnavailable(
            f"both {MNEMONIC_ENV} and {MNEMONIC_FILE_ENV} are set; set only one"
        )
    if inline:
        return _checked(Secret(" ".join(inline.split())), MNEMONIC_ENV)
    if file_name:
        return _checked(_read_private_file(Path(file_name)), str(file_name))
    raise SecretUnavailable(
        f"live trading needs a mnemonic: set {MNEMONIC_FILE_ENV} to a file only you can read "
        f"(chmod 600), or {MNEMONIC_ENV}. Paper trading on the devnet needs none."
    )


def load_bot_key(environ: Mapping[str, str] | None = None) -> Secret:
    """The bot key from the file ``DYDX_TRADER_BOT_KEY_FILE``: a BIP-39 mnemonic or a
    64-digit hex secp256k1 private key (``0x`` allowed), returned as written
    (words single-spaced, hex lower-case without ``0x``).

    Raises :class:`SecretUnavailable` (never showing the content) when unset, or
    when the file is unsafe or holds neither form, as :func:`load_mnemonic` does.
    """
    env = os.environ if environ is None else environ
    file_name = env.get(BOT_KEY_FILE_ENV)
    if not file_name:
        raise SecretUnavailable(
            f"account.authenticator_id is set, so the bot key must be in {BOT_KEY_FILE_ENV}: a "
            "file only you can read (chmod 600) holding its mnemonic or hex private key "
            "(`dydx-trader keys create-bot-key` writes one)"
        )
    return checked_bot_key(_read_private_file(Path(file_name), "bot key"), file_name)


def checked_bot_key(secret: Secret, where: str) -> Secret:
    """``secret`` normalised if it is a mnemonic or a hex private key, else raise."""
    text = secret.reveal()
    hex_key = text.lower().removeprefix("0x")
    if len(hex_key) == 64 and all(c in "0123456789abcdef" for c in hex_key):
        return Secret(hex_key)
    if len(text.split()) in _MNEMONIC_LENGTHS:
        return secret
    raise SecretUnavailable(
        f"the bot key from {where} is neither a 12-24 word mnemonic nor a 64-digit hex private key"
    )


def write_private_file(path: Path, secret: Secret) -> None:
    """Create ``path`` with mode 0600 holding ``secret`` and a newline.

    Never overwrites: an existing file (a key someone may still use) is an
    error. Raises :class:`SecretUnavailable` naming the path, never the secret.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise SecretUnavailable(f"{path} already exists; choose another file") from None
    except OSError as error:
        raise SecretUnavailable(f"cannot create {path}: {error.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask allowed
        os.write(fd, (secret.reveal() + "\n").encode("utf-8"))
        os.fsync(fd)
    except OSError as error:
        raise SecretUnavailable(f"cannot write {path}: {error.strerror}") from None
    finally:
        os.close(fd)


def _read_private_file(path: Path, what: str = "mnemonic") -> Secret:
    try:
        # O_NOFOLLOW: the mode checked must be the mode of the file read.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        raise SecretUnavailable(f"cannot open the {what} file {path}: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretUnavailable(f"the {what} file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise SecretUnavailable(
                f"the {what} file {path} has mode {stat.S_IMODE(info.st_mode):04o}: other users "
                f"could read it. Run: chmod 600 {path}",
                mode=f"{stat.S_IMODE(info.st_mode):04o}",
            )
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise SecretUnavailable(f"the {what} file {path} belongs to another user")
        if info.st_size > _MAX_FILE_BYTES:
            raise SecretUnavailable(f"the {what} file {path} is too large to be a {what}")
        raw = os.read(fd, _MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretUnavailable(f"the {what} file {path} is not UTF-8 text") from None
    return Secret(" ".join(text.split()))


def _checked(secret: Secret, where: str) -> Secret:
    words = len(secret.reveal().split())
    if words not in _MNEMONIC_LENGTHS:
        raise SecretUnavailable(
            f"the mnemonic from {where} has {words} words; a BIP-39 mnemonic has 12 to 24",
            words=words,
        )
    return secret
