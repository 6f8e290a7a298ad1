"""Lift an admin login lock: an account's (everywhere) and/or an address's (for every account)."""

import ipaddress

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from newsroom.login_throttle import login_unlock


class Command(BaseCommand):
    help = (
        "Lift the admin login lock on an account (USERNAME) and/or on a client address "
        "(--address); the counts start again from nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="The account to unlock.")
        parser.add_argument("--address", help="The client IP address to unlock (as the login log names it).")

    def handle(self, *args, username, address, **options):
        if not username and not address:
            raise CommandError("Name an account (USERNAME) or an address (--address IP), or both.")
        if address:
            try:
                address = str(ipaddress.ip_address(address.strip()))
            except ValueError:
                raise CommandError(f"{address!r} is not an IP address.") from None
        login_unlock(username=username, address=address)
        if username:
            if not get_user_model()._default_manager.filter(username=username).exists():
                self.stderr.write(f"Note: there is no account named {username!r}; its count was cleared anyway.")
            self.stdout.write(f"Unlocked the account {username!r}.")
        if address:
            self.stdout.write(f"Unlocked the address {address}.")
