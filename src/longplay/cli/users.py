"""`longplay user`: the server's users and their API keys."""

from __future__ import annotations

import click

from longplay.cli._common import Context, Group, pass_ctx, print_table


@click.group(cls=Group)
def user() -> None:
    """Users of the server: add, passwd, del, list, apikey.

    \b
    Example:
      longplay user add ann --admin
      longplay user list
    """


@user.command()
@click.argument("name")
@click.option("--password", default=None, help="The password (default: a random one, printed).")
@click.option("--admin", is_flag=True, help="May manage the server (scans, other users).")
@pass_ctx
def add(obj: Context, name: str, password: str | None, admin: bool) -> None:
    """Add a user; prints the password when it was generated.

    \b
    Example:
      longplay user add ann
      longplay user add bob --password 'correct horse' --admin
    """
    from longplay.server.accounts import add_user

    got = add_user(obj.archive(), name, password, admin=admin)
    click.echo(f"added user {name!r}" + ("" if password else f" with password {got}"))


@user.command()
@click.argument("name")
@click.option("--password", default=None, help="The new password (default: a random one).")
@pass_ctx
def passwd(obj: Context, name: str, password: str | None) -> None:
    """Set a user's password.

    \b
    Example:
      longplay user passwd ann --password 'new one'
    """
    from longplay.server.accounts import set_password

    got = set_password(obj.archive(), name, password)
    click.echo(f"password of {name!r} changed" + ("" if password else f" to {got}"))


@user.command(name="del")
@click.argument("name")
@pass_ctx
def delete(obj: Context, name: str) -> None:
    """Delete a user with their stars, playlists, queue and keys.

    \b
    Example:
      longplay user del bob
    """
    from longplay.server.accounts import delete_user

    delete_user(obj.archive(), name)
    click.echo(f"deleted user {name!r}")


@user.command(name="list")
@pass_ctx
def list_(obj: Context) -> None:
    """List users.

    \b
    Example:
      longplay user list
    """
    from longplay import state
    from longplay.server.accounts import list_users

    with state.connection(obj.archive()) as con:
        rows = [(u.name, "yes" if u.is_admin else "", u.created) for u in list_users(con)]
    print_table(rows, ("user", "admin", "created"))


@user.command()
@click.argument("name")
@click.option("--revoke", "revoke", type=int, default=None, help="Revoke the key with this id.")
@click.option("--label", default="key", help="A name for the new key (e.g. the app).")
@click.option("--list", "list_keys", is_flag=True, help="List the user's keys.")
@pass_ctx
def apikey(obj: Context, name: str, revoke: int | None, label: str, list_keys: bool) -> None:
    """Create an API key for a user (shown once), list or revoke their keys.

    \b
    Example:
      longplay user apikey ann --label phone
      longplay user apikey ann --list
      longplay user apikey ann --revoke 3
    """
    from longplay import state
    from longplay.server import accounts

    archive = obj.archive()
    if list_keys:
        with state.connection(archive) as con:
            keys = accounts.api_keys(con, name)
        print_table(
            [(k.key_id, k.name, k.created, k.revoked or "") for k in keys],
            ("id", "label", "created", "revoked"),
        )
    elif revoke is not None:
        accounts.revoke_api_key(archive, name, revoke)
        click.echo(f"revoked key {revoke} of {name!r}")
    else:
        key_id, key = accounts.create_api_key(archive, name, label)
        click.echo(f"key {key_id} for {name!r}: {key}  (shown only this once)")
