"""Identity and trust for Passerelle nodes: the "DCP-min" profile (DESIGN §4, trust.md §1).

Free of Flask and SQL: the clock (``now``), the replay store, the DID fetcher and the credential-service call are
passed in. The usual path of one protocol request on the callee::

    caller = verify_request(request.headers.get("Authorization"), our_did=..., now=now,
                            registry=participant_list, resolver=resolver, replay=store)   # steps 1–10
    membership = fetch_membership(caller, our_key=..., now=now, resolver=resolver,
                                  anchor=anchor, status=status_cache, post=post)          # step 11
    check_counterparty(caller, process.counterparty_did)                                 # step 12 (404)

and on the caller: ``"Bearer " + issue_self_token(key, aud=peer_did, now=now, token=access_token)``.

Modules: ``keys`` (Ed25519 files and JWKs), ``jws`` (strict compact JWS), ``did`` (did:web and DID documents),
``anchor`` (the pinned authority), ``participants`` (signed participant list, the resolver), ``tokens`` (SI tokens
and the pipeline), ``status_list`` (Bitstring Status List and its cache), ``credentials`` (membership VC-JWT and
VP-JWT), ``membership`` (DCP presentation query), ``fetch`` (bounded HTTP GET), ``errors``.
"""

from .anchor import TrustAnchor
from .credentials import (ENVELOPE_PREFIX, MEMBERSHIP_SCOPE, MEMBERSHIP_TYPE, Membership, MembershipSubject,
                          issue_membership_credential, issue_presentation, membership_context,
                          verify_membership_credential, verify_presentation)
from .did import (DID_CONTEXTS, DidDocument, DidWeb, build_did_document, did_base_url, did_to_url,
                  is_loopback_host, parse_did_document, parse_did_web, url_to_did)
from .errors import (AuthError, CredentialError, DIDError, IdentityError, JWSError, KeyFileError, RegistryError,
                     StatusListError)
from .fetch import http_fetcher
from .jws import ParsedJWS, b64url_decode, b64url_encode, parse_compact, sign_compact, verify_compact, verify_signature
from .keys import (SigningKey, generate_key, jwk_to_public_key, key_fragment, load_private_key, public_jwk,
                   public_key_sha256, write_private_key)
from .membership import (DCP_CONTEXT, credential_service_url, fetch_membership, parse_presentation_query,
                         parse_presentation_response, presentation_query, presentation_response)
from .participants import (ROLES, Participant, ParticipantList, ParticipantResolver, sign_participant_list,
                           verify_participant_list)
from .status_list import (MIN_BITS, CachePolicy, StatusList, StatusListCache, VerifiedStatusList,
                          issue_status_list_credential, status_entry, verify_status_list_credential)
from .tokens import (AUTH_CODES, LEEWAY, MAX_TOKEN_LIFETIME, TOKEN_LIFETIME, AccessGrant, DidResolver,
                     InMemoryReplayStore, ParticipantRegistry, ReplayStore, VerifiedCaller, check_counterparty,
                     issue_access_token, issue_self_token, verify_access_token, verify_request)

__all__ = [
    # keys
    "SigningKey", "generate_key", "write_private_key", "load_private_key", "public_jwk", "jwk_to_public_key",
    "public_key_sha256", "key_fragment",
    # jws
    "ParsedJWS", "sign_compact", "parse_compact", "verify_signature", "verify_compact", "b64url_encode",
    "b64url_decode",
    # did
    "DidWeb", "DidDocument", "parse_did_web", "did_to_url", "did_base_url", "url_to_did", "is_loopback_host",
    "build_did_document", "parse_did_document", "DID_CONTEXTS",
    # trust anchor and participants
    "TrustAnchor", "Participant", "ParticipantList", "ParticipantResolver", "sign_participant_list",
    "verify_participant_list", "ROLES", "http_fetcher",
    # tokens and the pipeline
    "issue_self_token", "verify_request", "check_counterparty", "VerifiedCaller", "ReplayStore",
    "InMemoryReplayStore", "ParticipantRegistry", "DidResolver", "issue_access_token", "verify_access_token",
    "AccessGrant", "AUTH_CODES", "LEEWAY", "TOKEN_LIFETIME", "MAX_TOKEN_LIFETIME",
    # status list
    "StatusList", "VerifiedStatusList", "CachePolicy", "StatusListCache", "issue_status_list_credential",
    "verify_status_list_credential", "status_entry", "MIN_BITS",
    # credentials and membership
    "MembershipSubject", "Membership", "issue_membership_credential", "verify_membership_credential",
    "issue_presentation", "verify_presentation", "membership_context", "MEMBERSHIP_TYPE", "MEMBERSHIP_SCOPE",
    "ENVELOPE_PREFIX", "DCP_CONTEXT", "presentation_query", "parse_presentation_query", "presentation_response",
    "parse_presentation_response", "credential_service_url", "fetch_membership",
    # errors
    "IdentityError", "JWSError", "KeyFileError", "DIDError", "RegistryError", "StatusListError", "CredentialError",
    "AuthError",
]
