"""Locust glue, checked in a subprocess (importing locust here would monkey-patch pytest's process)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import locust
    from locust.argument_parser import LocustArgumentParser
    from locust.env import Environment
    from locust.event import Events

    from bss_loadtest.client import lifecycle, options
    from bss_loadtest.client.base import BssUser
    from bss_loadtest.client.state import client_state

    events = Events()
    lifecycle.register(events)
    lifecycle.register(events)
    assert len(events.test_stop._handlers) == 1, events.test_stop._handlers
    assert len(events.init_command_line_parser._handlers) == 1

    parser = LocustArgumentParser()
    options.add_arguments(parser)
    options.add_arguments(parser)  # idempotent
    parsed = parser.parse_args(["--client-pool", "4", "--client-secret", "xyz", "--no-auth"])
    assert parsed.client_pool == 4 and parsed.no_auth
    secret = [a for a in parser._actions if "--client-secret" in a.option_strings][0]
    assert secret.is_secret and secret.include_in_web_ui

    class CareUser(BssUser):
        host = "http://127.0.0.1:9"

    parsed.no_auth = False
    env = Environment(user_classes=[CareUser], events=events, parsed_options=parsed)
    users = [CareUser(env) for _ in range(8)]
    assert users[0].context() == {"user_class": "CareUser"}
    ids = [u.api.identity.client_id for u in users]
    assert sorted(set(ids)) == ["bss-loadtest-01", "bss-loadtest-02", "bss-loadtest-03", "bss-loadtest-04"]
    assert all(ids.count(i) == 2 for i in set(ids))
    assert "xyz" not in repr(users[0].api.identity)
    # the secret is used, but not kept under the option's name (Locust shows that one in the web UI page)
    assert users[0].api.identity.secret == "xyz" and parsed.client_secret == ""

    # one state per Environment: its users share tokens, test-data registry, routes and sequence
    state = client_state(env)
    assert env.bss_client is state
    assert all(u.api.tokens is state.tokens and u.api.registry is state.registry for u in users)
    assert all(u.api.routes is users[0].api.routes for u in users)
    assert users[0].data.seq() + 1 == users[1].data.seq()
    env2 = Environment(user_classes=[CareUser], events=Events(), parsed_options=parsed)
    other = CareUser(env2)
    assert client_state(env2) is not state
    assert other.api.tokens is not state.tokens and other.api.registry is not state.registry
    assert other.api.identity.client_id == "bss-loadtest-01"  # the numbering of users is per environment
    print("ok")
''')


def test_locust_glue():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("ok"), result.stderr[-3000:]
