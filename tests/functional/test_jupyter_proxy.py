"""JupyterLab in a real bubblewrap tenant, reached only through the domain server's
authenticated reverse proxy (a real uvicorn server on loopback, real HTTP and WebSocket):
the operator's staff open the Lab and run code in a kernel; nobody else gets in; a suspended
grant closes the door at once; sessions and kernel starts are audited."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.functional.browser import Served, chromium
from tests.integration.domain_links.conftest import _cleanup, build_world

pytestmark = [pytest.mark.bwrap, pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served():
    from domain.server import create_app

    root = Path(tempfile.mkdtemp(prefix="aod-proxy-", dir="/tmp"))
    root.chmod(0o711)
    world = build_world(root)
    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-proxy")
    d.tenancy.start(admin, tenant.id, wait_s=90)
    served_app = Served(create_app(d), ws="websockets").__enter__()
    try:
        yield world, tenant, served_app.host
    finally:
        served_app.__exit__(None, None, None)
        try:
            d.tenancy.terminate(admin, tenant.id, reason="test over")
        finally:
            d.tenancy.close_all()
            _cleanup(root)


def _login(world, host: str, user: str) -> httpx.Client:
    client = httpx.Client(base_url=f"http://{host}", timeout=60)
    token = world.token(user)
    client.cookies.set("aod_session", token)
    return client


def test_nobody_gets_in_without_a_session(served):
    world, tenant, host = served
    reply = httpx.get(f"http://{host}/jupyter/{tenant.id}/api/status", timeout=30)
    assert reply.status_code == 401
    assert "Authorization" not in reply.text and tenant.id  # nothing of the tenant's token


def test_staff_open_the_lab_and_run_code_in_a_kernel(served):
    world, tenant, host = served
    with _login(world, host, "alice") as http:
        lab = http.get(f"/jupyter/{tenant.id}/lab")
        assert lab.status_code == 200 and "JupyterLab" in lab.text
        assert f"/jupyter/{tenant.id}/" in lab.text  # the Lab's own links go through the proxy
        spec = world.domain.tenancy.runtime.backend.spec_of(tenant.id)
        assert spec.jupyter_token not in lab.text  # the tenant's token never reaches the browser
        kernel = http.post(f"/jupyter/{tenant.id}/api/kernels", json={"name": "python3"},
                           headers={"Origin": f"http://{host}"})
        assert kernel.status_code == 201, kernel.text
        kernel_id = kernel.json()["id"]
        token = world.token("alice")
    output = asyncio.run(_execute(host, tenant.id, kernel_id, token, "import os; print(6 * 7, os.getuid())"))
    assert output.split() == ["42", "65534"]
    actions = [e.event.action.value for e in world.domain.audit_log.query()
               if any(r.kind == "tenant" and r.id == tenant.id for r in e.event.targets)]
    assert "jupyter.session" in actions and "jupyter.kernel_start" in actions


async def _execute(host: str, tenant_id: str, kernel_id: str, token: str, code: str) -> str:
    from websockets.asyncio.client import connect

    url = f"ws://{host}/jupyter/{tenant_id}/api/kernels/{kernel_id}/channels"
    msg_id = uuid.uuid4().hex
    request = {"header": {"msg_id": msg_id, "username": "t", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                          "version": "5.3"}, "parent_header": {}, "metadata": {}, "channel": "shell",
               "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                           "allow_stdin": False, "stop_on_error": True}}
    out = []
    async with connect(url, additional_headers={"Cookie": f"aod_session={token}", "Origin": f"http://{host}"},
                       open_timeout=60) as ws:
        await ws.send(json.dumps(request))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    return "".join(out)


def test_others_are_refused(served):
    world, tenant, host = served
    for user in ("rita", "reg", "admin"):  # a reviewer, a regulator, the authority
        with _login(world, host, user) as http:
            assert http.get(f"/jupyter/{tenant.id}/api/status").status_code == 403, user
    with _login(world, host, "alice") as http:
        assert http.get("/jupyter/no-such-tenant/api/status").status_code == 404
        cross = http.post(f"/jupyter/{tenant.id}/api/kernels", json={"name": "python3"},
                          headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403
        no_origin = http.post(f"/jupyter/{tenant.id}/api/kernels", json={"name": "python3"})
        assert no_origin.status_code == 403  # a session cookie alone never changes state


def test_cross_site_websocket_is_refused(served):
    world, tenant, host = served
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus, ConnectionClosed

    async def attempt():
        url = f"ws://{host}/jupyter/{tenant.id}/api/events/subscribe"
        headers = {"Cookie": f"aod_session={world.token('alice')}", "Origin": "http://evil.example"}
        async with connect(url, additional_headers=headers, open_timeout=30) as ws:
            await ws.recv()

    with pytest.raises((InvalidStatus, ConnectionClosed)):
        asyncio.run(attempt())


def test_a_browser_opens_jupyterlab_through_the_proxy(served):
    """Headless Chromium, as a member of staff would: the Lab's shell and launcher render, every
    script and API call of the page going through the proxy."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    world, tenant, host = served
    driver = chromium("1280,900")
    try:
        driver.get(f"http://{host}/api/v1/whoami")  # any page of the origin, to set its cookie
        driver.add_cookie({"name": "aod_session", "value": world.token("alice"), "path": "/"})
        driver.get(f"http://{host}/jupyter/{tenant.id}/lab")
        WebDriverWait(driver, 90).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-LabShell")))
        WebDriverWait(driver, 90).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-Launcher")))
        assert driver.current_url.startswith(f"http://{host}/jupyter/{tenant.id}/lab")
        spec = world.domain.tenancy.runtime.backend.spec_of(tenant.id)
        assert spec.jupyter_token not in driver.page_source
    finally:
        driver.quit()


def test_a_lab_not_answering_on_its_socket_is_a_one_line_502(served):
    """While a running tenant's JupyterLab is not listening (it is starting, or its socket was
    replaced), the proxy answers 502 with the reason, never a dropped connection or a trace."""
    world, tenant, host = served
    spec = world.domain.tenancy.runtime.backend.spec_of(tenant.id)
    aside = spec.jupyter_socket.with_name("aside.sock")
    spec.jupyter_socket.rename(aside)
    try:
        with _login(world, host, "alice") as http:
            reply = http.get(f"/jupyter/{tenant.id}/api/status")
        assert reply.status_code == 502
        reason = reply.json()["error"]["reason"]
        assert f"JupyterLab of tenant {tenant.id} is not answering" in reason and "\n" not in reason
        assert spec.jupyter_token not in reply.text
    finally:
        aside.rename(spec.jupyter_socket)
    with _login(world, host, "alice") as http:
        assert http.get(f"/jupyter/{tenant.id}/api/status").status_code == 200


def test_a_suspended_grant_closes_the_proxy_at_once(served):
    world, tenant, host = served
    d, admin = world.domain, world.principal("admin")
    with _login(world, host, "alice") as http:
        assert http.get(f"/jupyter/{tenant.id}/api/status").status_code == 200
        d.grants.suspend(admin, world.grant.id, reason="risk report under review")
        try:
            refused = http.get(f"/jupyter/{tenant.id}/api/status")
            assert refused.status_code in (403, 409), refused.text
        finally:
            d.grants.resume(admin, world.grant.id, reason="cleared")
