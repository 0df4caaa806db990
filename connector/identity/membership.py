"""Step 11 of the pipeline: obtain and verify the caller's membership from its credential service (DCP 1.0).

The verifier finds the ``CredentialService`` endpoint in the caller's DID document (it must be on the same scheme,
host and port as the DID), calls ``POST <cs>/presentations/query`` with its *own* SI token carrying the caller's
``token`` claim, and checks the returned VP-JWT. The HTTP call is the injected ``post(url, authorization, body)``
callable returning the decoded JSON response, so this module stays free of I/O.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

from .anchor import TrustAnchor
from .credentials import MEMBERSHIP_SCOPE, Membership, verify_presentation
from .did import DidDocument, did_base_url
from .errors import CredentialError, DIDError, IdentityError
from .keys import SigningKey
from .status_list import StatusListCache
from .tokens import DidResolver, ReplayStore, VerifiedCaller, issue_self_token

__all__ = ["DCP_CONTEXT", "presentation_query", "parse_presentation_query", "presentation_response",
           "parse_presentation_response", "credential_service_url", "fetch_membership"]

DCP_CONTEXT = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"
MAX_PRESENTATIONS = 8
CredentialServicePost = Callable[[str, str, dict[str, Any]], Any]


def presentation_query(scopes: list[str] | None = None) -> dict[str, Any]:
    return {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": scopes or [MEMBERSHIP_SCOPE]}


def parse_presentation_query(body: Any) -> list[str]:
    """The scopes asked for. ``presentationDefinition`` is not supported (the route answers 501, as DCP allows)."""
    if not isinstance(body, dict) or body.get("type", body.get("@type")) != "PresentationQueryMessage":
        raise CredentialError("BAD_QUERY", "body is not a PresentationQueryMessage")
    if "presentationDefinition" in body:
        if "scope" in body:
            raise CredentialError("BAD_QUERY", "scope and presentationDefinition are mutually exclusive")
        raise CredentialError("UNSUPPORTED_QUERY", "presentationDefinition queries are not supported")
    scopes = body.get("scope")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and len(s) < 256 for s in scopes):
        raise CredentialError("BAD_QUERY", "scope must be a non-empty list of strings")
    return scopes


def presentation_response(presentations: list[str]) -> dict[str, Any]:
    return {"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage", "presentation": presentations}


def parse_presentation_response(body: Any) -> list[str]:
    if not isinstance(body, dict) or body.get("type", body.get("@type")) != "PresentationResponseMessage":
        raise CredentialError("BAD_PRESENTATION", "response is not a PresentationResponseMessage")
    found = body.get("presentation")
    if not isinstance(found, list) or len(found) > MAX_PRESENTATIONS or not all(isinstance(p, str) for p in found):
        raise CredentialError("BAD_PRESENTATION", "presentation must be a short list of VP-JWT strings")
    return found


def credential_service_url(doc: DidDocument, *, insecure_test: bool = False) -> str:
    """The caller's credential service, refused unless it is on the DID's own origin (no pivot to other hosts)."""
    origin = urlsplit(did_base_url(doc.id, insecure_test=insecure_test))
    for endpoint in doc.service_endpoints("CredentialService"):
        try:
            parts = urlsplit(endpoint)
        except ValueError:
            continue
        if (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc) and not parts.query and not parts.fragment:
            return endpoint.rstrip("/")
    raise CredentialError("NO_CREDENTIAL_SERVICE", f"{doc.id} has no CredentialService on its own origin")


def fetch_membership(caller: VerifiedCaller, *, our_key: SigningKey, now: float, resolver: DidResolver,
                     anchor: TrustAnchor, status: StatusListCache, post: CredentialServicePost,
                     replay: ReplayStore | None = None, insecure_test: bool = False) -> Membership:
    """Query ``caller``'s credential service for its membership presentation and verify it."""
    try:
        url = credential_service_url(resolver.resolve(caller.did), insecure_test=insecure_test)
    except DIDError as exc:
        raise CredentialError("UNRESOLVABLE", exc.reason) from None
    authorization = "Bearer " + issue_self_token(our_key, caller.did, now, token=caller.token)
    try:
        body = post(url + "/presentations/query", authorization, presentation_query([MEMBERSHIP_SCOPE]))
    except IdentityError:
        raise
    except Exception as exc:  # network or HTTP failure of the peer: no membership can be shown
        raise CredentialError("CREDENTIAL_SERVICE_FAILED", f"{url}: {type(exc).__name__}: {exc}") from None
    last: CredentialError | None = None
    for vp in parse_presentation_response(body):
        try:
            return verify_presentation(vp, holder_did=caller.did, our_did=our_key.did, now=now, resolver=resolver,
                                       anchor=anchor, status=status, replay=replay)
        except CredentialError as exc:
            last = exc
    raise last or CredentialError("MISSING_CREDENTIAL", f"{caller.did} presented no membership credential")
