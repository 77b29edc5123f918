"""The cross-user matrix, WebSocket half (CONTRACT §9; issue 13, "Hostile input, tested").

Every Channels route must have a WS_MATRIX entry. Each is opened with no token, a bad one
and forged ones (alg none, another key, expired), by query string and by first message:
every attempt is an UNAUTHORIZED error then close 4401, Deepgram is never reached, and no
row of the database changed. (Its own module: these tests commit, and the HTTP matrix's
module-wide world sits in a transaction.)
"""

from __future__ import annotations

import jwt
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts.keys import generate_private_key_pem, get_keyring
from accounts.models import User
from accounts.tokens import access_token_for
from ai.routing import websocket_urlpatterns
from ai.tests.fake_deepgram import serve_fake_deepgram
from credits.services import credits_admin_grant
from perpetua.asgi import application
from perpetua.tests.test_cross_user import snapshot


def _forged_tokens(user: User) -> dict[str, str]:
    """Tokens a socket must refuse, each about `user`: only the signature or a claim is wrong."""
    claims = jwt.decode(access_token_for(user=user), options={"verify_signature": False})
    kid = get_keyring().signer.kid
    now = int(timezone.now().timestamp())
    return {
        "garbage": "not-a-jwt",
        "alg-none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),
        "another-key": jwt.encode(claims, generate_private_key_pem(), algorithm="RS256", headers={"kid": kid}),
        "expired": jwt.encode(
            {**claims, "iat": now - 3600, "exp": now - 1800},
            get_keyring().signer.prepared_signing_key,
            algorithm="RS256",
            headers={"kid": kid},
        ),
    }


# Route -> what of another user's it could reach. Each is tested for missing, bad and forged tokens.
WS_MATRIX: dict[str, str] = {
    "api/v1/ws/voice/transcribe": "no object id from the client: the kept note and the charge are the caller's",
}


def test_every_websocket_route_has_a_matrix_entry():
    assert sorted(str(p.pattern) for p in websocket_urlpatterns) == sorted(WS_MATRIX)


async def _refusal(path: str, *, query: str = "", first: dict | None = None) -> tuple[dict, int]:
    communicator = WebsocketCommunicator(application, path + query, headers=[(b"origin", b"http://localhost:3000")])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    if first is not None:
        await communicator.send_json_to(first)
    message = await communicator.receive_json_from(timeout=5)
    closed = await communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close"
    await communicator.disconnect()
    return message, closed["code"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", sorted(WS_MATRIX))
async def test_websockets_refuse_missing_bad_and_forged_tokens(route, pro_user, settings):
    settings.VOICE_AUTH_TIMEOUT_SECONDS = 0.3
    await database_sync_to_async(credits_admin_grant)(user=pro_user, credit_type="purchased", amount=50)
    tokens = await database_sync_to_async(_forged_tokens)(pro_user)
    path = "/" + route
    with serve_fake_deepgram(settings) as deepgram:
        before = await database_sync_to_async(snapshot)()
        attempts = [await _refusal(path)]  # no token at all: the auth deadline passes
        for token in tokens.values():
            attempts.append(await _refusal(path, query=f"?token={token}"))
            attempts.append(await _refusal(path, first={"type": "auth", "token": token}))
        for message, code in attempts:
            assert message["type"] == "error" and message["code"] == "UNAUTHORIZED", message
            assert code == 4401
        assert deepgram.sessions == []
        assert await database_sync_to_async(snapshot)() == before
