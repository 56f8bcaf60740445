"""An LMS as an LTI 1.3 platform, simulated inside the test suite and served over real HTTP
from a thread: it signs launch JWTs with its own RSA key, serves that key as JWKS, runs an
OAuth 2 token endpoint that accepts only a client assertion signed with the tool's key (read
from the tool's own ``/lti/jwks``), and an Assignment and Grade Services line item that takes
scores with the access token it issued."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from urllib.parse import parse_qs, urlparse

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.workers.stack import free_port, wait_for

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score"]


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Platform:
    def __init__(self, client_id: str = "tg-client", deployment_id: str = "deploy-1"):
        self.client_id, self.deployment_id = client_id, deployment_id
        self.key, self.kid = new_key(), uuid.uuid4().hex
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"https://lms.example.edu/{uuid.uuid4().hex[:8]}"
        self.tool_jwks: dict = {"keys": []}
        self.tokens: set[str] = set()
        self.scores: list[dict] = []
        self.refused: list[str] = []
        app = Starlette(routes=[Route("/jwks", self.jwks), Route("/token", self.token, methods=["POST"]),
                                Route("/lineitems/{item}/scores", self.score, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    # ------------------------------------------------------------------ what an admin registers
    def registration(self, course: str) -> dict:
        return dict(course_slug=course, issuer=self.issuer, client_id=self.client_id,
                    deployment_ids=[self.deployment_id], auth_login_url=f"{self.url}/auth",
                    auth_token_url=f"{self.url}/token", key_set_url=f"{self.url}/jwks")

    def lineitem(self, item: str = "1") -> str:
        return f"{self.url}/lineitems/{item}"

    # ------------------------------------------------------------------ the launch it signs
    def claims(self, nonce: str, student_id: str, assignment: str = "w0-service", sub: str | None = None,
               link: str = "link-1", **overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": self.client_id, "sub": sub or f"lms-user-{student_id}", "iat": now,
            "exp": now + 300, "nonce": nonce, "name": student_id,
            CLAIM + "message_type": "LtiResourceLinkRequest", CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": "http://testserver/lti/launch",
            CLAIM + "resource_link": {"id": link, "title": assignment},
            CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            CLAIM + "lis": {"person_sourcedid": student_id},
            CLAIM + "custom": {"assignment": assignment},
            AGS: {"scope": SCOPES, "lineitem": self.lineitem(), "lineitems": f"{self.url}/lineitems"},
        }
        claims.update(overrides)
        return claims

    def id_token(self, claims: dict, key: rsa.RSAPrivateKey | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    # ------------------------------------------------------------------ its endpoints
    async def jwks(self, request: Request) -> JSONResponse:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return JSONResponse({"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]})

    async def token(self, request: Request) -> Response:
        form = await request.form()
        try:
            header = jwt.get_unverified_header(form["client_assertion"])
            key = next(k for k in self.tool_jwks["keys"] if k["kid"] == header["kid"])
            claims = jwt.decode(form["client_assertion"], RSAAlgorithm.from_jwk(json.dumps(key)), algorithms=["RS256"],
                                audience=f"{self.url}/token")
            assert claims["iss"] == claims["sub"] == self.client_id
            assert form["grant_type"] == "client_credentials"
        except (KeyError, StopIteration, AssertionError, jwt.InvalidTokenError) as exc:
            self.refused.append(f"token: {exc!r}")
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                             "scope": form.get("scope", "")})

    async def score(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens or \
                request.headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
            self.refused.append("score: bad token or content type")
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        self.scores.append({"lineitem": request.path_params["item"], **json.loads(await request.body())})
        return Response(status_code=204)

    # ------------------------------------------------------------------ its thread
    def __enter__(self) -> Platform:
        self.thread.start()
        wait_for(lambda: self.server.started, 30, "the simulated LMS platform")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def login_params(location: str) -> dict[str, str]:
    """The OIDC authorization request the tool sent the browser to."""
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
