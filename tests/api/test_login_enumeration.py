"""Attack: telling which student IDs exist by how long a failed login takes.  A known ID costs an
argon2 computation (about 50 ms with 64 MiB); an unknown one cost nothing, so a script timing
``POST /login`` learned the class list.  Every failed login must spend one argon2 computation."""

from __future__ import annotations

import uuid

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from api.services import accounts
from core.db import session_factory
from core.errors import TooManyRequests, Unauthorized
from core.models import LoginFailure


class CountingHasher(PasswordHasher):
    """argon2 as the service uses it, counting the expensive calls."""

    def __init__(self):
        super().__init__()
        self.costly = 0

    def hash(self, password, **kwargs):
        self.costly += 1
        return super().hash(password, **kwargs)

    def verify(self, hash, password):
        self.costly += 1
        return super().verify(hash, password)


@pytest.mark.parametrize("who", ["unknown", "no password", "wrong password"])
def test_every_failed_login_costs_one_argon2_computation(api_settings, course, monkeypatch, who):
    student = course["students"][0]
    with session_factory(api_settings.database_url)() as session:
        if who == "wrong password":
            accounts.set_password(session, accounts.user_by_name(session, student), "the right password")
            session.commit()
        counting = CountingHasher()
        monkeypatch.setattr(accounts, "HASHER", counting)
        name = f"{student}-nobody" if who == "unknown" else student
        with pytest.raises(Unauthorized):
            accounts.login(session, api_settings, name, "a wrong password", f"client-{who}")
    assert counting.costly == 1


class ObservingHasher(PasswordHasher):
    """Reads, while the password is being checked, how many failures the limit already counts."""

    def __init__(self, settings, name):
        super().__init__()
        self.settings, self.name, self.counted = settings, name, []

    def verify(self, hash, password):
        with session_factory(self.settings.database_url)() as other:
            self.counted.append(other.scalar(select(func.count()).where(LoginFailure.name == self.name)))
        return super().verify(hash, password)


def test_concurrent_guesses_are_counted_before_the_slow_check(api_settings, course, monkeypatch):
    """Attack: rate-limit bypass by concurrency.  The limit was checked, then the password hashed
    (slow), then the failure stored: guesses sent at once (up to the thread pool, 40) all passed a limit of five."""
    student = course["students"][1]
    with session_factory(api_settings.database_url)() as session:
        accounts.set_password(session, accounts.user_by_name(session, student), "the right password")
        session.commit()
        observing = ObservingHasher(api_settings, student)
        monkeypatch.setattr(accounts, "HASHER", observing)
        with pytest.raises(Unauthorized):
            accounts.login(session, api_settings, student, "a wrong password", "client-race")
        accounts.login(session, api_settings, student, "the right password", "client-race")
        session.commit()
        assert observing.counted == [1, 2]  # each guess already counted while it was checked
        left = session.scalar(select(func.count()).where(LoginFailure.name == student))
    assert left == 0  # a success forgets them


def test_one_ipv6_network_is_one_client(api_settings, course):
    """Attack: rate-limit bypass by address rotation.  Anyone with IPv6 holds a /64 (2^64
    addresses); counted per address, a password spray (one guess at every student ID) from
    2001:db8::1, ::2, … never met the per-client limit.  An IPv6 client is its /64."""
    settings = api_settings.model_copy(update={"login_max_failures_per_client": 3})
    network = f"2001:db8:{uuid.uuid4().int % 65536:x}:1"
    with session_factory(api_settings.database_url)() as session:
        for host in range(1, 4):
            with pytest.raises(Unauthorized):
                accounts.login(session, settings, f"spray-{uuid.uuid4().hex[:8]}", "password1", f"{network}::{host}")
        with pytest.raises(TooManyRequests):
            accounts.login(session, settings, f"spray-{uuid.uuid4().hex[:8]}", "password1", f"{network}::99")
        # another network, and IPv4 addresses, are counted apart
        with pytest.raises(Unauthorized):
            accounts.login(session, settings, f"spray-{uuid.uuid4().hex[:8]}", "password1", f"{network}0::1")
